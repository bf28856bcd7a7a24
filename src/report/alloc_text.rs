//! Allocation profiles (DHAT, heaptrack, pprof) as text and JSON: the summary's totals and top
//! sites, and call trees flattened one line per node.

use std::path::Path;

use super::json::to_json;
use super::{blocks_text, bytes_exact, human_bytes, metric_value};
use crate::analysis::alloc::{AllocSummary, SiteRow};
use crate::analysis::call_tree::{CallTree, CallTreeRow, Direction, ROOT};
use crate::error::Result;
use crate::model::alloc::{AllocMetrics, AllocProfile, Metric};

/// Text for `summary` on an allocation profile.
pub fn summary_text(file: &Path, s: &AllocSummary) -> String {
    let t = &s.totals;
    let mut out = format!("{}\n{}\n\n", file.display(), s.origin());
    // pprof heap dumps and V8 sampling profiles record only what was live at the dump; say so
    // instead of printing zeros.
    let live_only = crate::model::alloc::is_live_only(&s.format);
    if !live_only || t.total_bytes > 0 {
        out.push_str(&format!(
            "Total:     {} in {}\n",
            bytes_exact(t.total_bytes),
            blocks_text(t.total_blocks)
        ));
    }
    let peak_label = if live_only {
        "At dump:  "
    } else {
        "At peak:  "
    };
    let peak_blocks = if live_only && t.peak_blocks == 0 {
        String::new()
    } else {
        format!(" in {}", blocks_text(t.peak_blocks))
    };
    out.push_str(&format!(
        "{peak_label} {}{peak_blocks}\n",
        bytes_exact(t.peak_bytes)
    ));
    if live_only {
        let what = match s.format.as_str() {
            "heapprofile" => "a V8 sampling heap profile records the sampled allocations still live when it is taken (bytes: the nodes' selfSize; blocks: samples)",
            "v8-live" => "a heap snapshot shows the objects live when it is taken",
            _ => "a pprof heap profile records what is live when it is taken",
        };
        out.push_str(&format!(
            "({what}; totals and leaks at exit are not recorded)\n"
        ));
    } else {
        out.push_str(&format!(
            "At exit:   {} in {} (leaked)\n",
            bytes_exact(t.end_bytes),
            blocks_text(t.end_blocks)
        ));
    }
    if let Some(l) = &s.sample_list {
        out.push_str(&format!(
            "Samples list: {} in {} sample(s) (the samples' own sizes; it can hold allocations \
             sampled and collected since, so it is not the total above)\n",
            bytes_exact(l.bytes),
            l.count
        ));
    }
    if t.temporary_blocks > 0 {
        out.push_str(&format!("Temporary: {} allocations\n", t.temporary_blocks));
    }
    out.push_str(&format!("{} allocation sites\n", s.site_count));
    let list =
        |out: &mut String, title: &str, rows: &[SiteRow], value: &dyn Fn(&SiteRow) -> String| {
            out.push_str(&format!("\n{title}:\n"));
            if rows.is_empty() {
                out.push_str("  (none)\n");
            }
            for r in rows {
                out.push_str(&format!(
                    "  {:>12}  {} {}\n",
                    value(r),
                    r.function,
                    r.location
                ));
                for f in r.stack.iter().rev().skip(1).take(4) {
                    out.push_str(&format!("  {:>12}    called from {f}\n", ""));
                }
            }
        };
    list(
        &mut out,
        "Top sites by bytes at peak",
        &s.top_by_peak,
        &|r| human_bytes(r.metrics.peak_bytes),
    );
    list(
        &mut out,
        "Top sites by bytes leaked at exit",
        &s.top_by_leaked,
        &|r| human_bytes(r.metrics.end_bytes),
    );
    if t.temporary_blocks > 0 {
        list(
            &mut out,
            "Top sites by temporary allocations",
            &s.top_by_temporary,
            &|r| r.metrics.temporary_blocks.to_string(),
        );
    }
    if let Some(limit) = s.short_lived_threshold {
        list(
            &mut out,
            &format!(
                "Top short-lived sites (average lifetime <= {limit} {}), by allocations",
                s.time_unit
            ),
            &s.top_by_short_lived,
            &|r| r.metrics.total_blocks.to_string(),
        );
    }
    if !s.top_never_read_or_written.is_empty() {
        list(
            &mut out,
            "Sites never read or never written, by bytes allocated",
            &s.top_never_read_or_written,
            &|r| format!("{} {}", human_bytes(r.metrics.total_bytes), access_flag(r)),
        );
    }
    out
}

/// The access flags in one word, for the summary's narrow column (`unread`, `unwritten`,
/// `unused`).
fn access_flag(r: &SiteRow) -> &'static str {
    match (r.never_read, r.never_written) {
        (true, true) => "unused",
        (true, false) => "unread",
        (false, true) => "unwritten",
        (false, false) => "",
    }
}

/// `heapsight calltree`: `rows` of `tree` (flattened depth-first, at most `limit`), one line
/// per node with every metric the producer records, or as JSON.
pub fn calltree(
    file: &Path,
    p: &AllocProfile,
    tree: &CallTree,
    sort: Metric,
    rows: &[CallTreeRow],
    limit: usize,
    json: bool,
) -> Result<String> {
    let direction = tree.direction;
    let metrics: Vec<Metric> = Metric::ALL.into_iter().filter(|&m| p.records(m)).collect();
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            file: String,
            direction: Direction,
            sort: Metric,
            metrics: Vec<Metric>,
            totals: &'a AllocMetrics,
            rows: &'a [CallTreeRow],
        }
        return to_json(&Out {
            file: file.display().to_string(),
            direction,
            sort,
            metrics,
            totals: &tree.metrics(ROOT),
            rows,
        });
    }
    let mut out = format!(
        "{}\n{} call tree, siblings by {}\n\n",
        file.display(),
        match direction {
            Direction::TopDown => "Top-down",
            Direction::BottomUp => "Bottom-up",
        },
        sort.label()
    );
    for m in &metrics {
        out.push_str(&format!("{:>13} ", m.column()));
    }
    out.push_str(" Function\n");
    for r in rows {
        for &m in &metrics {
            out.push_str(&format!("{:>13} ", metric_value(m, r.metrics.get(m))));
        }
        let indent = "  ".repeat(r.depth.saturating_sub(1) as usize);
        out.push_str(&format!(" {indent}{}", r.function));
        if !r.location.is_empty() {
            out.push_str(&format!(" ({})", r.location));
        }
        out.push('\n');
    }
    if rows.len() == limit {
        out.push_str(&format!("(first {limit} rows; --limit 0 shows all)\n"));
    }
    Ok(out)
}
