//! The distribution network in memory: graph, feeders, protective-device chains,
//! customers below each device, and a spatial index.
//!
//! # What it owns
//! A [`Network`] is loaded once from a contract GeoJSON file (CONTRACT section 1) by
//! [`Network::from_geojson`]. It holds:
//! - the graph of nodes (substations, buses, transformer points) and edges (lines,
//!   cables, switches, protective devices, transformers), in a petgraph `UnGraph`;
//! - the service points (customers), which hang on a node and are not graph nodes;
//! - the protective devices: breakers, reclosers, sectionalizers, fuses, every feeder
//!   head (it acts as the feeder breaker), every distribution transformer (it counts as
//!   fused) and every transformer Point that no transformer edge feeds;
//! - the trace of the current switching state ([`trace`]): for every node its feeder
//!   and the nearest protective device above it, for every device the device above it
//!   and the customers (and critical customers) below it;
//! - an R-tree over service points, transformers and depots ([`spatial`]).
//!
//! # Invariants
//! - The graph is radial in every state the file allows: a file whose closed edges form
//!   a loop (other than parallel edges between two nodes, or edges inside a substation)
//!   is refused at load.
//! - Every node reachable from a substation through closed edges is *fed*, and its
//!   parent edge, feeder and device chain describe that path. Nodes behind an open
//!   point are unfed and belong to no feeder until a switch closes.
//! - Switching ([`Network::set_closed`]) re-traces only the nodes whose path changed.
//!   A protective device *tripping* is not switching: the engine keeps what it believes
//!   open separately, and the chains here stay those of the configured network, which
//!   is what trouble-call analysis rolls reports up through.
//!
//! # Must not depend on
//! Anything with I/O, time or async: this module is pure, so the engine that uses it
//! is deterministic. petgraph's `NodeIndex` never leaves this module: outside it, nodes
//! and devices are named by their string ids or by the opaque [`DeviceIdx`] and
//! [`CustomerIdx`] handles.

mod feature_reader;
mod geojson;
pub mod protection;
pub mod spatial;
pub mod trace;

use std::collections::HashMap;
use std::fmt;

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use serde::Serialize;

pub use geojson::LoadOptions;

/// Hash maps keyed by ids and indices: a fast hash with a fixed seed (ids come from the
/// utility's own files, not from an adversary, and a fixed seed keeps every run alike).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// Serde for a map whose keys are not strings (JSON object keys must be): a list of
/// `[key, value]` pairs. For `#[serde(with = "crate::network::as_pairs")]`.
pub(crate) mod as_pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<'a, S, M, K, V>(map: &'a M, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        &'a M: IntoIterator<Item = (&'a K, &'a V)>,
        K: Serialize + 'a,
        V: Serialize + 'a,
    {
        s.collect_seq(map)
    }

    pub(crate) fn deserialize<'de, D, M, K, V>(d: D) -> Result<M, D::Error>
    where
        D: Deserializer<'de>,
        M: FromIterator<(K, V)>,
        K: Deserialize<'de>,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// Hash sets, as [`FastMap`].
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// A map keyed by service point, for state kept per customer with evidence: a lookup is
/// two array reads instead of a hash and a probe. The entries sit together (a removal
/// moves the last one into its place), so a walk over them costs what they number, not
/// what the network does; their order is the order of insertions and removals, never a
/// hash's. Serialized as the map it stands for.
#[derive(Debug, Clone)]
pub struct CustomerMap<V> {
    /// Per customer index, its entry's place in `entries` (`u32::MAX`: none).
    slot: Vec<u32>,
    entries: Vec<(CustomerIdx, V)>,
}

impl<V> Default for CustomerMap<V> {
    fn default() -> Self {
        Self {
            slot: Vec::new(),
            entries: Vec::new(),
        }
    }
}

impl<V> CustomerMap<V> {
    fn place(&self, c: CustomerIdx) -> Option<usize> {
        match self.slot.get(c.index()) {
            Some(&i) if i != u32::MAX => Some(i as usize),
            _ => None,
        }
    }

    /// The value at `c`.
    pub fn get(&self, c: &CustomerIdx) -> Option<&V> {
        self.place(*c).map(|i| &self.entries[i].1)
    }

    /// The value at `c`, to change.
    pub fn get_mut(&mut self, c: &CustomerIdx) -> Option<&mut V> {
        self.place(*c).map(|i| &mut self.entries[i].1)
    }

    /// Whether `c` has a value.
    pub fn contains_key(&self, c: &CustomerIdx) -> bool {
        self.place(*c).is_some()
    }

    /// Put `v` at `c`; the value it replaces.
    pub fn insert(&mut self, c: CustomerIdx, v: V) -> Option<V> {
        if let Some(i) = self.place(c) {
            return Some(std::mem::replace(&mut self.entries[i].1, v));
        }
        if self.slot.len() <= c.index() {
            self.slot.resize(c.index() + 1, u32::MAX);
        }
        self.slot[c.index()] = self.entries.len() as u32;
        self.entries.push((c, v));
        None
    }

    /// The value at `c`, inserted by `f` if there was none.
    pub fn get_or_insert_with(&mut self, c: CustomerIdx, f: impl FnOnce() -> V) -> &mut V {
        let i = match self.place(c) {
            Some(i) => i,
            None => {
                self.insert(c, f());
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// Take the value at `c` out.
    pub fn remove(&mut self, c: &CustomerIdx) -> Option<V> {
        let i = self.place(*c)?;
        self.slot[c.index()] = u32::MAX;
        let (_, v) = self.entries.swap_remove(i);
        if let Some((moved, _)) = self.entries.get(i) {
            self.slot[moved.index()] = i as u32;
        }
        Some(v)
    }

    /// Keep only the entries `keep` says yes to (it may change them), in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(CustomerIdx, &mut V) -> bool) {
        self.entries.retain_mut(|(c, v)| keep(*c, v));
        self.slot.fill(u32::MAX);
        for (i, (c, _)) in self.entries.iter().enumerate() {
            self.slot[c.index()] = i as u32;
        }
    }

    /// How many customers have a value.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none has.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in the map's own order (see the type).
    pub fn iter(&self) -> impl Iterator<Item = (&CustomerIdx, &V)> {
        self.entries.iter().map(|(c, v)| (c, v))
    }
}

impl<V> FromIterator<(CustomerIdx, V)> for CustomerMap<V> {
    fn from_iter<I: IntoIterator<Item = (CustomerIdx, V)>>(iter: I) -> Self {
        let mut map = Self::default();
        for (c, v) in iter {
            map.insert(c, v);
        }
        map
    }
}

impl<V: Serialize> Serialize for CustomerMap<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.entries.iter().map(|(c, v)| (c, v)))
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for CustomerMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = CustomerMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map keyed by service point")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Self::Value, A::Error> {
                let mut map = CustomerMap::default();
                while let Some((c, v)) = access.next_entry::<CustomerIdx, V>()? {
                    map.insert(c, v);
                }
                Ok(map)
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// What a node is (CONTRACT section 1, Point features other than customers and depots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// Source of one or more feeders.
    Substation,
    /// Any other node: pole, junction, ring main unit, LV node.
    Bus,
    /// LV side of a distribution transformer, or an MV/LV station.
    Transformer,
}

/// What an edge is (CONTRACT section 1, LineString features).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Overhead segment.
    Line,
    /// Underground segment.
    Cable,
    /// Manual or remote switch: isolates, does not trip.
    Switch,
    /// Feeder breaker.
    Breaker,
    /// Line recloser.
    Recloser,
    /// Opens during a recloser's dead time.
    Sectionalizer,
    /// Lateral or transformer fuse.
    Fuse,
    /// Two-terminal transformer.
    Transformer,
}

impl EdgeKind {
    pub(crate) fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "line" => Self::Line,
            "cable" => Self::Cable,
            "switch" => Self::Switch,
            "breaker" => Self::Breaker,
            "recloser" => Self::Recloser,
            "sectionalizer" => Self::Sectionalizer,
            "fuse" => Self::Fuse,
            "transformer" => Self::Transformer,
            _ => return None,
        })
    }

    /// Breakers, reclosers, sectionalizers and fuses open on a fault by themselves.
    pub fn is_protective(self) -> bool {
        matches!(
            self,
            Self::Breaker | Self::Recloser | Self::Sectionalizer | Self::Fuse
        )
    }
}

/// The kind of a protective device as trouble-call analysis sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A feeder breaker, or the first edge of a feeder (it acts as one).
    Breaker,
    /// A line recloser.
    Recloser,
    /// A sectionalizer.
    Sectionalizer,
    /// A lateral fuse.
    Fuse,
    /// A distribution transformer (protected by its own fuse).
    Transformer,
}

/// A graph node.
#[derive(Debug, Clone)]
pub struct Node {
    /// The feature's `id`.
    pub id: String,
    /// What the node is.
    pub kind: NodeKind,
    /// WGS 84 longitude.
    pub lon: f64,
    /// WGS 84 latitude.
    pub lat: f64,
    /// Customers fed here that are not listed one by one (transformer `customers`).
    pub aggregate_customers: u32,
}

/// A graph edge.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The feature's `id`.
    pub id: String,
    /// What the edge is.
    pub kind: EdgeKind,
    /// The `subtype` property (transformers: `distribution`, `substation`, `regulator`).
    pub subtype: Option<String>,
    /// Open in the normal state (ties and sectionalizing points).
    pub normally_open: bool,
    /// The first edge of a feeder, acting as the feeder breaker.
    pub feeder_head: bool,
    /// Nominal voltage, where the file gives it.
    pub voltage_kv: Option<f64>,
    /// The edge's drawing, as in the file.
    pub coordinates: Vec<[f64; 2]>,
}

impl Edge {
    /// A transformer that is neither a substation transformer nor a regulator.
    pub fn is_distribution_transformer(&self) -> bool {
        self.kind == EdgeKind::Transformer
            && !matches!(self.subtype.as_deref(), Some("substation" | "regulator"))
    }
}

/// A service point (一户一表), hanging on a node.
#[derive(Debug, Clone, Serialize)]
pub struct ServicePoint {
    /// The feature's `id`.
    pub id: String,
    /// Customers this point stands for (1 unless it is an aggregate).
    pub customers: u32,
    /// A hospital, water works, …: restored first.
    pub critical: bool,
    /// The billing account, where the file gives one.
    pub account: Option<String>,
    /// WGS 84 longitude.
    pub lon: f64,
    /// WGS 84 latitude.
    pub lat: f64,
    #[serde(skip)]
    pub(crate) node: NodeIndex,
}

/// A crew base.
#[derive(Debug, Clone, Serialize)]
pub struct Depot {
    /// The feature's `id`.
    pub id: String,
    /// The depot's name.
    pub name: Option<String>,
    /// WGS 84 longitude.
    pub lon: f64,
    /// WGS 84 latitude.
    pub lat: f64,
}

/// A service-target zone (CONTRACT section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// Dense city: the default outside every zone.
    Urban,
    /// Town edges.
    Suburban,
    /// Countryside: longer targets.
    Rural,
}

impl ZoneKind {
    /// Its place in per-zone settings: urban 0, suburban 1, rural 2.
    pub fn index(self) -> usize {
        match self {
            ZoneKind::Urban => 0,
            ZoneKind::Suburban => 1,
            ZoneKind::Rural => 2,
        }
    }
}

/// A polygon assigning service targets to the area it covers.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The feature's `id`.
    pub id: String,
    /// Which targets apply inside.
    pub kind: ZoneKind,
    /// The area covered.
    pub polygon: geo::Polygon<f64>,
}

/// Opaque handle of a protective device, dense from 0.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DeviceIdx(pub(crate) u32);

impl DeviceIdx {
    /// The dense index, for per-device arrays kept outside this module.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Opaque handle of a service point, dense from 0.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CustomerIdx(pub u32);

impl CustomerIdx {
    /// The dense index, for per-customer arrays kept outside this module.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a device sits in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceSite {
    Edge(EdgeIndex),
    Node(NodeIndex),
}

/// What hangs on one node: customers (service points and the customers a transformer
/// feeds that are not listed one by one), critical customers, and service points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NodeLoad {
    pub(crate) customers: u64,
    pub(crate) critical: u32,
    pub(crate) points: u32,
}

/// A protective device and what the current trace says about it.
#[derive(Debug, Clone)]
pub struct Device {
    /// The edge's (or transformer Point's) id: this is the name an outage carries.
    pub id: String,
    /// How trouble-call analysis treats it.
    pub kind: DeviceKind,
    pub(crate) site: DeviceSite,
    pub(crate) parent: Option<DeviceIdx>,
    pub(crate) feeder: Option<FeederIdx>,
    pub(crate) customers_below: u64,
    pub(crate) critical_below: u32,
    pub(crate) points_below: u32,
    pub(crate) depth: u32,
    pub(crate) in_tree: bool,
}

/// Dense handle of a feeder, dense from 0, stable across switching.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct FeederIdx(pub(crate) u32);

#[derive(Debug, Clone)]
pub(crate) struct Feeder {
    pub(crate) head: EdgeIndex,
    pub(crate) device: DeviceIdx,
}

/// One problem found in a network file: the offending feature and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The feature's id, or `feature #N` (0-based, in file order) when it has none.
    pub feature: String,
    /// What is wrong, in words a GIS editor acts on.
    pub message: String,
}

/// How the message of a loop through closed edges starts (see [`Problem::is_loop`]).
pub(crate) const LOOP_MESSAGE: &str = "closes a loop through closed edges";

impl Problem {
    /// Whether the feature closes a loop through closed edges (which `faultline import
    /// --break-loops` resolves by opening one edge per loop).
    pub fn is_loop(&self) -> bool {
        self.message.starts_with(LOOP_MESSAGE)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.feature, self.message)
    }
}

/// Why a network could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The text is not a GeoJSON FeatureCollection at all.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
    /// The collection has no features at all (CONTRACT section 1: nothing to serve).
    #[error(
        "the network file has no features: a network needs at least a substation and what it feeds"
    )]
    NoFeatures,
    /// No Point feature is a substation, so nothing feeds the network (CONTRACT
    /// section 1: every node must be reachable from one).
    #[error("the network has no substation: no Point feature has \"kind\": \"substation\", so nothing feeds any node")]
    NoSubstation,
    /// The file breaks CONTRACT section 1; every offending feature is named.
    #[error("the network file has {} problem(s):\n{}", .0.len(), list_problems(.0))]
    Invalid(Vec<Problem>),
    /// No edge has this id.
    #[error("no edge has id {0:?}")]
    UnknownEdge(String),
}

fn list_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The network: see the module docs. (`Default` is the empty network, a placeholder
/// until a real one is put in its place.)
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub(crate) graph: UnGraph<Node, Edge>,
    pub(crate) closed: Vec<bool>,
    pub(crate) node_by_id: FastMap<String, NodeIndex>,
    pub(crate) edge_by_id: FastMap<String, EdgeIndex>,
    pub(crate) customers: Vec<ServicePoint>,
    pub(crate) customer_by_id: FastMap<String, CustomerIdx>,
    pub(crate) customer_by_account: FastMap<String, CustomerIdx>,
    /// Service points per node, for counting customers below a device.
    pub(crate) customers_at: Vec<Vec<CustomerIdx>>,
    /// Customers, critical customers and service points per node.
    pub(crate) node_load: Vec<NodeLoad>,
    pub(crate) devices: Vec<Device>,
    pub(crate) device_by_id: FastMap<String, DeviceIdx>,
    pub(crate) device_of_edge: FastMap<EdgeIndex, DeviceIdx>,
    pub(crate) device_of_node: FastMap<NodeIndex, DeviceIdx>,
    pub(crate) feeders: Vec<Feeder>,
    pub(crate) feeder_of_head: FastMap<EdgeIndex, FeederIdx>,
    pub(crate) trace: trace::Trace,
    pub(crate) depots: Vec<Depot>,
    pub(crate) zones: Vec<Zone>,
    pub(crate) spatial: spatial::SpatialIndex,
    pub(crate) metadata: serde_json::Value,
    pub(crate) set_aside: Vec<Problem>,
    pub(crate) notes: Vec<String>,
}

/// A read-only view of one protective device with its current trace.
#[derive(Debug, Clone, Copy)]
pub struct DeviceView<'a> {
    net: &'a Network,
    idx: DeviceIdx,
}

impl<'a> DeviceView<'a> {
    /// The device's handle.
    pub fn idx(&self) -> DeviceIdx {
        self.idx
    }
    /// The device's id (the edge's or transformer Point's id).
    pub fn id(&self) -> &'a str {
        &self.net.devices[self.idx.index()].id
    }
    /// How trouble-call analysis treats it.
    pub fn kind(&self) -> DeviceKind {
        self.net.devices[self.idx.index()].kind
    }
    /// Customers (counting aggregates) that this device feeds in the current state.
    pub fn customers_below(&self) -> u64 {
        self.net.devices[self.idx.index()].customers_below
    }
    /// Critical customers this device feeds in the current state.
    pub fn critical_below(&self) -> u32 {
        self.net.devices[self.idx.index()].critical_below
    }
    /// Service points (meters) this device feeds in the current state: an aggregate
    /// point standing for many customers is one meter, and customers not listed one by
    /// one have none.
    pub fn points_below(&self) -> u32 {
        self.net.devices[self.idx.index()].points_below
    }
    /// The next protective device towards the substation.
    pub fn parent(&self) -> Option<DeviceView<'a>> {
        self.net.devices[self.idx.index()]
            .parent
            .map(|idx| DeviceView { net: self.net, idx })
    }
    /// The feeder (named by its head edge's id) the device is on now.
    pub fn feeder(&self) -> Option<&'a str> {
        self.net.devices[self.idx.index()]
            .feeder
            .map(|f| self.net.feeder_id(f))
    }
    /// Number of protective devices above it (a feeder head has 0).
    pub fn depth(&self) -> u32 {
        self.net.devices[self.idx.index()].depth
    }
    /// Whether the current trace passes through it (false for an open tie).
    pub fn is_fed(&self) -> bool {
        self.net.devices[self.idx.index()].in_tree
    }
    /// Where to draw and to send a crew: the device's downstream end, else its node.
    pub fn location(&self) -> (f64, f64) {
        self.net.device_location(self.idx)
    }
}

/// What opening one edge darkens (see [`Network::darkened_by`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Darkened {
    /// The service points, in index order.
    pub points: Vec<CustomerIdx>,
    /// Customers, counting those not listed one by one.
    pub customers: u64,
    /// Critical customers.
    pub critical: u32,
}

/// A line or cable segment where a fault can happen, with the protective device a fault
/// there opens (the first one above it).
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    /// The edge's id.
    pub id: &'a str,
    /// The first protective device above the segment.
    pub device: DeviceIdx,
    /// Length along its drawing, metres.
    pub length_m: f64,
    /// Its midpoint (a vertex near the middle of its drawing).
    pub lon: f64,
    /// Its midpoint.
    pub lat: f64,
}

/// Figures a user checks after loading a file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkSummary {
    /// Graph nodes (substations, buses, transformer points).
    pub nodes: usize,
    /// Graph edges.
    pub edges: usize,
    /// Service points.
    pub service_points: usize,
    /// Customers, counting aggregate service points by their `customers`.
    pub customers: u64,
    /// Critical customers.
    pub critical_customers: u64,
    /// Feeders found by the trace.
    pub feeders: usize,
    /// Protective devices, by kind.
    pub devices: HashMap<String, usize>,
    /// Depots.
    pub depots: usize,
    /// Nodes no substation feeds in the current state (behind open points).
    pub unfed_nodes: usize,
}

/// One node's customers, as [`Network::nodes_with_customers`] gives them.
#[derive(Debug, Clone, Copy)]
pub struct NodeCustomers<'a> {
    /// The node's place in [`Network::nodes_with_customers`] (and in
    /// [`Network::node_places_below`]).
    pub place: usize,
    /// The node.
    pub node: &'a Node,
    /// The service points listed on it one by one.
    pub listed: &'a [CustomerIdx],
    /// Customers it feeds in all (listed or not; see CONTRACT section 1).
    pub customers: u64,
}

impl Network {
    /// Every node with the customers on it, in a fixed order: for what counts
    /// customers by where they hang (the reliability reports' units).
    pub fn nodes_with_customers(&self) -> impl Iterator<Item = NodeCustomers<'_>> {
        self.graph.node_indices().map(|n| NodeCustomers {
            place: n.index(),
            node: &self.graph[n],
            listed: &self.customers_at[n.index()],
            customers: self.node_load[n.index()].customers,
        })
    }

    /// The places (as [`Network::nodes_with_customers`] numbers them) of the nodes a
    /// device feeds in the current state: its downstream node and everything under it.
    pub fn node_places_below(&self, device: DeviceIdx) -> impl Iterator<Item = usize> + '_ {
        self.nodes_below_lazily(device).map(|n| n.index())
    }
}

impl Network {
    /// Number of graph nodes.
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of graph edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The file's top-level `metadata` object (source, license, notes), as given.
    pub fn metadata(&self) -> &serde_json::Value {
        &self.metadata
    }

    /// Features set aside by a lenient load, with the reason for each.
    pub fn set_aside(&self) -> &[Problem] {
        &self.set_aside
    }

    /// What the loader changed on request (for example protection it added).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// A 64-bit FNV-1a digest of everything loaded that the engine can see: every node
    /// (id, kind, place, unlisted customers), every edge (id, ends, kind, subtype, normal
    /// state, feeder head, voltage), every service point (id, node, size, criticality,
    /// account, place), the protective devices, zones and depots, in load order. Two
    /// loads of the same file give the same digest; a GIS edit almost surely does not,
    /// so an engine snapshot is kept only for the network it was taken on.
    pub fn fingerprint(&self) -> u64 {
        use petgraph::visit::EdgeRef;
        use std::fmt::Write;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes.iter().chain(std::iter::once(&0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        // Enums by their names, through one reused buffer.
        let mut name = String::new();
        let mut named = |eat: &mut dyn FnMut(&[u8]), v: &dyn fmt::Debug| {
            name.clear();
            let _ = write!(name, "{v:?}");
            eat(name.as_bytes());
        };
        for n in self.graph.node_weights() {
            eat(n.id.as_bytes());
            named(&mut eat, &n.kind);
            eat(&n.lon.to_bits().to_le_bytes());
            eat(&n.lat.to_bits().to_le_bytes());
            eat(&n.aggregate_customers.to_le_bytes());
        }
        for r in self.graph.edge_references() {
            let e = r.weight();
            eat(e.id.as_bytes());
            eat(&(r.source().index() as u64).to_le_bytes());
            eat(&(r.target().index() as u64).to_le_bytes());
            named(&mut eat, &e.kind);
            eat(e.subtype.as_deref().unwrap_or("").as_bytes());
            eat(&[u8::from(e.normally_open), u8::from(e.feeder_head)]);
            eat(&e.voltage_kv.unwrap_or(f64::NAN).to_bits().to_le_bytes());
        }
        for c in &self.customers {
            eat(c.id.as_bytes());
            eat(&(c.node.index() as u64).to_le_bytes());
            eat(&c.customers.to_le_bytes());
            eat(&[u8::from(c.critical)]);
            eat(c.account.as_deref().unwrap_or("").as_bytes());
            eat(&c.lon.to_bits().to_le_bytes());
            eat(&c.lat.to_bits().to_le_bytes());
        }
        for d in &self.devices {
            eat(d.id.as_bytes());
            named(&mut eat, &d.kind);
        }
        for z in &self.zones {
            eat(z.id.as_bytes());
            named(&mut eat, &z.kind);
            for p in z.polygon.exterior().points() {
                eat(&p.x().to_bits().to_le_bytes());
                eat(&p.y().to_bits().to_le_bytes());
            }
        }
        for d in &self.depots {
            eat(d.id.as_bytes());
            eat(&d.lon.to_bits().to_le_bytes());
            eat(&d.lat.to_bits().to_le_bytes());
        }
        h
    }

    /// Counts for a log line or a test.
    pub fn summary(&self) -> NetworkSummary {
        let mut devices: HashMap<String, usize> = HashMap::new();
        for d in &self.devices {
            let key = serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *devices.entry(key).or_default() += 1;
        }
        NetworkSummary {
            nodes: self.node_count(),
            edges: self.edge_count(),
            service_points: self.customers.len(),
            customers: self.node_load.iter().map(|l| l.customers).sum(),
            critical_customers: self.node_load.iter().map(|l| u64::from(l.critical)).sum(),
            feeders: self.feeders.len(),
            devices,
            depots: self.depots.len(),
            unfed_nodes: self.trace.fed.iter().filter(|fed| !**fed).count(),
        }
    }

    /// All protective devices, in a stable order (file order of their features).
    pub fn devices(&self) -> impl Iterator<Item = DeviceView<'_>> + '_ {
        (0..self.devices.len()).map(move |i| DeviceView {
            net: self,
            idx: DeviceIdx(i as u32),
        })
    }

    /// Number of protective devices (the bound of [`DeviceIdx::index`]).
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// One device by its handle.
    pub fn device(&self, idx: DeviceIdx) -> DeviceView<'_> {
        DeviceView { net: self, idx }
    }

    /// One device by its id.
    pub fn device_by_id(&self, id: &str) -> Option<DeviceView<'_>> {
        self.device_by_id
            .get(id)
            .map(|&idx| DeviceView { net: self, idx })
    }

    /// Whether an edge with this id exists (any kind, protective or not).
    pub fn has_edge(&self, id: &str) -> bool {
        self.edge_by_id.contains_key(id)
    }

    /// An edge by id.
    pub fn edge(&self, id: &str) -> Option<&Edge> {
        self.edge_by_id.get(id).map(|&e| &self.graph[e])
    }

    /// Whether the edge is closed in the current state.
    pub fn is_closed(&self, id: &str) -> Option<bool> {
        self.edge_by_id.get(id).map(|e| self.closed[e.index()])
    }

    /// A node by id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.node_by_id.get(id).map(|&n| &self.graph[n])
    }

    /// The feeders, named by their head edge's id, in the order the trace found them.
    pub fn feeder_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.feeders
            .iter()
            .map(move |f| self.graph[f.head].id.as_str())
    }

    /// The feeder head device of each feeder.
    pub fn feeder_heads(&self) -> impl Iterator<Item = DeviceView<'_>> + '_ {
        self.feeders.iter().map(move |f| DeviceView {
            net: self,
            idx: f.device,
        })
    }

    pub(crate) fn feeder_id(&self, f: FeederIdx) -> &str {
        &self.graph[self.feeders[f.0 as usize].head].id
    }

    /// All service points, indexed by [`CustomerIdx`].
    pub fn customers(&self) -> &[ServicePoint] {
        &self.customers
    }

    /// Every service point's handle, in order.
    pub fn customer_indices(&self) -> impl Iterator<Item = CustomerIdx> {
        (0..self.customers.len() as u32).map(CustomerIdx)
    }

    /// A service point by handle.
    pub fn customer(&self, idx: CustomerIdx) -> &ServicePoint {
        &self.customers[idx.index()]
    }

    /// A service point's handle by its id.
    pub fn customer_idx(&self, id: &str) -> Option<CustomerIdx> {
        self.customer_by_id.get(id).copied()
    }

    /// A service point's handle by its billing account.
    pub fn customer_by_account(&self, account: &str) -> Option<CustomerIdx> {
        self.customer_by_account.get(account).copied()
    }

    /// The id of the node a service point hangs on.
    pub fn customer_node_id(&self, idx: CustomerIdx) -> &str {
        &self.graph[self.customers[idx.index()].node].id
    }

    /// The nearest protective device above a service point (where it would go dark
    /// first), or `None` when no substation feeds it in the current state.
    pub fn device_above_customer(&self, idx: CustomerIdx) -> Option<DeviceIdx> {
        self.trace.device_above[self.customers[idx.index()].node.index()]
    }

    /// The nearest transformer device above a service point, if its chain has one.
    pub fn transformer_of_customer(&self, idx: CustomerIdx) -> Option<DeviceIdx> {
        self.chain_from(self.device_above_customer(idx))
            .find(|d| self.devices[d.index()].kind == DeviceKind::Transformer)
    }

    /// The protective devices from a service point up to its feeder head, nearest first.
    pub fn chain_of_customer(&self, idx: CustomerIdx) -> impl Iterator<Item = DeviceIdx> + '_ {
        self.chain_from(self.device_above_customer(idx))
    }

    /// The protective devices from a node up to its feeder head, nearest first.
    pub fn chain_of_node(&self, id: &str) -> Option<Vec<DeviceIdx>> {
        let n = *self.node_by_id.get(id)?;
        Some(
            self.chain_from(self.trace.device_above[n.index()])
                .collect(),
        )
    }

    /// The chain above a device: the device itself, then its ancestors up to the head.
    pub fn chain_from(&self, start: Option<DeviceIdx>) -> impl Iterator<Item = DeviceIdx> + '_ {
        std::iter::successors(start, move |d| self.devices[d.index()].parent)
    }

    /// The feeder (head edge id) a node is on now, if any.
    pub fn feeder_of_node(&self, id: &str) -> Option<&str> {
        let n = *self.node_by_id.get(id)?;
        self.trace.feeder[n.index()].map(|f| self.feeder_id(f))
    }

    /// The feeder (head edge id) a service point is on now, if any.
    pub fn feeder_of_customer(&self, idx: CustomerIdx) -> Option<&str> {
        let n = self.customers[idx.index()].node;
        self.trace.feeder[n.index()].map(|f| self.feeder_id(f))
    }

    /// Whether `upper` is `lower` or one of its ancestors in the current trace.
    pub fn is_at_or_above(&self, upper: DeviceIdx, lower: DeviceIdx) -> bool {
        let target_depth = self.devices[upper.index()].depth;
        self.chain_from(Some(lower))
            .take_while(|d| self.devices[d.index()].depth >= target_depth)
            .any(|d| d == upper)
    }

    /// Service points below a device in the current state (walks its subtree).
    pub fn customers_below(&self, device: DeviceIdx) -> Vec<CustomerIdx> {
        let mut out = Vec::new();
        for n in self.nodes_below(device) {
            out.extend_from_slice(&self.customers_at[n.index()]);
        }
        out
    }

    /// [`Network::customers_below`], in the same order, walking the subtree only as far
    /// as the service points are read (the engine wants the first few reports below a
    /// device an outage moves to, not every service point of a feeder).
    pub(crate) fn customers_below_lazily(
        &self,
        device: DeviceIdx,
    ) -> impl Iterator<Item = CustomerIdx> + '_ {
        self.nodes_below_lazily(device)
            .flat_map(|n| self.customers_at[n.index()].iter().copied())
    }

    /// What opening this edge (a protective device, a switch, any line or transformer
    /// edge; or a transformer Point device) darkens in the current state: its service
    /// points in index order, and its customers and critical customers counted as
    /// [`DeviceView::customers_below`] counts them (with customers not listed one by
    /// one). `None` when no edge or device has this id.
    pub fn darkened_by(&self, id: &str) -> Option<Darkened> {
        let nodes = self.nodes_darkened_by(id)?;
        let mut out = Darkened::default();
        for n in nodes {
            out.points.extend_from_slice(&self.customers_at[n.index()]);
            let load = self.node_load[n.index()];
            out.customers += load.customers;
            out.critical += load.critical;
        }
        out.points.sort();
        Some(out)
    }

    /// The nodes opening this edge (or Point device) darkens in the current state, as
    /// [`Network::darkened_by`] walks them. `None` when no edge or device has this id.
    pub fn nodes_darkened_by(&self, id: &str) -> Option<Vec<NodeIndex>> {
        Some(if let Some(d) = self.device_by_id(id) {
            self.nodes_below(d.idx())
        } else {
            let e = *self.edge_by_id.get(id)?;
            let mut nodes: Vec<NodeIndex> =
                self.trace.edge_child(&self.graph, e).into_iter().collect();
            let mut i = 0;
            while i < nodes.len() {
                nodes.extend_from_slice(&self.trace.children[nodes[i].index()]);
                i += 1;
            }
            nodes
        })
    }

    /// Every fed line and cable segment, in file order, with the device above it.
    pub fn segments(&self) -> Vec<Segment<'_>> {
        let mut out = Vec::new();
        for e in self.graph.edge_indices() {
            let edge = &self.graph[e];
            if !matches!(edge.kind, EdgeKind::Line | EdgeKind::Cable)
                || self.device_of_edge.contains_key(&e)
            {
                continue;
            }
            let Some(child) = self.trace.edge_child(&self.graph, e) else {
                continue;
            };
            let Some(device) = self.trace.device_above[child.index()] else {
                continue;
            };
            let length_m = edge
                .coordinates
                .windows(2)
                .map(|w| spatial::haversine_m((w[0][0], w[0][1]), (w[1][0], w[1][1])))
                .sum();
            let mid = edge.coordinates[edge.coordinates.len() / 2];
            out.push(Segment {
                id: &edge.id,
                device,
                length_m,
                lon: mid[0],
                lat: mid[1],
            });
        }
        out
    }

    /// The depots.
    pub fn depots(&self) -> &[Depot] {
        &self.depots
    }

    /// The service-target zones.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The zone kind at a point (`urban` outside every zone, CONTRACT section 5).
    pub fn zone_at(&self, lon: f64, lat: f64) -> ZoneKind {
        use geo::Contains;
        let point = geo::Point::new(lon, lat);
        self.zones
            .iter()
            .find(|z| z.polygon.contains(&point))
            .map(|z| z.kind)
            .unwrap_or(ZoneKind::Urban)
    }

    fn device_location(&self, idx: DeviceIdx) -> (f64, f64) {
        match self.devices[idx.index()].site {
            DeviceSite::Node(n) => (self.graph[n].lon, self.graph[n].lat),
            DeviceSite::Edge(e) => {
                let node = self.trace.edge_child(&self.graph, e).unwrap_or_else(|| {
                    // unwrap: every edge has two endpoints.
                    self.graph.edge_endpoints(e).map(|(a, _)| a).unwrap()
                });
                (self.graph[node].lon, self.graph[node].lat)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lazy walk below a device gives what the whole walk gives, in the same order,
    /// for every device of a bundled network, before and after a line is opened.
    #[test]
    fn customers_below_lazily_is_customers_below() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../gis-data/ieee123.geojson"
        );
        let text = std::fs::read_to_string(path).expect("bundled network is readable");
        let mut net = Network::from_geojson(&text, &LoadOptions::default()).unwrap();
        let agree = |net: &Network| {
            for d in net.devices() {
                let lazily: Vec<_> = net.customers_below_lazily(d.idx()).collect();
                assert_eq!(lazily, net.customers_below(d.idx()), "{}", d.id());
            }
        };
        agree(&net);
        // Opening a line halfway down the feeder darkens what is below it.
        let segments = net.segments();
        let line = segments[segments.len() / 2].id.to_owned();
        assert!(net.set_closed(&line, false).unwrap().nodes_dark > 0);
        agree(&net);
    }
}
