//! The documented, deterministic rule that adds lateral protection to a network file
//! that has none (EPRI J1 and IEEE 123 are published without fuses).
//!
//! Only on request ([`super::LoadOptions::add_protection`], `--add-protection`): a
//! utility's real protection data always wins, and the loader never changes a file
//! silently. The rule:
//!
//! 1. Trace each feeder from its head through closed edges (breadth-first, file order).
//! 2. The **trunk** is the path from the feeder head that always continues into the
//!    child carrying the most customers (ties: the edge that comes first in the file).
//! 3. Every branch that leaves the trunk and feeds at least one customer is a
//!    **lateral**: its first line or cable segment becomes a `fuse` (if the branch
//!    starts with a switch, the first line or cable after it, as long as the branch
//!    does not fork before it). A branch that is only a distribution transformer needs
//!    nothing: the transformer counts as fused already.
//! 4. Nothing below a distribution transformer is touched (LV networks are fused at the
//!    transformer).
//!
//! The ids of the edges made fuses are listed in the network's notes.

use std::collections::VecDeque;

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;

use super::{Edge, EdgeKind, Node, NodeKind};

/// Apply the rule; returns a note for the user naming every edge it changed.
pub(crate) fn add_lateral_fuses(
    graph: &mut UnGraph<Node, Edge>,
    closed: &[bool],
    node_customers: &[u64],
) -> Vec<String> {
    let n = graph.node_count();
    let mut parent_edge: Vec<Option<EdgeIndex>> = vec![None; n];
    let mut children: Vec<Vec<(EdgeIndex, NodeIndex)>> = vec![Vec::new(); n];
    let mut seen = vec![false; n];
    let mut order = Vec::new();
    let mut queue: VecDeque<NodeIndex> = graph
        .node_indices()
        .filter(|&x| graph[x].kind == NodeKind::Substation)
        .collect();
    for x in &queue {
        seen[x.index()] = true;
    }
    let mut heads = Vec::new();
    while let Some(u) = queue.pop_front() {
        order.push(u);
        let mut next: Vec<(EdgeIndex, NodeIndex)> = graph
            .edges(u)
            .filter(|e| closed[e.id().index()])
            .map(|e| {
                (
                    e.id(),
                    if e.source() == u {
                        e.target()
                    } else {
                        e.source()
                    },
                )
            })
            .collect();
        next.sort();
        for (e, v) in next {
            if seen[v.index()] {
                continue;
            }
            seen[v.index()] = true;
            parent_edge[v.index()] = Some(e);
            children[u.index()].push((e, v));
            let from_sub = graph[u].kind == NodeKind::Substation;
            if graph[e].feeder_head || (from_sub && graph[v].kind != NodeKind::Substation) {
                heads.push(v);
            }
            queue.push_back(v);
        }
    }
    // Customers in each subtree, children before parents.
    let mut below: Vec<u64> = node_customers.to_vec();
    for &u in order.iter().rev() {
        if let Some(pe) = parent_edge[u.index()] {
            // unwrap: a tree edge has two endpoints.
            let (a, b) = graph.edge_endpoints(pe).unwrap();
            let p = if a == u { b } else { a };
            below[p.index()] += below[u.index()];
        }
    }
    let mut made = Vec::new();
    for head in heads {
        let mut cur = head;
        loop {
            let kids = &children[cur.index()];
            let Some(&(_, trunk_next)) = kids
                .iter()
                .filter(|(e, _)| !graph[*e].is_distribution_transformer())
                .max_by(|a, b| {
                    below[a.1.index()]
                        .cmp(&below[b.1.index()])
                        .then(b.0.cmp(&a.0))
                })
            else {
                break;
            };
            for &(e, v) in kids {
                if v == trunk_next
                    || below[v.index()] == 0
                    || graph[e].is_distribution_transformer()
                {
                    continue;
                }
                if let Some(fuse_at) = first_fusable(graph, &children, e, v) {
                    made.push(fuse_at);
                }
            }
            cur = trunk_next;
        }
    }
    made.sort();
    made.dedup();
    if made.is_empty() {
        return vec!["add-protection: every lateral already has protection; nothing added".into()];
    }
    let ids: Vec<String> = made.iter().map(|&e| graph[e].id.clone()).collect();
    for &e in &made {
        graph[e].kind = EdgeKind::Fuse;
    }
    vec![format!(
        "add-protection: {} lateral fuse(s) added on the first segment of each lateral: {}",
        ids.len(),
        ids.join(", ")
    )]
}

/// The first line or cable of the branch starting with edge `e` into node `v`, or
/// `None` when the branch already has a protective device before it, or forks first.
fn first_fusable(
    graph: &UnGraph<Node, Edge>,
    children: &[Vec<(EdgeIndex, NodeIndex)>],
    mut e: EdgeIndex,
    mut v: NodeIndex,
) -> Option<EdgeIndex> {
    loop {
        let edge = &graph[e];
        if edge.kind.is_protective() || edge.kind == EdgeKind::Transformer {
            return None;
        }
        if matches!(edge.kind, EdgeKind::Line | EdgeKind::Cable) {
            return Some(e);
        }
        match children[v.index()].as_slice() {
            [(e2, v2)] => {
                e = *e2;
                v = *v2;
            }
            _ => return None,
        }
    }
}
