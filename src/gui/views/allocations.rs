//! The Allocations view for DHAT, heaptrack and pprof files: totals, memory over time with the
//! peak marked, a flame graph for any metric, and site tables (all sites sortable by any metric,
//! leaked at exit, temporary allocations, DHAT's access metrics), plus a diff with another open
//! profile by call stack.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::flamegraph::{flamegraph_ui, FlameState, FlameTree};
use crate::analysis::alloc::{diff_profiles, sites, SiteDiff, SiteRow};
use crate::gui::format::{number_cell, size_cell};
use crate::gui::{LoadedSnapshot, Selection};
use crate::model::alloc::{AllocMetrics, AllocProfile, Metric};
use crate::report::human_bytes;

/// Which part of the view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Part {
    #[default]
    FlameGraph,
    Sites,
    Leaked,
    Temporary,
    Access,
    Timeline,
    Diff,
}

/// Allocations view state.
#[derive(Default)]
pub struct AllocationsView {
    part: Part,
    metric: Metric,
    flame: Option<FlameTree>,
    flame_state: FlameState,
    rows: Option<Vec<SiteRow>>,
    sort: usize,
    other: Option<usize>,
    diff: Option<Vec<SiteDiff>>,
}

const COLUMNS: [&str; 7] = [
    "At peak",
    "Leaked",
    "Allocated",
    "Allocations",
    "Temporary",
    "Read/byte",
    "Written/byte",
];

fn column_value(m: &AllocMetrics, c: usize) -> u64 {
    match c {
        0 => m.peak_bytes,
        1 => m.end_bytes,
        2 => m.total_bytes,
        3 => m.total_blocks,
        4 => m.temporary_blocks,
        5 => per_byte(m.read_bytes, m.total_bytes),
        _ => per_byte(m.written_bytes, m.total_bytes),
    }
}

/// Accesses per allocated byte, ×100 (for sorting; shown as a ratio).
fn per_byte(n: u64, bytes: u64) -> u64 {
    (n as u128 * 100 / bytes.max(1) as u128) as u64
}

impl AllocationsView {
    /// Draw the view (only for allocation profiles).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<LoadedSnapshot>,
        others: &[Arc<LoadedSnapshot>],
        _selection: &mut Selection,
    ) {
        let Some(p) = snap.data.snapshot.alloc.as_deref() else {
            ui.label("This file is a heap snapshot, not an allocation profile.");
            return;
        };
        totals(ui, p);
        ui.horizontal_wrapped(|ui| {
            for (part, label) in [
                (Part::FlameGraph, "Flame graph"),
                (Part::Sites, "All sites"),
                (Part::Leaked, "Leaked at exit"),
                (Part::Temporary, "Temporary allocations"),
                (Part::Access, "Access (DHAT)"),
                (Part::Timeline, "Memory over time"),
                (Part::Diff, "Diff"),
            ] {
                ui.selectable_value(&mut self.part, part, label);
            }
        });
        ui.separator();
        let rows = self.rows.get_or_insert_with(|| sites(p));
        match self.part {
            Part::FlameGraph => {
                ui.horizontal(|ui| {
                    ui.label("Metric:");
                    for m in Metric::ALL {
                        ui.selectable_value(&mut self.metric, m, m.label());
                    }
                });
                if self.flame.as_ref().is_none_or(|f| f.metric != self.metric) {
                    self.flame = Some(FlameTree::build(p, self.metric));
                    self.flame_state.zoom = 0;
                }
                if let Some(tree) = &self.flame {
                    flamegraph_ui(ui, p, tree, &mut self.flame_state);
                }
            }
            Part::Sites => site_table(ui, "all sites", rows, &mut self.sort, |_| true),
            Part::Leaked => {
                self.sort = 1;
                site_table(ui, "leaked", rows, &mut self.sort, |m| m.end_bytes > 0)
            }
            Part::Temporary => {
                if p.totals.temporary_blocks == 0 {
                    ui.label(
                        "This producer does not record temporary allocations (heaptrack does).",
                    );
                }
                self.sort = 4;
                site_table(ui, "temporary", rows, &mut self.sort, |m| {
                    m.temporary_blocks > 0
                })
            }
            Part::Access => {
                if !p.has_access_counts {
                    ui.label(
                        "Access counts come from `valgrind --tool=dhat` (dhat-rs doesn't record them).",
                    );
                } else {
                    ui.label(
                        "Bytes read and written per allocated byte: 0 read means never read \
                         (wasted work), 0 written means never written (wasted memory).",
                    );
                    site_table(ui, "access", rows, &mut self.sort, |_| true);
                }
            }
            Part::Timeline => timeline(ui, p),
            Part::Diff => self.diff_ui(ui, p, others),
        }
    }

    fn diff_ui(&mut self, ui: &mut egui::Ui, p: &AllocProfile, others: &[Arc<LoadedSnapshot>]) {
        let profiles: Vec<(usize, &Arc<LoadedSnapshot>)> = others
            .iter()
            .enumerate()
            .filter(|(_, o)| o.data.snapshot.alloc.is_some())
            .collect();
        if profiles.is_empty() {
            ui.label("Open another allocation profile (an earlier run) to compare with.");
            return;
        }
        ui.horizontal(|ui| {
            ui.label("Earlier run:");
            for (i, o) in &profiles {
                if ui
                    .selectable_label(self.other == Some(*i), &o.title)
                    .clicked()
                {
                    self.other = Some(*i);
                    if let Some(before) = o.data.snapshot.alloc.as_deref() {
                        self.diff = Some(diff_profiles(before, p));
                    }
                }
            }
        });
        let Some(d) = &self.diff else {
            return;
        };
        TableBuilder::new(ui)
            .striped(true)
            .column(Column::auto().at_least(60.0))
            .column(Column::remainder().clip(true))
            .columns(Column::auto().at_least(90.0), 4)
            .header(20.0, |mut h| {
                for t in [
                    "Change",
                    "Allocating function",
                    "Peak before",
                    "Peak after",
                    "Allocated before",
                    "Allocated after",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, d.len(), |mut row| {
                    let s = &d[row.index()];
                    row.col(|ui| {
                        ui.label(format!("{:?}", s.change).to_lowercase());
                    });
                    row.col(|ui| {
                        ui.label(s.stack.last().map(String::as_str).unwrap_or("(no stack)"))
                            .on_hover_text(s.stack.join("\n"));
                    });
                    row.col(|ui| size_cell(ui, s.before.peak_bytes));
                    row.col(|ui| size_cell(ui, s.after.peak_bytes));
                    row.col(|ui| size_cell(ui, s.before.total_bytes));
                    row.col(|ui| size_cell(ui, s.after.total_bytes));
                });
            });
    }
}

fn totals(ui: &mut egui::Ui, p: &AllocProfile) {
    let t = &p.totals;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("{} ({})", p.producer, p.format));
        ui.separator();
        ui.label(format!(
            "allocated {} in {} blocks",
            human_bytes(t.total_bytes),
            t.total_blocks
        ));
        ui.separator();
        ui.label(format!(
            "at peak {} in {} blocks",
            human_bytes(t.peak_bytes),
            t.peak_blocks
        ));
        ui.separator();
        ui.label(format!(
            "leaked {} in {} blocks",
            human_bytes(t.end_bytes),
            t.end_blocks
        ));
        if t.temporary_blocks > 0 {
            ui.separator();
            ui.label(format!("{} temporary", t.temporary_blocks));
        }
    });
}

fn site_table(
    ui: &mut egui::Ui,
    id: &str,
    rows: &[SiteRow],
    sort: &mut usize,
    keep: impl Fn(&AllocMetrics) -> bool,
) {
    let mut shown: Vec<&SiteRow> = rows.iter().filter(|r| keep(&r.metrics)).collect();
    let col = (*sort).min(COLUMNS.len() - 1);
    shown.sort_by_key(|r| std::cmp::Reverse(column_value(&r.metrics, col)));
    ui.label(format!(
        "{} sites; click a column to sort by it, hover a function for its stack",
        shown.len()
    ));
    ui.push_id(id, |ui| {
        TableBuilder::new(ui)
            .striped(true)
            .column(Column::remainder().at_least(220.0).clip(true))
            .columns(Column::auto().at_least(80.0), COLUMNS.len())
            .header(20.0, |mut h| {
                h.col(|ui| {
                    ui.strong("Allocating function");
                });
                for (i, t) in COLUMNS.iter().enumerate() {
                    h.col(|ui| {
                        if ui.selectable_label(col == i, *t).clicked() {
                            *sort = i;
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, shown.len(), |mut row| {
                    let r = shown[row.index()];
                    let m = &r.metrics;
                    row.col(|ui| {
                        ui.label(format!("{} {}", r.function, r.location))
                            .on_hover_text(r.stack.join("\n"));
                    });
                    row.col(|ui| size_cell(ui, m.peak_bytes));
                    row.col(|ui| size_cell(ui, m.end_bytes));
                    row.col(|ui| size_cell(ui, m.total_bytes));
                    row.col(|ui| number_cell(ui, m.total_blocks.to_string()));
                    row.col(|ui| number_cell(ui, m.temporary_blocks.to_string()));
                    row.col(|ui| {
                        number_cell(ui, format!("{:.2}", column_value(m, 5) as f64 / 100.0))
                    });
                    row.col(|ui| {
                        number_cell(ui, format!("{:.2}", column_value(m, 6) as f64 / 100.0))
                    });
                });
            });
    });
}

fn timeline(ui: &mut egui::Ui, p: &AllocProfile) {
    use egui_plot::{Line, Plot, PlotPoints, Points, VLine};
    if p.timeline.is_empty() {
        ui.label(match (p.peak_time, p.end_time) {
            (Some(g), Some(e)) => format!(
                "This producer records no curve, only marks: the peak (t-gmax) at {g} {} and the end (t-end) at {e} {}.",
                p.time_unit, p.time_unit
            ),
            _ => "This producer records no memory-over-time data.".to_string(),
        });
        return;
    }
    let points: Vec<[f64; 2]> = p
        .timeline
        .iter()
        .map(|t| [t.time as f64, t.bytes as f64])
        .collect();
    let peak = p.timeline.iter().max_by_key(|t| t.bytes).copied();
    ui.label(format!(
        "Live heap over time ({}); peak {}",
        p.time_unit,
        peak.map(|t| human_bytes(t.bytes)).unwrap_or_default()
    ));
    Plot::new("memory over time")
        .height(ui.available_height().max(200.0))
        .y_axis_label("bytes")
        .x_axis_label(p.time_unit.clone())
        .show(ui, |plot| {
            plot.line(Line::new("live bytes", PlotPoints::from(points)));
            if let Some(t) = peak {
                plot.vline(VLine::new("peak", t.time as f64));
                plot.points(
                    Points::new("peak point", vec![[t.time as f64, t.bytes as f64]]).radius(4.0),
                );
            }
        });
}
