//! Retainer paths: why is this object alive? Each path runs from a GC root down to the node,
//! never through weak edges, always stepping to a retainer one step closer to the roots.

use serde::Serialize;

use super::distances::NO_DISTANCE;
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

/// Retainers DevTools lists: not weak, not from the root.
fn shown_retainers<'a>(g: &'a HeapGraph, n: NodeIx) -> impl Iterator<Item = EdgeRef> + 'a {
    g.retainer_edges(n)
        .into_iter()
        .filter(move |e| e.kind != EdgeKind::Weak)
}

/// The node's retainers in DevTools' order: closest to the roots first, then by name.
pub fn sorted_retainers(g: &HeapGraph, a: &Analysis, n: NodeIx) -> Vec<EdgeRef> {
    let mut v: Vec<EdgeRef> = shown_retainers(g, n)
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

/// The retainer one step closer to the roots (the root itself when it holds `n` directly);
/// ties go to the retainer whose name sorts first, as in DevTools.
fn closer_retainer(g: &HeapGraph, a: &Analysis, n: NodeIx) -> Option<EdgeRef> {
    let d = a.distances[n as usize];
    if d == NO_DISTANCE {
        return None;
    }
    shown_retainers(g, n)
        .filter(|e| e.from == g.root() || a.distances[e.from as usize] < d)
        .min_by(|x, y| {
            closeness(g, a, x)
                .cmp(&closeness(g, a, y))
                .then_with(|| g.name(x.from).cmp(g.name(y.from)))
        })
}

/// Shortest path from the roots to `n` through `first` (an edge into `n`), or `None` when
/// the retainer is unreachable.
fn path_via(g: &HeapGraph, a: &Analysis, first: EdgeRef) -> Option<RetainerPath> {
    let mut rev = vec![PathStep { edge: first }];
    let mut v = first.from;
    while v != g.root() {
        let e = closer_retainer(g, a, v)?;
        rev.push(PathStep { edge: e });
        v = e.from;
        if rev.len() > g.node_count() {
            return None;
        }
    }
    rev.reverse();
    Some(RetainerPath { steps: rev })
}

/// Up to `k` retainer paths to `n`, shortest first: one through each of its closest retainers.
pub fn retainer_paths(g: &HeapGraph, a: &Analysis, n: NodeIx, k: usize) -> Vec<RetainerPath> {
    if n == g.root() {
        return Vec::new();
    }
    let mut firsts: Vec<EdgeRef> = shown_retainers(g, n)
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

/// Serializable form of a path step, for JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct PathStepJson {
    /// Edge kind (`property`, `element`, …).
    pub edge_type: String,
    /// Edge name as DevTools prints it.
    pub edge_name: String,
    /// Node reached by the edge: its id.
    pub node_id: u32,
    /// Its class name.
    pub node_class: String,
    /// Its name.
    pub node_name: String,
}
