//! Comparison of two snapshots, objects matched by node id as DevTools' Comparison view does:
//! per class, how many objects are new, how many were deleted, and the bytes each way.

use serde::Serialize;

use super::AnalyzedSnapshot;
use crate::model::{FxHashMap, NodeIx};

/// One class's row of the comparison.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiffRow {
    /// Class name.
    pub name: String,
    /// Objects in the target that the base doesn't have.
    pub new_count: u64,
    /// Objects in the base that the target doesn't have.
    pub deleted_count: u64,
    /// `new_count − deleted_count`.
    pub delta_count: i64,
    /// Shallow bytes of the new objects.
    pub alloc_size: u64,
    /// Shallow bytes of the deleted objects.
    pub freed_size: u64,
    /// `alloc_size − freed_size`.
    pub size_delta: i64,
}

/// The comparison of a base snapshot with a target snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotDiff {
    /// Classes with any change, largest size delta first.
    pub classes: Vec<DiffRow>,
    /// Total shallow bytes of new objects.
    pub alloc_size: u64,
    /// Total shallow bytes of deleted objects.
    pub freed_size: u64,
    /// Number of new objects.
    pub new_count: u64,
    /// Number of deleted objects.
    pub deleted_count: u64,
    /// Largest JS object id in the base (odd ids; embedder objects have even, address-like ids,
    /// skipped as DevTools does): objects above it were allocated after the base.
    pub base_max_id: u32,
    /// Whether the two snapshots number their objects alike ([`ids_kept`]). When false, every
    /// object counts as new or deleted, and only the delta columns mean anything.
    pub ids_kept: bool,
    /// New objects (target node indices), kept to drill into a class.
    #[serde(skip)]
    pub new_nodes: Vec<NodeIx>,
}

/// Whether two snapshots number their objects alike, so that an object can be matched across
/// them by its id; `shared` is how many ids the two have in common. V8 keeps an object's id for
/// as long as it lives, so two snapshots of one V8 process share thousands of ids however much
/// of the heap changed (the runtime's own code and maps stay). Bun 1.x (JavaScriptCore writing
/// V8's format) numbers every snapshot afresh: its snapshots share only their roots' ids. Then
/// new and deleted objects, leaks and collections matched by id mean nothing, while class
/// counts and sizes still compare. Fewer shared ids than 1 % of the smaller snapshot's nodes
/// (and than 1000) says the writer renumbered them; heaps under 100 nodes always pass.
pub fn ids_kept(shared: u64, nodes_a: usize, nodes_b: usize) -> bool {
    let smaller = nodes_a.min(nodes_b) as u64;
    shared >= (smaller / 100).min(1000)
}

/// What snapshots whose ids are not kept ([`ids_kept`]) have in common, in the words every
/// face uses after their names ("the snapshots …").
pub const IDS_RENUMBERED: &str = "share almost no object ids (their writer numbered the \
     objects afresh in each one, as Bun does)";

/// What to tell the user when [`ids_kept`] is false for the snapshots named `names` (two or
/// more, in order).
pub fn ids_not_kept_message(names: &[&str]) -> String {
    let (last, before) = names.split_last().unwrap_or((&"the snapshots", &[]));
    let named = if before.is_empty() {
        last.to_string()
    } else {
        format!("{} and {last}", before.join(", "))
    };
    format!(
        "{named} {IDS_RENUMBERED}, so objects cannot be matched across them. New and deleted \
         objects and leaks found by id would be wrong; the class counts and sizes compare \
         (`heapsight trend`, the comparison's delta columns)"
    )
}

/// Node ids of `s`, sorted, with their node index.
fn sorted_ids(s: &AnalyzedSnapshot) -> Vec<(u32, NodeIx)> {
    let g = s.graph();
    let mut ids: Vec<(u32, NodeIx)> = (0..g.node_count() as NodeIx)
        .map(|n| (g.id(n), n))
        .collect();
    ids.sort_unstable();
    ids
}

/// Does the node count in a comparison? DevTools compares the Summary's objects: nodes with a
/// non-zero shallow size.
fn counts(s: &AnalyzedSnapshot, n: NodeIx) -> bool {
    s.analysis.shallow_size(n) != 0
}

impl SnapshotDiff {
    /// Compare `base` with `target`.
    pub fn compute(base: &AnalyzedSnapshot, target: &AnalyzedSnapshot) -> Self {
        let a = sorted_ids(base);
        let b = sorted_ids(target);
        let mut rows: FxHashMap<String, DiffRow> = FxHashMap::default();
        fn row<'a>(rows: &'a mut FxHashMap<String, DiffRow>, name: &str) -> &'a mut DiffRow {
            rows.entry(name.to_string()).or_insert_with(|| DiffRow {
                name: name.to_string(),
                new_count: 0,
                deleted_count: 0,
                delta_count: 0,
                alloc_size: 0,
                freed_size: 0,
                size_delta: 0,
            })
        }
        let mut new_nodes = Vec::new();
        let mut shared = 0u64;
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next_a = a.get(i).map(|x| x.0);
            let next_b = b.get(j).map(|x| x.0);
            match (next_a, next_b) {
                (Some(x), Some(y)) if x == y => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
                (Some(x), y) if y.is_none_or(|y| x < y) => {
                    let n = a[i].1;
                    if counts(base, n) {
                        let r = row(&mut rows, base.class_name(n));
                        r.deleted_count += 1;
                        r.freed_size += base.analysis.shallow_size(n);
                    }
                    i += 1;
                }
                _ => {
                    let n = b[j].1;
                    if counts(target, n) {
                        let r = row(&mut rows, target.class_name(n));
                        r.new_count += 1;
                        r.alloc_size += target.analysis.shallow_size(n);
                        new_nodes.push(n);
                    }
                    j += 1;
                }
            }
        }
        let mut classes: Vec<DiffRow> = rows
            .into_values()
            .map(|mut r| {
                r.delta_count = r.new_count as i64 - r.deleted_count as i64;
                r.size_delta = r.alloc_size as i64 - r.freed_size as i64;
                r
            })
            .collect();
        classes.sort_by(|x, y| {
            y.size_delta
                .cmp(&x.size_delta)
                .then(y.delta_count.cmp(&x.delta_count))
                .then(x.name.cmp(&y.name))
        });
        Self {
            alloc_size: classes.iter().map(|r| r.alloc_size).sum(),
            freed_size: classes.iter().map(|r| r.freed_size).sum(),
            new_count: classes.iter().map(|r| r.new_count).sum(),
            deleted_count: classes.iter().map(|r| r.deleted_count).sum(),
            base_max_id: a
                .iter()
                .rev()
                .map(|x| x.0)
                .find(|id| id % 2 == 1)
                .unwrap_or(0),
            ids_kept: ids_kept(shared, a.len(), b.len()),
            classes,
            new_nodes,
        }
    }

    /// New objects of class `name` in the target, largest retained first.
    pub fn new_objects_of(&self, target: &AnalyzedSnapshot, name: &str) -> Vec<NodeIx> {
        let mut v: Vec<NodeIx> = self
            .new_nodes
            .iter()
            .copied()
            .filter(|&n| target.class_name(n) == name)
            .collect();
        v.sort_by_key(|&n| std::cmp::Reverse(target.analysis.retained_size(n)));
        v
    }

    /// Objects of the target allocated after the base was taken (id above the base's largest).
    pub fn allocated_between(&self, target: &AnalyzedSnapshot) -> Vec<NodeIx> {
        let g = target.graph();
        self.new_nodes
            .iter()
            .copied()
            .filter(|&n| g.id(n) > self.base_max_id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ids_kept;

    #[test]
    fn ids_are_kept_unless_almost_none_are_shared() {
        // Bun's trio: 4585 and 10551 nodes, only the two roots shared.
        assert!(!ids_kept(2, 4585, 10_551));
        // A big heap whose data was all replaced still shares the runtime's thousands.
        assert!(ids_kept(40_000, 10_000_000, 10_000_000));
        // But a big heap that shares fewer than 1000 ids does not keep them.
        assert!(!ids_kept(999, 10_000_000, 10_000_000));
        // 1 % of the smaller heap is enough for smaller heaps.
        assert!(ids_kept(50, 5_000, 1_000_000));
        assert!(!ids_kept(49, 5_000, 1_000_000));
        // Tiny hand-made heaps always pass.
        assert!(ids_kept(0, 99, 99));
    }
}
