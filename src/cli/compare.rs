//! The commands over several snapshots or whole reports: diff, leaks, detached, report.

use std::path::{Path, PathBuf};

use super::args::{Input, ReportFormat, Rules};
use super::{emit, open, open_path, to_json};
use crate::analysis::alloc::{diff_profiles, SiteDiffRow};
use crate::analysis::detached::DetachedDom;
use crate::analysis::diff::SnapshotDiff;
use crate::analysis::leaks::LeakReport;
use crate::analysis::suspects::SuspectOptions;
use crate::analysis::ClassRow;
use crate::error::{Error, Result};
use crate::formats::LoadOptions;
use crate::model::alloc::AllocProfile;
use crate::report::document::{to_csv, to_html, to_markdown};
use crate::report::leak_report::{leak_blocks, trace_lines, LeakSuspectsReport};
use crate::report::{human_bytes, one_line, signed_bytes};

/// Output formats of `leaks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text for the terminal.
    Text,
    /// JSON.
    Json,
    /// Markdown.
    Md,
    /// HTML page.
    Html,
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The class table as CSV.
pub fn summary_csv(rows: &[ClassRow]) -> String {
    to_csv(
        &[
            "class",
            "count",
            "shallow_size",
            "retained_size",
            "distance",
        ]
        .map(String::from),
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.count.to_string(),
                    r.shallow_size.to_string(),
                    r.retained_size.to_string(),
                    r.distance.map(|d| d.to_string()).unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

pub(super) fn bytes_exact(n: u64) -> String {
    format!("{n} bytes ({})", human_bytes(n))
}

/// `heapsight diff` of two allocation profiles, by call stack.
fn diff_alloc(
    before: &Path,
    after: &Path,
    a: &AllocProfile,
    b: &AllocProfile,
    top: usize,
    json: bool,
) -> Result<String> {
    let diff = diff_profiles(a, b);
    let shown = if top == 0 {
        diff.sites.len()
    } else {
        top.min(diff.sites.len())
    };
    let rows: Vec<SiteDiffRow> = diff.sites[..shown]
        .iter()
        .map(|d| diff.row(a, b, d))
        .collect();
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            before: String,
            after: String,
            sites: &'a [SiteDiffRow],
        }
        return to_json(&Out {
            before: before.display().to_string(),
            after: after.display().to_string(),
            sites: &rows,
        });
    }
    let mut out = format!(
        "{} -> {} (by call stack; bytes at peak, bytes allocated)\n\n",
        before.display(),
        after.display()
    );
    for s in &rows {
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
    Ok(out)
}

/// `heapsight diff`.
pub fn diff(
    before: &Path,
    after: &Path,
    top: usize,
    json: bool,
    csv: bool,
    rules: Rules,
    options: &LoadOptions,
) -> Result<String> {
    let a = open_path(before, rules, options)?;
    let b = open_path(after, rules, options)?;
    match (a.snapshot.alloc.as_deref(), b.snapshot.alloc.as_deref()) {
        (Some(pa), Some(pb)) => return diff_alloc(before, after, pa, pb, top, json),
        (None, None) => {}
        _ => {
            return Err(Error::Request(
                "cannot compare a heap snapshot with an allocation profile".into(),
            ))
        }
    }
    let d = SnapshotDiff::compute(&a, &b);
    let n = if top == 0 {
        d.classes.len()
    } else {
        top.min(d.classes.len())
    };
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            before: String,
            after: String,
            #[serde(flatten)]
            diff: &'a SnapshotDiff,
        }
        let mut shown = d.clone();
        shown.classes.truncate(n);
        return to_json(&Out {
            before: before.display().to_string(),
            after: after.display().to_string(),
            diff: &shown,
        });
    }
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
    if csv {
        let rows: Vec<Vec<String>> = d.classes[..n]
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
        return Ok(to_csv(&head, &rows));
    }
    let mut out = format!(
        "{} → {}\n{} new objects ({}), {} deleted ({})\n\n{:<40} {:>8} {:>8} {:>8} {:>11} {:>11} {:>12}\n",
        before.display(),
        after.display(),
        d.new_count,
        human_bytes(d.alloc_size),
        d.deleted_count,
        human_bytes(d.freed_size),
        "Constructor",
        "# New",
        "# Del",
        "# Delta",
        "Alloc",
        "Freed",
        "Size delta"
    );
    for r in &d.classes[..n] {
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
    if n < d.classes.len() {
        out.push_str(&format!(
            "… {} more classes (use --top 0 for all)\n",
            d.classes.len() - n
        ));
    }
    Ok(out)
}

/// `heapsight leaks`: returns after printing; exit code 1 (as an error) when the gate trips.
pub fn leaks(
    files: [&PathBuf; 3],
    format: Format,
    output: Option<&Path>,
    gate: Option<(u64, u64)>,
) -> Result<()> {
    let [b, t, f] = files.map(|p| open_path(p, Rules::Devtools, &LoadOptions::default()));
    let (b, t, f) = (b?, t?, f?);
    let report = LeakReport::compute(&b, &t, &f);
    let names = files.map(|p| name_of(p));
    let text = match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                baseline: String,
                target: String,
                #[serde(rename = "final")]
                final_: String,
                #[serde(flatten)]
                report: &'a LeakReport,
            }
            to_json(&Out {
                baseline: files[0].display().to_string(),
                target: files[1].display().to_string(),
                final_: files[2].display().to_string(),
                report: &report,
            })?
        }
        Format::Md => to_markdown(&leak_blocks(&report, [&names[0], &names[1], &names[2]])),
        Format::Html => to_html(
            "heapsight leaks",
            &leak_blocks(&report, [&names[0], &names[1], &names[2]]),
        ),
        Format::Text => leaks_text(&report),
    };
    emit(&text, output)?;
    if let Some((min_count, min_bytes)) = gate {
        let tripped = report.gate(min_count, min_bytes);
        if !tripped.is_empty() {
            return Err(Error::Gate(format!(
                "leak gate tripped: {} cluster(s) with at least {min_count} object(s) and {} retained (largest: {} × {})",
                tripped.len(),
                human_bytes(min_bytes),
                tripped[0].count,
                tripped[0].class
            )));
        }
    }
    Ok(())
}

fn leaks_text(r: &LeakReport) -> String {
    let mut out = format!(
        "{} leaked objects in {} cluster(s), retaining {} ({} objects survived from target to final)\n",
        r.leaked_count,
        r.clusters.len(),
        human_bytes(r.leaked_retained_size),
        r.surviving_count
    );
    for (i, c) in r.clusters.iter().enumerate().take(20) {
        out.push_str(&format!(
            "\n#{} {} × {}  retained {}\n",
            i + 1,
            c.count,
            c.class,
            human_bytes(c.retained_size)
        ));
        for (d, line) in trace_lines(&c.trace).iter().enumerate() {
            out.push_str(&format!("  {}{}\n", "  ".repeat(d), line));
        }
    }
    if r.clusters.len() > 20 {
        out.push_str(&format!(
            "\n… {} more clusters (use --json for all)\n",
            r.clusters.len() - 20
        ));
    }
    out
}

/// `heapsight detached`.
pub fn detached(input: &Input, json: bool) -> Result<String> {
    let s = open(input)?;
    let d = DetachedDom::compute(&s);
    if json {
        return to_json(&d);
    }
    let mut out = crate::report::text::detached_headline(&d);
    out.push('\n');
    for t in d.trees.iter().take(20) {
        out.push_str(&format!(
            "\n{} @{}: {} node(s), retained {}\n",
            t.root_class,
            t.root_id,
            t.node_count,
            human_bytes(t.retained_size)
        ));
        for (i, s) in t.retainer_path.iter().enumerate() {
            out.push_str(&format!(
                "  {}--{} {}--> {} @{}\n",
                "  ".repeat(i),
                s.edge_type,
                s.edge_name,
                s.node_class,
                s.node_id
            ));
        }
    }
    Ok(out)
}

/// `heapsight report`.
pub fn report(
    files: &[PathBuf],
    format: ReportFormat,
    output: Option<&Path>,
    threshold: f64,
    min_instances: u64,
) -> Result<()> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::Request(format!(
            "--threshold must be between 0 and 1, not {threshold}"
        )));
    }
    let snaps = files
        .iter()
        .map(|p| open_path(p, Rules::Devtools, &LoadOptions::default()).map(|s| (s, name_of(p))))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<_> = snaps.iter().map(|(s, n)| (s, n.clone())).collect();
    let r = LeakSuspectsReport::build(
        &refs,
        SuspectOptions {
            threshold,
            min_instances,
        },
    );
    let text = match format {
        ReportFormat::Json => to_json(&r)?,
        ReportFormat::Md => to_markdown(&r.blocks()),
        ReportFormat::Html => to_html("heapsight leak suspects", &r.blocks()),
    };
    emit(&text, output)
}
