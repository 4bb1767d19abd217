//! OpenDSS model → contract network file.
//!
//! Owns the mapping from OpenDSS objects to faultline's nodes and edges:
//!
//! | OpenDSS | network file |
//! |---|---|
//! | `Line` | edge `line`; `switch=yes` → `switch`; opened terminal or `enabled=no` → `normally_open` |
//! | `Transformer` (first winding's bus → first other winding's bus) | edge `transformer`, `subtype` `regulator` (a `RegControl` drives it), `substation` (`sub=yes`, or inside the station) or `distribution`; the LV bus of a distribution transformer is a `transformer` node |
//! | `Reactor` with `bus2` | edge `line`, `subtype: series_reactor` |
//! | `Fuse` / `Recloser` / `Relay` | a short device edge `fuse` / `recloser` / `breaker` split out of the line it switches, at the terminal it watches, with a synthetic bus (`synthetic_split: true`) |
//! | `SwtControl` with `normal=open` | the switched line is `normally_open` |
//! | `Load` | `customer` node on its bus (`customers` = `numcust`, 1 by default) |
//! | `Circuit` / `Vsource` | its bus is a `substation` node |
//! | anything else with a bus | listed in [`Imported::unsupported`] |
//!
//! Then, as the ready files in `shared/data/geojson` do: parallel single-phase elements of
//! one kind between the same two buses are merged into their bank (ids joined by `+`);
//! the station is the source bus plus every bus reached from it through closed series
//! reactors, regulators and transformers that do not step down to LV (below 1 kV) — its
//! buses are `substation` nodes; each closed edge leaving the station is a feeder's
//! first edge and carries `feeder_head: true` unless it is a breaker or recloser; nodes
//! without coordinates sit at the mean of their placed neighbours (`xy_inferred`), and a
//! part of the network with no coordinates at all is laid out schematically.
//!
//! With [`ImportOptions::break_loops`], one closed edge per loop through closed edges is
//! opened (`normally_open`, with `opened_by_import` saying why), after the station is
//! known and before feeders are traced, so ties and feeders follow the opened state.
//!
//! Invariants of the output: see the parent module.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::import::dss_parse::{array, bus_name, number, yes};
use crate::import::dss_script::{self, class_display, split_object, Element, Script};
use crate::import::{ImportError, ImportOptions, Imported, OpenedEdge, Placement, SourceLocation};

use crate::network::spatial::EARTH_RADIUS_M;
/// A device split out of a line is this long at most …
const DEVICE_EDGE_MAX_M: f64 = 5.0;
/// … and never more than this share of the line.
const DEVICE_EDGE_MAX_SHARE: f64 = 0.1;
/// Spacing of a schematic layout, in local units.
const SCHEMATIC_SPACING: f64 = 100.0;
/// A transformer whose low-voltage winding is below this (kV) feeds customers: it ends
/// the station and its LV bus is a `transformer` node.
const LV_BELOW_KV: f64 = 1.0;

/// Classes that only define data other elements refer to: neither modelled nor listed.
const LIBRARY_CLASSES: [&str; 9] = [
    "linecode",
    "linegeometry",
    "linespacing",
    "wiredata",
    "cndata",
    "tsdata",
    "xfmrcode",
    "tcc_curve",
    "spectrum",
];

/// Reads the OpenDSS model whose master script is `master` and returns it as a contract
/// network file placed on the earth by `placement`.
///
/// Relative paths in the scripts are taken from each script's folder, as OpenDSS does.
/// The output is deterministic: the same files give the same collection.
pub fn import_opendss(master: &Path, placement: &Placement) -> Result<Imported, ImportError> {
    import_opendss_with(master, placement, &ImportOptions::default())
}

/// [`import_opendss`] with options (`--break-loops`).
pub fn import_opendss_with(
    master: &Path,
    placement: &Placement,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    check_placement(placement)?;
    let script = dss_script::run(master)?;
    build_imported(&script, master, placement, options)
}

/// [`import_opendss`] for a model given as text: `files[0]` is the master script, and
/// `Redirect`, `Compile` and `BusCoords` find the other files of `files` (name, text) by
/// file name, without regard to case. Nothing is read from disk, so a script from
/// anywhere (a test, the fuzzer) can name no file outside `files`.
pub fn import_opendss_text(
    files: &[(&str, &str)],
    placement: &Placement,
) -> Result<Imported, ImportError> {
    check_placement(placement)?;
    let script = dss_script::run_in_memory(files)?;
    let master = Path::new(files.first().map_or("", |(name, _)| *name));
    build_imported(&script, master, placement, &ImportOptions::default())
}

fn build_imported(
    script: &Script,
    master: &Path,
    placement: &Placement,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let mut build = Build::new(script);
    build.elements()?;
    build.apply_controls()?;
    if build.sources.is_empty() {
        return Err(ImportError::NoSource {
            master: master.to_path_buf(),
        });
    }
    build.register_nodes();
    build.coordinates();
    build.lengths(placement.metres_per_unit);
    build.split_devices()?;
    build.merge_banks();
    build.station();
    if options.break_loops {
        build.break_loops();
    }
    build.voltages();
    build.feeders();
    build.into_imported(master, placement)
}

fn check_placement(placement: &Placement) -> Result<(), ImportError> {
    let Placement {
        lon,
        lat,
        metres_per_unit,
    } = *placement;
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(ImportError::Placement(format!(
            "lon {lon} is not in -180..180"
        )));
    }
    if !(lat.is_finite() && lat.abs() < 89.0) {
        return Err(ImportError::Placement(format!(
            "lat {lat} is not in -89..89"
        )));
    }
    if !(metres_per_unit.is_finite() && metres_per_unit > 0.0) {
        return Err(ImportError::Placement(format!(
            "metres_per_unit {metres_per_unit} must be a positive number"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EdgeKind {
    Line,
    Switch,
    Transformer,
    Fuse,
    Recloser,
    Breaker,
}

impl EdgeKind {
    fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Line => "line",
            EdgeKind::Switch => "switch",
            EdgeKind::Transformer => "transformer",
            EdgeKind::Fuse => "fuse",
            EdgeKind::Recloser => "recloser",
            EdgeKind::Breaker => "breaker",
        }
    }
}

#[derive(Debug, Clone)]
struct Edge {
    id: String,
    src_id: String,
    kind: EdgeKind,
    subtype: Option<&'static str>,
    from: String,
    to: String,
    phases: Option<u32>,
    /// From the element's length and units; `None` → the distance between its ends.
    length_m: Option<f64>,
    kv: Option<f64>,
    kv_lv: Option<f64>,
    kva: Option<f64>,
    /// Transformer only: `sub=yes`.
    sub: bool,
    /// Transformer only: a RegControl drives it.
    regulated: bool,
    normally_open: bool,
    disabled: bool,
    /// `Fuse` / `Relay` / `Recloser` for a split-out device edge.
    src_type: Option<&'static str>,
    feeder: Option<String>,
    feeder_head: bool,
    tie: bool,
    /// The buses the element joins in the model, where a split-out device moved an
    /// end to its synthetic bus: two elements between the same two buses are a
    /// parallel pair.
    buses: Option<(String, String)>,
    /// Why `--break-loops` opened it.
    opened_why: Option<String>,
}

#[derive(Debug, Clone)]
struct Device {
    id: String,
    src_id: String,
    src_type: &'static str,
    kind: EdgeKind,
    target: String,
    terminal: u32,
    at: SourceLocation,
}

#[derive(Debug, Clone)]
struct Customer {
    id: String,
    src_id: String,
    bus: String,
    customers: u32,
    kv: Option<f64>,
    kw: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    id: String,
    xy: Option<(f64, f64)>,
    inferred: bool,
    schematic: bool,
    synthetic: bool,
    kind: &'static str,
    kv: Option<f64>,
    feeder: Option<String>,
}

struct Build<'s> {
    script: &'s Script,
    edges: Vec<Edge>,
    /// Script element index → its edge.
    edge_of: HashMap<usize, usize>,
    devices: Vec<Device>,
    customers: Vec<Customer>,
    /// (bus, base kV) of every Circuit / Vsource.
    sources: Vec<(String, f64)>,
    nodes: Vec<Node>,
    node_index: HashMap<String, usize>,
    unsupported: Vec<String>,
    notes: Vec<String>,
    merged_away: usize,
    station: HashSet<usize>,
}

impl<'s> Build<'s> {
    fn new(script: &'s Script) -> Self {
        Build {
            script,
            edges: Vec::new(),
            edge_of: HashMap::new(),
            devices: Vec::new(),
            customers: Vec::new(),
            sources: Vec::new(),
            nodes: Vec::new(),
            node_index: HashMap::new(),
            unsupported: Vec::new(),
            notes: script.notes.clone(),
            merged_away: 0,
            station: HashSet::new(),
        }
    }

    fn element_error(element: &Element, message: impl Into<String>) -> ImportError {
        ImportError::Element {
            at: element.at.clone(),
            element: element.id(),
            message: message.into(),
        }
    }

    fn required_bus(element: &Element, key: &str) -> Result<String, ImportError> {
        let bus = element.get(key).map(bus_name).unwrap_or_default();
        if bus.is_empty() {
            return Err(Self::element_error(element, format!("{key} is missing")));
        }
        Ok(bus)
    }

    fn library(
        &self,
        class: &str,
        name: Option<&str>,
        user: &Element,
    ) -> Result<Option<&'s Element>, ImportError> {
        let Some(name) = name else {
            return Ok(None);
        };
        match self.script.find(class, &name.to_ascii_lowercase()) {
            Some(index) => Ok(Some(&self.script.elements[index])),
            None => Err(Self::element_error(
                user,
                format!(
                    "{class}={name}: no {}.{name} is defined",
                    class_display(class)
                ),
            )),
        }
    }

    /// Every defined object, in order, becomes an edge, a customer, a source, a device,
    /// a control, an entry of `unsupported`, or (library data) nothing.
    fn elements(&mut self) -> Result<(), ImportError> {
        for (index, element) in self.script.elements.iter().enumerate() {
            let enabled = element.get("enabled").is_none_or(yes);
            match element.class.as_str() {
                "line" => {
                    if let Some(edge) = self.line(element)? {
                        self.push_edge(index, edge, enabled);
                    }
                }
                "transformer" => {
                    if let Some(edge) = self.transformer(element)? {
                        self.push_edge(index, edge, enabled);
                    }
                }
                "reactor" => match element.get("bus2").map(bus_name).filter(|b| !b.is_empty()) {
                    Some(to) => {
                        let from = Self::required_bus(element, "bus1")?;
                        let mut edge = plain_edge(element, EdgeKind::Line, from, to);
                        edge.subtype = Some("series_reactor");
                        edge.length_m = Some(0.0);
                        self.push_edge(index, edge, enabled);
                    }
                    None => self.unsupported.push(format!(
                        "{}: {} (shunt reactor: not a network element faultline models)",
                        element.at,
                        element.display()
                    )),
                },
                "load" => {
                    let bus = Self::required_bus(element, "bus1")?;
                    let customers = element
                        .get("numcust")
                        .and_then(number)
                        .filter(|n| *n >= 1.0)
                        .map_or(1, |n| n.round() as u32);
                    self.customers.push(Customer {
                        id: element.id(),
                        src_id: element.display(),
                        bus,
                        customers,
                        kv: element.get("kv").and_then(number),
                        kw: element.get("kw").and_then(number),
                    });
                }
                "vsource" => {
                    let bus = element
                        .get("bus1")
                        .map(bus_name)
                        .filter(|b| !b.is_empty())
                        .unwrap_or_else(|| "sourcebus".into());
                    let kv = element.get("basekv").and_then(number).unwrap_or(115.0);
                    self.sources.push((bus, kv));
                }
                "fuse" | "relay" | "recloser" => {
                    if !enabled {
                        self.notes.push(format!(
                            "{}: {} is disabled: left out",
                            element.at,
                            element.display()
                        ));
                        continue;
                    }
                    let (src_type, kind) = match element.class.as_str() {
                        "fuse" => ("Fuse", EdgeKind::Fuse),
                        "relay" => ("Relay", EdgeKind::Breaker),
                        _ => ("Recloser", EdgeKind::Recloser),
                    };
                    let switched = element.get("switchedobj").filter(|v| !v.is_empty());
                    let (target, term_key) = match switched {
                        Some(obj) => (obj, "switchedterm"),
                        None => match element.get("monitoredobj").filter(|v| !v.is_empty()) {
                            Some(obj) => (obj, "monitoredterm"),
                            None => {
                                return Err(Self::element_error(element, "MonitoredObj is missing"))
                            }
                        },
                    };
                    let terminal = element.get(term_key).and_then(number).map_or(1, |t| {
                        if t >= 1.5 {
                            2
                        } else {
                            1
                        }
                    });
                    self.devices.push(Device {
                        id: element.id(),
                        src_id: element.display(),
                        src_type,
                        kind,
                        target: target.to_string(),
                        terminal,
                        at: element.at.clone(),
                    });
                }
                "regcontrol" | "swtcontrol" => {} // applied once every edge exists
                class if LIBRARY_CLASSES.contains(&class) => {}
                class => self.unsupported.push(format!(
                    "{}: {} ({class}: not a network element faultline models)",
                    element.at,
                    element.display()
                )),
            }
        }
        Ok(())
    }

    fn push_edge(&mut self, element: usize, mut edge: Edge, enabled: bool) {
        if !enabled {
            edge.disabled = true;
            edge.normally_open = true;
        }
        if self.script.opened.contains_key(&element) {
            edge.normally_open = true;
        }
        self.edge_of.insert(element, self.edges.len());
        self.edges.push(edge);
    }

    fn line(&mut self, element: &Element) -> Result<Option<Edge>, ImportError> {
        let from = Self::required_bus(element, "bus1")?;
        let to = Self::required_bus(element, "bus2")?;
        if from == to {
            self.notes.push(format!(
                "{}: {} joins bus {from} to itself: left out",
                element.at,
                element.display()
            ));
            return Ok(None);
        }
        let code = self.library("linecode", element.get("linecode"), element)?;
        let kind = if element.get("switch").is_some_and(yes) {
            EdgeKind::Switch
        } else {
            EdgeKind::Line
        };
        let mut edge = plain_edge(element, kind, from, to);
        edge.phases = element
            .get("phases")
            .or_else(|| code.and_then(|c| c.get("nphases")))
            .and_then(number)
            .map(|p| p.round() as u32)
            .or(Some(3));
        let units = element
            .get("units")
            .or_else(|| code.and_then(|c| c.get("units")));
        let length = element.get("length").and_then(number).unwrap_or(1.0);
        edge.length_m = units.and_then(metres_per).map(|m| length * m);
        Ok(Some(edge))
    }

    fn transformer(&mut self, element: &Element) -> Result<Option<Edge>, ImportError> {
        #[derive(Clone, Default)]
        struct Winding {
            bus: Option<String>,
            kv: Option<f64>,
            kva: Option<f64>,
        }
        let mut props: Vec<(&str, &str)> = Vec::new();
        for (key, value) in &element.props {
            if key == "xfmrcode" {
                if let Some(code) = self.library("xfmrcode", Some(value), element)? {
                    props.extend(code.props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                }
            } else {
                props.push((key, value));
            }
        }
        let mut count = 2usize;
        let mut windings = vec![Winding::default(); 2];
        let mut cursor = 0usize;
        let mut phases = 3u32;
        let mut sub = false;
        let grow = |windings: &mut Vec<Winding>, n: usize| {
            if windings.len() < n {
                windings.resize(n, Winding::default());
            }
        };
        for (key, value) in props {
            match key {
                "windings" => {
                    count = number(value).map_or(2, |n| n.clamp(1.0, 16.0) as usize);
                    grow(&mut windings, count);
                }
                "wdg" => {
                    cursor = number(value).map_or(0, |n| n.clamp(1.0, 16.0) as usize - 1);
                    grow(&mut windings, cursor + 1);
                }
                "bus" => windings[cursor].bus = Some(bus_name(value)),
                "kv" => windings[cursor].kv = number(value),
                "kva" => windings[cursor].kva = number(value),
                "buses" | "kvs" | "kvas" => {
                    let items = array(value);
                    grow(&mut windings, items.len());
                    for (w, item) in windings.iter_mut().zip(items) {
                        match key {
                            "buses" => w.bus = Some(bus_name(&item)),
                            "kvs" => w.kv = number(&item),
                            _ => w.kva = number(&item),
                        }
                    }
                }
                "phases" => phases = number(value).map_or(3, |p| p.round() as u32),
                "sub" => sub = yes(value),
                _ => {}
            }
        }
        grow(&mut windings, count);
        let from = windings[0]
            .bus
            .clone()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| Self::element_error(element, "bus of winding 1 is missing"))?;
        let others = &windings[1..count.max(2)];
        let Some(to) = others
            .iter()
            .filter_map(|w| w.bus.clone())
            .find(|b| !b.is_empty() && *b != from)
        else {
            if let Some(missing) = others
                .iter()
                .position(|w| w.bus.as_deref().is_none_or(str::is_empty))
            {
                return Err(Self::element_error(
                    element,
                    format!("bus of winding {} is missing", missing + 2),
                ));
            }
            self.notes.push(format!(
                "{}: {} has every winding on bus {from}: left out",
                element.at,
                element.display()
            ));
            return Ok(None);
        };
        let mut edge = plain_edge(element, EdgeKind::Transformer, from, to.clone());
        edge.phases = Some(phases);
        edge.kv = windings[0].kv;
        // A centre-tapped service transformer has two LV windings on one bus: 120 + 120 V.
        let lv: Vec<f64> = others
            .iter()
            .filter(|w| w.bus.as_deref() == Some(to.as_str()))
            .filter_map(|w| w.kv)
            .collect();
        edge.kv_lv = (!lv.is_empty()).then(|| lv.iter().sum());
        edge.kva = windings[0].kva;
        edge.sub = sub;
        Ok(Some(edge))
    }

    /// RegControls mark their transformer; SwtControls with `normal=open` open their line.
    fn apply_controls(&mut self) -> Result<(), ImportError> {
        for element in &self.script.elements {
            let (key, class) = match element.class.as_str() {
                "regcontrol" => ("transformer", "transformer"),
                "swtcontrol" => ("switchedobj", "line"),
                _ => continue,
            };
            let Some(target) = element.get(key).filter(|v| !v.is_empty()) else {
                return Err(Self::element_error(element, format!("{key} is missing")));
            };
            let (class, name) = if target.contains('.') {
                split_object(target)
            } else {
                (class.to_string(), target.to_ascii_lowercase())
            };
            let edge = self
                .script
                .find(&class, &name)
                .and_then(|i| self.edge_of.get(&i).copied())
                .ok_or_else(|| {
                    Self::element_error(
                        element,
                        format!("{key}={target}: no such {class} in the network"),
                    )
                })?;
            if element.class == "regcontrol" {
                self.edges[edge].regulated = true;
            } else {
                let normal = element
                    .get("normal")
                    .or(element.get("state"))
                    .or(element.get("action"));
                if normal.is_some_and(|v| v.trim().to_ascii_lowercase().starts_with('o')) {
                    self.edges[edge].normally_open = true;
                }
            }
        }
        Ok(())
    }

    fn node(&mut self, id: &str) -> usize {
        if let Some(&index) = self.node_index.get(id) {
            return index;
        }
        self.nodes.push(Node {
            id: id.to_string(),
            xy: self.script.coords.get(id).copied(),
            kind: "bus",
            ..Node::default()
        });
        self.node_index.insert(id.to_string(), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn register_nodes(&mut self) {
        let sources: Vec<String> = self.sources.iter().map(|(b, _)| b.clone()).collect();
        let ends: Vec<(String, String)> = self
            .edges
            .iter()
            .map(|e| (e.from.clone(), e.to.clone()))
            .collect();
        let buses: Vec<String> = self.customers.iter().map(|c| c.bus.clone()).collect();
        for id in sources {
            self.node(&id);
        }
        for (from, to) in ends {
            self.node(&from);
            self.node(&to);
        }
        for id in buses {
            self.node(&id);
        }
    }

    fn adjacency(&self) -> Vec<Vec<(usize, usize)>> {
        let mut adjacent = vec![Vec::new(); self.nodes.len()];
        for (e, edge) in self.edges.iter().enumerate() {
            let (a, b) = (self.node_index[&edge.from], self.node_index[&edge.to]);
            adjacent[a].push((b, e));
            adjacent[b].push((a, e));
        }
        adjacent
    }

    /// Nodes without coordinates go to the mean of their placed neighbours, round after
    /// round; what is still unplaced (no coordinates anywhere in its part of the
    /// network) is laid out schematically, breadth first.
    ///
    /// A round looks only at the nodes next to those the round before placed (the
    /// others have no newly placed neighbour, so nothing changes for them): a chain
    /// placed from one end costs its length, not its length squared (a 20,000-bus chain
    /// with only its source placed took 13.8 s, a round per bus over every node).
    fn coordinates(&mut self) {
        let adjacent = self.adjacency();
        let mut inferred = 0usize;
        let mut frontier: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].xy.is_some())
            .collect();
        let mut queued = vec![false; self.nodes.len()];
        loop {
            let mut candidates = Vec::new();
            for &p in &frontier {
                for &(n, _) in &adjacent[p] {
                    if self.nodes[n].xy.is_none() && !queued[n] {
                        queued[n] = true;
                        candidates.push(n);
                    }
                }
            }
            candidates.sort_unstable();
            let mut placed = Vec::with_capacity(candidates.len());
            for i in candidates {
                queued[i] = false;
                let known: Vec<(f64, f64)> = adjacent[i]
                    .iter()
                    .filter_map(|&(n, _)| self.nodes[n].xy)
                    .collect();
                let count = known.len() as f64;
                let x = known.iter().map(|p| p.0).sum::<f64>() / count;
                let y = known.iter().map(|p| p.1).sum::<f64>() / count;
                placed.push((i, (x, y)));
            }
            if placed.is_empty() {
                break;
            }
            inferred += placed.len();
            frontier.clear();
            for (i, xy) in placed {
                self.nodes[i].xy = Some(xy);
                self.nodes[i].inferred = true;
                frontier.push(i);
            }
        }
        if inferred > 0 {
            self.notes.push(format!(
                "{inferred} nodes had no coordinates in the source; placed at the mean of their neighbours (xy_inferred=true)"
            ));
        }
        let any_placed = self.nodes.iter().any(|n| n.xy.is_some());
        let (origin_x, mut origin_y) = self
            .nodes
            .iter()
            .filter_map(|n| n.xy)
            .fold(None, |acc: Option<(f64, f64)>, (x, y)| {
                Some(acc.map_or((x, y), |(ax, ay)| (ax.min(x), ay.min(y))))
            })
            .map_or((0.0, 0.0), |(x, y)| (x, y - 2.0 * SCHEMATIC_SPACING));
        let mut schematic = 0usize;
        for root in 0..self.nodes.len() {
            if self.nodes[root].xy.is_some() {
                continue;
            }
            let mut layer_width: HashMap<usize, usize> = HashMap::new();
            let mut queue = VecDeque::from([(root, 0usize)]);
            self.nodes[root].xy = Some((origin_x, origin_y));
            while let Some((i, depth)) = queue.pop_front() {
                let row = layer_width.entry(depth).or_insert(0);
                self.nodes[i].xy = Some((
                    origin_x + depth as f64 * SCHEMATIC_SPACING,
                    origin_y - *row as f64 * SCHEMATIC_SPACING,
                ));
                *row += 1;
                self.nodes[i].inferred = true;
                self.nodes[i].schematic = true;
                schematic += 1;
                for &(n, _) in &adjacent[i] {
                    if self.nodes[n].xy.is_none() {
                        self.nodes[n].xy = Some((origin_x, origin_y));
                        queue.push_back((n, depth + 1));
                    }
                }
            }
            let rows = layer_width.values().copied().max().unwrap_or(1);
            origin_y -= (rows as f64 + 2.0) * SCHEMATIC_SPACING;
        }
        if schematic > 0 {
            self.notes.push(if any_placed {
                format!(
                    "{schematic} nodes had no coordinates anywhere in their part of the network: laid out schematically below the rest (xy_inferred=true, xy_schematic=true)"
                )
            } else {
                format!(
                    "the scripts set no bus coordinates (no BusCoords command ran): all {schematic} nodes were laid out schematically, breadth first from the source, {SCHEMATIC_SPACING} units apart (xy_inferred=true, xy_schematic=true); import the script that runs BusCoords for the real layout"
                )
            });
        }
    }

    fn xy(&self, id: &str) -> (f64, f64) {
        self.node_index
            .get(id)
            .and_then(|&i| self.nodes[i].xy)
            .unwrap_or((0.0, 0.0))
    }

    /// Edges whose length the script does not give in units are as long as the
    /// distance between their ends.
    fn lengths(&mut self, metres_per_unit: f64) {
        let mut measured = 0usize;
        for e in 0..self.edges.len() {
            if self.edges[e].length_m.is_some() {
                continue;
            }
            let (a, b) = (self.xy(&self.edges[e].from), self.xy(&self.edges[e].to));
            self.edges[e].length_m = Some((a.0 - b.0).hypot(a.1 - b.1) * metres_per_unit);
            if self.edges[e].kind != EdgeKind::Transformer {
                measured += 1;
            }
        }
        if measured > 0 {
            self.notes.push(format!(
                "{measured} lines give no length units: their length_m is the distance between their ends"
            ));
        }
    }

    /// Each fuse / relay / recloser becomes a short device edge at the terminal it
    /// watches, with a synthetic bus between it and the rest of its line.
    fn split_devices(&mut self) -> Result<(), ImportError> {
        let devices = std::mem::take(&mut self.devices);
        for device in &devices {
            let (class, name) = split_object(&device.target);
            let Some(element) = self.script.find(&class, &name) else {
                return Err(ImportError::Element {
                    at: device.at.clone(),
                    element: device.id.clone(),
                    message: format!("MonitoredObj {class}.{name} does not exist"),
                });
            };
            let Some(&e) = self.edge_of.get(&element) else {
                return Err(ImportError::Element {
                    at: device.at.clone(),
                    element: device.id.clone(),
                    message: format!("{class}.{name} is not a line or transformer of the network"),
                });
            };
            let line = self.edges[e].clone();
            let total = line.length_m.unwrap_or(0.0);
            let device_m = (total * DEVICE_EDGE_MAX_SHARE).min(DEVICE_EDGE_MAX_M);
            let share = if total > 0.0 { device_m / total } else { 0.0 };
            let (near, far) = if device.terminal == 2 {
                (line.to.clone(), line.from.clone())
            } else {
                (line.from.clone(), line.to.clone())
            };
            let (a, b) = (self.xy(&near), self.xy(&far));
            let synthetic = format!("{}~{}", line.id, device.id);
            let index = self.node(&synthetic);
            self.nodes[index].xy = Some((a.0 + share * (b.0 - a.0), a.1 + share * (b.1 - a.1)));
            self.nodes[index].synthetic = true;
            if self.edges[e].buses.is_none() {
                self.edges[e].buses = Some((line.from.clone(), line.to.clone()));
            }
            if device.terminal == 2 {
                self.edges[e].to = synthetic.clone();
            } else {
                self.edges[e].from = synthetic.clone();
            }
            self.edges[e].length_m = Some(total - device_m);
            self.edges.push(Edge {
                id: device.id.clone(),
                src_id: device.src_id.clone(),
                kind: device.kind,
                subtype: None,
                from: near,
                to: synthetic,
                phases: line.phases,
                length_m: Some(device_m),
                kv: None,
                kv_lv: None,
                kva: None,
                sub: false,
                regulated: false,
                normally_open: false,
                disabled: false,
                src_type: Some(device.src_type),
                feeder: None,
                feeder_head: false,
                tie: false,
                buses: None,
                opened_why: None,
            });
        }
        if !devices.is_empty() {
            self.notes.push(format!(
                "{} protective devices were split out of the line they switch as short device edges with a synthetic bus (synthetic_split=true)",
                devices.len()
            ));
        }
        Ok(())
    }

    /// Parallel single-phase elements of one kind between the same buses are one bank.
    fn merge_banks(&mut self) {
        let mut groups: HashMap<(String, String, &'static str, Option<&'static str>, bool), usize> =
            HashMap::new();
        let mut merged: Vec<Edge> = Vec::with_capacity(self.edges.len());
        for edge in std::mem::take(&mut self.edges) {
            if edge.phases == Some(1) && edge.src_type.is_none() {
                let (a, b) = if edge.from <= edge.to {
                    (edge.from.clone(), edge.to.clone())
                } else {
                    (edge.to.clone(), edge.from.clone())
                };
                let key = (a, b, edge.kind.as_str(), edge.subtype, edge.normally_open);
                if let Some(&g) = groups.get(&key) {
                    let bank: &mut Edge = &mut merged[g];
                    if bank.regulated == edge.regulated && bank.sub == edge.sub {
                        bank.id = format!("{}+{}", bank.id, edge.id);
                        bank.src_id = format!("{}|{}", bank.src_id, edge.src_id);
                        bank.phases = bank.phases.map(|p| p + 1);
                        bank.kva = bank.kva.zip(edge.kva).map(|(a, b)| a + b);
                        bank.disabled |= edge.disabled;
                        self.merged_away += 1;
                        continue;
                    }
                }
                groups.insert(key, merged.len());
            }
            merged.push(edge);
        }
        self.edges = merged;
        if self.merged_away > 0 {
            self.notes.push(format!(
                "{} parallel single-phase elements merged into their bank (ids joined with '+')",
                self.merged_away
            ));
        }
    }

    /// The station: sources plus what closed reactors, regulators and non-LV
    /// transformers reach from them. Decides transformer subtypes and node kinds.
    fn station(&mut self) {
        let adjacent = self.adjacency();
        let mut queue: VecDeque<usize> = VecDeque::new();
        for (bus, _) in &self.sources {
            let i = self.node_index[bus];
            if self.station.insert(i) {
                queue.push_back(i);
            }
        }
        while let Some(i) = queue.pop_front() {
            for &(n, e) in &adjacent[i] {
                let edge = &self.edges[e];
                let crosses = !edge.normally_open
                    && match edge.kind {
                        EdgeKind::Transformer => {
                            edge.regulated
                                || edge.sub
                                || edge.kv_lv.is_none_or(|kv| kv >= LV_BELOW_KV)
                        }
                        EdgeKind::Line => edge.subtype == Some("series_reactor"),
                        _ => false,
                    };
                if crosses && self.station.insert(n) {
                    queue.push_back(n);
                }
            }
        }
        for edge in &mut self.edges {
            if edge.kind != EdgeKind::Transformer {
                continue;
            }
            let inside = self.station.contains(&self.node_index[&edge.from])
                && self.station.contains(&self.node_index[&edge.to]);
            edge.subtype = Some(if edge.regulated {
                "regulator"
            } else if edge.sub || inside {
                "substation"
            } else {
                "distribution"
            });
            if edge.subtype == Some("distribution") {
                let lv = self.node_index[&edge.to];
                if !self.station.contains(&lv) {
                    self.nodes[lv].kind = "transformer";
                }
            }
        }
        for &i in &self.station {
            self.nodes[i].kind = "substation";
        }
    }

    /// `--break-loops`: open one closed edge per loop, as the network file's loader
    /// counts loops (the station's nodes are one source; parallel closed edges between
    /// the same two nodes are a bypass, not a loop).
    ///
    /// The edges kept closed are a spanning forest grown from the edges most worth
    /// keeping (Kruskal's order): protective devices, then transformers, then lines,
    /// then elements of a parallel pair, then switches; in a tie, the earlier in file
    /// order. So every loop loses its least worth keeping edge: a switch on it if it
    /// has one, else the later element of a parallel pair.
    fn break_loops(&mut self) {
        let n = self.nodes.len();
        let source = n;
        let rep =
            |i: usize, station: &HashSet<usize>| if station.contains(&i) { source } else { i };
        let ends: Vec<(usize, usize)> = self
            .edges
            .iter()
            .map(|e| (self.node_index[&e.from], self.node_index[&e.to]))
            .collect();
        let bus_pair = |e: &Edge| {
            let (a, b) = e
                .buses
                .clone()
                .unwrap_or_else(|| (e.from.clone(), e.to.clone()));
            if a <= b {
                (a, b)
            } else {
                (b, a)
            }
        };
        // Closed elements (not split-out devices) per pair of model buses.
        let mut pairs: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (k, e) in self.edges.iter().enumerate() {
            if !e.normally_open && e.src_type.is_none() {
                pairs.entry(bus_pair(e)).or_default().push(k);
            }
        }
        // The other element of a pair that is a loop in the file: same model buses,
        // other ends (a device split out of one of them). Elements between the very
        // same two nodes are a bypass the file allows, and opening one would not help.
        let same_ends = |a: (usize, usize), b: (usize, usize)| a == b || a == (b.1, b.0);
        let twin = |k: usize| -> Option<usize> {
            let e = &self.edges[k];
            if e.src_type.is_some() {
                return None;
            }
            pairs[&bus_pair(e)]
                .iter()
                .copied()
                .find(|&o| o != k && !same_ends(ends[o], ends[k]))
        };
        let worth = |k: usize| -> u8 {
            let e = &self.edges[k];
            match e.kind {
                EdgeKind::Fuse | EdgeKind::Recloser | EdgeKind::Breaker => 4,
                _ if e.src_type.is_some() => 4,
                EdgeKind::Switch => 0,
                _ if twin(k).is_some() => 1,
                EdgeKind::Transformer => 3,
                EdgeKind::Line => 2,
            }
        };
        let mut order: Vec<usize> = (0..self.edges.len())
            .filter(|&k| !self.edges[k].normally_open)
            .collect();
        order.sort_by_key(|&k| (std::cmp::Reverse(worth(k)), k));

        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        let mut parent: Vec<usize> = (0..=n).collect();
        let mut seen_pairs: HashSet<(usize, usize)> = HashSet::new();
        let mut forest: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n + 1];
        let mut opened = Vec::new();
        for k in order {
            let (x, y) = ends[k];
            let (a, b) = (rep(x, &self.station), rep(y, &self.station));
            if a == b || seen_pairs.contains(&(x.min(y), x.max(y))) {
                continue;
            }
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra == rb {
                opened.push(k);
                continue;
            }
            parent[ra] = rb;
            seen_pairs.insert((x.min(y), x.max(y)));
            forest[a].push((b, k));
            forest[b].push((a, k));
        }
        if opened.is_empty() {
            return;
        }
        // The forest rooted, to name each loop: the opened edge and the forest's path
        // between its ends.
        let mut up: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        let mut depth = vec![usize::MAX; n + 1];
        for root in std::iter::once(source).chain(0..n) {
            if depth[root] != usize::MAX {
                continue;
            }
            depth[root] = 0;
            let mut queue = VecDeque::from([root]);
            while let Some(u) = queue.pop_front() {
                for &(v, k) in &forest[u] {
                    if depth[v] == usize::MAX {
                        depth[v] = depth[u] + 1;
                        up[v] = Some((u, k));
                        queue.push_back(v);
                    }
                }
            }
        }
        opened.sort_unstable();
        let mut whys = Vec::with_capacity(opened.len());
        for &k in &opened {
            let (x, y) = ends[k];
            let (mut a, mut b) = (rep(x, &self.station), rep(y, &self.station));
            let mut path = vec![k];
            while a != b {
                let deeper = if depth[a] >= depth[b] { &mut a } else { &mut b };
                let Some((next, edge)) = up[*deeper] else {
                    break;
                };
                path.push(edge);
                *deeper = next;
            }
            const SHOWN: usize = 8;
            let mut loop_ids: Vec<&str> = path
                .iter()
                .take(SHOWN)
                .map(|&e| self.edges[e].id.as_str())
                .collect();
            if path.len() > SHOWN {
                loop_ids.push("…");
            }
            let through = format!(
                "the loop through {} ({} edges)",
                loop_ids.join(", "),
                path.len()
            );
            let e = &self.edges[k];
            whys.push(match (e.kind, twin(k)) {
                (EdgeKind::Switch, _) => format!("a switch on {through}"),
                (_, Some(other)) => {
                    let (a, b) = bus_pair(e);
                    format!(
                        "parallel to {} between buses {a} and {b}: one of the pair opened, on {through}",
                        self.edges[other].id
                    )
                }
                _ => format!("closes {through}, which has no switch or parallel pair to open instead"),
            });
        }
        let mut ids = Vec::with_capacity(opened.len());
        for (k, why) in opened.into_iter().zip(whys) {
            ids.push(self.edges[k].id.clone());
            self.edges[k].normally_open = true;
            self.edges[k].opened_why = Some(why);
        }
        self.notes.push(format!(
            "{} edges opened to break loops through closed edges (--break-loops; why in each one's opened_by_import): {}",
            ids.len(),
            ids.join(", ")
        ));
    }

    /// Base voltages, breadth first from the sources; a transformer changes it to its
    /// other winding's kV unless its ratio is 1:1.
    fn voltages(&mut self) {
        let adjacent = self.adjacency();
        let mut queue = VecDeque::new();
        for (bus, kv) in &self.sources {
            let i = self.node_index[bus];
            if self.nodes[i].kv.is_none() {
                self.nodes[i].kv = Some(*kv);
                queue.push_back(i);
            }
        }
        while let Some(i) = queue.pop_front() {
            let here = self.nodes[i].kv;
            for &(n, e) in &adjacent[i] {
                if self.nodes[n].kv.is_some() {
                    continue;
                }
                let edge = &self.edges[e];
                let kv = match (edge.kind, edge.kv, edge.kv_lv) {
                    // A 1:1 regulator (or a single-phase unit rated line-to-neutral on a
                    // line-to-line system) keeps the voltage it is fed with.
                    (EdgeKind::Transformer, Some(hv), Some(lv)) if (hv / lv - 1.0).abs() < 0.05 => {
                        here
                    }
                    (EdgeKind::Transformer, hv, lv) => {
                        if self.node_index[&edge.to] == n {
                            lv
                        } else {
                            hv
                        }
                    }
                    _ => here,
                };
                if kv.is_some() {
                    self.nodes[n].kv = kv;
                    queue.push_back(n);
                }
            }
        }
        for e in 0..self.edges.len() {
            if self.edges[e].kind != EdgeKind::Transformer {
                let (a, b) = (
                    self.node_index[&self.edges[e].from],
                    self.node_index[&self.edges[e].to],
                );
                self.edges[e].kv = self.nodes[a].kv.or(self.nodes[b].kv);
            }
        }
    }

    /// Feeder heads are the closed edges that leave the station; every node and edge a
    /// head reaches through closed edges belongs to its feeder.
    fn feeders(&mut self) {
        let adjacent = self.adjacency();
        let mut heads = 0usize;
        let mut flagged = 0usize;
        for e in 0..self.edges.len() {
            let edge = &self.edges[e];
            let (a, b) = (self.node_index[&edge.from], self.node_index[&edge.to]);
            if edge.normally_open || self.station.contains(&a) == self.station.contains(&b) {
                continue;
            }
            heads += 1;
            let id = edge.id.clone();
            if !matches!(edge.kind, EdgeKind::Breaker | EdgeKind::Recloser) {
                self.edges[e].feeder_head = true;
                flagged += 1;
            }
            self.edges[e].feeder = Some(id.clone());
            let start = if self.station.contains(&a) { b } else { a };
            if self.nodes[start].feeder.is_some() {
                continue;
            }
            self.nodes[start].feeder = Some(id.clone());
            let mut queue = VecDeque::from([start]);
            while let Some(i) = queue.pop_front() {
                for &(n, f) in &adjacent[i] {
                    if self.edges[f].normally_open || self.station.contains(&n) {
                        continue;
                    }
                    if self.edges[f].feeder.is_none() {
                        self.edges[f].feeder = Some(id.clone());
                    }
                    if self.nodes[n].feeder.is_none() {
                        self.nodes[n].feeder = Some(id.clone());
                        queue.push_back(n);
                    }
                }
            }
        }
        for edge in &mut self.edges {
            if edge.normally_open {
                let a = &self.nodes[self.node_index[&edge.from]].feeder;
                let b = &self.nodes[self.node_index[&edge.to]].feeder;
                edge.tie = a.is_some() && b.is_some();
                edge.feeder = a.clone().or_else(|| b.clone());
            }
        }
        if flagged > 0 {
            self.notes.push(format!(
                "{flagged} of {heads} feeders have no breaker/recloser as their first edge: that edge is flagged feeder_head=true; treat it as the station breaker position"
            ));
        }
    }

    fn into_imported(self, master: &Path, placement: &Placement) -> Result<Imported, ImportError> {
        let (reference_bus, _) = &self.sources[0];
        let reference = self.xy(reference_bus);
        let place = |(x, y): (f64, f64)| -> [f64; 2] {
            let lat0 = placement.lat.to_radians();
            let dx = (x - reference.0) * placement.metres_per_unit;
            let dy = (y - reference.1) * placement.metres_per_unit;
            let lat = placement.lat + (dy / EARTH_RADIUS_M).to_degrees();
            let lon = placement.lon + (dx / (EARTH_RADIUS_M * lat0.cos())).to_degrees();
            [round(lon, 7), round(lat, 7)]
        };
        // The features are written out one by one as they are made: a serde_json tree
        // of them all costs some 4 KB a feature, fifteen times their text (see
        // `Imported::geojson`). The members come in serde_json's order (sorted), so
        // the text is the one `serde_json::to_string` gave of the whole tree.
        let mut text = String::from(r#"{"features":["#);
        let mut features = 0usize;
        let mut write = |feature: Value| {
            if features > 0 {
                text.push(',');
            }
            features += 1;
            // unwrap: a Value with string keys always serializes.
            text.push_str(&serde_json::to_string(&feature).unwrap());
        };
        let mut node_kinds: Map<String, Value> = Map::new();
        let mut positions: HashMap<&str, [f64; 2]> = HashMap::new();
        for node in &self.nodes {
            let at = place(node.xy.unwrap_or(reference));
            if !(at[0].is_finite()
                && at[1].is_finite()
                && at[0].abs() <= 180.0
                && at[1].abs() <= 90.0)
            {
                return Err(ImportError::Placement(format!(
                    "node {} lands at {:?}, outside lon/lat range: check metres_per_unit",
                    node.id, at
                )));
            }
            positions.insert(node.id.as_str(), at);
            bump(&mut node_kinds, node.kind);
            let mut p = Map::new();
            p.insert("id".into(), json!(node.id));
            p.insert("kind".into(), json!(node.kind));
            if node.kind == "substation" {
                let name = self
                    .script
                    .circuit_name
                    .clone()
                    .unwrap_or_else(|| node.id.clone());
                p.insert("name".into(), json!(name));
            }
            if node.kind == "transformer" {
                // Its customers are listed one by one as `customer` points.
                p.insert("customers".into(), json!(0));
            }
            if let Some(kv) = node.kv {
                p.insert("voltage_kv".into(), json!(round(kv, 4)));
            }
            p.insert("feeder".into(), json!(node.feeder));
            if node.inferred {
                p.insert("xy_inferred".into(), json!(true));
            }
            if node.schematic {
                p.insert("xy_schematic".into(), json!(true));
            }
            if node.synthetic {
                p.insert("synthetic".into(), json!(true));
            } else {
                p.insert("src_id".into(), json!(node.id));
            }
            write(point(&node.id, at, p));
        }
        let mut customers_total = 0u64;
        for customer in &self.customers {
            let node = &self.nodes[self.node_index[&customer.bus]];
            let at = positions[customer.bus.as_str()];
            customers_total += u64::from(customer.customers);
            bump(&mut node_kinds, "customer");
            let mut p = Map::new();
            p.insert("id".into(), json!(customer.id));
            p.insert("kind".into(), json!("customer"));
            p.insert("bus".into(), json!(customer.bus));
            p.insert("customers".into(), json!(customer.customers));
            p.insert("customers_estimated".into(), json!(false));
            p.insert("aggregate".into(), json!(customer.customers > 1));
            p.insert("critical".into(), json!(false));
            if let Some(kv) = customer.kv {
                p.insert("voltage_kv".into(), json!(kv));
            }
            if let Some(kw) = customer.kw {
                p.insert("load_kw".into(), json!(kw));
            }
            p.insert("feeder".into(), json!(node.feeder));
            p.insert("src_id".into(), json!(customer.src_id));
            write(point(&customer.id, at, p));
        }
        let mut edge_kinds: Map<String, Value> = Map::new();
        let mut length_m = 0.0;
        let mut normally_open = 0usize;
        let mut feeders = 0usize;
        for edge in &self.edges {
            bump(&mut edge_kinds, edge.kind.as_str());
            let length = round(edge.length_m.unwrap_or(0.0), 2);
            length_m += length;
            normally_open += usize::from(edge.normally_open);
            feeders += usize::from(edge.feeder.as_deref() == Some(edge.id.as_str()));
            let mut p = Map::new();
            p.insert("id".into(), json!(edge.id));
            p.insert("kind".into(), json!(edge.kind.as_str()));
            p.insert("from".into(), json!(edge.from));
            p.insert("to".into(), json!(edge.to));
            p.insert("normally_open".into(), json!(edge.normally_open));
            if let Some(kv) = edge.kv {
                p.insert("voltage_kv".into(), json!(round(kv, 4)));
            }
            if let Some(kv) = edge.kv_lv {
                p.insert("voltage_kv_lv".into(), json!(round(kv, 4)));
            }
            if let Some(kva) = edge.kva {
                p.insert("sn_kva".into(), json!(kva));
            }
            if let Some(subtype) = edge.subtype {
                p.insert("subtype".into(), json!(subtype));
            }
            p.insert("length_m".into(), json!(length));
            if let Some(phases) = edge.phases {
                p.insert("phases".into(), json!(phases));
            }
            p.insert("feeder".into(), json!(edge.feeder));
            if edge.feeder_head {
                p.insert("feeder_head".into(), json!(true));
            }
            if edge.tie {
                p.insert("tie".into(), json!(true));
            }
            if edge.disabled {
                p.insert("src_disabled".into(), json!(true));
            }
            if let Some(why) = &edge.opened_why {
                p.insert("opened_by_import".into(), json!(why));
            }
            if let Some(src_type) = edge.src_type {
                p.insert("synthetic_split".into(), json!(true));
                p.insert("src_type".into(), json!(src_type));
            }
            p.insert("src_id".into(), json!(edge.src_id));
            let coordinates = [positions[edge.from.as_str()], positions[edge.to.as_str()]];
            write(json!({
                "type": "Feature",
                "id": edge.id,
                "geometry": {"type": "LineString", "coordinates": coordinates},
                "properties": p,
            }));
        }
        let mut notes = self.notes;
        notes.push(format!(
            "local coordinates were PLACED with the source bus {reference_bus} at lon/lat {},{} ({} m per unit, spherical earth R={EARTH_RADIUS_M} m); geography is not real",
            placement.lon, placement.lat, placement.metres_per_unit
        ));
        if !self.unsupported.is_empty() {
            notes.push(format!(
                "{} elements faultline does not model were left out (see `unsupported`)",
                self.unsupported.len()
            ));
        }
        let point_count = self.nodes.len() + self.customers.len();
        let metadata = json!({
            "source": master.display().to_string(),
            "generator": "faultline import (OpenDSS)",
            "description": format!(
                "OpenDSS circuit {} imported from {}",
                self.script.circuit_name.as_deref().unwrap_or("(unnamed)"),
                master.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ),
            "files": self.script.files,
            "coordinate_system": "EPSG:4326",
            "placed_synthetically": true,
            "placement": {
                "lon": placement.lon,
                "lat": placement.lat,
                "metres_per_unit": placement.metres_per_unit,
                "reference_bus": reference_bus,
                "reference_xy": [reference.0, reference.1],
                "earth_radius_m": EARTH_RADIUS_M,
                "method": "lon/lat = placement + metres_per_unit * (x - x_ref, y - y_ref) on a sphere, (x_ref, y_ref) = the first source bus",
            },
            "notes": notes,
            "stats": {
                "nodes": point_count,
                "node_kinds": node_kinds,
                "edges": self.edges.len(),
                "edge_kinds": edge_kinds,
                "normally_open_edges": normally_open,
                "feeders": feeders,
                "customers_total": customers_total,
                "merged_parallel_elements": self.merged_away,
                "unsupported_elements": self.unsupported.len(),
                "length_km": round(length_m / 1000.0, 2),
            },
        });
        text.push_str(r#"],"metadata":"#);
        text.push_str(&metadata.to_string());
        text.push_str(r#","type":"FeatureCollection"}"#);
        let opened = self
            .edges
            .iter()
            .filter_map(|e| {
                e.opened_why.as_ref().map(|why| OpenedEdge {
                    id: e.id.clone(),
                    why: why.clone(),
                })
            })
            .collect();
        Ok(Imported {
            geojson: text,
            unsupported: self.unsupported,
            notes,
            opened,
        })
    }
}

fn plain_edge(element: &Element, kind: EdgeKind, from: String, to: String) -> Edge {
    Edge {
        id: element.id(),
        src_id: element.display(),
        kind,
        subtype: None,
        from,
        to,
        phases: None,
        length_m: None,
        kv: None,
        kv_lv: None,
        kva: None,
        sub: false,
        regulated: false,
        normally_open: false,
        disabled: false,
        src_type: None,
        feeder: None,
        feeder_head: false,
        tie: false,
        buses: None,
        opened_why: None,
    }
}

/// Metres per OpenDSS length unit; `none` (and anything unknown) has no scale.
fn metres_per(units: &str) -> Option<f64> {
    match units.trim().to_ascii_lowercase().as_str() {
        "mi" => Some(1609.344),
        "kft" => Some(304.8),
        "km" => Some(1000.0),
        "m" | "meter" | "me" => Some(1.0),
        "ft" => Some(0.3048),
        "in" => Some(0.0254),
        "cm" => Some(0.01),
        "mm" => Some(0.001),
        _ => None,
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn bump(counts: &mut Map<String, Value>, key: &str) {
    let n = counts.get(key).and_then(Value::as_u64).unwrap_or(0);
    counts.insert(key.to_string(), json!(n + 1));
}

fn point(id: &str, at: [f64; 2], properties: Map<String, Value>) -> Value {
    json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Point", "coordinates": at},
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_moves_a_kilometre_north_by_about_nine_thousandths_of_a_degree() {
        let dy = 1000.0 / EARTH_RADIUS_M;
        assert!((dy.to_degrees() - 0.008_993_2).abs() < 1e-6);
    }

    #[test]
    fn placements_out_of_range_are_refused() {
        let bad = Placement {
            lon: 200.0,
            lat: 0.0,
            metres_per_unit: 1.0,
        };
        assert!(check_placement(&bad).is_err());
        let bad = Placement {
            lon: 0.0,
            lat: 0.0,
            metres_per_unit: 0.0,
        };
        assert!(check_placement(&bad).is_err());
    }

    #[test]
    fn length_units_scale_to_metres() {
        assert_eq!(metres_per("kft"), Some(304.8));
        assert_eq!(metres_per("none"), None);
    }
}
