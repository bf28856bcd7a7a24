//! Retainer paths: why is this object alive? Each path runs from a GC root down to the node,
//! never through weak edges, always stepping to a retainer one step closer to the roots.

use super::distances::{NO_DISTANCE, NO_EDGE};
use super::{Analysis, AnalyzedSnapshot};
use crate::model::v8_rules::PROTO_EDGE;
use crate::model::{EdgeKind, EdgeRef, FxHashMap, HeapGraph, NodeIx, NodeKind};

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

impl RetainerPath {
    /// The steps to show (see [`SHOWN_HEAD`]), each with the number left out just before it.
    pub fn shown(&self) -> impl Iterator<Item = (usize, &PathStep)> {
        shown_steps(self.steps.len()).map(|(i, left_out)| (left_out, &self.steps[i]))
    }
}

/// A path longer than `SHOWN_HEAD + SHOWN_TAIL` steps (a linked list a million links long) is
/// shown as its first `SHOWN_HEAD` steps, a line saying how many were left out, and its last
/// `SHOWN_TAIL`: the top says which root holds it, the bottom who holds the node, and no writer
/// turns a million steps into a million lines.
pub const SHOWN_HEAD: usize = 10;
/// See [`SHOWN_HEAD`].
pub const SHOWN_TAIL: usize = 20;

/// The steps of a path of `len` a reader is shown, each with the number of steps left out just
/// before it (0 for all but one step, and only on a path longer than `SHOWN_HEAD + SHOWN_TAIL`).
pub fn shown_steps(len: usize) -> impl Iterator<Item = (usize, usize)> {
    let cut = len > SHOWN_HEAD + SHOWN_TAIL;
    let (head, left_out) = if cut {
        (SHOWN_HEAD, len - SHOWN_HEAD - SHOWN_TAIL)
    } else {
        (len, 0)
    };
    (0..head).map(|i| (i, 0)).chain(
        (head + left_out..len).map(move |i| (i, if i == head + left_out { left_out } else { 0 })),
    )
}

/// What a writer prints where a path's middle was left out.
pub fn left_out_note(steps: usize) -> String {
    format!("… {steps} more steps …")
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

/// The most slot names a suspect or a leak cluster lists.
pub const HELD_AS: usize = 3;

/// What the program calls `n`: the named slots that hold it, a closure's variable (`closure
/// variable kept`) or an object's property (`Session.items`, a page's global `Window.cache`),
/// closest to the roots first, at most `max`. Edges V8 adds for itself (a stack frame's slot,
/// a deoptimization literal, a `Map`'s table) and a collection's indices name nothing the
/// program wrote and are left out, so the name helps where the shortest path passes through
/// the running code (a snapshot written near the heap limit, or from inside the program).
pub fn slot_names(s: &AnalyzedSnapshot, n: NodeIx, max: usize) -> Vec<String> {
    slot_names_where(s, n, max, |_| true)
}

/// [`slot_names`] among the retainer edges `keep` accepts.
pub fn slot_names_where(
    s: &AnalyzedSnapshot,
    n: NodeIx,
    max: usize,
    keep: impl Fn(&EdgeRef) -> bool,
) -> Vec<String> {
    let held = sorted_retainers(s.graph(), &s.analysis, n)
        .into_iter()
        .filter(|e| s.analysis.distance(e.from).is_some() && keep(e));
    slot_names_among(s, held, max)
}

/// [`slot_names`] without distances (a trend's snapshots have none): in the order of the
/// graph's retainer lists, and not looking through a holder of more than [`SCAN_LIMIT`] edges
/// (a collection's entries are not named slots anyway).
pub fn slot_names_unsorted(s: &AnalyzedSnapshot, n: NodeIx, max: usize) -> Vec<String> {
    let g = s.graph();
    let mut holders: Vec<NodeIx> = g.retainer_nodes(n).collect();
    holders.dedup();
    let held = holders
        .into_iter()
        .filter(|&r| g.edge_range(r).len() <= SCAN_LIMIT)
        .flat_map(|r| {
            g.edges(r)
                .filter(move |e| e.to == n && e.kind != EdgeKind::Weak)
        });
    slot_names_among(s, held, max)
}

/// The labels of the named slots among `edges` (see [`slot_names`]), at most `max`, each once.
fn slot_names_among(
    s: &AnalyzedSnapshot,
    edges: impl Iterator<Item = EdgeRef>,
    max: usize,
) -> Vec<String> {
    let g = s.graph();
    let mut out: Vec<String> = Vec::new();
    for e in edges {
        if out.len() == max {
            break;
        }
        let name = g.edge_label(e.index as usize);
        if name.is_empty() || name == PROTO_EDGE || name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let label = match e.kind {
            EdgeKind::Context => format!("closure variable {name}"),
            EdgeKind::Property => {
                // A function's static property reads by the function's name, not `Function`.
                let class = match g.name(e.from) {
                    f if g.kind(e.from) == NodeKind::Closure && !f.is_empty() => f,
                    _ => s.class_name(e.from),
                };
                format!("{}.{name}", holder_name(class))
            }
            _ => continue,
        };
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// A holder's class as a slot's name shows it: a page's global reads `Window`, without
/// ` [JSGlobalObject] / url`.
pub fn holder_name(class: &str) -> &str {
    class
        .split_once(" [JSGlobalObject]")
        .map_or(class, |(w, _)| w)
}

/// Sort key of a retainer: the root first, then by distance.
fn closeness(g: &HeapGraph, a: &Analysis, e: &EdgeRef) -> u64 {
    if e.from == g.root() {
        0
    } else {
        a.distances[e.from as usize] as u64 + 1
    }
}

/// The edge into `n` on its shortest path, from the distance search's `parents` (see
/// [`Analysis::parent_edges`]); `None` for the root and for unreachable nodes.
pub fn parent_edge(g: &HeapGraph, parents: &[u32], n: NodeIx) -> Option<EdgeRef> {
    if n == g.root() {
        return None;
    }
    match parents.get(n as usize) {
        Some(&e) if e != NO_EDGE => Some(g.edge_ref(e as usize)),
        _ => None,
    }
}

/// The shortest path from the root to `n`, along the distance search's parent edges (never
/// weak); `None` for the root and for unreachable nodes. O(path length).
pub fn shortest_path(g: &HeapGraph, a: &Analysis, n: NodeIx) -> Option<RetainerPath> {
    let parents = a.parent_edges(g);
    let mut rev = Vec::new();
    let mut v = n;
    while v != g.root() {
        let edge = parent_edge(g, parents, v)?;
        if rev.len() > g.node_count() {
            return None;
        }
        rev.push(PathStep { edge });
        v = edge.from;
    }
    rev.reverse();
    Some(RetainerPath { steps: rev })
}

/// The shown steps of many shortest paths (see [`SHOWN_HEAD`]), each path's length and the node
/// [`SHOWN_HEAD`] steps down it worked out once per node on it and kept: a node's answer serves
/// every node below it. Walking each path whole cost O(objects × depth): 4,000 buffers held from
/// the far end of a 100,000-link list took 18 s to list with their paths; this takes O(nodes on
/// the paths) in all. Memory: one map entry per node on a path asked about.
pub struct ShownPaths<'a> {
    g: &'a HeapGraph,
    parents: &'a [u32],
    /// A node's path length and the node `SHOWN_HEAD` steps down it (the node itself when
    /// nearer).
    known: FxHashMap<NodeIx, (u32, NodeIx)>,
}

impl<'a> ShownPaths<'a> {
    /// Paths of `g`, along the distance search's parent edges.
    pub fn new(g: &'a HeapGraph, a: &'a Analysis) -> Self {
        Self {
            g,
            parents: a.parent_edges(g),
            known: FxHashMap::default(),
        }
    }

    /// The length of the shortest path to `n` and the node [`SHOWN_HEAD`] steps down it, or
    /// `None` when `n` is unreachable.
    fn depth_and_head(&mut self, n: NodeIx) -> Option<(u32, NodeIx)> {
        let root = (0, self.g.root());
        facts_along(
            self.g,
            self.parents,
            &mut self.known,
            n,
            root,
            |(depth, head), e| one_step_deeper(depth, head, e.to),
        )
    }

    /// The shown steps of the shortest path to `n`, each with the number left out just before
    /// it, as [`RetainerPath::shown`] gives them; `None` for the root and unreachable nodes.
    pub fn shown(&mut self, n: NodeIx) -> Option<Vec<(usize, PathStep)>> {
        let (depth, head) = self.depth_and_head(n)?;
        if depth == 0 {
            return None;
        }
        shown_steps_to(self.g, self.parents, n, depth as usize, head)
    }
}

/// The facts of the shortest path to `n`, worked out from the root down, each node's from its
/// parent's and the edge between (`step`), and kept in `known`: a node's facts serve every node
/// below it, so paths asked about one after another cost O(nodes on them) in all, whatever
/// their depth. `root` are the root's facts; `None` when `n` is unreachable.
pub(crate) fn facts_along<T: Copy>(
    g: &HeapGraph,
    parents: &[u32],
    known: &mut FxHashMap<NodeIx, T>,
    n: NodeIx,
    root: T,
    mut step: impl FnMut(T, &EdgeRef) -> T,
) -> Option<T> {
    // Up to the root or to a node already known, then back down.
    let mut pending = Vec::new();
    let mut x = n;
    let mut facts = loop {
        if x == g.root() {
            break root;
        }
        if let Some(&f) = known.get(&x) {
            break f;
        }
        if pending.len() > g.node_count() {
            return None;
        }
        let e = parent_edge(g, parents, x)?;
        pending.push(e);
        x = e.from;
    };
    for e in pending.into_iter().rev() {
        facts = step(facts, &e);
        known.insert(e.to, facts);
    }
    Some(facts)
}

/// A path's length and the node [`SHOWN_HEAD`] steps down it, one step deeper, to `n`.
pub(crate) fn one_step_deeper(depth: u32, head: NodeIx, n: NodeIx) -> (u32, NodeIx) {
    let depth = depth + 1;
    (
        depth,
        if depth as usize <= SHOWN_HEAD {
            n
        } else {
            head
        },
    )
}

/// The shown steps of the path of `depth` steps to `to`, each with the number left out just
/// before it; `head` is the node [`SHOWN_HEAD`] steps down the path (used when it is cut).
/// O(shown steps), whatever the depth.
pub fn shown_steps_to(
    g: &HeapGraph,
    parents: &[u32],
    to: NodeIx,
    depth: usize,
    head: NodeIx,
) -> Option<Vec<(usize, PathStep)>> {
    let up = |from: NodeIx, count: usize| -> Option<Vec<PathStep>> {
        let mut rev = Vec::with_capacity(count);
        let mut x = from;
        for _ in 0..count {
            let edge = parent_edge(g, parents, x)?;
            rev.push(PathStep { edge });
            x = edge.from;
        }
        rev.reverse();
        Some(rev)
    };
    if depth <= SHOWN_HEAD + SHOWN_TAIL {
        return Some(up(to, depth)?.into_iter().map(|st| (0, st)).collect());
    }
    let mut steps: Vec<(usize, PathStep)> = up(head, SHOWN_HEAD)?
        .into_iter()
        .chain(up(to, SHOWN_TAIL)?)
        .map(|st| (0, st))
        .collect();
    steps[SHOWN_HEAD].0 = depth - SHOWN_HEAD - SHOWN_TAIL;
    Some(steps)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_show_their_ends_and_count_the_middle() {
        let short: Vec<_> = shown_steps(SHOWN_HEAD + SHOWN_TAIL).collect();
        assert_eq!(short.len(), 30);
        assert!(short
            .iter()
            .enumerate()
            .all(|(k, &(i, cut))| i == k && cut == 0));
        let long: Vec<_> = shown_steps(1_000_000).collect();
        assert_eq!(long.len(), 30);
        assert_eq!(long[9], (9, 0));
        assert_eq!(long[10], (1_000_000 - SHOWN_TAIL, 1_000_000 - 30));
        assert_eq!(long[29], (999_999, 0));
        assert_eq!(left_out_note(5), "… 5 more steps …");
    }
}
