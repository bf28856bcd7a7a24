//! `investigate`: every finding the engine has about the documents given — leak suspects,
//! detached DOM, WebAssembly memories and buffer holders in the latest snapshot; leak clusters
//! over a baseline/target/final trio; growing series over a series; leaked and peak sites of an
//! allocation profile — ranked by share of the heap, each with its evidence.

use std::fmt::Write;

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use super::documents::share;
use super::ToolDef;
use crate::analysis::alloc::{AllocSummary, SiteRow};
use crate::analysis::detached::DetachedDom;
use crate::analysis::leak_gate::{trace_text, IgnoreRules, Limits};
use crate::analysis::memory_map::{MemoryMap, DEFAULT_MIN_BUFFER};
use crate::analysis::suspects::{find_suspects, SuspectOptions};
use crate::analysis::trend::{Trend, TrendOptions};
use crate::error::{Error, Result};
use crate::mcp::session::Session;
use crate::progress::Progress;
use crate::report::command::LeakRun;
use crate::report::memory::path_line;
use crate::report::{bytes_exact, one_line};
use crate::store::Document;

#[derive(Deserialize, JsonSchema)]
struct InvestigateArgs {
    /// One or more open documents, oldest first, e.g. ["#1"] or ["#1", "#2", "#3"]. Three
    /// snapshots are read as baseline, target and final for the leak search; two or more as a
    /// series for the trend; the last one for single-snapshot findings.
    docs: Vec<String>,
}

/// One finding: what, how big, and why we think so.
struct Finding {
    /// Its bytes as a share of the heap it was found in (0..100).
    share: f64,
    bytes: u64,
    title: String,
    evidence: Vec<String>,
    next: String,
}

pub(super) fn tool() -> ToolDef {
    super::tool(
        "investigate",
        "Rank every finding about the documents by share of the heap, each with its evidence \
         (retainer path, counts, exact bytes) and the tool to call next: leak suspects, \
         detached DOM, WebAssembly memories and large buffers of the latest snapshot; leak \
         clusters of a baseline/target/final trio; growing series; for allocation profiles \
         the sites leaked at exit and the largest at the peak.",
        investigate,
    )
}

fn investigate(session: &Session, a: InvestigateArgs, progress: Progress<'_>) -> Result<String> {
    if a.docs.is_empty() {
        return Err(Error::Request(
            "investigate needs at least one document".into(),
        ));
    }
    let docs = session.get_all(&a.docs)?;
    let last = &docs[docs.len() - 1];
    let mut findings = Vec::new();
    // What could not be looked into, and why (said before the findings).
    let mut notes = Vec::new();
    if let Some(p) = last.profile() {
        profile_findings(
            &mut findings,
            &AllocSummary::build(p, 5),
            &last.id.to_string(),
        );
    } else {
        progress.step("suspects", 0, 3)?;
        snapshot_findings(&mut findings, last);
        let snapshots: Vec<&Document> = docs
            .iter()
            .map(|d| &**d)
            .filter(|d| d.profile().is_none())
            .collect();
        if snapshots.len() == 3 {
            progress.step("leaks", 1, 3)?;
            match leak_findings(&mut findings, snapshots[0], snapshots[1], snapshots[2]) {
                Err(Error::CannotCompare(why)) => notes.push(why),
                other => other?,
            }
        }
        if snapshots.len() >= 2 {
            progress.step("trend", 2, 3)?;
            trend_findings(&mut findings, &snapshots)?;
        }
    }
    findings.sort_by(|a, b| b.share.total_cmp(&a.share).then(b.bytes.cmp(&a.bytes)));
    let mut out = String::new();
    let names: Vec<String> = docs.iter().map(|d| d.id.to_string()).collect();
    let _ = writeln!(
        out,
        "{} finding(s) over {}, largest share of the heap first:",
        findings.len(),
        names.join(", ")
    );
    for n in &notes {
        let _ = writeln!(out, "note: {n}");
    }
    for (i, f) in findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}. {:.1}%  {}  — {}",
            i + 1,
            f.share,
            bytes_exact(f.bytes),
            f.title
        );
        for e in &f.evidence {
            let _ = writeln!(out, "   {e}");
        }
        let _ = writeln!(out, "   next: {}", f.next);
    }
    Ok(out)
}

fn snapshot_findings(out: &mut Vec<Finding>, d: &Document) {
    let total = d.total_size();
    for s in find_suspects(&d.data, SuspectOptions::default()) {
        let mut evidence = vec![one_line(&s.explanation, 400)];
        for c in s.breakdown.iter().take(3) {
            evidence.push(format!(
                "holds {} × {} retaining {}",
                c.count,
                one_line(&c.class, 60),
                bytes_exact(c.retained_size)
            ));
        }
        evidence.push(format!("path: {}", path_line(&s.path)));
        out.push(Finding {
            share: s.share * 100.0,
            bytes: s.retained_size,
            title: format!(
                "{} {} @{}",
                match s.kind {
                    crate::analysis::suspects::SuspectKind::LargeRetainer => "large retainer",
                    crate::analysis::suspects::SuspectKind::Accumulation => "accumulation point",
                },
                one_line(&s.class, 60),
                s.node_id
            ),
            evidence,
            next: format!("retainers {{doc: \"{}\", node: \"@{}\"}}", d.id, s.node_id),
        });
    }
    for t in DetachedDom::compute(&d.data).trees {
        let members: Vec<String> = t
            .by_class
            .iter()
            .take(4)
            .map(|c| format!("{} × {}", c.count, one_line(&c.class, 40)))
            .collect();
        out.push(Finding {
            share: share(t.retained_size, total),
            bytes: t.retained_size,
            title: format!(
                "detached DOM tree {} @{} ({} nodes)",
                one_line(&t.root_class, 60),
                t.root_id,
                t.node_count
            ),
            evidence: vec![
                format!("members: {}", members.join(", ")),
                format!("held by: {}", path_line(&t.retainer_path)),
            ],
            next: format!("detached {{doc: \"{}\"}}", d.id),
        });
    }
    let map = MemoryMap::build(&d.data, DEFAULT_MIN_BUFFER);
    for w in &map.wasm_memories {
        out.push(Finding {
            share: share(w.bytes, total),
            bytes: w.bytes,
            title: format!("WebAssembly.Memory @{} ({} pages)", w.id, w.pages),
            evidence: vec![
                format!("module {}", one_line(&w.module_name, 80)),
                format!("path: {}", path_line(&w.retainer_path)),
            ],
            next: format!("memory {{doc: \"{}\"}}", d.id),
        });
    }
    for h in &map.buffer_holders {
        out.push(Finding {
            share: share(h.bytes, total),
            bytes: h.bytes,
            title: format!(
                "{} large buffer(s) held by {} @{}",
                h.count,
                one_line(&h.class, 60),
                h.id
            ),
            evidence: vec![format!("path: {}", path_line(&h.retainer_path))],
            next: format!("memory {{doc: \"{}\"}}", d.id),
        });
    }
}

fn leak_findings(
    out: &mut Vec<Finding>,
    baseline: &Document,
    target: &Document,
    final_: &Document,
) -> Result<()> {
    let rules = IgnoreRules::default();
    let limits = Limits {
        min_count: 1,
        min_bytes: 0,
    };
    let run = LeakRun::compute(baseline, target, final_, &rules, limits)?;
    let total = final_.total_size();
    for c in &run.report.clusters {
        let examples: Vec<String> = c
            .example_ids
            .iter()
            .take(5)
            .map(|i| format!("@{i}"))
            .collect();
        out.push(Finding {
            share: share(c.retained_size, total),
            bytes: c.retained_size,
            title: format!(
                "leak: {} × {} new in {} and still alive in {}",
                c.count,
                one_line(&c.class, 60),
                target.id,
                final_.id
            ),
            evidence: vec![
                format!("path: {}", trace_text(&c.trace)),
                format!("examples: {}", examples.join(" ")),
            ],
            next: format!(
                "leaks {{baseline: \"{}\", target: \"{}\", final: \"{}\"}}",
                baseline.id, target.id, final_.id
            ),
        });
    }
    Ok(())
}

fn trend_findings(out: &mut Vec<Finding>, docs: &[&Document]) -> Result<()> {
    let t = Trend::from_documents(docs, &IgnoreRules::default(), TrendOptions::default())?;
    let total = docs[docs.len() - 1].total_size();
    let ids: Vec<String> = docs.iter().map(|d| format!("\"{}\"", d.id)).collect();
    for s in t
        .series
        .iter()
        .filter(|s| s.verdict.is_growth())
        .filter(|s| s.bytes_added > 0)
        .take(10)
    {
        let added = s.bytes_added as u64;
        out.push(Finding {
            share: share(added, total),
            bytes: added,
            title: format!(
                "{} {} over {} steps",
                one_line(&s.label(), 80),
                s.verdict.label(),
                t.steps
            ),
            evidence: vec![
                crate::report::trend::counts_text(s),
                format!(
                    "bytes: {}",
                    s.bytes
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" → ")
                ),
            ],
            next: format!("trend {{docs: [{}]}}", ids.join(", ")),
        });
    }
    Ok(())
}

fn profile_findings(out: &mut Vec<Finding>, s: &AllocSummary, doc: &str) {
    let peak = s.totals.peak_bytes;
    for r in s.top_by_leaked.iter().filter(|r| r.metrics.end_bytes > 0) {
        let whole = peak.max(s.totals.end_bytes);
        let next = format!("calltree {{doc: \"{doc}\", sort: \"end_bytes\", bottom_up: true}}");
        out.push(site_finding(
            r,
            "live at exit (leaked)",
            r.metrics.end_bytes,
            r.metrics.end_blocks,
            whole,
            next,
        ));
    }
    for r in &s.top_by_peak {
        let next = format!("calltree {{doc: \"{doc}\", sort: \"peak_bytes\"}}");
        out.push(site_finding(
            r,
            "largest at the peak",
            r.metrics.peak_bytes,
            r.metrics.peak_blocks,
            peak,
            next,
        ));
    }
}

/// An allocation site holding `bytes` in `blocks` of `whole`.
fn site_finding(
    r: &SiteRow,
    what: &str,
    bytes: u64,
    blocks: u64,
    whole: u64,
    next: String,
) -> Finding {
    Finding {
        share: share(bytes, whole),
        bytes,
        title: format!("{what}: {}", one_line(&r.function, 120)),
        evidence: vec![
            format!("{blocks} block(s) at {}", one_line(&r.location, 120)),
            format!("stack: {}", one_line(&r.stack.join(" → "), 400)),
        ],
        next,
    }
}
