//! Three-snapshot leak detection as text and JSON, the headline the CLI and the Leaks view
//! share, and the CI gate's message.

use std::path::Path;

use serde::Serialize;

use super::human_bytes;
use super::json::to_json;
use crate::analysis::diff::IDS_RENUMBERED;
use crate::analysis::leaks::{holder_step, LeakCluster, LeakReport, TraceStep, WasmGrowth};
use crate::error::Result;

/// `N leaked objects in K cluster(s)` (with `(M with their chains' older links)` after the
/// objects when clusters are chains): the start of every sentence about a leak search.
pub fn counts(r: &LeakReport) -> String {
    let chained: u64 = r.clusters.iter().map(|c| c.chained).sum();
    let with_chains = match chained {
        0 => String::new(),
        n => format!(" ({} with their chains' older links)", r.leaked_count + n),
    };
    format!(
        "{} leaked objects{with_chains} in {} cluster(s)",
        r.leaked_count,
        r.clusters.len()
    )
}

/// `  (+N more new objects reached through them, holding X more)`, or nothing: what the
/// cluster's objects hold or lead to besides what they dominate (a ring of timers reaches the
/// rest through its ends; a tensor its data in a `WeakMap` keyed by it).
pub fn reached_through_note(c: &LeakCluster) -> String {
    match (c.reached_through, c.reached_size) {
        (0, _) => String::new(),
        (n, 0) => format!("  (+{n} more new objects reached through them)"),
        (n, bytes) => format!(
            "  (+{n} more new objects reached through them, holding {} more)",
            human_bytes(bytes)
        ),
    }
}

/// The one line that sums up a leak search (the CLI's first line, the Leaks view's headline).
pub fn headline(r: &LeakReport) -> String {
    if !r.ids_kept {
        return format!(
            "Leaks cannot be detected: the snapshots {IDS_RENUMBERED}, so no object can be \
             followed from one to the next; the Trends view (`heapsight trend`) compares their \
             class totals"
        );
    }
    let reached = match r.leaked_reached_size {
        0 => String::new(),
        bytes => format!(
            " and {} more through new objects they reach",
            human_bytes(bytes)
        ),
    };
    format!(
        "{}, retaining {}{reached} ({} objects survived from target to final)",
        counts(r),
        human_bytes(r.leaked_retained_size),
        r.surviving_count
    )
}

/// The headline and the first 20 clusters with their retainer traces.
pub fn text(r: &LeakReport) -> String {
    let mut out = headline(r);
    out.push('\n');
    for (i, c) in r.clusters.iter().enumerate().take(20) {
        out.push_str(&format!(
            "\n#{} {} × {}  retained {}{}\n",
            i + 1,
            c.count,
            c.class,
            human_bytes(c.retained_size),
            reached_through_note(c)
        ));
        if let Some(holder) = named_holder(c) {
            out.push_str(&format!("  held by {holder}\n"));
        }
        if let Some(chain) = chain_line(c) {
            out.push_str(&format!("  {chain}\n"));
        }
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
    out.push_str(&not_counted_text(r));
    out
}

/// What was found but not counted: [`one_time_text`], [`replaced_text`],
/// [`wasm_growth_text`], then [`grown_text`].
pub fn not_counted_text(r: &LeakReport) -> String {
    one_time_text(r) + &replaced_text(r) + &wasm_growth_text(r) + &grown_text(r)
}

/// Why objects that grew without new objects are shown but not counted.
pub const GROWN_WHY: &str = "they retain more than at the baseline with no leaked object \
    under them (a string built by `+=`, an array of numbers, a buffer filling up); three \
    snapshots can't tell a leak from a buffer that stops at its cap, a series of snapshots \
    can (`heapsight trend`, the Trends view)";

/// `grew without new objects (not counted): …` and one line per object, or nothing.
pub fn grown_text(r: &LeakReport) -> String {
    if r.grown_holders.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\ngrew without new objects (not counted): {} object(s); {GROWN_WHY}\n",
        r.grown_holders.len()
    );
    for h in &r.grown_holders {
        out.push_str(&format!(
            "  {}  {} → {} → {} (+{})\n",
            h.label(),
            human_bytes(h.baseline_bytes),
            human_bytes(h.target_bytes),
            human_bytes(h.final_bytes),
            human_bytes(h.grown_by())
        ));
    }
    out
}

/// Why grown WebAssembly memory is shown but not counted.
pub const WASM_GROWTH_WHY: &str = "what leaks inside WebAssembly memory has no objects in a heap \
    snapshot, and a memory never shrinks, so this is a leak inside it or its allocator's \
    high-water mark: a series of snapshots tells them apart (`heapsight trend`, the Trends view)";

/// `WebAssembly memory that grew (not counted): …` and one line per memory, or nothing.
pub fn wasm_growth_text(r: &LeakReport) -> String {
    if r.wasm_growth.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nWebAssembly memory that grew (not counted): {} memory(ies) bigger in final than in \
         baseline; {WASM_GROWTH_WHY}\n",
        r.wasm_growth.len()
    );
    for w in &r.wasm_growth {
        out.push_str(&format!("  {}\n", wasm_growth_line(w)));
    }
    out
}

/// `WebAssembly.Memory @ID  16.0 MiB → 19.2 MiB (+3.25 MiB)`.
fn wasm_growth_line(w: &WasmGrowth) -> String {
    format!(
        "WebAssembly.Memory @{}  {} → {} (+{})",
        w.id,
        human_bytes(w.baseline_bytes),
        human_bytes(w.final_bytes),
        human_bytes(w.grown_by())
    )
}

/// `replaced values (not counted): …` and one line per group with the slot that holds it, or
/// nothing.
pub fn replaced_text(r: &LeakReport) -> String {
    not_counted_groups(
        "replaced values",
        "in slots overwritten since the baseline or in collections no bigger than then (the \
         latest values, no bigger)",
        &r.replaced_values,
    )
}

/// `one-time allocations (not counted): …` and one line per group with the slot that holds it,
/// or nothing when the runtime made nothing lazily.
pub fn one_time_text(r: &LeakReport) -> String {
    not_counted_groups(
        "one-time allocations",
        "the runtime made for itself, once on first use or for its own pending work",
        &r.one_time_allocations,
    )
}

/// `\n{what} (not counted): N object(s) {why}` and a line per group, or nothing.
fn not_counted_groups(what: &str, why: &str, groups: &[LeakCluster]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let total: u64 = groups.iter().map(|c| c.count).sum();
    let mut out = format!("\n{what} (not counted): {total} object(s) {why}\n");
    for c in groups {
        out.push_str(&format!(
            "  {} × {}  retained {}  held by {}\n",
            c.count,
            c.class,
            human_bytes(c.retained_size),
            held_in_slot(c)
        ));
    }
    out
}

/// The holder and slot of a one-time allocation or a replaced value: `BuiltinModule.exports`,
/// `Context.utilColors`, `Layer.params`; with what the program calls that holder when it
/// has a name (`Object.k2947 (closure variable cache)`: an entry of a keyed map).
pub fn held_in_slot(c: &LeakCluster) -> String {
    let n = c.trace.len();
    let holder = n.checked_sub(2);
    let slot = match (holder.map(|i| &c.trace[i]), c.trace.last()) {
        (Some(holder), Some(last)) => format!("{}.{}", holder.node_class, last.edge_name),
        (None, Some(last)) => last.edge_name.clone(),
        _ => String::new(),
    };
    match holder_step(&c.trace) {
        Some(i) if Some(i) == holder && !c.held_as.is_empty() => {
            format!("{slot} ({})", c.held_as.join(", "))
        }
        _ => slot,
    }
}

/// `chained, 30 in all, each holding another: {a, b} @7 --property next--> {a, b} @9`: how the
/// cluster's objects hold more of their class ([`LeakCluster::chain`]), or `None`.
pub fn chain_line(c: &LeakCluster) -> Option<String> {
    if c.chain.is_empty() {
        return None;
    }
    Some(format!(
        "chained, {} in all, each holding another: {}",
        c.objects(),
        chain_lines(c).join(" ")
    ))
}

/// A cluster's [`chain`](LeakCluster::chain) as lines, as [`trace_lines`] writes a trace: the
/// representative, then each step.
pub fn chain_lines(c: &LeakCluster) -> Vec<String> {
    let start = c
        .trace
        .last()
        .map(|t| format!("{} @{}", t.node_class, t.node_id));
    start
        .into_iter()
        .chain(c.chain.iter().map(step_line))
        .collect()
}

/// The object holding a cluster's representative, as [`holder_step`] picks it, with what the
/// program calls it: `Array @6159 (closure variable kept)`. Empty when no step is one a user
/// would recognise.
pub fn held_by(c: &LeakCluster) -> String {
    let Some(step) = holder_step(&c.trace).map(|i| &c.trace[i]) else {
        return String::new();
    };
    let mut text = format!("{} @{}", step.node_class, step.node_id);
    if !c.held_as.is_empty() {
        text.push_str(&format!(" ({})", c.held_as.join(", ")));
    }
    text
}

/// [`held_by`] when the holder has a name the program gives it, else `None` (the trace
/// already shows the holder): what the text, the report, JUnit and the Leaks view print.
pub fn named_holder(c: &LeakCluster) -> Option<String> {
    (!c.held_as.is_empty()).then(|| held_by(c))
}

/// The whole result as JSON, naming the three files.
pub fn json(files: [&Path; 3], r: &LeakReport) -> Result<String> {
    #[derive(Serialize)]
    struct Nothing {}
    json_with(files, r, &Nothing {})
}

/// [`json`] with `extra`'s fields after the report's (the gate's verdict, ignored clusters).
pub fn json_with<E: Serialize>(files: [&Path; 3], r: &LeakReport, extra: &E) -> Result<String> {
    #[derive(Serialize)]
    struct Out<'a, E> {
        baseline: String,
        target: String,
        #[serde(rename = "final")]
        final_: String,
        #[serde(flatten)]
        report: &'a LeakReport,
        #[serde(flatten)]
        extra: &'a E,
    }
    to_json(&Out {
        baseline: files[0].display().to_string(),
        target: files[1].display().to_string(),
        final_: files[2].display().to_string(),
        report: r,
        extra,
    })
}

/// `1000 × RequestContext`, or `1 × {next}, 300000 with its chains` for a chain.
pub fn count_and_class(c: &LeakCluster) -> String {
    let chain = match c.chained {
        0 => String::new(),
        _ => format!(", {} with its chains", c.objects()),
    };
    format!("{} × {}{chain}", c.count, c.class)
}

/// Why the CI gate failed: how many clusters passed the thresholds, and the largest.
pub fn gate_message(tripped: &[&LeakCluster], min_count: u64, min_bytes: u64) -> String {
    let mut msg = format!(
        "leak gate tripped: {} cluster(s) with at least {min_count} object(s) and {} held",
        tripped.len(),
        human_bytes(min_bytes),
    );
    if let Some(first) = tripped.first() {
        msg.push_str(&format!(" (largest: {})", count_and_class(first)));
    }
    msg
}

/// A leak trace, or any retainer path of a report, as lines, root first, with a line where a
/// long path's middle was left out.
pub fn trace_lines(steps: &[TraceStep]) -> Vec<String> {
    let mut v = vec!["(root)".to_string()];
    for s in steps {
        v.extend(s.gap());
        v.push(step_line(s));
    }
    v
}

/// One step of a path: `--property next--> {next} @9`.
fn step_line(s: &TraceStep) -> String {
    format!(
        "--{} {}--> {} @{}",
        s.edge_type, s.edge_name, s.node_class, s.node_id
    )
}
