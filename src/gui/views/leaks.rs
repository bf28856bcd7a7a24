//! The Leaks view: baseline and target picked among the open snapshots, this one as the final;
//! leak clusters → the trace that keeps one alive → the leaked objects.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::pick_snapshot;
use crate::analysis::leaks::LeakReport;
use crate::gui::format::{number_cell, size_cell};
use crate::gui::worker::BackgroundTask;
use crate::gui::{LoadedSnapshot, Selection};
use crate::report::human_bytes;
use crate::report::leak_report::trace_lines;

/// Leaks view state.
#[derive(Default)]
pub struct LeaksView {
    baseline: Option<usize>,
    target: Option<usize>,
    task: Option<BackgroundTask<LeakReport>>,
    report: Option<LeakReport>,
    cluster: usize,
}

impl LeaksView {
    /// Draw: pickers, cluster table, the chosen cluster's trace and objects.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<LoadedSnapshot>,
        others: &[Arc<LoadedSnapshot>],
        selection: &mut Selection,
    ) {
        if others.len() < 2 {
            ui.label(
                "Leak detection needs three snapshots: open a baseline (before the action) and a \
                 target (after it) besides this one, the final (after undoing the action).",
            );
            return;
        }
        if let Some(t) = self.task.as_mut() {
            if let Some(r) = t.poll() {
                self.report = Some(r);
                self.task = None;
                self.cluster = 0;
            }
        }
        ui.horizontal(|ui| {
            pick_snapshot(ui, "Baseline:", &mut self.baseline, others);
            pick_snapshot(ui, "Target:", &mut self.target, others);
            ui.label(format!("Final: {}", snap.title));
            let ready = self.baseline.is_some() && self.target.is_some() && self.task.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Find leaks"))
                .clicked()
            {
                let b = others[self.baseline.unwrap_or(0)].clone();
                let t = others[self.target.unwrap_or(0)].clone();
                let f = snap.clone();
                self.task = Some(BackgroundTask::spawn(ui.ctx(), move |_| {
                    LeakReport::compute(&b.data, &t.data, &f.data)
                }));
            }
            if self.task.is_some() {
                ui.spinner();
            }
        });
        let Some(report) = &self.report else {
            return;
        };
        ui.label(format!(
            "{} leaked objects in {} cluster(s) retain {} ({} objects survived from target to final)",
            report.leaked_count,
            report.clusters.len(),
            human_bytes(report.leaked_retained_size),
            report.surviving_count
        ));
        if report.clusters.is_empty() {
            ui.label("No leaks found.");
            return;
        }
        let mut chosen = self.cluster.min(report.clusters.len() - 1);
        ui.push_id("leak clusters", |ui| {
            TableBuilder::new(ui)
                .striped(true)
                .max_scroll_height(180.0)
                .column(Column::remainder().at_least(200.0).clip(true))
                .columns(Column::auto().at_least(80.0), 2)
                .header(20.0, |mut h| {
                    for t in ["Leaked class", "Count", "Retained"] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, report.clusters.len(), |mut row| {
                        let i = row.index();
                        let c = &report.clusters[i];
                        row.set_selected(i == chosen);
                        row.col(|ui| {
                            if ui.selectable_label(i == chosen, &c.class).clicked() {
                                chosen = i;
                            }
                        });
                        row.col(|ui| number_cell(ui, c.count.to_string()));
                        row.col(|ui| size_cell(ui, c.retained_size));
                    });
                });
        });
        self.cluster = chosen;
        let c = &report.clusters[chosen];
        ui.separator();
        ui.strong(format!(
            "{} × {}: what keeps one of them alive",
            c.count, c.class
        ));
        for (depth, line) in trace_lines(&c.trace).iter().enumerate() {
            ui.monospace(format!("{}{}", "  ".repeat(depth), line));
        }
        ui.separator();
        ui.label(format!(
            "The {} leaked objects (click one to select it):",
            c.nodes.len()
        ));
        let g = snap.data.graph();
        ui.push_id("leaked objects", |ui| {
            TableBuilder::new(ui)
                .striped(true)
                .column(Column::remainder().clip(true))
                .column(Column::auto().at_least(80.0))
                .body(|body| {
                    body.rows(20.0, c.nodes.len(), |mut row| {
                        let n = c.nodes[row.index()];
                        row.set_selected(selection.node == Some(n));
                        row.col(|ui| {
                            if ui
                                .selectable_label(
                                    selection.node == Some(n),
                                    format!("{} @{}", c.class, g.id(n)),
                                )
                                .clicked()
                            {
                                selection.node = Some(n);
                            }
                        });
                        row.col(|ui| size_cell(ui, snap.data.analysis.retained_size(n)));
                    });
                });
        });
    }
}
