//! `heapsight leaks` with a gate: the counted clusters through the usual leak writers, then the
//! clusters an ignore file left out (listed as ignored, with their rule), and the gate's verdict
//! (a ✅/❌ line first in Markdown and HTML, a `gate` object in JSON). Without an ignore file and
//! without a gate the output is exactly the plain leak writers'.

use std::path::Path;

use serde::Serialize;

use super::document::Block;
use super::human_bytes;
use super::leak_report::leak_blocks;
use super::leaks;
use crate::analysis::leak_gate::{ClusterStatus, GateVerdict, IgnoreRules, Limits};
use crate::analysis::leaks::{LeakCluster, LeakReport};
use crate::error::Result;

/// Everything the gated writers need.
#[derive(Debug, Clone, Copy)]
pub struct GatedLeaks<'a> {
    /// The whole leak search (ignored clusters included).
    pub report: &'a LeakReport,
    /// The ignore file's rules (empty, without `source`, when none is used).
    pub rules: &'a IgnoreRules,
    /// The gate's decision for every cluster of `report`.
    pub verdict: &'a GateVerdict,
    /// Was the gate asked for (`--fail-on-leak` or `--junit`)? Then outputs carry the verdict.
    pub gated: bool,
}

impl GatedLeaks<'_> {
    fn ignore_file(&self) -> Option<String> {
        self.rules.source.as_ref().map(|p| p.display().to_string())
    }

    /// `(N ignore rules, M thresholds)` for the ignore file line.
    fn rule_counts(&self) -> String {
        format!(
            "{} ignore rule(s), {} class threshold(s)",
            self.rules.rules.len(),
            self.rules.thresholds.len()
        )
    }

    fn ignored(&self) -> Vec<(&LeakCluster, &ClusterStatus)> {
        self.verdict.ignored(self.report)
    }
}

fn rule_of(s: &ClusterStatus) -> String {
    match s {
        ClusterStatus::Ignored { line, rule } => format!("line {line}: {rule}"),
        _ => String::new(),
    }
}

fn limits_text(l: Limits) -> String {
    format!(
        "at least {} object(s) and {} held",
        l.min_count,
        human_bytes(l.min_bytes)
    )
}

/// The gate's one-line verdict: `✅ Leak gate passed: …` or `❌ Leak gate failed: …`.
pub fn verdict_line(g: &GatedLeaks) -> String {
    let tripped = g.verdict.tripped(g.report);
    let per_class = if g.rules.thresholds.is_empty() {
        String::new()
    } else {
        " (or the class's threshold)".into()
    };
    let ignored = match g.verdict.ignored_count() {
        0 => String::new(),
        n => format!("; {n} cluster(s) ignored"),
    };
    match tripped.first() {
        None => format!(
            "✅ Leak gate passed: no leak cluster with {}{per_class}{ignored}.",
            limits_text(g.verdict.limits)
        ),
        Some(first) => format!(
            "❌ Leak gate failed: {} leak cluster(s) with {}{per_class} (largest: {}, retaining {}){ignored}.",
            tripped.len(),
            limits_text(g.verdict.limits),
            leaks::count_and_class(first),
            human_bytes(first.retained_size)
        ),
    }
}

/// The CI gate's error message: [`leaks::gate_message`], plus how many clusters the ignore file
/// left out and whether per-class thresholds applied.
pub fn gate_message(g: &GatedLeaks) -> String {
    let tripped = g.verdict.tripped(g.report);
    let l = g.verdict.limits;
    let mut msg = leaks::gate_message(&tripped, l.min_count, l.min_bytes);
    if let Some(file) = g.ignore_file() {
        let n = g.verdict.ignored_count();
        if n > 0 || !g.rules.thresholds.is_empty() {
            msg.push_str(&format!(
                "; {n} cluster(s) ignored and {} class threshold(s) from {file}",
                g.rules.thresholds.len()
            ));
        }
    }
    msg
}

/// Text: the counted clusters as [`leaks::text`] prints them, then the ignore file and the
/// ignored clusters.
pub fn text(g: &GatedLeaks) -> String {
    let Some(file) = g.ignore_file() else {
        return leaks::text(g.report);
    };
    let mut out = leaks::text(&g.verdict.counted(g.report));
    let ignored = g.ignored();
    out.push_str(&format!(
        "\nIgnore file {file} ({}): {} cluster(s) ignored\n",
        g.rule_counts(),
        ignored.len()
    ));
    for (c, s) in ignored {
        out.push_str(&format!(
            "  ignored: {} × {}  retained {}  ({})\n",
            c.count,
            c.class,
            human_bytes(c.retained_size),
            rule_of(s)
        ));
    }
    out
}

/// One ignored cluster in JSON: the cluster's fields plus the rule.
#[derive(Serialize)]
struct IgnoredJson<'a> {
    #[serde(flatten)]
    cluster: &'a LeakCluster,
    line: usize,
    rule: &'a str,
}

/// One counted cluster's gate status in JSON.
#[derive(Serialize)]
struct GateClusterJson<'a> {
    class: &'a str,
    #[serde(flatten)]
    status: &'a ClusterStatus,
}

#[derive(Serialize)]
struct GateJson<'a> {
    passed: bool,
    min_count: u64,
    min_bytes: u64,
    tripped_count: usize,
    clusters: Vec<GateClusterJson<'a>>,
}

/// JSON: [`leaks::json`] over the counted clusters, plus `ignore_file` and `ignored` (with an
/// ignore file) and `gate` (when gated). See docs/json-schema.md.
pub fn json(files: [&Path; 3], g: &GatedLeaks) -> Result<String> {
    let file = g.ignore_file();
    if file.is_none() && !g.gated {
        return leaks::json(files, g.report);
    }
    let counted = g.verdict.counted(g.report);
    #[derive(Serialize)]
    struct Extra<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        ignore_file: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ignored: Option<Vec<IgnoredJson<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gate: Option<GateJson<'a>>,
    }
    let ignored = file.is_some().then(|| {
        g.ignored()
            .into_iter()
            .filter_map(|(cluster, s)| match s {
                ClusterStatus::Ignored { line, rule } => Some(IgnoredJson {
                    cluster,
                    line: *line,
                    rule,
                }),
                _ => None,
            })
            .collect()
    });
    let gate = g.gated.then(|| GateJson {
        passed: !g.verdict.failed(),
        min_count: g.verdict.limits.min_count,
        min_bytes: g.verdict.limits.min_bytes,
        tripped_count: g.verdict.tripped(g.report).len(),
        clusters: g
            .report
            .clusters
            .iter()
            .zip(&g.verdict.statuses)
            .filter(|(_, s)| !matches!(s, ClusterStatus::Ignored { .. }))
            .map(|(c, status)| GateClusterJson {
                class: &c.class,
                status,
            })
            .collect(),
    });
    let extra = Extra {
        ignore_file: file,
        ignored,
        gate,
    };
    leaks::json_with(files, &counted, &extra)
}

/// Markdown/HTML blocks: the verdict first (when gated, so the top of a CI job summary says
/// pass or fail), the counted clusters as [`leak_blocks`] lays them out, then the ignored ones.
pub fn blocks(g: &GatedLeaks, files: [&str; 3]) -> Vec<Block> {
    let mut b = Vec::new();
    if g.gated {
        b.push(Block::Paragraph(verdict_line(g)));
    }
    let Some(file) = g.ignore_file() else {
        b.extend(leak_blocks(g.report, files));
        return b;
    };
    b.extend(leak_blocks(&g.verdict.counted(g.report), files));
    b.push(Block::Heading(3, "Ignored clusters".into()));
    let ignored = g.ignored();
    b.push(Block::Paragraph(format!(
        "Ignore file {file} ({}): {} cluster(s) ignored{}",
        g.rule_counts(),
        ignored.len(),
        if ignored.is_empty() { "." } else { ":" }
    )));
    if !ignored.is_empty() {
        b.push(Block::table(
            &["Ignored class", "Count", "Retained", "Rule"],
            &[false, true, true, false],
            ignored
                .iter()
                .map(|(c, s)| {
                    vec![
                        c.class.clone(),
                        c.count.to_string(),
                        human_bytes(c.retained_size),
                        rule_of(s),
                    ]
                })
                .collect(),
        ));
    }
    b
}
