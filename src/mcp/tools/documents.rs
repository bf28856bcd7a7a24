//! Opening, listing and closing documents; `open` answers with a one-screen overview.

use std::fmt::Write;
use std::path::PathBuf;

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use super::{tool, ToolDef};
use crate::analysis::alloc::AllocSummary;
use crate::analysis::detached::DetachedDom;
use crate::analysis::memory_map::{MemoryMap, PartKind, DEFAULT_MIN_BUFFER};
use crate::analysis::suspects::{find_suspects, SuspectOptions};
use crate::analysis::RuleSet;
use crate::error::Result;
use crate::mcp::session::Session;
use crate::progress::Progress;
use crate::report::{bytes_exact, human_bytes, one_line, text::detached_headline};
use crate::store::Document;

/// Whose rules decide retained sizes.
#[derive(Deserialize, JsonSchema, Clone, Copy, Default)]
#[serde(rename_all = "lowercase")]
enum Rules {
    /// Chrome DevTools' (the default).
    #[default]
    Devtools,
    /// memlab's, for cross-checking.
    Memlab,
}

#[derive(Deserialize, JsonSchema)]
struct OpenArgs {
    /// The file: a heap snapshot (.heapsnapshot, .heaptimeline, gzip or zstd too) or an
    /// allocation profile (DHAT JSON, heaptrack, pprof, V8 .heapprofile). Relative paths are
    /// resolved against the server's working directory; the reply names the resolved path.
    path: PathBuf,
    /// Whose rules decide retained sizes (default devtools).
    #[serde(default)]
    rules: Rules,
}

#[derive(Deserialize, JsonSchema)]
struct DocArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

pub(super) fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "open",
            "Open a heap snapshot or allocation profile by path (only the file named is read) \
             and keep it loaded for later calls; reports load progress and can be cancelled. \
             Returns the document id and an overview: totals, the largest classes, and the \
             findings worth a look. Opening a file that is already open returns its id.",
            open,
        ),
        tool("list", "The open documents: id, path, kind and size.", list),
        tool("close", "Close a document and free its memory.", close),
    ]
}

fn open(session: &Session, a: OpenArgs, progress: Progress<'_>) -> Result<String> {
    let rules = match a.rules {
        Rules::Devtools => RuleSet::DevTools,
        Rules::Memlab => RuleSet::Memlab,
    };
    let (doc, already) = session.open(&a.path, rules, progress)?;
    let mut out = String::new();
    if already {
        let _ = writeln!(out, "already open as {}", doc.id);
    }
    out.push_str(&overview(&doc));
    Ok(out)
}

fn list(session: &Session, _: NoArgs, _: Progress<'_>) -> Result<String> {
    let docs = session.all();
    if docs.is_empty() {
        return Ok("no documents open; `open` one by path\n".into());
    }
    let mut out = String::new();
    for d in docs {
        let _ = writeln!(out, "{}", header(&d));
    }
    Ok(out)
}

fn close(session: &Session, a: DocArgs, _: Progress<'_>) -> Result<String> {
    let doc = session.close(&a.doc)?;
    Ok(format!("closed {} ({})\n", doc.id, doc.path.display()))
}

/// `#1  /abs/file  (heap snapshot, 2.0 MiB file, …)`.
fn header(d: &Document) -> String {
    let kind = if d.profile().is_some() {
        "allocation profile"
    } else {
        "heap snapshot"
    };
    format!(
        "{}  {}  ({kind}, {} file, loaded in {:.2} s, index cache {})",
        d.id,
        d.path.display(),
        human_bytes(d.file_size),
        d.load_secs,
        d.cache
    )
}

/// What an agent reads first: totals, the largest classes and the findings worth a look.
pub(super) fn overview(d: &Document) -> String {
    let mut out = header(d);
    out.push('\n');
    let next = match d.profile() {
        Some(p) => {
            profile_overview(&mut out, &AllocSummary::build(p, 5));
            "summary, calltree (sort end_bytes for what leaked), investigate; diff with another \
             profile"
        }
        None => {
            snapshot_overview(&mut out, d);
            "summary, dominators, node/retainers @id, search, detached, memory, investigate; \
             with more documents diff, leaks (baseline/target/final), trend"
        }
    };
    out.push_str(&format!("\nNext: {next}.\n"));
    out
}

fn snapshot_overview(out: &mut String, d: &Document) {
    let total = d.total_size();
    let summary = d.summary();
    let _ = writeln!(
        out,
        "Total {} in {} nodes, {} edges, {} classes",
        bytes_exact(total),
        summary.node_count,
        summary.edge_count,
        summary.classes.len()
    );
    let _ = writeln!(out, "\nLargest classes by retained size:");
    for c in summary.classes.iter().take(5) {
        let _ = writeln!(
            out,
            "  {:<40} ×{:<8} retained {} ({:.1}%)",
            one_line(&c.name, 40),
            c.count,
            bytes_exact(c.retained_size),
            share(c.retained_size, total)
        );
    }
    let _ = writeln!(out, "\nWorth a look:");
    let mut any = false;
    for s in find_suspects(&d.data, SuspectOptions::default())
        .iter()
        .take(3)
    {
        any = true;
        let _ = writeln!(
            out,
            "  - {:.1}% {} @{}: {}",
            s.share * 100.0,
            one_line(&s.class, 60),
            s.node_id,
            one_line(&s.explanation, 300)
        );
    }
    let detached = DetachedDom::compute(&d.data);
    if !detached.trees.is_empty() {
        any = true;
        let _ = writeln!(out, "  - {} (see `detached`)", detached_headline(&detached));
    }
    let map = MemoryMap::build(&d.data, DEFAULT_MIN_BUFFER);
    for p in map
        .parts
        .iter()
        .filter(|p| p.kind != PartKind::JsHeap && p.share >= 0.10)
    {
        any = true;
        let _ = writeln!(
            out,
            "  - {}: {} ({:.1}% of the total; see `memory`)",
            p.kind.label(),
            bytes_exact(p.bytes),
            p.share * 100.0
        );
    }
    if !any {
        let _ = writeln!(
            out,
            "  nothing stands out in one snapshot; compare snapshots with diff, leaks or trend"
        );
    }
}

fn profile_overview(out: &mut String, s: &AllocSummary) {
    let t = &s.totals;
    let _ = writeln!(
        out,
        "{} profile by {}: {} sites; peak {} in {} blocks; at exit (leaked) {} in {} blocks; \
         {} allocated over the run",
        s.format,
        one_line(&s.producer, 80),
        s.site_count,
        bytes_exact(t.peak_bytes),
        t.peak_blocks,
        bytes_exact(t.end_bytes),
        t.end_blocks,
        bytes_exact(t.total_bytes)
    );
    let _ = writeln!(out, "\nLargest sites at the peak:");
    for r in &s.top_by_peak {
        let _ = writeln!(
            out,
            "  {} ({:.1}%)  {} {}",
            bytes_exact(r.metrics.peak_bytes),
            share(r.metrics.peak_bytes, t.peak_bytes),
            one_line(&r.function, 120),
            one_line(&r.location, 80)
        );
    }
    let _ = writeln!(out, "\nWorth a look:");
    let leaked: Vec<_> = s
        .top_by_leaked
        .iter()
        .filter(|r| r.metrics.end_bytes > 0)
        .collect();
    if leaked.is_empty() {
        let _ = writeln!(out, "  nothing is live at exit (no leak at exit)");
    }
    for r in leaked.iter().take(3) {
        let _ = writeln!(
            out,
            "  - live at exit: {} in {} blocks from {} {} (see `calltree`)",
            bytes_exact(r.metrics.end_bytes),
            r.metrics.end_blocks,
            one_line(&r.function, 120),
            one_line(&r.location, 80)
        );
    }
}

/// `part` as a percentage of `whole`.
pub(super) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
