//! Each read-only command's output over open documents, shared by the CLI and the MCP server
//! so both faces print the same numbers and verdicts from the same code.

use crate::analysis::alloc::{diff_profiles, AllocSummary, SiteDiffRow};
use crate::analysis::call_tree::{flatten, CallTree, Direction};
use crate::analysis::detached::DetachedDom;
use crate::analysis::diff::SnapshotDiff;
use crate::analysis::leak_gate::{GateVerdict, IgnoreRules, Limits};
use crate::analysis::leaks::LeakReport;
use crate::analysis::memory_map::MemoryMap;
use crate::error::{Error, Result};
use crate::model::alloc::Metric;
use crate::report::json::{to_json, SummaryJson};
use crate::report::{alloc_text, allocation_stacks, csv, diff, memory, node, text};
use crate::store::Document;

/// How a command's output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text for people (and agents).
    Text,
    /// JSON (schemas in docs/json-schema.md).
    Json,
    /// CSV, where a command has a table.
    Csv,
}

/// `heapsight summary`: totals and the `top` largest classes (0 = all); for allocation
/// profiles, the profile's summary.
pub fn summary(doc: &Document, top: usize, format: Format) -> Result<String> {
    let file = doc.path.display().to_string();
    if let Some(profile) = doc.profile() {
        let top = if top == 0 { usize::MAX } else { top };
        let summary = AllocSummary::build(profile, top);
        return match format {
            Format::Json => to_json(&summary),
            _ => Ok(alloc_text::summary_text(&doc.path, &summary)),
        };
    }
    doc.data.prepare_totals();
    let summary = doc.summary();
    let n = if top == 0 {
        summary.classes.len()
    } else {
        top.min(summary.classes.len())
    };
    Ok(match format {
        Format::Csv => csv::classes(&summary.classes[..n]),
        Format::Json => to_json(&SummaryJson {
            file,
            node_count: summary.node_count,
            edge_count: summary.edge_count,
            total_size: summary.total_size,
            statistics: doc.statistics(),
            classes: &summary.classes[..n],
            class_count: summary.classes.len(),
        })?,
        Format::Text => {
            let mut out = String::new();
            text::summary(
                &mut out,
                &file,
                &doc.data,
                summary.total_size,
                &summary.classes[..n],
                summary.classes.len(),
                doc.statistics(),
            );
            out
        }
    })
}

/// `heapsight dominators`: the dominator tree, `depth` levels of at most `top` children.
pub fn dominators(doc: &Document, depth: usize, top: usize, json: bool) -> Result<String> {
    let (s, total) = (&doc.data, doc.total_size());
    if json {
        to_json(&node::dominator_tree(
            s,
            s.graph().root(),
            total,
            depth,
            top,
        ))
    } else {
        let mut out = String::new();
        text::dominators(&mut out, s, total, depth, top);
        Ok(out)
    }
}

/// `heapsight calltree`: an allocation profile's call tree, `limit` rows at most (0 = all).
pub fn calltree(
    doc: &Document,
    bottom_up: bool,
    sort: Metric,
    depth: u32,
    limit: usize,
    json: bool,
) -> Result<String> {
    let Some(profile) = doc.profile() else {
        return Err(Error::Request(
            "calltree needs an allocation profile (DHAT, heaptrack, pprof or V8 \
             .heapprofile); for heap snapshots see `heapsight dominators`, for heap \
             timelines' allocation stacks `heapsight allocations`"
                .into(),
        ));
    };
    let limit = if limit == 0 { usize::MAX } else { limit };
    let tree = CallTree::build(profile, direction(bottom_up));
    let rows = flatten(profile, &tree, sort, depth, limit);
    alloc_text::calltree(&doc.path, profile, &tree, sort, &rows, limit, json)
}

/// `heapsight allocations`: live objects by allocation stack, `top` rows at most (0 = all).
pub fn allocations(doc: &Document, bottom_up: bool, top: usize, json: bool) -> Result<String> {
    if doc.profile().is_some() {
        return Err(Error::Request(
            "allocations needs a V8 heap timeline or snapshot with allocation stacks; \
             for allocation profiles see `heapsight calltree`"
                .into(),
        ));
    }
    let Some(live) = doc.allocation_stacks() else {
        return Err(Error::Request(format!(
            "{} has no allocation stacks: record a heap timeline (DevTools' \
             \"Allocations on timeline\") or take the snapshot while tracking \
             allocations (HeapProfiler.startTrackingHeapObjects with trackAllocations)",
            doc.path.display()
        )));
    };
    let limit = if top == 0 { usize::MAX } else { top };
    let p = &live.stacks.profile;
    let tree = live.tables.tree_now(p, direction(bottom_up));
    let rows = flatten(p, tree, Metric::PeakBytes, u32::MAX, limit);
    allocation_stacks::allocations(&doc.path, &live.stacks, tree.direction, &rows, limit, json)
}

fn direction(bottom_up: bool) -> Direction {
    if bottom_up {
        Direction::BottomUp
    } else {
        Direction::TopDown
    }
}

/// `heapsight diff`: two snapshots by class, or two allocation profiles by call stack; `top`
/// rows (0 = all).
pub fn compare(a: &Document, b: &Document, top: usize, format: Format) -> Result<String> {
    let shown = |len: usize| if top == 0 { len } else { top.min(len) };
    match (a.profile(), b.profile()) {
        (Some(pa), Some(pb)) => {
            let d = diff_profiles(pa, pb);
            let rows: Vec<SiteDiffRow> = d.sites[..shown(d.sites.len())]
                .iter()
                .map(|s| d.row(pa, pb, s))
                .collect();
            return match format {
                Format::Json => diff::profile_json(&a.path, &b.path, &rows),
                _ => Ok(diff::profile_text(&a.path, &b.path, &rows)),
            };
        }
        (None, None) => {}
        _ => {
            return Err(Error::Request(
                "cannot compare a heap snapshot with an allocation profile".into(),
            ))
        }
    }
    let d = SnapshotDiff::compute(&a.data, &b.data);
    let n = shown(d.classes.len());
    match format {
        Format::Json => diff::snapshot_json(&a.path, &b.path, &d, n),
        Format::Csv => Ok(diff::snapshot_csv(&d, n)),
        Format::Text => Ok(diff::snapshot_text(&a.path, &b.path, &d, n)),
    }
}

/// `heapsight detached`: detached DOM trees and what keeps them alive.
pub fn detached(doc: &Document, json: bool) -> Result<String> {
    let d = DetachedDom::compute(&doc.data);
    if json {
        to_json(&d)
    } else {
        Ok(text::detached(&d))
    }
}

/// `heapsight memory`: the memory map (JS heap, buffers, WebAssembly memories, external
/// bytes), each WebAssembly.Memory and the holders of buffers of `min_buffer` bytes or more.
pub fn memory(doc: &Document, min_buffer: u64, json: bool) -> Result<String> {
    if doc.profile().is_some() {
        return Err(Error::Request(
            "memory needs a heap snapshot, not an allocation profile".into(),
        ));
    }
    let map = MemoryMap::build(&doc.data, min_buffer);
    let file = doc.path.display().to_string();
    if json {
        memory::json(&file, &map)
    } else {
        Ok(memory::text(&file, &map))
    }
}

/// `heapsight leaks`' search and the gate's decision over it.
pub struct LeakRun {
    /// Every cluster found (ignored ones included).
    pub report: LeakReport,
    /// The gate's decision for each cluster.
    pub verdict: GateVerdict,
}

impl LeakRun {
    /// Objects new after `baseline`, alive in `target` and still in `final_`, clustered, and
    /// judged under `rules` and `limits`.
    pub fn compute(
        baseline: &Document,
        target: &Document,
        final_: &Document,
        rules: &IgnoreRules,
        limits: Limits,
    ) -> Result<Self> {
        for d in [baseline, target, final_] {
            if d.profile().is_some() {
                return Err(Error::Request(format!(
                    "{}: leaks needs V8 heap snapshots, not allocation profiles",
                    d.path.display()
                )));
            }
        }
        let report = LeakReport::compute(&baseline.data, &target.data, &final_.data);
        if !report.ids_kept {
            let names = [baseline, target, final_].map(|d| d.path.display().to_string());
            return Err(Error::CannotCompare(format!(
                "cannot detect leaks: {}",
                crate::analysis::diff::ids_not_kept_message(&names.each_ref().map(String::as_str))
            )));
        }
        let verdict = GateVerdict::compute(&report, rules, limits);
        Ok(Self { report, verdict })
    }
}
