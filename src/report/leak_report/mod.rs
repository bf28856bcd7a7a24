//! The leak-suspects report: one result struct with everything a team needs to act on a heap
//! problem. This module runs the analyses that fill it; [`blocks`] lays it out for Markdown and
//! HTML, and serde writes it as JSON.

mod alloc_blocks;
mod blocks;
mod memory_blocks;

pub use alloc_blocks::SITE_DIFF_COLUMNS;
pub use blocks::leak_blocks;
pub use memory_blocks::{memory_growth, MemorySeries, REPORT_HOLDERS};

use serde::Serialize;

use crate::analysis::alloc::{diff_profiles, AllocSummary, SiteDiffRow};
use crate::analysis::detached::DetachedDom;
use crate::analysis::diff::{DiffRow, SnapshotDiff};
use crate::analysis::leaks::LeakReport;
use crate::analysis::memory_map::{MemoryMap, DEFAULT_MIN_BUFFER};
use crate::analysis::strings::{
    duplicated_strings, growing_collections, DuplicatedString, GrowingCollection,
};
use crate::analysis::suspects::{find_suspects, LeakSuspect, SuspectOptions};
use crate::analysis::{AnalyzedSnapshot, ClassRow, Statistics};
use crate::store::Document;

/// Rows of the class table kept in a report.
const TOP_CLASSES: usize = 15;

/// One snapshot's part of the report.
#[derive(Debug, Serialize)]
pub struct SnapshotSection {
    /// File name.
    pub file: String,
    /// Nodes.
    pub node_count: u64,
    /// Edges.
    pub edge_count: u64,
    /// Total size (root retained + extra native bytes).
    pub total_size: u64,
    /// Size by category.
    pub statistics: Statistics,
    /// Largest classes by retained size.
    pub top_classes: Vec<ClassRow>,
    /// Leak suspects.
    pub suspects: Vec<LeakSuspect>,
    /// Detached DOM trees.
    pub detached: DetachedDom,
    /// Texts stored more than once (top 20 by wasted bytes).
    pub duplicated_strings: Vec<DuplicatedString>,
    /// For an allocation profile (DHAT, heaptrack, pprof): its totals and top sites; the
    /// JavaScript-only parts above are then empty.
    pub allocations: Option<AllocSummary>,
    /// For a heap snapshot: its memory map (JS heap, ArrayBuffers, WebAssembly memory,
    /// external), WebAssembly memories, wrappers, and the first [`REPORT_HOLDERS`] buffer holders.
    pub memory: Option<MemoryMap>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct LeakSuspectsReport {
    /// heapsight's version.
    pub generator: String,
    /// One section per snapshot, in the order given.
    pub snapshots: Vec<SnapshotSection>,
    /// Comparison of the first two snapshots (when two or more are given).
    pub comparison: Option<ComparisonSection>,
    /// Collections growing in every snapshot (two or more snapshots).
    pub growing_collections: Vec<GrowingCollection>,
    /// Three-snapshot leak detection (exactly three snapshots: baseline, target, final).
    pub leaks: Option<LeakReport>,
    /// WebAssembly memories, buffer holders and pools per snapshot (two or more snapshots).
    pub memory_growth: Vec<MemorySeries>,
    /// The first two allocation profiles compared by call stack (when both are profiles).
    pub allocation_diff: Option<AllocDiffSection>,
}

/// Two allocation profiles compared by call stack.
#[derive(Debug, Serialize)]
pub struct AllocDiffSection {
    /// The earlier run.
    pub base: String,
    /// The later run.
    pub target: String,
    /// The sites that changed most (top 30).
    pub sites: Vec<SiteDiffRow>,
}

/// Comparison summary.
#[derive(Debug, Serialize)]
pub struct ComparisonSection {
    /// Base file.
    pub base: String,
    /// Target file.
    pub target: String,
    /// New objects.
    pub new_count: u64,
    /// Deleted objects.
    pub deleted_count: u64,
    /// Bytes of new objects.
    pub alloc_size: u64,
    /// Bytes of deleted objects.
    pub freed_size: u64,
    /// Classes with the largest size delta (top 30).
    pub classes: Vec<DiffRow>,
    /// Whether the two number their objects alike (else only the deltas mean anything).
    pub ids_kept: bool,
}

impl SnapshotSection {
    /// Analyse one document for the report (its summary and statistics as already computed).
    pub fn build(doc: &Document, opts: SuspectOptions) -> Self {
        let s = &doc.data;
        let summary = doc.summary();
        let profile = doc.profile();
        let heap = profile.is_none();
        Self {
            file: doc.title.clone(),
            node_count: summary.node_count,
            edge_count: summary.edge_count,
            total_size: summary.total_size,
            statistics: doc.statistics().clone(),
            top_classes: summary.classes.iter().take(TOP_CLASSES).cloned().collect(),
            suspects: if heap {
                find_suspects(s, opts)
            } else {
                Vec::new()
            },
            detached: DetachedDom::compute(s),
            duplicated_strings: if heap {
                duplicated_strings(s, 20)
            } else {
                Vec::new()
            },
            allocations: profile.map(|p| AllocSummary::build(p, 10)),
            memory: heap.then(|| {
                let mut m = MemoryMap::build(s, DEFAULT_MIN_BUFFER);
                m.buffer_holders.truncate(REPORT_HOLDERS);
                m
            }),
        }
    }
}

impl LeakSuspectsReport {
    /// Build the report over `docs`, in that order.
    pub fn build(docs: &[&Document], opts: SuspectOptions) -> Self {
        let snaps: Vec<(&AnalyzedSnapshot, String)> =
            docs.iter().map(|d| (&d.data, d.title.clone())).collect();
        let profile = |i: usize| docs.get(i).and_then(|d| d.profile());
        let heaps_only = (0..snaps.len()).all(|i| profile(i).is_none());
        let allocation_diff = match (profile(0), profile(1)) {
            (Some(a), Some(b)) => {
                let d = diff_profiles(a, b);
                Some(AllocDiffSection {
                    base: snaps[0].1.clone(),
                    target: snaps[1].1.clone(),
                    sites: d.sites.iter().take(30).map(|x| d.row(a, b, x)).collect(),
                })
            }
            _ => None,
        };
        let comparison = (heaps_only && snaps.len() >= 2).then(|| {
            let d = SnapshotDiff::compute(snaps[0].0, snaps[1].0);
            ComparisonSection {
                base: snaps[0].1.clone(),
                target: snaps[1].1.clone(),
                new_count: d.new_count,
                deleted_count: d.deleted_count,
                alloc_size: d.alloc_size,
                freed_size: d.freed_size,
                ids_kept: d.ids_kept,
                classes: d.classes.into_iter().take(30).collect(),
            }
        });
        let all: Vec<&AnalyzedSnapshot> = snaps.iter().map(|(s, _)| *s).collect();
        let snapshots: Vec<SnapshotSection> = docs
            .iter()
            .map(|d| SnapshotSection::build(d, opts))
            .collect();
        Self {
            generator: format!("heapsight {}", env!("CARGO_PKG_VERSION")),
            memory_growth: memory_growth(&snapshots),
            snapshots,
            comparison,
            growing_collections: if heaps_only {
                growing_collections(&all, 10)
            } else {
                Vec::new()
            },
            leaks: (heaps_only && snaps.len() == 3)
                .then(|| LeakReport::compute(snaps[0].0, snaps[1].0, snaps[2].0)),
            allocation_diff,
        }
    }
}
