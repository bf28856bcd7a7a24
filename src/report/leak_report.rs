//! The leak-suspects report: one result struct with everything a team needs to act on a heap
//! problem, written as JSON, Markdown or a self-contained HTML page by the sibling modules.

use serde::Serialize;

use crate::analysis::alloc::{diff_profiles, AllocSummary, SiteDiffRow};
use crate::analysis::detached::DetachedDom;
use crate::analysis::diff::{DiffRow, SnapshotDiff};
use crate::analysis::leaks::LeakReport;
use crate::analysis::strings::{
    duplicated_strings, growing_collections, DuplicatedString, GrowingCollection,
};
use crate::analysis::suspects::{find_suspects, LeakSuspect, SuspectOptions};
use crate::analysis::{AnalyzedSnapshot, ClassRow, Statistics};
use crate::model::v8_rules::is_engine_class_name;

/// Rows of the class table kept in a report.
const TOP_CLASSES: usize = 15;

/// One snapshot's part of the report.
#[derive(Debug, Serialize)]
pub struct SnapshotSection {
    /// File name.
    pub file: String,
    /// Nodes.
    pub node_count: u64,
    /// Edges.
    pub edge_count: u64,
    /// Total size (root retained + extra native bytes).
    pub total_size: u64,
    /// Size by category.
    pub statistics: Statistics,
    /// Largest classes by retained size.
    pub top_classes: Vec<ClassRow>,
    /// Leak suspects.
    pub suspects: Vec<LeakSuspect>,
    /// Detached DOM trees.
    pub detached: DetachedDom,
    /// Texts stored more than once (top 20 by wasted bytes).
    pub duplicated_strings: Vec<DuplicatedString>,
    /// For an allocation profile (DHAT, heaptrack, pprof): its totals and top sites; the
    /// JavaScript-only parts above are then empty.
    pub allocations: Option<AllocSummary>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct LeakSuspectsReport {
    /// heapsight's version.
    pub generator: String,
    /// One section per snapshot, in the order given.
    pub snapshots: Vec<SnapshotSection>,
    /// Comparison of the first two snapshots (when two or more are given).
    pub comparison: Option<ComparisonSection>,
    /// Collections growing in every snapshot (two or more snapshots).
    pub growing_collections: Vec<GrowingCollection>,
    /// Three-snapshot leak detection (exactly three snapshots: baseline, target, final).
    pub leaks: Option<LeakReport>,
    /// The first two allocation profiles compared by call stack (when both are profiles).
    pub allocation_diff: Option<AllocDiffSection>,
}

/// Two allocation profiles compared by call stack.
#[derive(Debug, Serialize)]
pub struct AllocDiffSection {
    /// The earlier run.
    pub base: String,
    /// The later run.
    pub target: String,
    /// The sites that changed most (top 30).
    pub sites: Vec<SiteDiffRow>,
}

/// Comparison summary.
#[derive(Debug, Serialize)]
pub struct ComparisonSection {
    /// Base file.
    pub base: String,
    /// Target file.
    pub target: String,
    /// New objects.
    pub new_count: u64,
    /// Deleted objects.
    pub deleted_count: u64,
    /// Bytes of new objects.
    pub alloc_size: u64,
    /// Bytes of deleted objects.
    pub freed_size: u64,
    /// Classes with the largest size delta (top 30).
    pub classes: Vec<DiffRow>,
}

impl SnapshotSection {
    /// Analyse one snapshot for the report.
    pub fn build(s: &AnalyzedSnapshot, file: &str, opts: SuspectOptions) -> Self {
        let summary = s.summary();
        let profile = s.snapshot.alloc.as_deref();
        let heap = profile.is_none();
        Self {
            file: file.to_string(),
            node_count: summary.node_count,
            edge_count: summary.edge_count,
            total_size: summary.total_size,
            statistics: s.statistics(),
            top_classes: summary.classes.into_iter().take(TOP_CLASSES).collect(),
            suspects: if heap {
                find_suspects(s, opts)
            } else {
                Vec::new()
            },
            detached: DetachedDom::compute(s),
            duplicated_strings: if heap {
                duplicated_strings(s, 20)
            } else {
                Vec::new()
            },
            allocations: profile.map(|p| AllocSummary::build(p, 10)),
        }
    }
}

impl LeakSuspectsReport {
    /// Build the report over `snaps` (with their file names).
    pub fn build(snaps: &[(&AnalyzedSnapshot, String)], opts: SuspectOptions) -> Self {
        let profile = |i: usize| snaps.get(i).and_then(|(s, _)| s.snapshot.alloc.as_deref());
        let heaps_only = (0..snaps.len()).all(|i| profile(i).is_none());
        let allocation_diff = match (profile(0), profile(1)) {
            (Some(a), Some(b)) => {
                let d = diff_profiles(a, b);
                Some(AllocDiffSection {
                    base: snaps[0].1.clone(),
                    target: snaps[1].1.clone(),
                    sites: d.sites.iter().take(30).map(|x| d.row(a, b, x)).collect(),
                })
            }
            _ => None,
        };
        let comparison = (heaps_only && snaps.len() >= 2).then(|| {
            let d = SnapshotDiff::compute(snaps[0].0, snaps[1].0);
            ComparisonSection {
                base: snaps[0].1.clone(),
                target: snaps[1].1.clone(),
                new_count: d.new_count,
                deleted_count: d.deleted_count,
                alloc_size: d.alloc_size,
                freed_size: d.freed_size,
                classes: d.classes.into_iter().take(30).collect(),
            }
        });
        let all: Vec<&AnalyzedSnapshot> = snaps.iter().map(|(s, _)| *s).collect();
        Self {
            generator: format!("heapsight {}", env!("CARGO_PKG_VERSION")),
            snapshots: snaps
                .iter()
                .map(|(s, f)| SnapshotSection::build(s, f, opts))
                .collect(),
            comparison,
            growing_collections: if heaps_only {
                growing_collections(&all, 10)
            } else {
                Vec::new()
            },
            leaks: (heaps_only && snaps.len() == 3)
                .then(|| LeakReport::compute(snaps[0].0, snaps[1].0, snaps[2].0)),
            allocation_diff,
        }
    }
}

use super::alloc_blocks::{alloc_blocks, alloc_diff_blocks};
use super::document::Block;
use super::human_bytes;
use crate::analysis::detached::PathText;
use crate::analysis::leaks::TraceStep;

fn pct(part: u64, total: u64) -> String {
    if total == 0 {
        "0.0 %".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / total as f64)
    }
}

fn path_lines(steps: &[PathText]) -> Vec<String> {
    let mut v = vec!["(root)".to_string()];
    v.extend(steps.iter().map(|s| {
        format!(
            "--{} {}--> {} @{}",
            s.edge_type, s.edge_name, s.node_class, s.node_id
        )
    }));
    v
}

/// A leak trace as path lines, root first.
pub fn trace_lines(steps: &[TraceStep]) -> Vec<String> {
    let mut v = vec!["(root)".to_string()];
    v.extend(steps.iter().map(|s| {
        format!(
            "--{} {}--> {} @{}",
            s.edge_type, s.edge_name, s.node_class, s.node_id
        )
    }));
    v
}

/// The leak clusters as report blocks.
pub fn leak_blocks(l: &LeakReport, files: [&str; 3]) -> Vec<Block> {
    let mut b = vec![
        Block::Heading(2, "Leaks (baseline → target → final)".into()),
        Block::Paragraph(format!(
            "Baseline {}, target {}, final {}. {} objects were allocated after the baseline, exist in the \
             target and are still alive in the final snapshot; after leaving out V8 internals and objects \
             held by other leaked objects, {} leaked objects in {} cluster(s) retain {}.",
            files[0],
            files[1],
            files[2],
            l.surviving_count,
            l.leaked_count,
            l.clusters.len(),
            human_bytes(l.leaked_retained_size)
        )),
    ];
    if l.clusters.is_empty() {
        b.push(Block::Paragraph("No leaks found.".into()));
        return b;
    }
    b.push(Block::Table {
        head: vec![
            "#".into(),
            "Leaked class".into(),
            "Count".into(),
            "Retained".into(),
            "Held by".into(),
        ],
        rows: l
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // The nearest object a user would recognise, not V8's storage in between.
                let holder = c
                    .trace
                    .iter()
                    .rev()
                    .skip(1)
                    .find(|s| !is_engine_class_name(&s.node_class))
                    .map(|s| format!("{} @{}", s.node_class, s.node_id))
                    .unwrap_or_default();
                vec![
                    (i + 1).to_string(),
                    c.class.clone(),
                    c.count.to_string(),
                    human_bytes(c.retained_size),
                    holder,
                ]
            })
            .collect(),
        numeric: vec![true, false, true, true, false],
    });
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
        b.push(Block::Paragraph(
            "Retainer trace of one of them, from the GC roots:".into(),
        ));
        b.push(Block::Path(trace_lines(&c.trace)));
    }
    b
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
                "{} new objects ({}), {} deleted ({}).",
                c.new_count,
                human_bytes(c.alloc_size),
                c.deleted_count,
                human_bytes(c.freed_size)
            )));
            b.push(Block::Table {
                head: [
                    "Class",
                    "# New",
                    "# Deleted",
                    "# Delta",
                    "Alloc. size",
                    "Freed size",
                    "Size delta",
                ]
                .map(String::from)
                .to_vec(),
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
                            super::signed_bytes(r.size_delta),
                        ]
                    })
                    .collect(),
                numeric: vec![false, true, true, true, true, true, true],
            });
        }
        if let Some(d) = &self.allocation_diff {
            b.extend(alloc_diff_blocks(d));
        }
        if !self.growing_collections.is_empty() {
            b.push(Block::Heading(
                2,
                "Collections that grow in every snapshot".into(),
            ));
            b.push(Block::Table {
                head: ["Collection", "Entries per snapshot", "Retained now"]
                    .map(String::from)
                    .to_vec(),
                rows: self
                    .growing_collections
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
                numeric: vec![false, true, true],
            });
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
            b.push(Block::Table {
                head: ["Held class", "Count", "Retained"]
                    .map(String::from)
                    .to_vec(),
                rows: x
                    .breakdown
                    .iter()
                    .map(|c| {
                        vec![
                            c.class.clone(),
                            c.count.to_string(),
                            human_bytes(c.retained_size),
                        ]
                    })
                    .collect(),
                numeric: vec![false, true, true],
            });
        }
        b.push(Block::Path(path_lines(&x.path)));
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
    b.push(Block::Table {
        head: ["Class", "Count", "Shallow", "Retained", "Retained %"]
            .map(String::from)
            .to_vec(),
        rows: s
            .top_classes
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
        numeric: vec![false, true, true, true, true],
    });
    if !s.detached.trees.is_empty() {
        b.push(Block::Heading(
            3,
            format!("Detached DOM ({} nodes)", s.detached.node_count),
        ));
        b.push(Block::Table {
            head: ["Tree", "Nodes", "Retained"].map(String::from).to_vec(),
            rows: s
                .detached
                .trees
                .iter()
                .take(20)
                .map(|t| {
                    vec![
                        format!("{} @{}", t.root_class, t.root_id),
                        t.node_count.to_string(),
                        human_bytes(t.retained_size),
                    ]
                })
                .collect(),
            numeric: vec![false, true, true],
        });
        if let Some(t) = s.detached.trees.first() {
            b.push(Block::Paragraph(format!(
                "What keeps {} @{} alive:",
                t.root_class, t.root_id
            )));
            b.push(Block::Path(path_lines(&t.retainer_path)));
        }
    }
    if !s.duplicated_strings.is_empty() {
        b.push(Block::Heading(3, "Duplicated strings".into()));
        b.push(Block::Table {
            head: ["Text", "Copies", "Wasted"].map(String::from).to_vec(),
            rows: s
                .duplicated_strings
                .iter()
                .map(|d| {
                    vec![
                        crate::report::one_line(&d.content, 80),
                        d.count.to_string(),
                        human_bytes(d.wasted_size),
                    ]
                })
                .collect(),
            numeric: vec![false, true, true],
        });
    }
    b
}
