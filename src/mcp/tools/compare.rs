//! Tools over several documents: diff, the three-snapshot leak search with the gate's verdict,
//! and the trend over a series. Each prints what the matching CLI command prints with its gate on.

use std::path::PathBuf;

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use super::{or, tool, ToolDef};
use crate::analysis::leak_gate::{IgnoreRules, Limits};
use crate::analysis::trend::{Trend, TrendOptions, DEFAULT_MIN_BYTES};
use crate::error::{Error, Result};
use crate::mcp::session::{resolve, Session};
use crate::progress::Progress;
use crate::report::command::{self, Format, LeakRun};
use crate::report::leak_gate::{self, GatedLeaks};
use crate::report::trend;
use crate::store::Document;

#[derive(Deserialize, JsonSchema)]
struct DiffArgs {
    /// The earlier document's id, e.g. "#1".
    before: String,
    /// The later document's id, e.g. "#2".
    after: String,
    /// Classes (or call stacks) shown, most changed first (default 25, 0 = all, paged).
    top: Option<usize>,
}

/// Where the gate's ignore rules come from.
#[derive(Deserialize, JsonSchema, Default)]
struct IgnoreArgs {
    /// An ignore file to read (class names, `path:` patterns, `threshold:` lines; see README,
    /// "Leak gates in CI").
    ignore: Option<PathBuf>,
    /// Also look for `.heapsight-ignore` next to the last snapshot, then the first, then in the
    /// working directory, as the CLI does by default (off unless asked: the server reads only
    /// files the client names).
    #[serde(default)]
    discover_ignore_file: bool,
}

#[derive(Deserialize, JsonSchema)]
struct LeaksArgs {
    /// Snapshot before the action, e.g. "#1".
    baseline: String,
    /// Snapshot after the action, e.g. "#2".
    target: String,
    /// Snapshot after undoing the action, e.g. "#3".
    #[serde(rename = "final")]
    final_: String,
    /// Objects of its class a cluster needs to trip the gate, a chain's older links included
    /// (default 1).
    min_count: Option<u64>,
    /// Bytes a cluster must retain to trip the gate (default 0).
    min_bytes: Option<u64>,
    #[serde(flatten)]
    ignore: IgnoreArgs,
}

#[derive(Deserialize, JsonSchema)]
struct TrendArgs {
    /// Two or more snapshots of one process, e.g. ["#1", "#2", "#3"] (ordered by their own
    /// clock, the highest object id).
    docs: Vec<String>,
    /// Consecutive growing steps a series needs to trip the gate (default: every step).
    min_steps: Option<usize>,
    /// Bytes a series must add, first snapshot to last, to trip the gate (default 16384).
    min_bytes: Option<u64>,
    /// Series shown (default 25, 0 = all that changed).
    top: Option<usize>,
    #[serde(flatten)]
    ignore: IgnoreArgs,
}

pub(super) fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "diff",
            "Compare two documents: per class, new and deleted objects (matched by id) and \
             bytes; for two allocation profiles, per call stack.",
            diff,
        ),
        tool(
            "leaks",
            "Three-snapshot leak detection (baseline, target after the action, final after \
             undoing it): objects new in target still alive in final, clustered by retainer \
             path; the last line is the leak gate's verdict (✅ passed / ❌ failed) under the \
             ignore file and limits.",
            leaks,
        ),
        tool(
            "trend",
            "Growth over 2 or more snapshots of one process: per class, collection and buffer \
             (WebAssembly memories and tensors' backing stores too), the verdict (grows, \
             plateaus, grows in steps, stable, shrinks, fluctuates), the slope, and the gate's verdict.",
            trend_tool,
        ),
    ]
}

fn diff(session: &Session, a: DiffArgs, _: Progress<'_>) -> Result<String> {
    let (before, after) = (session.get(&a.before)?, session.get(&a.after)?);
    command::compare(&before, &after, or(a.top, 25), Format::Text)
}

impl IgnoreArgs {
    fn rules(&self, last: &Document, first: &Document) -> Result<IgnoreRules> {
        let explicit = self.ignore.as_deref().map(resolve);
        IgnoreRules::discover(
            explicit.as_deref(),
            !self.discover_ignore_file,
            &last.path,
            &first.path,
        )
    }
}

fn leaks(session: &Session, a: LeaksArgs, _: Progress<'_>) -> Result<String> {
    let [b, t, f] = [&a.baseline, &a.target, &a.final_].map(|id| session.get(id));
    let (b, t, f) = (b?, t?, f?);
    let rules = a.ignore.rules(&f, &b)?;
    let limits = Limits {
        min_count: a.min_count.unwrap_or(1),
        min_bytes: a.min_bytes.unwrap_or(0),
    };
    let LeakRun { report, verdict } = LeakRun::compute(&b, &t, &f, &rules, limits)?;
    let gated = GatedLeaks {
        report: &report,
        rules: &rules,
        verdict: &verdict,
        gated: true,
    };
    // The CLI says the verdict with its exit code; an agent reads it as the last line.
    Ok(format!(
        "{}\n{}\n",
        leak_gate::text(&gated),
        leak_gate::verdict_line(&gated)
    ))
}

fn trend_tool(session: &Session, a: TrendArgs, _: Progress<'_>) -> Result<String> {
    if a.docs.len() < 2 {
        return Err(Error::Request(
            "trend needs 2 or more snapshots of one process".into(),
        ));
    }
    let docs = session.get_all(&a.docs)?;
    if let Some(d) = docs.iter().find(|d| d.profile().is_some()) {
        return Err(Error::Request(format!(
            "{}: trend needs V8 heap snapshots, not allocation profiles",
            d.path.display()
        )));
    }
    let rules = a.ignore.rules(&docs[docs.len() - 1], &docs[0])?;
    let opts = TrendOptions {
        min_steps: a.min_steps,
        min_bytes: a.min_bytes.unwrap_or(DEFAULT_MIN_BYTES),
    };
    let refs: Vec<&Document> = docs.iter().map(|d| &**d).collect();
    let t = Trend::from_documents(&refs, &rules, opts)?;
    Ok(trend::text(&t, &rules, true, or(a.top, 25)))
}
