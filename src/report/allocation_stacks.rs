//! `heapsight allocations`: a V8 snapshot's live objects by allocation stack, as text or JSON,
//! over the call tree of the live-object profile ([`crate::analysis::allocation_stacks`]).

use std::path::Path;

use serde::Serialize;

use super::json::to_json;
use super::{bytes_exact, human_bytes};
use crate::analysis::allocation_stacks::AllocationStacks;
use crate::analysis::call_tree::{CallTreeRow, Direction};
use crate::error::Result;

/// One line of the tree in JSON.
#[derive(Debug, Serialize)]
struct Row<'a> {
    depth: u32,
    function: &'a str,
    location: &'a str,
    live_size: u64,
    live_count: u64,
    self_live_size: u64,
    self_live_count: u64,
}

/// The tree's `rows` (flattened depth-first by live size, at most `limit`), one line per
/// function with its live size and count, or as JSON.
pub fn allocations(
    file: &Path,
    stacks: &AllocationStacks,
    direction: Direction,
    rows: &[CallTreeRow],
    limit: usize,
    json: bool,
) -> Result<String> {
    let t = &stacks.profile.totals;
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            file: String,
            direction: Direction,
            live_objects: u64,
            live_size: u64,
            unknown_trace: u64,
            rows: Vec<Row<'a>>,
        }
        return to_json(&Out {
            file: file.display().to_string(),
            direction,
            live_objects: t.peak_blocks,
            live_size: t.peak_bytes,
            unknown_trace: stacks.unknown_trace,
            rows: rows
                .iter()
                .map(|r| Row {
                    depth: r.depth,
                    function: &r.function,
                    location: &r.location,
                    live_size: r.metrics.peak_bytes,
                    live_count: r.metrics.peak_blocks,
                    self_live_size: r.self_metrics.peak_bytes,
                    self_live_count: r.self_metrics.peak_blocks,
                })
                .collect(),
        });
    }
    let mut out = format!(
        "{}\nLive objects by allocation stack: {} objects, {} (self sizes)\n",
        file.display(),
        t.peak_blocks,
        bytes_exact(t.peak_bytes)
    );
    if stacks.unknown_trace > 0 {
        out.push_str(&format!(
            "({} objects name a trace node the trace tree lacks: not counted)\n",
            stacks.unknown_trace
        ));
    }
    out.push_str(&format!(
        "{}, siblings by live size\n\n{:>12} {:>10}  Function\n",
        match direction {
            Direction::TopDown => "Top-down (callers first)",
            Direction::BottomUp => "Bottom-up (allocating functions first)",
        },
        "Live size",
        "Count"
    ));
    for r in rows {
        let indent = "  ".repeat(r.depth.saturating_sub(1) as usize);
        out.push_str(&format!(
            "{:>12} {:>10}  {indent}{}",
            human_bytes(r.metrics.peak_bytes),
            r.metrics.peak_blocks,
            r.function
        ));
        if !r.location.is_empty() {
            out.push_str(&format!(" ({})", r.location));
        }
        out.push('\n');
    }
    if rows.len() == limit {
        out.push_str(&format!("(first {limit} rows; --top 0 shows all)\n"));
    }
    Ok(out)
}
