//! Writers for `heapsight trend`: text for the terminal, JSON (schema in docs/json-schema.md,
//! "trend"), Markdown through the report blocks, and the gate's message.

use std::fmt::Write;

use serde::Serialize;

use super::document::Block;
use super::json::to_json;
use super::{human_bytes, signed_bytes};
use crate::analysis::allocation_stacks::StackFrame;
use crate::analysis::diff::IDS_RENUMBERED;
use crate::analysis::leak_gate::IgnoreRules;
use crate::analysis::trend::verdict::memory_steps_needed;
use crate::analysis::trend::{OrderSource, Series, SeriesGate, SeriesKind, Trend};
use crate::error::Result;

/// Tripped series named in the gate's message.
const GATE_MESSAGE_SERIES: usize = 10;

/// `200 → 400 → 600`.
pub fn arrow_list(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(" → ")
}

/// A series' counts in a row: `objects 3 → 5 → 7`; an object's retained sizes in bytes
/// (`retained 78.3 KiB → 118 KiB`), which are its counts.
pub fn counts_text(s: &Series) -> String {
    counts_of(s, &s.counts)
}

/// [`counts_text`] of the first and last snapshots only.
fn first_and_last(s: &Series) -> String {
    let ends = [
        s.counts.first().copied().unwrap_or(0),
        s.counts.last().copied().unwrap_or(0),
    ];
    counts_of(s, &ends)
}

fn counts_of(s: &Series, v: &[u64]) -> String {
    if s.kind == SeriesKind::Holder {
        let sizes: Vec<String> = v.iter().map(|&b| human_bytes(b)).collect();
        format!("retained {}", sizes.join(" → "))
    } else {
        format!("{} {}", s.kind.count_unit(), arrow_list(v))
    }
}

/// A series' count per step (`+52.0`); none for an object's retained size, whose bytes per
/// step are beside it.
pub fn count_per_step(s: &Series) -> String {
    if s.kind == SeriesKind::Holder {
        "–".to_string()
    } else {
        per_step(s.count_per_step)
    }
}

/// `+52.0/step` with a sign, one decimal.
fn per_step(x: f64) -> String {
    format!("{x:+.1}")
}

/// How the order was found, in words.
pub fn order_text(t: &Trend) -> String {
    match (t.order, t.reordered) {
        (OrderSource::SnapshotClock, false) => {
            "in the order they were taken (each snapshot's highest object id), as given".into()
        }
        (OrderSource::SnapshotClock, true) => {
            "in the order they were taken (each snapshot's highest object id), not as given".into()
        }
        (OrderSource::Given, _) => "as given (a snapshot has no object ids to order by)".into(),
    }
}

/// A warning when the snapshots do not number their objects alike (see [`Trend::ids_kept`]).
pub fn ids_note(t: &Trend) -> Option<String> {
    (!t.ids_kept).then(|| {
        format!(
            "the snapshots {IDS_RENUMBERED}: collections, WebAssembly memories and buffer \
             holders cannot be followed from one to the next and the objects new in each step \
             are not counted; only class and ArrayBuffer totals are compared"
        )
    })
}

/// The gate's limits in words (a WebAssembly memory's own limit only when there is one).
pub fn limits_text(t: &Trend) -> String {
    let memory_steps = memory_steps_needed(t.min_steps);
    let has_memory = t
        .series
        .iter()
        .any(|s| s.kind == crate::analysis::trend::SeriesKind::WasmMemory);
    let memory = if has_memory && memory_steps < t.min_steps {
        format!(" (a WebAssembly memory, which grows in chunks: in {memory_steps} of them)")
    } else {
        String::new()
    };
    format!(
        "growing in {} consecutive step(s) of {}{memory} and adding at least {}",
        t.min_steps,
        t.steps,
        human_bytes(t.min_bytes)
    )
}

/// One line about the trend: how many series grow, and the top one.
pub fn headline(t: &Trend) -> String {
    let growing = t.series.iter().filter(|s| s.verdict.is_growth()).count();
    let every = t
        .series
        .iter()
        .filter(|s| s.verdict == crate::analysis::trend::Verdict::Grows)
        .count();
    let mut out = format!(
        "{} snapshots, {} step(s): {growing} series grew, {every} in every step",
        t.snapshots.len(),
        t.steps
    );
    if let Some(top) = t.series.iter().find(|s| s.verdict.is_growth()) {
        let _ = write!(
            out,
            "; most bytes added: {} ({}, {})",
            top.label(),
            top.verdict.label(),
            signed_bytes(top.bytes_added)
        );
    }
    out
}

/// The gate's verdict line: `✅ Growth gate passed: …` or `❌ Growth gate failed: …`.
pub fn verdict_line(t: &Trend) -> String {
    let tripped = t.tripped();
    match tripped.first() {
        None => format!("✅ Growth gate passed: no series {}.", limits_text(t)),
        Some(first) => format!(
            "❌ Growth gate failed: {} series {} (largest: {}, {}, {}).",
            tripped.len(),
            limits_text(t),
            first.label(),
            first_and_last(first),
            signed_bytes(first.bytes_added)
        ),
    }
}

/// The CI gate's error message: which series grew, and by how much.
pub fn gate_message(t: &Trend) -> String {
    let tripped = t.tripped();
    let names: Vec<String> = tripped
        .iter()
        .take(GATE_MESSAGE_SERIES)
        .map(|s| format!("{} ({})", s.label(), signed_bytes(s.bytes_added)))
        .collect();
    let more = if tripped.len() > GATE_MESSAGE_SERIES {
        format!(" and {} more", tripped.len() - GATE_MESSAGE_SERIES)
    } else {
        String::new()
    };
    format!(
        "growth gate tripped: {} series {}: {}{more}",
        tripped.len(),
        limits_text(t),
        names.join(", ")
    )
}

fn gate_word(s: &Series) -> String {
    match &s.gate {
        SeriesGate::Tripped => "TRIPPED".into(),
        SeriesGate::Passed => String::new(),
        SeriesGate::Engine => String::new(),
        SeriesGate::Ignored { line, .. } => format!("ignored (line {line})"),
    }
}

/// `step 2: 200, step 3: 200` for a class's survivors (steps numbered from 1 as the snapshots).
pub fn new_alive_text(v: &[u64]) -> String {
    v.iter()
        .enumerate()
        .map(|(k, n)| format!("#{}: {n}", k + 2))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The series shown: the first `top` (0 = all) that changed at all.
fn shown(t: &Trend, top: usize) -> Vec<&Series> {
    let top = if top == 0 { usize::MAX } else { top };
    t.series
        .iter()
        .filter(|s| s.verdict != crate::analysis::trend::Verdict::Stable || s.tripped())
        .take(top)
        .collect()
}

/// Text: the snapshots in order, the gate, then the `top` series that changed (most bytes
/// added first) and, for growing classes, the objects new in each step still alive at the end.
pub fn text(t: &Trend, rules: &IgnoreRules, gated: bool, top: usize) -> String {
    let mut out = format!("{}\n", headline(t));
    if let Some(note) = ids_note(t) {
        let _ = writeln!(out, "warning: {note}.");
    }
    let _ = writeln!(out, "Snapshots, {}:", order_text(t));
    for (i, s) in t.snapshots.iter().enumerate() {
        let _ = writeln!(
            out,
            "  #{} {}  (highest id @{}, {} nodes, {})",
            i + 1,
            s.title,
            s.clock,
            s.node_count,
            human_bytes(s.total_size)
        );
    }
    if let Some(p) = &rules.source {
        let _ = writeln!(
            out,
            "Ignore file {} ({} rule(s), {} class threshold(s))",
            p.display(),
            rules.rules.len(),
            rules.thresholds.len()
        );
    }
    if gated {
        let _ = writeln!(out, "{}", verdict_line(t));
    }
    let rows = shown(t, top);
    let _ = writeln!(
        out,
        "\n{:<20} {:>12} {:>12} {:>10}  {:<40} Counts",
        "Verdict", "Bytes added", "Bytes/step", "Count/step", "Series"
    );
    for s in &rows {
        let _ = writeln!(
            out,
            "{:<20} {:>12} {:>12} {:>10}  {:<40} {}  {}",
            s.verdict.label(),
            signed_bytes(s.bytes_added),
            signed_bytes(s.bytes_per_step.round() as i64),
            count_per_step(s),
            super::one_line(&s.label(), 40),
            counts_text(s),
            gate_word(s)
        );
    }
    let changed = t
        .series
        .iter()
        .filter(|s| s.verdict != crate::analysis::trend::Verdict::Stable)
        .count();
    if rows.len() < changed {
        let _ = writeln!(
            out,
            "… {} more series changed (use --top 0 for all)",
            changed - rows.len()
        );
    }
    let growing: Vec<&&Series> = rows
        .iter()
        .filter(|s| s.verdict.is_growth() && s.new_alive.is_some())
        .collect();
    if !growing.is_empty() {
        let _ = writeln!(
            out,
            "\nNew in snapshot #k and alive in every later one, per class that grew:"
        );
        for s in growing {
            let newest: Vec<String> = s
                .newest_ids
                .iter()
                .take(5)
                .map(|i| format!("@{i}"))
                .collect();
            let _ = writeln!(
                out,
                "  {:<40} {}{}",
                super::one_line(&s.class, 40),
                new_alive_text(s.new_alive.as_deref().unwrap_or(&[])),
                if newest.is_empty() {
                    String::new()
                } else {
                    format!("; newest {}", newest.join(" "))
                }
            );
            if !s.newest_stack.is_empty() {
                let _ = writeln!(out, "    allocated at: {}", stack_line(&s.newest_stack));
            }
        }
    }
    out
}

/// `wrap (training.js:30:20) ← runStep (training.js:80:33) ← …`: frames innermost first,
/// scripts by file name (Node's own `node:…` modules whole).
pub fn stack_line(frames: &[StackFrame]) -> String {
    frames
        .iter()
        .map(|f| {
            // Paths and URLs by file name; Node's own `node:…` modules whole.
            let short = match f.script.starts_with("node:") {
                true => f.script.as_str(),
                false => f.script.rsplit(['/', '\\']).next().unwrap_or_default(),
            };
            StackFrame {
                script: short.to_string(),
                ..f.clone()
            }
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ← ")
}

/// JSON: the trend with the files it read and the ignore file. See docs/json-schema.md.
pub fn json(files: &[String], rules: &IgnoreRules, gated: bool, t: &Trend) -> Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        files: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        ignore_file: Option<String>,
        #[serde(flatten)]
        trend: &'a Trend,
        #[serde(skip_serializing_if = "Option::is_none")]
        gate: Option<Gate>,
    }
    #[derive(Serialize)]
    struct Gate {
        passed: bool,
        tripped_count: usize,
    }
    to_json(&Out {
        files,
        ignore_file: rules.source.as_ref().map(|p| p.display().to_string()),
        trend: t,
        gate: gated.then(|| Gate {
            passed: !t.failed(),
            tripped_count: t.tripped().len(),
        }),
    })
}

/// Markdown/HTML blocks: the verdict (when gated), the snapshots, the series table and the
/// survivors of growing classes.
pub fn blocks(t: &Trend, gated: bool, top: usize) -> Vec<Block> {
    let mut b = vec![Block::Heading(2, "Growth trend".into())];
    if gated {
        b.push(Block::Paragraph(verdict_line(t)));
    }
    b.push(Block::Paragraph(format!(
        "{}. Snapshots {}.",
        headline(t),
        order_text(t)
    )));
    if let Some(note) = ids_note(t) {
        b.push(Block::Paragraph(format!("Warning: {note}.")));
    }
    b.push(Block::table(
        &["#", "Snapshot", "Highest id", "Nodes", "Total"],
        &[true, false, true, true, true],
        t.snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    s.title.clone(),
                    s.clock.to_string(),
                    s.node_count.to_string(),
                    human_bytes(s.total_size),
                ]
            })
            .collect(),
    ));
    let rows = shown(t, top);
    b.push(Block::table(
        &[
            "Series",
            "Verdict",
            "Counts",
            "Bytes added",
            "Bytes/step",
            "Count/step",
            "Gate",
        ],
        &[false, false, false, true, true, true, false],
        rows.iter()
            .map(|s| {
                vec![
                    s.label(),
                    s.verdict.label().to_string(),
                    counts_text(s),
                    signed_bytes(s.bytes_added),
                    signed_bytes(s.bytes_per_step.round() as i64),
                    count_per_step(s),
                    gate_word(s),
                ]
            })
            .collect(),
    ));
    let growing: Vec<&&Series> = rows
        .iter()
        .filter(|s| s.verdict.is_growth() && s.new_alive.is_some())
        .collect();
    if !growing.is_empty() {
        b.push(Block::Heading(3, "New and never freed".into()));
        b.push(Block::Paragraph(
            "Objects of each growing class that are new in snapshot #k (absent from #k−1) and \
             present in every snapshot after it."
                .into(),
        ));
        b.push(Block::table(
            &[
                "Class",
                "New and alive at the end, per snapshot",
                "Newest ids",
            ],
            &[false, false, false],
            growing
                .iter()
                .map(|s| {
                    vec![
                        s.class.clone(),
                        new_alive_text(s.new_alive.as_deref().unwrap_or(&[])),
                        s.newest_ids
                            .iter()
                            .take(5)
                            .map(|i| format!("@{i}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]
                })
                .collect(),
        ));
    }
    b
}
