//! Two snapshots or two allocation profiles compared: the headline, and the per-class or
//! per-stack table as text, CSV and JSON.

use std::path::Path;

use serde::Serialize;

use super::document::to_csv;
use super::json::to_json;
use super::{human_bytes, one_line, signed_bytes};
use crate::analysis::alloc::SiteDiffRow;
use crate::analysis::diff::{ids_not_kept_message, SnapshotDiff};
use crate::error::Result;

/// The count and size columns of a per-class comparison table, after the class.
pub const COUNT_COLUMNS: [&str; 6] = [
    "# New",
    "# Deleted",
    "# Delta",
    "Alloc. size",
    "Freed size",
    "Size delta",
];

/// `N new objects (X), M deleted (Y)`: the CLI, the report and the Comparison view say it so.
pub fn headline(new_count: u64, alloc_size: u64, deleted_count: u64, freed_size: u64) -> String {
    format!(
        "{new_count} new objects ({}), {deleted_count} deleted ({})",
        human_bytes(alloc_size),
        human_bytes(freed_size)
    )
}

/// [`headline`] of a snapshot diff.
pub fn snapshot_headline(d: &SnapshotDiff) -> String {
    headline(d.new_count, d.alloc_size, d.deleted_count, d.freed_size)
}

/// The first `shown` classes of `d` as a terminal table under the headline.
pub fn snapshot_text(before: &Path, after: &Path, d: &SnapshotDiff, shown: usize) -> String {
    let mut out = format!(
        "{} → {}\n{}\n\n{:<40} {:>8} {:>8} {:>8} {:>11} {:>11} {:>12}\n",
        before.display(),
        after.display(),
        snapshot_headline(d),
        "Constructor",
        "# New",
        "# Del",
        "# Delta",
        "Alloc",
        "Freed",
        "Size delta"
    );
    if !d.ids_kept {
        let (a, b) = (before.display().to_string(), after.display().to_string());
        out.insert_str(
            0,
            &format!("warning: {}\n\n", ids_not_kept_message(&[&a, &b])),
        );
    }
    for r in &d.classes[..shown] {
        out.push_str(&format!(
            "{:<40} {:>8} {:>8} {:>+8} {:>11} {:>11} {:>12}\n",
            one_line(&r.name, 40),
            r.new_count,
            r.deleted_count,
            r.delta_count,
            human_bytes(r.alloc_size),
            human_bytes(r.freed_size),
            signed_bytes(r.size_delta)
        ));
    }
    if shown < d.classes.len() {
        out.push_str(&format!(
            "… {} more classes (use --top 0 for all)\n",
            d.classes.len() - shown
        ));
    }
    out
}

/// The first `shown` classes of `d` as CSV.
pub fn snapshot_csv(d: &SnapshotDiff, shown: usize) -> String {
    let head = [
        "class",
        "new",
        "deleted",
        "delta",
        "alloc_size",
        "freed_size",
        "size_delta",
    ]
    .map(String::from);
    let rows: Vec<Vec<String>> = d.classes[..shown]
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.new_count.to_string(),
                r.deleted_count.to_string(),
                r.delta_count.to_string(),
                r.alloc_size.to_string(),
                r.freed_size.to_string(),
                r.size_delta.to_string(),
            ]
        })
        .collect();
    to_csv(&head, &rows)
}

/// `d` with its first `shown` classes as JSON, naming both files.
pub fn snapshot_json(
    before: &Path,
    after: &Path,
    d: &SnapshotDiff,
    shown: usize,
) -> Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        before: String,
        after: String,
        #[serde(flatten)]
        diff: &'a SnapshotDiff,
    }
    let mut cut = d.clone();
    cut.classes.truncate(shown);
    to_json(&Out {
        before: before.display().to_string(),
        after: after.display().to_string(),
        diff: &cut,
    })
}

/// Allocation profiles compared by call stack, one line per changed stack.
pub fn profile_text(before: &Path, after: &Path, rows: &[SiteDiffRow]) -> String {
    let mut out = format!(
        "{} -> {} (by call stack; bytes at peak, bytes allocated)\n\n",
        before.display(),
        after.display()
    );
    for s in rows {
        let change = format!("{:?}", s.change).to_lowercase();
        out.push_str(&format!(
            "{:<7} peak {:>10} -> {:<10} total {:>10} -> {:<10} {}\n",
            change,
            human_bytes(s.before.peak_bytes),
            human_bytes(s.after.peak_bytes),
            human_bytes(s.before.total_bytes),
            human_bytes(s.after.total_bytes),
            s.stack.last().map(String::as_str).unwrap_or("(no stack)")
        ));
    }
    out
}

/// Allocation profiles compared by call stack, as JSON.
pub fn profile_json(before: &Path, after: &Path, rows: &[SiteDiffRow]) -> Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        before: String,
        after: String,
        sites: &'a [SiteDiffRow],
    }
    to_json(&Out {
        before: before.display().to_string(),
        after: after.display().to_string(),
        sites: rows,
    })
}
