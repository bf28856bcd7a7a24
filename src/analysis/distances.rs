//! Distance of every node from the GC roots, as DevTools' "Distance" column shows it.
//!
//! Breadth-first, never through weak edges. The root's non-synthetic children (user roots,
//! such as the global object) are searched first at distance 1; whatever only the system
//! roots reach is then numbered from [`SYSTEM_DISTANCE`]. A few edges V8 marks as strong but
//! that do not keep objects alive are skipped, as in DevTools (see [`DistanceFilter`]).
//! Nodes never reached have [`NO_DISTANCE`].

use std::collections::HashSet;

use crate::error::Result;
use crate::model::{EdgeKind, HeapGraph, NodeIx, NodeKind};
use crate::progress::Progress;

use super::dominators::is_document_dom_trees_root;

/// Distance of unreachable nodes.
pub const NO_DISTANCE: u32 = u32::MAX;
/// Base distance of nodes reachable only from system roots (DevTools' `baseSystemDistance`).
pub const SYSTEM_DISTANCE: u32 = 100_000_000;

/// DevTools' user roots: the root's children that are not synthetic, plus the DOM trees root.
pub fn is_user_root(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) != NodeKind::Synthetic || is_document_dom_trees_root(g, n)
}

/// No parent edge (the root, and unreachable nodes).
pub const NO_EDGE: u32 = u32::MAX;

/// Compute distances from the root for every node.
pub fn compute(g: &HeapGraph, progress: Progress<'_>) -> Result<Vec<u32>> {
    search(g, progress, None)
}

/// The edge by which the distance search first reached each node ([`NO_EDGE`] for the root and
/// unreachable nodes): following them up gives a shortest retainer path in O(length), with no
/// scan of big retainers. Computed on demand (4 bytes a node).
pub fn parent_edges(g: &HeapGraph, progress: Progress<'_>) -> Result<Vec<u32>> {
    let mut parents = vec![NO_EDGE; g.node_count()];
    search(g, progress, Some(&mut parents))?;
    Ok(parents)
}

fn search(
    g: &HeapGraph,
    progress: Progress<'_>,
    mut parents: Option<&mut [u32]>,
) -> Result<Vec<u32>> {
    let n = g.node_count();
    let mut dist = vec![NO_DISTANCE; n];
    let mut queue: Vec<NodeIx> = Vec::with_capacity(1024);
    let root = g.root();
    for e in g.edges(root) {
        if is_user_root(g, e.to) && dist[e.to as usize] == NO_DISTANCE {
            dist[e.to as usize] = 1;
            if let Some(p) = parents.as_deref_mut() {
                p[e.to as usize] = e.index;
            }
            queue.push(e.to);
        }
    }
    let mut filter = DistanceFilter::new();
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
    queue.push(root);
    bfs(g, &mut dist, &mut queue, &mut filter, parents, progress)?;
    Ok(dist)
}

fn bfs(
    g: &HeapGraph,
    dist: &mut [u32],
    queue: &mut Vec<NodeIx>,
    filter: &mut DistanceFilter,
    mut parents: Option<&mut [u32]>,
    progress: Progress<'_>,
) -> Result<()> {
    let mut head = 0;
    let total = g.node_count() as u64;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        if head.is_multiple_of(1 << 20) {
            progress.step("distances", head as u64, total)?;
        }
        let d = dist[v as usize] + 1;
        for e in g.edge_range(v) {
            if g.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let t = g.edge_target(e);
            if dist[t as usize] != NO_DISTANCE || !filter.follow(g, v, e) {
                continue;
            }
            dist[t as usize] = d;
            if let Some(p) = parents.as_deref_mut() {
                p[t as usize] = e as u32;
            }
            queue.push(t);
        }
    }
    Ok(())
}

/// Strong-looking edges DevTools does not follow when measuring distance.
struct DistanceFilter {
    /// WeakMap entries seen from one side (key or table) but not yet from the other.
    pending_ephemerons: HashSet<(u32, u32)>,
}

impl DistanceFilter {
    fn new() -> Self {
        Self {
            pending_ephemerons: HashSet::new(),
        }
    }

    fn follow(&mut self, g: &HeapGraph, from: NodeIx, e: usize) -> bool {
        let kind = g.kind(from);
        // A native context's sloppy function map keeps nothing alive that matters to users.
        if kind == NodeKind::Hidden
            && g.edge_kind(e) != EdgeKind::Element
            && g.strings().get(g.edge_name_or_index(e)) == "sloppy_function_map"
            && g.name(from) == "system / NativeContext"
        {
            return false;
        }
        // In descriptor arrays, every third slot from 1 on holds a key's value through the map.
        if kind == NodeKind::Array && g.name(from) == "(map descriptors)" {
            let ek = g.edge_kind(e);
            if ek.named_by_index() {
                let index = g.edge_name_or_index(e);
                return index < 2 || index % 3 != 1;
            }
            return true;
        }
        // A WeakMap value is alive only when both its key and the table are: V8 writes one
        // internal edge from each, named after the pair. Follow only the second one seen.
        if g.edge_kind(e) == EdgeKind::Internal {
            let name = g.strings().get(g.edge_name_or_index(e));
            if let Some((key_id, table_id)) = parse_ephemeron_edge(name) {
                let entry = (key_id, table_id);
                return !self.pending_ephemerons.insert(entry)
                    && self.pending_ephemerons.remove(&entry);
            }
        }
        true
    }
}

/// Parse V8's WeakMap edge name `3 / part of key (Foo @123) -> value (Bar @456) pair in WeakMap
/// (table @789)` into (key id, table id). Like DevTools, the whole name must have this shape.
pub fn parse_ephemeron_edge(name: &str) -> Option<(u32, u32)> {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || name.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let rest = name[digits..].strip_prefix(" / part of key (")?;
    let arrow = rest.find(") -> value (")?;
    let key_part = &rest[..arrow];
    let key_id = key_part.rsplit_once(" @")?.1.parse().ok()?;
    let after = &rest[arrow + ") -> value (".len()..];
    let table_at = after.find(") pair in WeakMap (table @")?;
    let table_str = after[table_at + ") pair in WeakMap (table @".len()..].strip_suffix(')')?;
    let table_id = table_str.parse().ok()?;
    Some((key_id, table_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeron_names() {
        assert_eq!(
            parse_ephemeron_edge(
                "3 / part of key (Object @123) -> value (Foo @456) pair in WeakMap (table @789)"
            ),
            Some((123, 789))
        );
        // DevTools requires the leading number.
        assert_eq!(
            parse_ephemeron_edge(
                "part of key (Object @123) -> value (Foo @456) pair in WeakMap (table @789)"
            ),
            None
        );
        assert_eq!(parse_ephemeron_edge("map"), None);
    }
}
