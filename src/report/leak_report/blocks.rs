//! The leak-suspects report laid out as document blocks, for Markdown and HTML.

use super::alloc_blocks::{alloc_blocks, alloc_diff_blocks};
use super::memory_blocks::{memory_growth_blocks, snapshot_memory_blocks};
use super::{LeakSuspectsReport, SnapshotSection};
use crate::analysis::diff::ids_not_kept_message;
use crate::analysis::leaks::{LeakCluster, LeakReport};
use crate::report::document::Block;
use crate::report::leaks::{self, trace_lines};
use crate::report::{diff, human_bytes};

fn pct(part: u64, total: u64) -> String {
    if total == 0 {
        "0.0 %".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / total as f64)
    }
}

/// The leak clusters as report blocks.
pub fn leak_blocks(l: &LeakReport, files: [&str; 3]) -> Vec<Block> {
    if !l.ids_kept {
        return vec![
            Block::Heading(2, "Leaks (baseline → target → final)".into()),
            Block::Paragraph(format!(
                "Leaks cannot be detected here: {}.",
                ids_not_kept_message(&files)
            )),
        ];
    }
    let mut b = vec![
        Block::Heading(2, "Leaks (baseline → target → final)".into()),
        Block::Paragraph(format!(
            "Baseline {}, target {}, final {}. {} objects were allocated after the baseline, exist in the \
             target and are still alive in the final snapshot; after leaving out V8 internals and objects \
             held by other leaked objects, {} retain {}{}.",
            files[0],
            files[1],
            files[2],
            l.surviving_count,
            leaks::counts(l),
            human_bytes(l.leaked_retained_size),
            match l.leaked_reached_size {
                0 => String::new(),
                bytes => format!(
                    " and hold {} more through the new objects they reach",
                    human_bytes(bytes)
                ),
            }
        )),
    ];
    if l.clusters.is_empty() {
        b.push(Block::Paragraph("No leaks found.".into()));
        b.extend(not_counted_blocks_of(l));
        return b;
    }
    b.push(Block::table(
        &[
            "#",
            "Leaked class",
            "Count",
            "Retained",
            "Reached",
            "Held by",
        ],
        &[true, false, true, true, true, false],
        l.clusters
            .iter()
            .enumerate()
            .map(|(i, c)| {
                vec![
                    (i + 1).to_string(),
                    c.class.clone(),
                    c.count.to_string(),
                    human_bytes(c.retained_size),
                    human_bytes(c.reached_size),
                    leaks::held_by(c),
                ]
            })
            .collect(),
    ));
    for (i, c) in l.clusters.iter().take(10).enumerate() {
        b.push(Block::Heading(
            3,
            format!(
                "Cluster {}: {} × {} ({})",
                i + 1,
                c.count,
                c.class,
                human_bytes(c.retained_size)
            ),
        ));
        if c.reached_through > 0 {
            let holding = match c.reached_size {
                0 => String::new(),
                bytes => format!(
                    "; they hold {} besides what the cluster retains",
                    human_bytes(bytes)
                ),
            };
            b.push(Block::Paragraph(format!(
                "{} more new objects are reached through them (held by them or found only \
                 past them, like the rest of a ring of timers, or a tensor's data in a \
                 `WeakMap` keyed by the tensor){holding}.",
                c.reached_through
            )));
        }
        if let Some(holder) = leaks::named_holder(c) {
            b.push(Block::Paragraph(format!("Held by {holder}.")));
        }
        if !c.chain.is_empty() {
            b.push(Block::Paragraph(format!(
                "They are chained, {} in all, each holding another:",
                c.objects()
            )));
            b.push(Block::Path(leaks::chain_lines(c)));
        }
        b.push(Block::Paragraph(
            "Retainer trace of one of them, from the GC roots:".into(),
        ));
        b.push(Block::Path(trace_lines(&c.trace)));
    }
    b.extend(not_counted_blocks_of(l));
    b
}

/// What was found but not counted: the one-time allocations, the replaced values, the
/// WebAssembly memories that grew, then the objects that grew without new objects.
fn not_counted_blocks_of(l: &LeakReport) -> Vec<Block> {
    let mut b = one_time_blocks(l);
    b.extend(replaced_blocks(l));
    let wasm = l.wasm_growth.iter().map(|w| {
        vec![
            format!("WebAssembly.Memory @{}", w.id),
            human_bytes(w.baseline_bytes),
            human_bytes(w.final_bytes),
            human_bytes(w.grown_by()),
        ]
    });
    b.extend(growth_blocks(
        "WebAssembly memory that grew (not counted)",
        format!(
            "Bigger in the final snapshot than in the baseline: {}.",
            leaks::WASM_GROWTH_WHY
        ),
        &["Memory", "Baseline", "Final", "Grew by"],
        wasm.collect(),
    ));
    let grown = l.grown_holders.iter().map(|h| {
        vec![
            h.label(),
            human_bytes(h.baseline_bytes),
            human_bytes(h.target_bytes),
            human_bytes(h.final_bytes),
            human_bytes(h.grown_by()),
        ]
    });
    b.extend(growth_blocks(
        "Grew without new objects (not counted)",
        format!(
            "Old objects whose retained size (without V8's compiled code) grew: {}.",
            leaks::GROWN_WHY
        ),
        &["Object", "Baseline", "Target", "Final", "Grew by"],
        grown.collect(),
    ));
    b
}

/// A heading, a paragraph and a table of what grew (a name, then sizes), or nothing when
/// `rows` is empty.
fn growth_blocks(
    heading: &str,
    why: String,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> Vec<Block> {
    if rows.is_empty() {
        return Vec::new();
    }
    let right: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
    vec![
        Block::Heading(3, heading.into()),
        Block::Paragraph(why),
        Block::table(header, &right, rows),
    ]
}

/// The runtime's one-time allocations: a short paragraph and a table, or nothing.
fn one_time_blocks(l: &LeakReport) -> Vec<Block> {
    let total: u64 = l.one_time_allocations.iter().map(|c| c.count).sum();
    not_counted_blocks(
        "One-time allocations (not counted)",
        format!(
            "{total} object(s) the runtime made for itself: once, lazily, on first use (builtin \
             module exports, stdio streams, console internals), held only by the runtime's own code \
             in a slot it already had, or as its own pending work (a timer of its own). They are \
             not leaks and are left out of the counts above and of the gate."
        ),
        &l.one_time_allocations,
    )
}

/// Values that replaced older ones: a short paragraph and a table, or nothing.
fn replaced_blocks(l: &LeakReport) -> Vec<Block> {
    let total: u64 = l.replaced_values.iter().map(|c| c.count).sum();
    not_counted_blocks(
        "Replaced values (not counted)",
        format!(
            "{total} object(s) in a named slot that held another object at the baseline, or in a \
             collection that holds no more objects than then (the last request's leftovers, a \
             bounded cache's entries): no bigger than what they replaced, with at most a few new \
             objects of their own, so the slots are overwritten, not filling up. They are left \
             out of the counts above and of the gate."
        ),
        &l.replaced_values,
    )
}

/// A heading, `why` and a table of `groups` with the slot holding each, or nothing.
fn not_counted_blocks(heading: &str, why: String, groups: &[LeakCluster]) -> Vec<Block> {
    if groups.is_empty() {
        return Vec::new();
    }
    vec![
        Block::Heading(3, heading.into()),
        Block::Paragraph(why),
        Block::table(
            &["Class", "Count", "Retained", "Held by"],
            &[false, true, true, false],
            groups
                .iter()
                .map(|c| {
                    vec![
                        c.class.clone(),
                        c.count.to_string(),
                        human_bytes(c.retained_size),
                        leaks::held_in_slot(c),
                    ]
                })
                .collect(),
        ),
    ]
}

impl LeakSuspectsReport {
    /// The report as document blocks (for Markdown and HTML).
    pub fn blocks(&self) -> Vec<Block> {
        let mut b = vec![
            Block::Heading(1, "Leak suspects report".into()),
            Block::Paragraph(format!(
                "Made by {} from {}.",
                self.generator,
                self.snapshots
                    .iter()
                    .map(|s| s.file.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ];
        if let Some(l) = &self.leaks {
            let f: Vec<&str> = self.snapshots.iter().map(|s| s.file.as_str()).collect();
            b.extend(leak_blocks(l, [f[0], f[1], f[2]]));
        }
        if let Some(c) = &self.comparison {
            b.push(Block::Heading(
                2,
                format!("Comparison: {} → {}", c.base, c.target),
            ));
            b.push(Block::Paragraph(format!(
                "{}.",
                diff::headline(c.new_count, c.alloc_size, c.deleted_count, c.freed_size)
            )));
            if !c.ids_kept {
                b.push(Block::Paragraph(format!(
                    "Warning: {}.",
                    ids_not_kept_message(&[&c.base, &c.target])
                )));
            }
            b.push(Block::Table {
                head: std::iter::once("Class")
                    .chain(diff::COUNT_COLUMNS)
                    .map(String::from)
                    .collect(),
                rows: c
                    .classes
                    .iter()
                    .filter(|r| r.delta_count != 0 || r.size_delta != 0)
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            r.new_count.to_string(),
                            r.deleted_count.to_string(),
                            format!("{:+}", r.delta_count),
                            human_bytes(r.alloc_size),
                            human_bytes(r.freed_size),
                            crate::report::signed_bytes(r.size_delta),
                        ]
                    })
                    .collect(),
                numeric: vec![false, true, true, true, true, true, true],
            });
        }
        if let Some(d) = &self.allocation_diff {
            b.extend(alloc_diff_blocks(d));
        }
        b.extend(memory_growth_blocks(&self.memory_growth));
        if !self.growing_collections.is_empty() {
            b.push(Block::Heading(
                2,
                "Collections that grow in every snapshot".into(),
            ));
            b.push(Block::table(
                &["Collection", "Entries per snapshot", "Retained now"],
                &[false, true, true],
                self.growing_collections
                    .iter()
                    .take(20)
                    .map(|c| {
                        vec![
                            format!("{} @{}", c.class, c.node_id),
                            c.entries
                                .iter()
                                .map(|e| e.to_string())
                                .collect::<Vec<_>>()
                                .join(" → "),
                            human_bytes(c.retained_size),
                        ]
                    })
                    .collect(),
            ));
        }
        for s in &self.snapshots {
            b.extend(snapshot_blocks(s));
        }
        b
    }
}

fn snapshot_blocks(s: &SnapshotSection) -> Vec<Block> {
    if let Some(a) = &s.allocations {
        return alloc_blocks(&s.file, a);
    }
    let mut b = vec![
        Block::Heading(2, format!("Snapshot {}", s.file)),
        Block::Paragraph(format!(
            "{} nodes, {} edges, {} in all.",
            s.node_count,
            s.edge_count,
            human_bytes(s.total_size)
        )),
    ];
    let st = &s.statistics;
    b.push(Block::Bars {
        items: [
            ("Code", st.code),
            ("Strings", st.strings),
            ("JS arrays", st.js_arrays),
            ("Typed arrays", st.typed_arrays),
            ("System objects", st.system),
            ("Native", st.native),
            ("Other JS objects", st.other),
        ]
        .iter()
        .map(|(l, v)| {
            (
                l.to_string(),
                *v,
                format!("{} · {}", human_bytes(*v), pct(*v, st.total)),
            )
        })
        .collect(),
        total: st.total,
    });
    b.push(Block::Heading(3, "Suspects".into()));
    if s.suspects.is_empty() {
        b.push(Block::Paragraph(
            "No object retains 10 % of the heap and no collection holds many objects of one class."
                .into(),
        ));
    }
    for (i, x) in s.suspects.iter().enumerate() {
        b.push(Block::Paragraph(format!("{}. {}", i + 1, x.explanation)));
        if !x.breakdown.is_empty() {
            b.push(Block::table(
                &["Held class", "Count", "Retained"],
                &[false, true, true],
                x.breakdown
                    .iter()
                    .map(|c| {
                        vec![
                            c.class.clone(),
                            c.count.to_string(),
                            human_bytes(c.retained_size),
                        ]
                    })
                    .collect(),
            ));
        }
        b.push(Block::Path(trace_lines(&x.path)));
    }
    b.push(Block::Heading(3, "Largest classes".into()));
    b.push(Block::Bars {
        items: s
            .top_classes
            .iter()
            .take(10)
            .map(|c| {
                (
                    c.name.clone(),
                    c.retained_size,
                    format!(
                        "{} · {}",
                        human_bytes(c.retained_size),
                        pct(c.retained_size, s.total_size)
                    ),
                )
            })
            .collect(),
        total: s.total_size,
    });
    b.push(Block::table(
        &["Class", "Count", "Shallow", "Retained", "Retained %"],
        &[false, true, true, true, true],
        s.top_classes
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    c.count.to_string(),
                    human_bytes(c.shallow_size),
                    human_bytes(c.retained_size),
                    pct(c.retained_size, s.total_size),
                ]
            })
            .collect(),
    ));
    if let Some(m) = &s.memory {
        b.extend(snapshot_memory_blocks(m));
    }
    if !s.detached.trees.is_empty() {
        b.push(Block::Heading(
            3,
            format!("Detached DOM ({} nodes)", s.detached.node_count),
        ));
        b.push(Block::table(
            &["Tree", "Nodes", "Retained", "Members", "Held through"],
            &[false, true, true, false, false],
            s.detached
                .groups()
                .iter()
                .take(20)
                .map(|g| {
                    let t = &g.total;
                    vec![
                        crate::report::text::detached_group_title(g),
                        t.node_count.to_string(),
                        human_bytes(t.retained_size),
                        crate::report::text::detached_members(t),
                        crate::report::text::detached_holders(t),
                    ]
                })
                .collect(),
        ));
        if let Some(t) = s.detached.trees.first() {
            b.push(Block::Paragraph(format!(
                "What keeps {} @{} alive:",
                t.root_class, t.root_id
            )));
            b.push(Block::Path(trace_lines(&t.retainer_path)));
        }
    }
    if !s.duplicated_strings.is_empty() {
        b.push(Block::Heading(3, "Duplicated strings".into()));
        b.push(Block::table(
            &["Text", "Copies", "Wasted"],
            &[false, true, true],
            s.duplicated_strings
                .iter()
                .map(|d| {
                    vec![
                        crate::report::one_line(&d.content, 80),
                        d.count.to_string(),
                        human_bytes(d.wasted_size),
                    ]
                })
                .collect(),
        ));
    }
    b
}
