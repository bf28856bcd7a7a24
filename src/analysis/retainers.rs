//! Retainer paths: why is this object alive? Each path runs from a GC root down to the node,
//! never through weak edges, always stepping to a retainer one step closer to the roots.

use super::distances::{NO_DISTANCE, NO_EDGE};
use super::Analysis;
use crate::model::{EdgeKind, EdgeRef, HeapGraph, NodeIx};

/// One step of a retainer path: the edge and the node it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStep {
    /// The edge from the previous node (or from the root for the first step).
    pub edge: EdgeRef,
}

/// A path from the root to a node; `steps[0].edge.from` is the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetainerPath {
    /// Edges in order, root first.
    pub steps: Vec<PathStep>,
}

/// Retainers with more edges than this are not scanned when the parent edge answers.
const SCAN_LIMIT: usize = 4096;

/// Incoming edges of `n`, resolved to the edges themselves (weak ones included). Resolving
/// scans each retainer's edges for `n`; for a retainer with a huge edge list (a Map's table
/// with millions of entries) the distance search's parent edge answers directly when it comes
/// from that retainer, so selecting one entry doesn't scan the whole table.
pub fn incoming_edges(g: &HeapGraph, a: &Analysis, n: NodeIx) -> Vec<EdgeRef> {
    let parent = a
        .parent_edges(g)
        .get(n as usize)
        .filter(|&&e| e != NO_EDGE)
        .map(|&e| g.edge_ref(e as usize));
    let nodes: Vec<NodeIx> = g.retainer_nodes(n).collect();
    let mut out = Vec::with_capacity(nodes.len());
    for (i, &from) in nodes.iter().enumerate() {
        // Entries from one retainer are contiguous; resolve them all on its first entry.
        if i > 0 && nodes[i - 1] == from {
            continue;
        }
        let single = nodes.get(i + 1) != Some(&from);
        if single && g.edge_range(from).len() > SCAN_LIMIT {
            if let Some(p) = parent.filter(|p| p.from == from) {
                out.push(p);
                continue;
            }
        }
        out.extend(g.edges(from).filter(|e| e.to == n));
    }
    out
}

/// Retainers DevTools lists: not weak.
fn shown_retainers(g: &HeapGraph, a: &Analysis, n: NodeIx) -> impl Iterator<Item = EdgeRef> {
    incoming_edges(g, a, n)
        .into_iter()
        .filter(|e| e.kind != EdgeKind::Weak)
}

/// The node's retainers in DevTools' order: closest to the roots first, then by name.
pub fn sorted_retainers(g: &HeapGraph, a: &Analysis, n: NodeIx) -> Vec<EdgeRef> {
    let mut v: Vec<EdgeRef> = shown_retainers(g, a, n)
        .filter(|e| e.from != g.root())
        .collect();
    v.sort_by(|x, y| {
        a.distances[x.from as usize]
            .cmp(&a.distances[y.from as usize])
            .then_with(|| g.name(x.from).cmp(g.name(y.from)))
    });
    v
}

/// Sort key of a retainer: the root first, then by distance.
fn closeness(g: &HeapGraph, a: &Analysis, e: &EdgeRef) -> u64 {
    if e.from == g.root() {
        0
    } else {
        a.distances[e.from as usize] as u64 + 1
    }
}

/// The shortest path from the root to `n`, along the distance search's parent edges (never
/// weak); `None` for the root and for unreachable nodes. O(path length).
pub fn shortest_path(g: &HeapGraph, a: &Analysis, n: NodeIx) -> Option<RetainerPath> {
    let parents = a.parent_edges(g);
    let mut rev = Vec::new();
    let mut v = n;
    while v != g.root() {
        let e = *parents.get(v as usize)?;
        if e == NO_EDGE || rev.len() > g.node_count() {
            return None;
        }
        let edge = g.edge_ref(e as usize);
        rev.push(PathStep { edge });
        v = edge.from;
    }
    rev.reverse();
    Some(RetainerPath { steps: rev })
}

/// Shortest path from the roots to `n` through `first` (an edge into `n`), or `None` when
/// the retainer is unreachable.
fn path_via(g: &HeapGraph, a: &Analysis, first: EdgeRef) -> Option<RetainerPath> {
    let mut p = if first.from == g.root() {
        RetainerPath::default()
    } else {
        shortest_path(g, a, first.from)?
    };
    p.steps.push(PathStep { edge: first });
    Some(p)
}

/// Up to `k` retainer paths to `n`, shortest first: one through each of its closest retainers.
pub fn retainer_paths(g: &HeapGraph, a: &Analysis, n: NodeIx, k: usize) -> Vec<RetainerPath> {
    if n == g.root() || k == 0 {
        return Vec::new();
    }
    let mut firsts: Vec<EdgeRef> = shown_retainers(g, a, n)
        .filter(|e| a.distances[e.from as usize] != NO_DISTANCE)
        .collect();
    firsts.sort_by(|x, y| {
        closeness(g, a, x)
            .cmp(&closeness(g, a, y))
            .then_with(|| g.name(x.from).cmp(g.name(y.from)))
    });
    let mut out: Vec<RetainerPath> = Vec::new();
    for e in firsts {
        if out.len() >= k {
            break;
        }
        if let Some(p) = path_via(g, a, e) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out.sort_by_key(|p| p.steps.len());
    out
}
