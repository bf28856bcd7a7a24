//! The data behind the class table: how it sorts, and listing one class's instances (a scan
//! over every node, run on a background thread).

use std::cmp::Ordering;

use crate::analysis::allocation_stacks::TimeRange;
use crate::analysis::ClassRow;
use crate::model::NodeIx;
use crate::progress::Progress;
use crate::store::Document;

/// How many instances of one class are listed: the largest by retained size.
pub const MAX_INSTANCES: usize = 2000;

/// Nodes scanned between progress reports (and cancellation checks) when listing instances.
const SCAN_CHUNK: usize = 1 << 20;

/// A column of the class table; the table is sorted by one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// Class name.
    Constructor,
    /// Number of instances.
    Count,
    /// Shallow size.
    Shallow,
    /// Shallow size as a share of the heap (sorts like [`SortColumn::Shallow`]).
    ShallowPercent,
    /// Retained size.
    Retained,
    /// Retained size as a share of the heap (sorts like [`SortColumn::Retained`]).
    RetainedPercent,
    /// Distance from the roots (unreachable last).
    Distance,
}

impl SortColumn {
    /// Names and distances read best smallest first; sizes and counts largest first.
    pub(super) fn default_descending(self) -> bool {
        !matches!(self, SortColumn::Constructor | SortColumn::Distance)
    }

    /// Compare classes `a` and `b` (indices into `classes`) by this column, ascending.
    /// `lower` holds the lower-case names, so name order is case-insensitive without
    /// allocating in the comparison.
    pub(super) fn compare(
        self,
        classes: &[ClassRow],
        lower: &[String],
        a: u32,
        b: u32,
    ) -> Ordering {
        let (x, y) = (&classes[a as usize], &classes[b as usize]);
        match self {
            SortColumn::Constructor => lower[a as usize]
                .cmp(&lower[b as usize])
                .then_with(|| x.name.cmp(&y.name)),
            SortColumn::Count => x.count.cmp(&y.count),
            SortColumn::Shallow | SortColumn::ShallowPercent => x.shallow_size.cmp(&y.shallow_size),
            SortColumn::Retained | SortColumn::RetainedPercent => {
                x.retained_size.cmp(&y.retained_size)
            }
            SortColumn::Distance => x
                .distance
                .unwrap_or(u32::MAX)
                .cmp(&y.distance.unwrap_or(u32::MAX)),
        }
    }
}

/// How the class table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: SortColumn,
    /// Largest first.
    pub descending: bool,
}

impl Default for Sort {
    /// Retained size, largest first (as DevTools opens).
    fn default() -> Self {
        Self {
            column: SortColumn::Retained,
            descending: true,
        }
    }
}

/// The instances of one class that are listed, and how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct InstanceList {
    /// At most [`MAX_INSTANCES`] nodes, largest retained size first.
    pub nodes: Vec<NodeIx>,
    /// Number of instances (nodes of the class with a non-zero shallow size, as the Count
    /// column counts them).
    pub total: usize,
}

/// List the instances of class `class_id` (only those allocated in `range`, when given): one
/// scan over all nodes, then a partial sort.
pub fn class_instances(
    snap: &Document,
    class_id: u32,
    range: Option<TimeRange>,
    progress: Progress<'_>,
) -> crate::Result<InstanceList> {
    let class_of = &snap.data.classes.class_of;
    let a = &snap.data.analysis;
    let g = snap.data.graph();
    let in_range = |v: NodeIx| range.is_none_or(|r| r.contains(g, v));
    let mut nodes: Vec<NodeIx> = Vec::new();
    for (k, chunk) in class_of.chunks(SCAN_CHUNK).enumerate() {
        let base = k * SCAN_CHUNK;
        progress.step("listing instances", base as u64, class_of.len() as u64)?;
        for (i, &c) in chunk.iter().enumerate() {
            let v = (base + i) as NodeIx;
            if c == class_id && a.shallow_size(v) != 0 && in_range(v) {
                nodes.push(v);
            }
        }
    }
    let total = nodes.len();
    let largest_first =
        |x: &NodeIx, y: &NodeIx| a.retained_size(*y).cmp(&a.retained_size(*x)).then(x.cmp(y));
    if nodes.len() > MAX_INSTANCES {
        nodes.select_nth_unstable_by(MAX_INSTANCES, largest_first);
        nodes.truncate(MAX_INSTANCES);
        nodes.shrink_to_fit();
    }
    nodes.sort_unstable_by(largest_first);
    Ok(InstanceList { nodes, total })
}
