//! Plain-text tables for the terminal.

use std::fmt::Write;

use super::{human_bytes, one_line};
use crate::analysis::distances::SYSTEM_DISTANCE;
use crate::analysis::retainers::{left_out_note, RetainerPath};
use crate::analysis::{AnalyzedSnapshot, ClassRow, Statistics};
use crate::model::v8_rules::DETACHED_PREFIX;
use crate::model::NodeIx;

/// A distance as DevTools shows it: `−` for unreachable and system-only nodes.
pub fn distance_text(d: Option<u32>) -> String {
    match d {
        Some(d) if d < SYSTEM_DISTANCE => d.to_string(),
        _ => "\u{2212}".to_string(),
    }
}

fn percent(part: u64, total: u64) -> String {
    if total == 0 {
        "0.0 %".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / total as f64)
    }
}

/// The class table with totals above it.
pub fn summary(
    out: &mut String,
    file: &str,
    s: &AnalyzedSnapshot,
    total: u64,
    rows: &[ClassRow],
    all: usize,
    stats: &Statistics,
) {
    let g = s.graph();
    let _ = writeln!(out, "{file}");
    let _ = writeln!(
        out,
        "{} nodes, {} edges, total {} ({} bytes)",
        g.node_count(),
        g.edge_count(),
        human_bytes(total),
        total
    );
    let _ = writeln!(
        out,
        "code {} · strings {} · JS arrays {} · typed arrays {} · system {} · native {} · other {}",
        human_bytes(stats.code),
        human_bytes(stats.strings),
        human_bytes(stats.js_arrays),
        human_bytes(stats.typed_arrays),
        human_bytes(stats.system),
        human_bytes(stats.native),
        human_bytes(stats.other)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<40} {:>9} {:>11} {:>7} {:>11} {:>7} {:>8}",
        "Constructor", "Count", "Shallow", "", "Retained", "", "Distance"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<40} {:>9} {:>11} {:>7} {:>11} {:>7} {:>8}",
            one_line(&r.name, 40),
            r.count,
            human_bytes(r.shallow_size),
            percent(r.shallow_size, total),
            human_bytes(r.retained_size),
            percent(r.retained_size, total),
            distance_text(r.distance)
        );
    }
    if rows.len() < all {
        let _ = writeln!(
            out,
            "… {} more classes (use --top 0 for all)",
            all - rows.len()
        );
    }
}

/// One line describing a node: `Class name @id  shallow  retained`.
pub fn node_line(s: &AnalyzedSnapshot, n: NodeIx) -> String {
    let g = s.graph();
    let a = &s.analysis;
    let class = s.class_name(n);
    let name = one_line(g.name(n), 60);
    let label = if name.is_empty() || name == class {
        class.to_string()
    } else {
        format!("{class} {name:?}")
    };
    format!(
        "{label} @{}  self {}  retained {}  distance {}",
        g.id(n),
        human_bytes(a.shallow_size(n)),
        human_bytes(a.retained_size(n)),
        distance_text(a.distance(n))
    )
}

/// The dominator tree, indented, `top` children per node, `depth` levels.
pub fn dominators(out: &mut String, s: &AnalyzedSnapshot, total: u64, depth: usize, top: usize) {
    dominators_under(out, s, s.graph().root(), total, depth, top);
}

/// The dominator subtree under `start`, indented, `top` children per node, `depth` levels
/// below it.
pub fn dominators_under(
    out: &mut String,
    s: &AnalyzedSnapshot,
    start: NodeIx,
    total: u64,
    depth: usize,
    top: usize,
) {
    let mut stack: Vec<(NodeIx, usize)> = vec![(start, 0)];
    while let Some((v, level)) = stack.pop() {
        let share = percent(s.analysis.retained_size(v), total);
        let _ = writeln!(
            out,
            "{}{:>7}  {}",
            "  ".repeat(level),
            share,
            node_line(s, v)
        );
        if level < depth {
            let kids = s.analysis.dominators.sorted_children(v);
            if kids.len() > top {
                stack.push((u32::MAX, level + 1));
            }
            for &c in kids.iter().take(top).rev() {
                stack.push((c, level + 1));
            }
        }
        // A marker entry says "more children were cut".
        while let Some(&(u32::MAX, l)) = stack.last() {
            stack.pop();
            let _ = writeln!(out, "{}…", "  ".repeat(l));
        }
    }
}

/// Retainer paths, one edge per line, root first.
pub fn paths(out: &mut String, s: &AnalyzedSnapshot, paths: &[RetainerPath]) {
    let g = s.graph();
    for (i, p) in paths.iter().enumerate() {
        let _ = writeln!(out, "path {} ({} steps):", i + 1, p.steps.len());
        for (depth, (left_out, st)) in p.shown().enumerate() {
            if left_out > 0 {
                let _ = writeln!(out, "{}{}", "  ".repeat(depth + 1), left_out_note(left_out));
            }
            let e = st.edge.index as usize;
            let _ = writeln!(
                out,
                "{}--{} {}--> {}",
                "  ".repeat(depth + 1),
                g.edge_type_name(e),
                one_line(&g.edge_label(e), 60),
                node_line(s, st.edge.to)
            );
        }
    }
}

/// One line about a snapshot's detached DOM: counts, and what was left out or inferred.
pub fn detached_headline(d: &crate::analysis::detached::DetachedDom) -> String {
    let mut out = format!(
        "{} detached DOM node(s) in {} tree(s)",
        d.node_count,
        d.trees.len()
    );
    if d.other_detached_count > 0 {
        out.push_str(&format!(
            "; {} detached embedder object(s) that are not DOM nodes left out",
            d.other_detached_count
        ));
    }
    if !d.from_detachedness_field {
        out.push_str(&format!(
            " (from `{DETACHED_PREFIX}` names: this snapshot has no detachedness field)"
        ));
    }
    out
}

/// A detached tree's members by class: `200 × Detached <li>, 200 × Detached Text, 1 × …`.
pub fn detached_members(t: &crate::analysis::detached::DetachedTree) -> String {
    t.by_class
        .iter()
        .map(|c| format!("{} × {}", c.count, c.class))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ways JS holds a detached tree: `LeakyCache.rows (500 members), LeakyCache.handlers (500)`.
pub fn detached_holders(t: &crate::analysis::detached::DetachedTree) -> String {
    t.held_through
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let unit = match (i, h.count) {
                (0, 1) => " member",
                (0, _) => " members",
                _ => "",
            };
            format!("{} ({}{unit})", h.via, h.count)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A group of alike detached trees by its first: `Detached <li> @94811 and 1199 trees alike`.
pub fn detached_group_title(g: &crate::analysis::detached::TreeGroup) -> String {
    let t = &g.total;
    match g.trees {
        1 => format!("{} @{}", t.root_class, t.root_id),
        n => format!("{} @{} and {} trees alike", t.root_class, t.root_id, n - 1),
    }
}

/// `heapsight detached`: the headline, then the first 20 groups of alike trees (most often one
/// tree each) with what keeps each alive.
pub fn detached(d: &crate::analysis::detached::DetachedDom) -> String {
    let mut out = detached_headline(d);
    out.push('\n');
    let groups = d.groups();
    for g in groups.iter().take(20) {
        let t = &g.total;
        out.push_str(&format!(
            "\n{}: {} node(s), retained {}\n  {}\n",
            detached_group_title(g),
            t.node_count,
            human_bytes(t.retained_size),
            detached_members(t)
        ));
        if !t.held_through.is_empty() {
            out.push_str(&format!("  held through {}\n", detached_holders(t)));
        }
        for (i, s) in t.retainer_path.iter().enumerate() {
            if let Some(gap) = s.gap() {
                out.push_str(&format!("  {}{gap}\n", "  ".repeat(i)));
            }
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
    if groups.len() > 20 {
        let trees: u64 = groups[20..].iter().map(|g| g.trees).sum();
        out.push_str(&format!(
            "\n… {trees} more tree(s) in {} group(s) (use --json for all)\n",
            groups.len() - 20
        ));
    }
    out
}

/// `heapsight cache info`: the folder, each index (least recently used first), total and cap.
pub fn cache_info(cache: &crate::store::IndexCache) -> String {
    let entries = cache.entries();
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let mut out = String::new();
    let _ = writeln!(out, "cache folder: {}", cache.dir().display());
    let _ = writeln!(
        out,
        "{} indexes, {} of {} ({} bytes of {})",
        entries.len(),
        human_bytes(total),
        human_bytes(cache.max_bytes()),
        total,
        cache.max_bytes()
    );
    for e in &entries {
        let _ = writeln!(
            out,
            "{:>12}  {}  {}",
            human_bytes(e.size),
            e.path.file_name().unwrap_or_default().to_string_lossy(),
            e.source.as_deref().unwrap_or("(unreadable)")
        );
    }
    out
}

/// `heapsight anonymize`: where the copy went and what happened to the strings table.
pub fn anonymize_report(output: &std::path::Path, r: &crate::anonymize::AnonymizeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "wrote {} ({})",
        output.display(),
        human_bytes(r.bytes_written)
    );
    let _ = writeln!(
        out,
        "{} strings: {} replaced ({} of them unreferenced), {} kept as names, {} kept on request",
        r.strings, r.replaced, r.unreferenced, r.kept_names, r.kept_by_request
    );
    out
}
