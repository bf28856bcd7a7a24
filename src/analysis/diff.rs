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
    /// New objects (target node indices), kept to drill into a class.
    #[serde(skip)]
    pub new_nodes: Vec<NodeIx>,
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
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next_a = a.get(i).map(|x| x.0);
            let next_b = b.get(j).map(|x| x.0);
            match (next_a, next_b) {
                (Some(x), Some(y)) if x == y => {
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
