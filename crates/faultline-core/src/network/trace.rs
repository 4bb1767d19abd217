//! Feeder tracing: which substation feeds each node, through which edge, below which
//! protective devices, and how many customers each device feeds.
//!
//! The trace is a breadth-first spanning forest of the closed edges, rooted at the
//! substation nodes. Each fed node keeps its parent edge and its children, so a switch
//! operation can re-trace exactly the part of the forest it changes:
//!
//! - **opening** an edge of the forest detaches the subtree below it, then feeds that
//!   subtree again from any fed neighbour through another closed edge (a closed tie);
//!   what nothing reaches stays dark;
//! - **closing** an edge between a fed and an unfed node feeds the unfed side;
//!   closing an edge between two fed nodes (a parallel path) changes nothing.
//!
//! Customer counts below devices follow the same way: the customers of every re-traced
//! node are taken off its old chain of devices before and put on its new chain after,
//! so a switch costs work proportional to the nodes it re-traces times their depth.

use std::collections::VecDeque;

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;

use super::{
    DeviceIdx, DeviceSite, Edge, FeederIdx, Network, NetworkError, Node, NodeKind, NodeLoad,
};

/// A breadth-first walk of the forest from the nodes in `reached` (the tops first), as
/// the nodes are read; or to its end at once ([`Walk::all`]).
struct Walk<'a> {
    children: &'a [Vec<NodeIndex>],
    /// The nodes reached so far, in walk order.
    reached: Vec<NodeIndex>,
    /// The next of them to give (and to take the children of).
    next: usize,
}

impl Walk<'_> {
    /// Every node of the walk, in walk order.
    fn all(mut self) -> Vec<NodeIndex> {
        while self.next().is_some() {}
        self.reached
    }
}

impl Iterator for Walk<'_> {
    type Item = NodeIndex;

    fn next(&mut self) -> Option<NodeIndex> {
        let n = *self.reached.get(self.next)?;
        self.next += 1;
        self.reached.extend_from_slice(&self.children[n.index()]);
        Some(n)
    }
}

/// Per-node trace state, indexed by `NodeIndex::index()`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    pub(crate) fed: Vec<bool>,
    pub(crate) parent_edge: Vec<Option<EdgeIndex>>,
    pub(crate) children: Vec<Vec<NodeIndex>>,
    pub(crate) feeder: Vec<Option<FeederIdx>>,
    pub(crate) device_above: Vec<Option<DeviceIdx>>,
}

impl Trace {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            fed: vec![false; nodes],
            parent_edge: vec![None; nodes],
            children: vec![Vec::new(); nodes],
            feeder: vec![None; nodes],
            device_above: vec![None; nodes],
        }
    }

    /// The endpoint of `edge` that the trace reaches through it, if the edge is in the forest.
    pub(crate) fn edge_child(
        &self,
        graph: &UnGraph<Node, Edge>,
        edge: EdgeIndex,
    ) -> Option<NodeIndex> {
        let (a, b) = graph.edge_endpoints(edge)?;
        [a, b]
            .into_iter()
            .find(|n| self.parent_edge[n.index()] == Some(edge))
    }
}

/// What a switch operation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retrace {
    /// Nodes whose feeding path was looked at again.
    pub nodes_retraced: usize,
    /// Of those, nodes left without supply.
    pub nodes_dark: usize,
}

impl Network {
    /// Trace the whole network from its substations (at load).
    pub(crate) fn trace_all(&mut self) {
        self.trace = Trace::new(self.graph.node_count());
        let roots: Vec<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|&n| self.graph[n].kind == NodeKind::Substation)
            .collect();
        for &r in &roots {
            self.trace.fed[r.index()] = true;
        }
        for &n in &roots {
            self.mark_node_device(n, None);
        }
        let fed = self.feed_from(roots.clone());
        self.move_load(roots.iter().chain(fed.iter()).copied(), 1);
    }

    /// Count a transformer's `customers` that the file does not list one by one.
    ///
    /// Files differ in what a transformer Point's `customers` means: CONTRACT section
    /// 1 says "not listed one by one", while exports that list every meter often give
    /// the transformer's total as well. Both read right with one rule: a transformer
    /// feeds at least its `customers`, and the ones not already listed as service points
    /// below it (down to the next transformer) are added at the transformer.
    pub(crate) fn add_unlisted_customers(&mut self) {
        let transformers: Vec<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|&n| self.graph[n].aggregate_customers > 0)
            .collect();
        for t in transformers {
            let mut listed = 0u64;
            let mut stack = vec![t];
            while let Some(u) = stack.pop() {
                listed += self.customers_at[u.index()]
                    .iter()
                    .map(|c| u64::from(self.customers[c.index()].customers))
                    .sum::<u64>();
                for &child in &self.trace.children[u.index()] {
                    let via = self.trace.parent_edge[child.index()];
                    let another_transformer = self.graph[child].kind == NodeKind::Transformer
                        || via.is_some_and(|e| self.graph[e].kind == super::EdgeKind::Transformer);
                    if !another_transformer {
                        stack.push(child);
                    }
                }
            }
            let unlisted = u64::from(self.graph[t].aggregate_customers).saturating_sub(listed);
            if unlisted > 0 {
                self.node_load[t.index()].customers += unlisted;
                let before = self.node_load[t.index()];
                self.node_load[t.index()] = NodeLoad {
                    customers: unlisted,
                    ..NodeLoad::default()
                };
                self.move_load(std::iter::once(t), 1);
                self.node_load[t.index()] = before;
            }
        }
    }

    /// Open (`closed = false`) or close a switchable edge, re-tracing what it changes.
    ///
    /// This is switching (an operator's order, a tie closed to back-feed), not a fault:
    /// see the module docs of [`crate::network`].
    pub fn set_closed(&mut self, edge_id: &str, closed: bool) -> Result<Retrace, NetworkError> {
        let e = *self
            .edge_by_id
            .get(edge_id)
            .ok_or_else(|| NetworkError::UnknownEdge(edge_id.to_owned()))?;
        if self.closed[e.index()] == closed {
            return Ok(Retrace::default());
        }
        self.closed[e.index()] = closed;
        // unwrap: every edge of the graph has two endpoints.
        let (a, b) = self.graph.edge_endpoints(e).unwrap();
        if closed {
            let (fed_a, fed_b) = (self.trace.fed[a.index()], self.trace.fed[b.index()]);
            if fed_a == fed_b {
                return Ok(Retrace::default());
            }
            let from = if fed_a { a } else { b };
            let newly = self.feed_from(vec![from]);
            self.move_load(newly.iter().copied(), 1);
            Ok(Retrace {
                nodes_retraced: newly.len(),
                nodes_dark: 0,
            })
        } else {
            let Some(child) = self.trace.edge_child(&self.graph, e) else {
                // Not in the forest: a parallel path or an open tie; nothing moves.
                return Ok(Retrace::default());
            };
            let subtree = self.subtree(child);
            self.move_load(subtree.iter().copied(), -1);
            self.detach(child, &subtree);
            // Feed the detached part again from any fed neighbour through a closed edge.
            let mut frontier = Vec::new();
            for &n in &subtree {
                for er in self.graph.edges(n) {
                    let other = if er.source() == n {
                        er.target()
                    } else {
                        er.source()
                    };
                    if self.closed[er.id().index()] && self.trace.fed[other.index()] {
                        frontier.push(other);
                    }
                }
            }
            frontier.sort();
            frontier.dedup();
            let newly = self.feed_from(frontier);
            self.move_load(newly.iter().copied(), 1);
            Ok(Retrace {
                nodes_retraced: subtree.len(),
                nodes_dark: subtree.len() - newly.len(),
            })
        }
    }

    /// Nodes of the forest below a device (its downstream node and everything under it).
    pub(crate) fn nodes_below(&self, device: DeviceIdx) -> Vec<NodeIndex> {
        self.walk_below(device).all()
    }

    /// [`Network::nodes_below`], walked as the nodes are read: a caller that needs only
    /// the first few walks no further (the same order: breadth first from the top).
    pub(crate) fn nodes_below_lazily(
        &self,
        device: DeviceIdx,
    ) -> impl Iterator<Item = NodeIndex> + '_ {
        self.walk_below(device)
    }

    fn walk_below(&self, device: DeviceIdx) -> Walk<'_> {
        Walk {
            children: &self.trace.children,
            reached: self.top_below(device).into_iter().collect(),
            next: 0,
        }
    }

    /// The node right below a device in the forest, if it is in the forest.
    fn top_below(&self, device: DeviceIdx) -> Option<NodeIndex> {
        let d = &self.devices[device.index()];
        if !d.in_tree {
            return None;
        }
        match d.site {
            DeviceSite::Node(n) => Some(n),
            DeviceSite::Edge(e) => self.trace.edge_child(&self.graph, e),
        }
    }

    fn subtree(&self, top: NodeIndex) -> Vec<NodeIndex> {
        Walk {
            children: &self.trace.children,
            reached: vec![top],
            next: 0,
        }
        .all()
    }

    /// Cut `top`'s subtree out of the forest and mark it dark.
    fn detach(&mut self, top: NodeIndex, subtree: &[NodeIndex]) {
        if let Some(pe) = self.trace.parent_edge[top.index()] {
            // unwrap: a parent edge has two endpoints.
            let (a, b) = self.graph.edge_endpoints(pe).unwrap();
            let parent = if a == top { b } else { a };
            self.trace.children[parent.index()].retain(|&c| c != top);
        }
        for &n in subtree {
            let i = n.index();
            if let Some(pe) = self.trace.parent_edge[i] {
                if let Some(&d) = self.device_of_edge.get(&pe) {
                    self.clear_device(d);
                }
            }
            if let Some(&d) = self.device_of_node.get(&n) {
                self.clear_device(d);
            }
            self.trace.fed[i] = false;
            self.trace.parent_edge[i] = None;
            self.trace.children[i].clear();
            self.trace.feeder[i] = None;
            self.trace.device_above[i] = None;
        }
    }

    fn clear_device(&mut self, d: DeviceIdx) {
        let dev = &mut self.devices[d.index()];
        dev.in_tree = false;
        dev.parent = None;
        dev.feeder = None;
        dev.depth = 0;
    }

    /// Breadth-first from fed nodes into unfed ones through closed edges.
    /// Returns the newly fed nodes in the order they were reached.
    fn feed_from(&mut self, frontier: Vec<NodeIndex>) -> Vec<NodeIndex> {
        let mut queue: VecDeque<NodeIndex> = frontier.into();
        let mut newly = Vec::new();
        while let Some(u) = queue.pop_front() {
            // Collect first: attaching needs `&mut self`.
            let mut next: Vec<(EdgeIndex, NodeIndex)> = self
                .graph
                .edges(u)
                .filter(|er| self.closed[er.id().index()])
                .map(|er| {
                    let v = if er.source() == u {
                        er.target()
                    } else {
                        er.source()
                    };
                    (er.id(), v)
                })
                .collect();
            next.sort_by_key(|&(e, _)| e);
            for (e, v) in next {
                if self.trace.fed[v.index()] {
                    continue;
                }
                self.attach(u, e, v);
                newly.push(v);
                queue.push_back(v);
            }
        }
        newly
    }

    fn attach(&mut self, parent: NodeIndex, edge: EdgeIndex, child: NodeIndex) {
        let (p, c) = (parent.index(), child.index());
        self.trace.fed[c] = true;
        self.trace.parent_edge[c] = Some(edge);
        self.trace.children[p].push(child);

        let parent_is_sub = self.graph[parent].kind == NodeKind::Substation;
        let child_is_sub = self.graph[child].kind == NodeKind::Substation;
        let e = &self.graph[edge];
        let starts_feeder = e.feeder_head || (parent_is_sub && !child_is_sub);
        let feeder = if starts_feeder {
            Some(self.feeder_for_head(edge))
        } else if child_is_sub {
            None
        } else {
            self.trace.feeder[p]
        };
        self.trace.feeder[c] = feeder;

        let mut above = self.trace.device_above[p];
        if let Some(&d) = self.device_of_edge.get(&edge) {
            self.set_device(d, above, feeder);
            above = Some(d);
        }
        self.trace.device_above[c] = above;
        self.mark_node_device(child, feeder);
    }

    /// A transformer Point that is a device of its own sits below what feeds it.
    fn mark_node_device(&mut self, n: NodeIndex, feeder: Option<FeederIdx>) {
        if let Some(&d) = self.device_of_node.get(&n) {
            let above = self.trace.device_above[n.index()];
            self.set_device(d, above, feeder);
            self.trace.device_above[n.index()] = Some(d);
        }
    }

    fn set_device(&mut self, d: DeviceIdx, parent: Option<DeviceIdx>, feeder: Option<FeederIdx>) {
        let depth = parent.map_or(0, |p| self.devices[p.index()].depth + 1);
        let dev = &mut self.devices[d.index()];
        dev.in_tree = true;
        dev.parent = parent;
        dev.feeder = feeder;
        dev.depth = depth;
    }

    fn feeder_for_head(&mut self, head: EdgeIndex) -> FeederIdx {
        if let Some(&f) = self.feeder_of_head.get(&head) {
            return f;
        }
        let f = FeederIdx(self.feeders.len() as u32);
        // A feeder head is always a device: the loader makes every edge that can start
        // a feeder (flagged, or leaving a substation) one.
        let device = self.device_of_edge[&head];
        self.feeders.push(super::Feeder { head, device });
        self.feeder_of_head.insert(head, f);
        f
    }

    /// Add (`sign = 1`) or take off (`sign = -1`) the customers of `nodes` on their chains.
    fn move_load(&mut self, nodes: impl Iterator<Item = NodeIndex>, sign: i64) {
        for n in nodes {
            let load = self.node_load[n.index()];
            if load == NodeLoad::default() {
                continue;
            }
            let mut cur = self.trace.device_above[n.index()];
            while let Some(d) = cur {
                let dev = &mut self.devices[d.index()];
                dev.customers_below = dev
                    .customers_below
                    .wrapping_add_signed(sign * load.customers as i64);
                dev.critical_below = dev
                    .critical_below
                    .wrapping_add_signed((sign * i64::from(load.critical)) as i32);
                dev.points_below = dev
                    .points_below
                    .wrapping_add_signed((sign * i64::from(load.points)) as i32);
                cur = dev.parent;
            }
        }
    }
}
