//! Loading a contract GeoJSON network (CONTRACT section 1): parse, validate, build.
//!
//! Validation collects every problem before it answers, so a GIS editor gets the whole
//! list of offending feature ids in one go rather than one per attempt. With
//! [`LoadOptions::set_aside_invalid`] the offending features are left out instead and
//! listed in [`Network::set_aside`].

use std::collections::VecDeque;

use super::{FastMap as HashMap, FastSet as HashSet};

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;
use serde::Deserialize;
use serde_json::Value;

use super::{
    protection, spatial, trace, CustomerIdx, Depot, Device, DeviceIdx, DeviceKind, DeviceSite,
    Edge, EdgeKind, Network, NetworkError, Node, NodeKind, NodeLoad, Problem, ServicePoint, Zone,
    ZoneKind,
};

/// How to load a network file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Leave offending features out (and list them) instead of refusing the file.
    pub set_aside_invalid: bool,
    /// Add lateral fuses where the file has none, by the rule in [`protection`].
    pub add_protection: bool,
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(default)]
    geometry: Option<RawGeometry>,
    #[serde(default)]
    properties: Option<RawProps>,
}

/// The properties faultline reads. Every other property is skipped while parsing (not
/// built into a map): a utility's export carries many, and a million-customer file
/// would otherwise hold them all in memory at once. Values stay loosely typed so that a
/// wrong type is reported against its feature, not as a parse error of the whole file.
#[derive(Deserialize, Default)]
struct RawProps {
    id: Option<Value>,
    kind: Option<Value>,
    from: Option<Value>,
    to: Option<Value>,
    bus: Option<Value>,
    transformer: Option<Value>,
    account: Option<Value>,
    name: Option<Value>,
    subtype: Option<Value>,
    zone: Option<Value>,
    normally_open: Option<Value>,
    feeder_head: Option<Value>,
    critical: Option<Value>,
    customers: Option<Value>,
    voltage_kv: Option<Value>,
}

impl RawProps {
    fn get(&self, key: &str) -> Option<&Value> {
        match key {
            "id" => self.id.as_ref(),
            "kind" => self.kind.as_ref(),
            "from" => self.from.as_ref(),
            "to" => self.to.as_ref(),
            "bus" => self.bus.as_ref(),
            "transformer" => self.transformer.as_ref(),
            "account" => self.account.as_ref(),
            "name" => self.name.as_ref(),
            "subtype" => self.subtype.as_ref(),
            "zone" => self.zone.as_ref(),
            "normally_open" => self.normally_open.as_ref(),
            "feeder_head" => self.feeder_head.as_ref(),
            "critical" => self.critical.as_ref(),
            "customers" => self.customers.as_ref(),
            "voltage_kv" => self.voltage_kv.as_ref(),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct RawGeometry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    coordinates: Value,
}

/// A feature after the first pass, before cross-references are checked.
enum Parsed {
    Node(usize, Node),
    Customer(usize, ServicePoint, String),
    Depot(Depot),
    Edge(usize, Edge, String, String),
    Zone(Zone),
}

struct Collector {
    strict: bool,
    problems: Vec<Problem>,
    /// Some Point feature says `kind: "substation"` (refused or not): a file without one
    /// is refused as a whole rather than node by node.
    saw_substation: bool,
    /// Ids of Point features refused for their own fault: an edge or a customer that
    /// refers to one is left out with it, said once on the node rather than once each.
    refused_points: HashSet<String>,
    /// Edges refused for their own fault, with the node ids their `from`/`to` give: the
    /// nodes only they reached are cut off by them, not unreached on their own.
    refused_edges: Vec<(String, Vec<String>)>,
}

impl Collector {
    fn new(options: &LoadOptions) -> Self {
        Self {
            strict: !options.set_aside_invalid,
            problems: Vec::new(),
            saw_substation: false,
            refused_points: HashSet::default(),
            refused_edges: Vec::new(),
        }
    }

    fn add(&mut self, feature: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            feature: feature.to_owned(),
            message: message.into(),
        });
    }
}

impl Network {
    /// Load a network from the text of a contract GeoJSON FeatureCollection (read as
    /// [`Network::from_geojson_reader`] reads a file).
    pub fn from_geojson(text: &str, options: &LoadOptions) -> Result<Network, NetworkError> {
        // A window just past the text's length, not a whole chunk: the text is all in
        // memory already, and a small one (a test's, the fuzzer's) would otherwise
        // have a zeroed 1 MiB buffer allocated for it on every load.
        let chunk = text
            .len()
            .saturating_add(1)
            .min(super::feature_reader::CHUNK);
        Self::read_in_chunks(text.as_bytes(), chunk, options)
    }

    /// Load a network from a reader (a file), without holding its whole text in memory.
    pub fn from_geojson_reader(
        reader: impl std::io::Read,
        options: &LoadOptions,
    ) -> Result<Network, NetworkError> {
        Self::read_in_chunks(reader, super::feature_reader::CHUNK, options)
    }

    /// [`Network::from_geojson_reader`], reading `chunk` bytes of the input at a time.
    fn read_in_chunks(
        reader: impl std::io::Read,
        chunk: usize,
        options: &LoadOptions,
    ) -> Result<Network, NetworkError> {
        // Each feature is checked as soon as it is read: the file's features are
        // never all held at once, only what the network keeps of them.
        let mut problems = Collector::new(options);
        let mut parsed = Vec::new();
        let mut features = 0usize;
        let c = super::feature_reader::read_collection(
            reader,
            chunk,
            |i, f: RawFeature, non_numbers: &[String]| {
                features += 1;
                parse_feature(i, f, non_numbers, &mut problems, &mut parsed)
            },
        )
        .map_err(NetworkError::NotGeoJson)?;
        let kind = c
            .kind
            .ok_or_else(|| NetworkError::NotGeoJson("missing field `type`".into()))?;
        check_kind(&kind)?;
        // See: #19. Nothing to serve is an error of the file, not a network of nothing.
        if features == 0 {
            return Err(NetworkError::NoFeatures);
        }
        if !problems.saw_substation {
            return Err(NetworkError::NoSubstation);
        }
        let mut net = build(parsed, c.metadata, &mut problems, options)?;
        if problems.strict && !problems.problems.is_empty() {
            return Err(NetworkError::Invalid(problems.problems));
        }
        net.set_aside = problems.problems;
        Ok(net)
    }
}

fn check_kind(kind: &str) -> Result<(), NetworkError> {
    if kind == "FeatureCollection" {
        return Ok(());
    }
    Err(NetworkError::NotGeoJson(format!(
        "top-level type is {kind:?}, expected \"FeatureCollection\""
    )))
}

fn str_prop<'a>(props: &'a RawProps, key: &str) -> Option<&'a str> {
    props.get(key).and_then(Value::as_str)
}

fn id_of(props: &RawProps) -> Option<String> {
    match props.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn bool_prop(props: &RawProps, key: &str, name: &str, c: &mut Collector) -> Option<bool> {
    match props.get(key) {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            c.add(
                name,
                format!("property {key:?} must be true or false, not {other}"),
            );
            None
        }
    }
}

fn count_prop(
    props: &RawProps,
    key: &str,
    default: u32,
    name: &str,
    c: &mut Collector,
) -> Option<u32> {
    match props.get(key) {
        None | Some(Value::Null) => Some(default),
        Some(v) => match v.as_f64() {
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) => Some(x as u32),
            _ => {
                c.add(
                    name,
                    format!("property {key:?} must be a whole number ≥ 0, not {v}"),
                );
                None
            }
        },
    }
}

fn position(v: &Value) -> Option<[f64; 2]> {
    let a = v.as_array()?;
    if a.len() < 2 {
        return None;
    }
    Some([a[0].as_f64()?, a[1].as_f64()?])
}

fn in_range(p: [f64; 2]) -> bool {
    p[0].is_finite()
        && p[1].is_finite()
        && (-180.0..=180.0).contains(&p[0])
        && (-90.0..=90.0).contains(&p[1])
}

fn check_positions(points: &[[f64; 2]], name: &str, c: &mut Collector) -> bool {
    match points.iter().find(|p| !in_range(**p)) {
        Some(p) => {
            c.add(
                name,
                format!(
                    "coordinates out of range: [{}, {}] (lon must be in -180..180, lat in -90..90)",
                    p[0], p[1]
                ),
            );
            false
        }
        None => true,
    }
}

/// Check feature `i` and push what `build` takes of it onto `out` (or note why not,
/// remembering a refused node's id or a refused edge's ends: see [`Collector`]).
/// `non_numbers` are values the text has where a number is due (`NaN`, `Infinity`),
/// read as `null`.
fn parse_feature(
    i: usize,
    f: RawFeature,
    non_numbers: &[String],
    c: &mut Collector,
    out: &mut Vec<Parsed>,
) {
    let props = f.properties.unwrap_or_default();
    let kind = str_prop(&props, "kind").unwrap_or("");
    c.saw_substation |= kind == "substation";
    let (taken, problems) = (out.len(), c.problems.len());
    check_feature(i, &props, f.geometry, non_numbers, c, out);
    if out.len() > taken || c.problems.len() == problems {
        return;
    }
    // Refused: remember what refers to it. A numeric id is remembered as the text an
    // edge's `from` would give it.
    let id = match props.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return,
    };
    if props.get("from").is_some() || props.get("to").is_some() {
        let ends = ["from", "to"]
            .into_iter()
            .filter_map(|k| str_prop(&props, k).map(str::to_owned))
            .collect();
        c.refused_edges.push((id, ends));
    } else if !matches!(kind, "zone" | "road") {
        c.refused_points.insert(id);
    }
}

fn check_feature(
    i: usize,
    props: &RawProps,
    geometry: Option<RawGeometry>,
    non_numbers: &[String],
    c: &mut Collector,
    out: &mut Vec<Parsed>,
) {
    let id = id_of(props);
    let name = id.clone().unwrap_or_else(|| format!("feature #{i}"));
    // See: #19. Ids are strings (CONTRACT): a number is refused, naming the feature by
    // its place, since it has no id to go by.
    if let Some(Value::Number(n)) = props.get("id") {
        c.add(
            &name,
            format!("\"id\" is the number {n}: ids are strings (write \"id\": \"{n}\")"),
        );
        return;
    }
    if !non_numbers.is_empty() {
        c.add(
            &name,
            format!(
                "{} where a number is due: JSON has no NaN or Infinity, and coordinates must be finite lon/lat",
                non_numbers.join(", ")
            ),
        );
        return;
    }
    let Some(geometry) = geometry else {
        c.add(&name, "has no geometry");
        return;
    };
    let kind = str_prop(props, "kind").unwrap_or("");
    if kind == "zone" {
        if let Some(z) = parse_zone(props, &geometry, &name, c) {
            out.push(Parsed::Zone(z));
        }
        return;
    }
    let Some(id) = id else {
        c.add(&name, "has no \"id\" property (ids are non-empty strings)");
        return;
    };
    match geometry.kind.as_str() {
        "Point" => {
            let Some(p) = position(&geometry.coordinates) else {
                c.add(&name, "Point has no [lon, lat] coordinates");
                return;
            };
            if !check_positions(&[p], &name, c) {
                return;
            }
            if let Some(parsed) = parse_point(i, id, kind, p, props, &name, c) {
                out.push(parsed);
            }
        }
        "LineString" => {
            let coords: Option<Vec<[f64; 2]>> = geometry
                .coordinates
                .as_array()
                .map(|a| a.iter().map(position).collect::<Option<Vec<_>>>())
                .unwrap_or(None);
            let Some(coords) = coords.filter(|v| !v.is_empty()) else {
                c.add(&name, "LineString has no list of [lon, lat] positions");
                return;
            };
            if !check_positions(&coords, &name, c) {
                return;
            }
            if kind == "road" {
                return; // the road graph belongs to dispatch; kept in the file
            }
            if let Some(parsed) = parse_edge(i, id, kind, coords, props, &name, c) {
                out.push(parsed);
            }
        }
        other => c.add(
            &name,
            format!("geometry {other:?} with kind {kind:?} is not part of the network schema"),
        ),
    }
}

fn parse_point(
    i: usize,
    id: String,
    kind: &str,
    p: [f64; 2],
    props: &RawProps,
    name: &str,
    c: &mut Collector,
) -> Option<Parsed> {
    let node_kind = match kind {
        "substation" => NodeKind::Substation,
        "bus" => NodeKind::Bus,
        "transformer" => NodeKind::Transformer,
        "customer" => {
            let customers = count_prop(props, "customers", 1, name, c)?;
            let critical = bool_prop(props, "critical", "critical", c)?;
            let Some(at) = str_prop(props, "bus").or_else(|| str_prop(props, "transformer")) else {
                c.add(
                    name,
                    "customer has neither a \"bus\" nor a \"transformer\" property",
                );
                return None;
            };
            let account = match props.get("account") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            return Some(Parsed::Customer(
                i,
                ServicePoint {
                    id,
                    customers,
                    critical,
                    account,
                    lon: p[0],
                    lat: p[1],
                    node: NodeIndex::end(),
                },
                at.to_owned(),
            ));
        }
        "depot" => {
            return Some(Parsed::Depot(Depot {
                id,
                name: str_prop(props, "name").map(str::to_owned),
                lon: p[0],
                lat: p[1],
            }))
        }
        other => {
            c.add(name, format!("Point kind {other:?} is not one of substation, bus, transformer, customer, depot"));
            return None;
        }
    };
    let aggregate_customers = if node_kind == NodeKind::Transformer {
        count_prop(props, "customers", 0, name, c)?
    } else {
        0
    };
    Some(Parsed::Node(
        i,
        Node {
            id,
            kind: node_kind,
            lon: p[0],
            lat: p[1],
            aggregate_customers,
        },
    ))
}

fn parse_edge(
    i: usize,
    id: String,
    kind: &str,
    coordinates: Vec<[f64; 2]>,
    props: &RawProps,
    name: &str,
    c: &mut Collector,
) -> Option<Parsed> {
    let Some(edge_kind) = EdgeKind::parse(kind) else {
        c.add(
            name,
            format!("LineString kind {kind:?} is not one of line, cable, switch, breaker, recloser, sectionalizer, fuse, transformer, road"),
        );
        return None;
    };
    let (Some(from), Some(to)) = (str_prop(props, "from"), str_prop(props, "to")) else {
        c.add(name, "edge needs both \"from\" and \"to\" node ids");
        return None;
    };
    let normally_open = bool_prop(props, "normally_open", name, c)?;
    let feeder_head = bool_prop(props, "feeder_head", name, c)?;
    Some(Parsed::Edge(
        i,
        Edge {
            id,
            kind: edge_kind,
            subtype: str_prop(props, "subtype").map(str::to_owned),
            normally_open,
            feeder_head,
            voltage_kv: props.get("voltage_kv").and_then(Value::as_f64),
            coordinates,
        },
        from.to_owned(),
        to.to_owned(),
    ))
}

fn parse_zone(
    props: &RawProps,
    geometry: &RawGeometry,
    name: &str,
    c: &mut Collector,
) -> Option<Zone> {
    let kind = match str_prop(props, "zone") {
        Some("urban") => ZoneKind::Urban,
        Some("suburban") => ZoneKind::Suburban,
        Some("rural") => ZoneKind::Rural,
        other => {
            c.add(
                name,
                format!("zone must be \"urban\", \"suburban\" or \"rural\", not {other:?}"),
            );
            return None;
        }
    };
    let ring =
        |v: &Value| -> Option<Vec<[f64; 2]>> { v.as_array()?.iter().map(position).collect() };
    let rings: Option<Vec<Vec<[f64; 2]>>> = match geometry.kind.as_str() {
        "Polygon" => geometry
            .coordinates
            .as_array()
            .and_then(|a| a.iter().map(ring).collect()),
        _ => None,
    };
    let Some(rings) = rings.filter(|r| !r.is_empty()) else {
        c.add(name, "a zone needs a Polygon geometry");
        return None;
    };
    for r in &rings {
        if !check_positions(r, name, c) {
            return None;
        }
    }
    let to_line = |r: &Vec<[f64; 2]>| {
        geo::LineString::from(r.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())
    };
    let mut it = rings.iter();
    // unwrap: `rings` is not empty (checked above).
    let exterior = to_line(it.next().unwrap());
    Some(Zone {
        id: name.to_owned(),
        kind,
        polygon: geo::Polygon::new(exterior, it.map(to_line).collect()),
    })
}

/// What is left out with a node refused for its own fault.
#[derive(Default)]
struct LeftOut {
    edges: Vec<String>,
    customers: Vec<String>,
}

impl LeftOut {
    fn describe(&self) -> String {
        let list = |what: &str, ids: &[String]| -> Option<String> {
            (!ids.is_empty()).then(|| format!("{} {what} ({})", ids.len(), first_few(ids)))
        };
        let parts: Vec<String> = [
            list("edge(s)", &self.edges),
            list("customer(s)", &self.customers),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!(
            "{} refer to this refused node and are left out with it (not listed again)",
            parts.join(" and ")
        )
    }
}

/// Up to five ids, then how many more.
fn first_few(ids: &[impl AsRef<str>]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<&str> = ids.iter().take(SHOWN).map(AsRef::as_ref).collect();
    match ids.len().checked_sub(SHOWN) {
        Some(more) if more > 0 => format!("{}, … {more} more", shown.join(", ")),
        _ => shown.join(", "),
    }
}

fn build(
    parsed: Vec<Parsed>,
    metadata: Value,
    c: &mut Collector,
    options: &LoadOptions,
) -> Result<Network, NetworkError> {
    // Duplicate ids: among Points (nodes, customers, depots), and among edges.
    let points = parsed
        .iter()
        .filter(|p| !matches!(p, Parsed::Edge(..) | Parsed::Zone(_)));
    let mut point_ids: HashSet<&str> =
        HashSet::with_capacity_and_hasher(points.count(), Default::default());
    let mut edge_ids: HashSet<&str> = HashSet::default();
    let mut duplicate = vec![false; parsed.len()];
    for (k, p) in parsed.iter().enumerate() {
        let (id, set) = match p {
            Parsed::Node(_, n) => (n.id.as_str(), &mut point_ids),
            Parsed::Customer(_, s, _) => (s.id.as_str(), &mut point_ids),
            Parsed::Depot(d) => (d.id.as_str(), &mut point_ids),
            Parsed::Edge(_, e, _, _) => (e.id.as_str(), &mut edge_ids),
            Parsed::Zone(_) => continue,
        };
        if !set.insert(id) {
            duplicate[k] = true;
        }
    }
    let mut graph: UnGraph<Node, Edge> = UnGraph::default();
    let mut node_by_id = HashMap::default();
    let mut node_feature = Vec::new();
    let mut edges_in = Vec::new();
    let mut customers_in = Vec::new();
    let mut depots = Vec::new();
    let mut zones = Vec::new();
    for (k, p) in parsed.into_iter().enumerate() {
        if duplicate[k] {
            let id = match &p {
                Parsed::Node(_, n) => n.id.clone(),
                Parsed::Customer(_, s, _) => s.id.clone(),
                Parsed::Depot(d) => d.id.clone(),
                Parsed::Edge(_, e, _, _) => e.id.clone(),
                Parsed::Zone(z) => z.id.clone(),
            };
            c.add(
                &id,
                "duplicate id (another feature of the same geometry already has it)",
            );
            continue;
        }
        match p {
            Parsed::Node(i, n) => {
                let id = n.id.clone();
                let idx = graph.add_node(n);
                node_by_id.insert(id, idx);
                node_feature.push(i);
            }
            Parsed::Customer(i, s, at) => customers_in.push((i, s, at)),
            Parsed::Depot(d) => depots.push(d),
            Parsed::Edge(i, e, from, to) => edges_in.push((i, e, from, to)),
            Parsed::Zone(z) => zones.push(z),
        }
    }
    // See: #19. What refers to a node refused for its own fault is left out with it and
    // said once, on the node; the nodes a refused feature was the only way to are cut
    // off by it (`cut_by`), said once too. One bad coordinate is one problem, not one
    // per edge and node downstream of it.
    let mut left_out: HashMap<String, LeftOut> = HashMap::default();
    let mut cut_by: HashMap<NodeIndex, String> = HashMap::default();
    for (edge, ends) in std::mem::take(&mut c.refused_edges) {
        for end in ends {
            if let Some(&n) = node_by_id.get(&end) {
                cut_by.entry(n).or_insert_with(|| edge.clone());
            }
        }
    }
    let mut edge_feature = Vec::new();
    for (i, e, from, to) in edges_in {
        let missing: Vec<&str> = [&from, &to]
            .into_iter()
            .filter(|n| !node_by_id.contains_key(n.as_str()))
            .map(String::as_str)
            .collect();
        if let Some(refused) = missing
            .iter()
            .find(|n| c.refused_points.contains(**n))
            .filter(|_| missing.iter().all(|n| c.refused_points.contains(*n)))
        {
            for end in [&from, &to] {
                if let Some(&n) = node_by_id.get(end) {
                    cut_by.entry(n).or_insert_with(|| refused.to_string());
                }
            }
            left_out
                .entry(refused.to_string())
                .or_default()
                .edges
                .push(e.id);
            continue;
        }
        if !missing.is_empty() {
            c.add(
                &e.id,
                format!("edge refers to missing node(s) {}", missing.join(", ")),
            );
            continue;
        }
        if from == to {
            c.add(
                &e.id,
                format!("edge joins node {from} to itself (\"from\" and \"to\" are the same)"),
            );
            continue;
        }
        let (a, b) = (node_by_id[&from], node_by_id[&to]);
        graph.add_edge(a, b, e);
        edge_feature.push(i);
    }

    // Customers must hang on an existing node (checked now, so that a refusal lists
    // them together with every other problem).
    customers_in.retain(|(_, s, at)| {
        if node_by_id.contains_key(at.as_str()) {
            return true;
        }
        if c.refused_points.contains(at) {
            left_out
                .entry(at.clone())
                .or_default()
                .customers
                .push(s.id.clone());
        } else {
            c.add(&s.id, format!("customer hangs on missing node {at:?}"));
        }
        false
    });
    let mut left_out: Vec<(String, LeftOut)> = left_out.into_iter().collect();
    left_out.sort_by(|a, b| a.0.cmp(&b.0));
    for (node, what) in left_out {
        c.add(&node, what.describe());
    }
    let mut closed: Vec<bool> = graph.edge_weights().map(|e| !e.normally_open).collect();
    let mut removed_edges = find_loops(&graph, &closed, c);
    let mut notes = Vec::new();
    let unreached = find_unreached(&graph, &removed_edges, &cut_by, c, &mut notes);
    if c.strict && !c.problems.is_empty() {
        return Err(NetworkError::Invalid(std::mem::take(&mut c.problems)));
    }
    // Set aside what is invalid (lenient mode): rebuild the graph without it.
    if !removed_edges.is_empty() || !unreached.is_empty() {
        let keep_node = |n: NodeIndex| !unreached.contains(&n);
        let mut g2: UnGraph<Node, Edge> = UnGraph::default();
        let mut remap = HashMap::default();
        let mut nf2 = Vec::new();
        for n in graph.node_indices().filter(|&n| keep_node(n)) {
            remap.insert(n, g2.add_node(graph[n].clone()));
            nf2.push(node_feature[n.index()]);
        }
        let mut ef2 = Vec::new();
        for e in graph.edge_references() {
            if removed_edges.contains(&e.id()) || !keep_node(e.source()) || !keep_node(e.target()) {
                continue;
            }
            g2.add_edge(remap[&e.source()], remap[&e.target()], e.weight().clone());
            ef2.push(edge_feature[e.id().index()]);
        }
        graph = g2;
        node_feature = nf2;
        edge_feature = ef2;
        node_by_id = graph
            .node_indices()
            .map(|n| (graph[n].id.clone(), n))
            .collect();
        closed = graph.edge_weights().map(|e| !e.normally_open).collect();
        removed_edges.clear();
    }

    // Service points.
    let mut customers = Vec::with_capacity(customers_in.len());
    let mut customer_feature = Vec::with_capacity(customers_in.len());
    for (i, mut s, at) in customers_in {
        match node_by_id.get(&at) {
            Some(&n) => {
                s.node = n;
                customers.push(s);
                customer_feature.push(i);
            }
            None => c.add(&s.id, format!("customer set aside with its node {at:?}")),
        }
    }
    if c.strict && !c.problems.is_empty() {
        return Err(NetworkError::Invalid(std::mem::take(&mut c.problems)));
    }
    let edge_by_id: HashMap<String, EdgeIndex> = graph
        .edge_indices()
        .map(|e| (graph[e].id.clone(), e))
        .collect();
    let customer_by_id: HashMap<String, CustomerIdx> = customers
        .iter()
        .enumerate()
        .map(|(k, s)| (s.id.clone(), CustomerIdx(k as u32)))
        .collect();
    let customer_by_account = customers
        .iter()
        .enumerate()
        .filter_map(|(k, s)| s.account.clone().map(|a| (a, CustomerIdx(k as u32))))
        .collect();
    let mut customers_at = vec![Vec::new(); graph.node_count()];
    let mut node_load = vec![NodeLoad::default(); graph.node_count()];
    for (k, s) in customers.iter().enumerate() {
        customers_at[s.node.index()].push(CustomerIdx(k as u32));
        let load = &mut node_load[s.node.index()];
        load.customers += u64::from(s.customers);
        load.points += 1;
        if s.critical {
            load.critical += s.customers;
        }
    }

    if options.add_protection {
        let customers_per_node: Vec<u64> = node_load.iter().map(|l| l.customers).collect();
        notes.extend(protection::add_lateral_fuses(
            &mut graph,
            &closed,
            &customers_per_node,
        ));
    }
    let (devices, device_of_edge, device_of_node) =
        find_devices(&graph, &node_feature, &edge_feature);
    let device_by_id = devices
        .iter()
        .enumerate()
        .map(|(k, d)| (d.id.clone(), DeviceIdx(k as u32)))
        .collect();
    let mut net = Network {
        trace: trace::Trace::new(graph.node_count()),
        spatial: spatial::SpatialIndex::default(),
        graph,
        closed,
        node_by_id,
        edge_by_id,
        customers,
        customer_by_id,
        customer_by_account,
        customers_at,
        node_load,
        devices,
        device_by_id,
        device_of_edge,
        device_of_node,
        feeders: Vec::new(),
        feeder_of_head: HashMap::default(),
        depots,
        zones,
        metadata,
        set_aside: Vec::new(),
        notes,
    };
    net.trace_all();
    net.add_unlisted_customers();
    net.spatial = spatial::SpatialIndex::build(&net);
    Ok(net)
}

/// Protective devices in file order: protective edges, distribution transformers,
/// feeder heads (every edge that can start a feeder), and transformer Points that no
/// distribution transformer edge feeds.
#[allow(clippy::type_complexity)]
fn find_devices(
    graph: &UnGraph<Node, Edge>,
    node_feature: &[usize],
    edge_feature: &[usize],
) -> (
    Vec<Device>,
    HashMap<EdgeIndex, DeviceIdx>,
    HashMap<NodeIndex, DeviceIdx>,
) {
    enum Site {
        E(EdgeIndex, DeviceKind),
        N(NodeIndex),
    }
    let mut fed_by_transformer_edge = HashSet::default();
    let mut sites: Vec<(usize, Site)> = Vec::new();
    for e in graph.edge_references() {
        let edge = e.weight();
        let sub = |n: NodeIndex| graph[n].kind == NodeKind::Substation;
        let leaves_substation = sub(e.source()) != sub(e.target());
        let kind = if edge.feeder_head || leaves_substation {
            Some(DeviceKind::Breaker)
        } else {
            match edge.kind {
                EdgeKind::Breaker => Some(DeviceKind::Breaker),
                EdgeKind::Recloser => Some(DeviceKind::Recloser),
                EdgeKind::Sectionalizer => Some(DeviceKind::Sectionalizer),
                EdgeKind::Fuse => Some(DeviceKind::Fuse),
                EdgeKind::Transformer if edge.is_distribution_transformer() => {
                    Some(DeviceKind::Transformer)
                }
                _ => None,
            }
        };
        if edge.is_distribution_transformer() {
            fed_by_transformer_edge.insert(e.source());
            fed_by_transformer_edge.insert(e.target());
        }
        if let Some(kind) = kind {
            sites.push((edge_feature[e.id().index()], Site::E(e.id(), kind)));
        }
    }
    for n in graph.node_indices() {
        if graph[n].kind == NodeKind::Transformer && !fed_by_transformer_edge.contains(&n) {
            sites.push((node_feature[n.index()], Site::N(n)));
        }
    }
    sites.sort_by_key(|(i, _)| *i);
    let mut devices = Vec::with_capacity(sites.len());
    let mut of_edge = HashMap::default();
    let mut of_node = HashMap::default();
    for (k, (_, site)) in sites.into_iter().enumerate() {
        let idx = DeviceIdx(k as u32);
        let (id, kind, site) = match site {
            Site::E(e, kind) => {
                of_edge.insert(e, idx);
                (graph[e].id.clone(), kind, DeviceSite::Edge(e))
            }
            Site::N(n) => {
                of_node.insert(n, idx);
                (
                    graph[n].id.clone(),
                    DeviceKind::Transformer,
                    DeviceSite::Node(n),
                )
            }
        };
        devices.push(Device {
            id,
            kind,
            site,
            parent: None,
            feeder: None,
            customers_below: 0,
            critical_below: 0,
            points_below: 0,
            depth: 0,
            in_tree: false,
        });
    }
    (devices, of_edge, of_node)
}

/// Closed edges that close a loop. Substation nodes count as one (they are all sources,
/// and edges inside a station are allowed); parallel edges between the same two nodes
/// count as one (a regulator and its bypass).
fn find_loops(
    graph: &UnGraph<Node, Edge>,
    closed: &[bool],
    c: &mut Collector,
) -> HashSet<EdgeIndex> {
    let n = graph.node_count();
    let source = n; // every substation node maps here
    let rep = |x: NodeIndex| {
        if graph[x].kind == NodeKind::Substation {
            source
        } else {
            x.index()
        }
    };
    let mut parent: Vec<usize> = (0..=n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut seen_pairs: HashSet<(usize, usize)> = HashSet::default();
    let mut tree_adj: HashMap<usize, Vec<(usize, EdgeIndex)>> = HashMap::default();
    let mut loops = HashSet::default();
    for e in graph.edge_references() {
        if !closed[e.id().index()] {
            continue;
        }
        let (a, b) = (rep(e.source()), rep(e.target()));
        if a == b {
            continue;
        }
        // Parallel edges are judged on their own endpoints, before substations merge:
        // two edges from two substations into one node are a loop, not a bypass.
        let (x, y) = (e.source().index(), e.target().index());
        if !seen_pairs.insert((x.min(y), x.max(y))) {
            continue;
        }
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            let path = tree_path(&tree_adj, a, b);
            let mut ids: Vec<&str> = path.iter().map(|&p| graph[p].id.as_str()).collect();
            ids.push(&graph[e.id()].id);
            c.add(
                &graph[e.id()].id,
                format!(
                    "{}: {} (open one of them: set normally_open)",
                    super::LOOP_MESSAGE,
                    ids.join(", ")
                ),
            );
            loops.insert(e.id());
            continue;
        }
        parent[ra] = rb;
        tree_adj.entry(a).or_default().push((b, e.id()));
        tree_adj.entry(b).or_default().push((a, e.id()));
    }
    loops
}

fn tree_path(
    adj: &HashMap<usize, Vec<(usize, EdgeIndex)>>,
    from: usize,
    to: usize,
) -> Vec<EdgeIndex> {
    let mut prev: HashMap<usize, (usize, EdgeIndex)> = HashMap::default();
    let mut queue = VecDeque::from([from]);
    let mut seen: HashSet<usize> = [from].into_iter().collect();
    while let Some(u) = queue.pop_front() {
        if u == to {
            break;
        }
        for &(v, e) in adj.get(&u).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(v) {
                prev.insert(v, (u, e));
                queue.push_back(v);
            }
        }
    }
    let mut path = Vec::new();
    let mut cur = to;
    while let Some(&(p, e)) = prev.get(&cur) {
        path.push(e);
        cur = p;
    }
    path.reverse();
    path
}

/// Nodes that no substation reaches, even through normally-open points.
///
/// One exception, a real-data quirk: an island that holds a normally-open device (an
/// open fuse or switch whose both sides lead to networks outside the file, as BDGD
/// exports do at their boundary) is a boundary piece, not an error. It is kept, dark,
/// and named in the network's notes. An island without any open point is an error.
///
/// An island that a refused feature touched (`cut_by`: node → that feature's id) is
/// cut off by it: one problem, on that feature, rather than one per node of the island.
fn find_unreached(
    graph: &UnGraph<Node, Edge>,
    removed: &HashSet<EdgeIndex>,
    cut_by: &HashMap<NodeIndex, String>,
    c: &mut Collector,
    notes: &mut Vec<String>,
) -> HashSet<NodeIndex> {
    let mut seen = vec![false; graph.node_count()];
    let roots: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|&n| graph[n].kind == NodeKind::Substation)
        .collect();
    let flood = |seeds: Vec<NodeIndex>, seen: &mut Vec<bool>| -> (Vec<NodeIndex>, bool) {
        let mut queue: VecDeque<NodeIndex> = seeds.into();
        for n in &queue {
            seen[n.index()] = true;
        }
        let mut component = Vec::new();
        let mut has_open_point = false;
        while let Some(u) = queue.pop_front() {
            component.push(u);
            for e in graph.edges(u) {
                if removed.contains(&e.id()) {
                    continue;
                }
                has_open_point |= e.weight().normally_open;
                let v = if e.source() == u {
                    e.target()
                } else {
                    e.source()
                };
                if !seen[v.index()] {
                    seen[v.index()] = true;
                    queue.push_back(v);
                }
            }
        }
        (component, has_open_point)
    };
    flood(roots, &mut seen);
    let mut unreached = HashSet::default();
    for n in graph.node_indices() {
        if seen[n.index()] {
            continue;
        }
        let (mut island, boundary) = flood(vec![n], &mut seen);
        island.sort();
        let ids: Vec<&str> = island.iter().map(|&x| graph[x].id.as_str()).collect();
        if boundary {
            notes.push(format!(
                "boundary island kept dark (no substation in the file reaches it; it holds a normally-open device): {}",
                ids.join(", ")
            ));
            continue;
        }
        unreached.extend(island.iter().copied());
        if let Some(culprit) = island.iter().find_map(|x| cut_by.get(x)) {
            c.add(
                culprit,
                format!(
                    "was the only way from a substation to {} node(s), cut off with it (not listed again): {}",
                    ids.len(),
                    first_few(&ids)
                ),
            );
            continue;
        }
        for &x in &island {
            c.add(
                &graph[x].id,
                "no substation reaches this node, even through normally-open points",
            );
        }
    }
    unreached
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real file read through a window of a few kilobytes (most features then cut by
    /// its end, and parsed again once the rest is read) loads as through the default
    /// megabyte, strict and lenient.
    #[test]
    fn bundled_networks_load_the_same_through_a_small_window() {
        for name in ["bdgd_mux_energia", "ieee123", "simbench_mv_semiurb"] {
            let path = format!(
                "{}/../../gis-data/{name}.geojson",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read(&path).expect("bundled network is readable");
            for options in [
                LoadOptions::default(),
                LoadOptions {
                    add_protection: true,
                    set_aside_invalid: true,
                },
            ] {
                let whole = Network::from_geojson_reader(text.as_slice(), &options).unwrap();
                let small = Network::read_in_chunks(text.as_slice(), 4093, &options).unwrap();
                assert_eq!(small.fingerprint(), whole.fingerprint(), "{name}");
                assert_eq!(small.summary(), whole.summary(), "{name}");
                assert_eq!(small.metadata(), whole.metadata(), "{name}");
            }
        }
    }
}
