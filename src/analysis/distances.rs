//! Distance of every node from the GC roots, as DevTools' "Distance" column shows it.
//!
//! Breadth-first, never through weak edges. The root's non-synthetic children (user roots,
//! such as the global object) are searched first at distance 1; whatever only the system
//! roots reach is then numbered from [`SYSTEM_DISTANCE`]. A few edges V8 marks as strong but
//! that do not keep objects alive are skipped, as in DevTools (see [`DistanceFilter`]).
//! Nodes never reached have [`NO_DISTANCE`].

use std::collections::{HashSet, VecDeque};

use crate::analysis::dominators::prefetch;
use crate::error::Result;
use crate::model::graph::EdgeArrays;
use crate::model::v8_rules::{self, DistanceSource, DistanceSources};
use crate::model::{EdgeKind, FxHashMap, HeapGraph, NodeIx, StrId};
use crate::progress::Progress;

// Re-exported where they were defined before the V8 rules had a module of their own.
pub use crate::model::v8_rules::{is_user_root, parse_ephemeron_edge};

/// Distance of unreachable nodes.
pub const NO_DISTANCE: u32 = u32::MAX;
/// Base distance of nodes reachable only from system roots (DevTools' `baseSystemDistance`).
pub const SYSTEM_DISTANCE: u32 = 100_000_000;

/// No parent edge (the root, and unreachable nodes).
pub const NO_EDGE: u32 = u32::MAX;

/// Compute distances from the root for every node.
pub fn compute(g: &HeapGraph, progress: Progress<'_>) -> Result<Vec<u32>> {
    search(g, progress, None)
}

/// The edge by which the distance search first reached each node ([`NO_EDGE`] for the root and
/// unreachable nodes): following them up gives a shortest retainer path in O(length), with no
/// scan of big retainers (4 bytes a node).
pub fn parent_edges(g: &HeapGraph, progress: Progress<'_>) -> Result<Vec<u32>> {
    Ok(with_parent_edges(g, progress)?.1)
}

/// [`compute`] and [`parent_edges`] in one search: the distances, and the edge by which each
/// node was first reached.
pub fn with_parent_edges(g: &HeapGraph, progress: Progress<'_>) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut parents = vec![NO_EDGE; g.node_count()];
    let dist = search(g, progress, Some(&mut parents))?;
    Ok((dist, parents))
}

fn search(
    g: &HeapGraph,
    progress: Progress<'_>,
    mut parents: Option<&mut [u32]>,
) -> Result<Vec<u32>> {
    let n = g.node_count();
    let mut dist = vec![NO_DISTANCE; n];
    // A ring of the frontier only, not of every node ever queued (up to 8 bytes a node).
    let mut queue: VecDeque<NodeIx> = VecDeque::with_capacity(1024);
    let root = g.root();
    for e in g.edges(root) {
        if is_user_root(g, e.to) && dist[e.to as usize] == NO_DISTANCE {
            dist[e.to as usize] = 1;
            if let Some(p) = parents.as_deref_mut() {
                p[e.to as usize] = e.index;
            }
            queue.push_back(e.to);
        }
    }
    let mut filter = DistanceFilter::new(g);
    let had_user_roots = !queue.is_empty();
    bfs(
        g,
        &mut dist,
        &mut queue,
        &mut filter,
        parents.as_deref_mut(),
        progress,
    )?;
    if dist[root as usize] == NO_DISTANCE {
        dist[root as usize] = if had_user_roots { SYSTEM_DISTANCE } else { 0 };
    }
    queue.clear();
    queue.push_back(root);
    bfs(g, &mut dist, &mut queue, &mut filter, parents, progress)?;
    Ok(dist)
}

fn bfs(
    g: &HeapGraph,
    dist: &mut [u32],
    queue: &mut VecDeque<NodeIx>,
    filter: &mut DistanceFilter<'_>,
    mut parents: Option<&mut [u32]>,
    progress: Progress<'_>,
) -> Result<()> {
    let mut done = 0u64;
    let total = g.node_count() as u64;
    // Slices taken once, and which edge types are weak: the loop runs once an edge.
    let (edges, weak) = (g.edge_arrays(), g.weak_edge_types());
    // The queue holds one level, then the next: the distance of the node taken comes from
    // how many of its level are left, not from `dist` (a read at random a node). The
    // queue starts with nodes of one distance.
    let mut level = queue.front().map_or(0, |&v| dist[v as usize]);
    let mut left_in_level = queue.len();
    while let Some(v) = queue.pop_front() {
        if left_in_level == 0 {
            level += 1;
            left_in_level = queue.len() + 1;
        }
        left_in_level -= 1;
        debug_assert_eq!(level, dist[v as usize]);
        done += 1;
        if done.is_multiple_of(1 << 20) {
            progress.step("distances", done, total)?;
        }
        prefetch_ahead(edges, queue, dist);
        let d = level + 1;
        // What `v` is, asked only once it has a target to reach (most nodes reach none, and
        // reading a node's kind is a miss).
        let mut source = None;
        for e in edges.range(v) {
            if weak[edges.types[e] as usize] {
                continue;
            }
            let t = edges.to[e];
            if dist[t as usize] != NO_DISTANCE {
                continue;
            }
            let source = *source.get_or_insert_with(|| filter.sources.of(g, v));
            if !filter.follow(g, source, e) {
                continue;
            }
            dist[t as usize] = d;
            if let Some(p) = parents.as_deref_mut() {
                p[t as usize] = e as u32;
            }
            queue.push_back(t);
        }
    }
    Ok(())
}

/// The queue says which nodes come next, and each is anywhere in the heap: ask the CPU for
/// their data in stages, so that it is in cache when the walk gets there. Where the edges of the
/// node 16 places on start; that node's 8 places on targets and types (its start asked for 8
/// steps ago); the distances of the first targets of the node 4 places on. Hints only.
#[inline]
fn prefetch_ahead(edges: EdgeArrays<'_>, queue: &VecDeque<NodeIx>, dist: &[u32]) {
    prefetch_queued(
        edges,
        |k| queue.get(k).copied(),
        4,
        |t| {
            if let Some(d) = dist.get(t as usize) {
                prefetch(d);
            }
        },
    );
}

/// The stages of [`prefetch_ahead`] for any breadth-first walk over `edges`: `queued(k)` is the
/// node `k` places on in its queue, and `target` asks for what the walk reads of each of the
/// first `near_targets` targets of the node 4 places on.
#[inline]
pub(crate) fn prefetch_queued(
    edges: EdgeArrays<'_>,
    queued: impl Fn(usize) -> Option<NodeIx>,
    near_targets: usize,
    target: impl Fn(NodeIx),
) {
    if let Some(far) = queued(16) {
        prefetch(&edges.first[far as usize]);
    }
    if let Some(mid) = queued(8) {
        let start = edges.first[mid as usize] as usize;
        if let (Some(to), Some(ty)) = (edges.to.get(start), edges.types.get(start)) {
            prefetch(to);
            prefetch(ty);
        }
    }
    if let Some(near) = queued(4) {
        for &t in edges.to[edges.range(near)].iter().take(near_targets) {
            target(t);
        }
    }
}

/// Strong-looking edges DevTools does not follow when measuring distance.
struct DistanceFilter<'g> {
    /// Which nodes' edges are filtered by what they are (tested once a node).
    sources: DistanceSources,
    /// The heap's WeakMap edge names (see [`HeapGraph::ephemeron_names`]).
    ephemerons: &'g FxHashMap<StrId, (u32, u32)>,
    /// WeakMap entries seen from one side (key or table) but not yet from the other.
    pending_ephemerons: HashSet<(u32, u32)>,
}

impl<'g> DistanceFilter<'g> {
    fn new(g: &'g HeapGraph) -> Self {
        Self {
            sources: DistanceSources::new(g),
            ephemerons: g.ephemeron_names(),
            pending_ephemerons: HashSet::new(),
        }
    }

    /// Should edge `e`, from a node that is `source` to the search, be followed?
    fn follow(&mut self, g: &HeapGraph, source: DistanceSource, e: usize) -> bool {
        match source {
            DistanceSource::NativeContext if v8_rules::is_sloppy_function_map_edge(g, e) => {
                return false;
            }
            DistanceSource::MapDescriptors => return !v8_rules::is_descriptor_value_slot(g, e),
            _ => {}
        }
        // A WeakMap value is alive only when both its key and the table are: V8 writes one
        // internal edge from each, named after the pair. Follow only the second one seen.
        // The names are looked up only when the heap has WeakMap entries at all.
        if g.edge_kind(e) == EdgeKind::Internal && !self.ephemerons.is_empty() {
            if let Some(&entry) = self.ephemerons.get(&g.edge_name_or_index(e)) {
                return !self.pending_ephemerons.insert(entry)
                    && self.pending_ephemerons.remove(&entry);
            }
        }
        true
    }
}
