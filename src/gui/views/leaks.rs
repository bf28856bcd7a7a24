//! The Leaks view: baseline and target picked among the open snapshots, this one as the final;
//! leak clusters → the trace that keeps one alive → the leaked objects.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::{chosen, pick_document, Action, View, ViewContext};
use crate::analysis::leaks::LeakReport;
use crate::gui::format::{number_cell, size_cell, without_arrows};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::report::leaks::{
    chain_line, grown_text, named_holder, one_time_text, replaced_text, trace_lines,
    wasm_growth_text,
};
use crate::store::{Document, DocumentId};

/// Leaks view state.
#[derive(Default)]
pub struct LeaksView {
    baseline: Option<DocumentId>,
    target: Option<DocumentId>,
    task: Option<BackgroundTask<LeakReport>>,
    report: Option<LeakReport>,
    cluster: usize,
}

impl LeaksView {
    /// Pick the baseline and target documents, as the two combo boxes do.
    pub fn pick(&mut self, baseline: Option<DocumentId>, target: Option<DocumentId>) {
        self.baseline = baseline;
        self.target = target;
    }

    /// The baseline and target picked (or pre-selected).
    pub fn picks(&self) -> (Option<DocumentId>, Option<DocumentId>) {
        (self.baseline, self.target)
    }

    /// The last leak search's result.
    pub fn report(&self) -> Option<&LeakReport> {
        self.report.as_ref()
    }

    /// Draw: pickers, cluster table, the chosen cluster's trace and objects.
    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        others: &[Arc<Document>],
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
        // Pre-selected by the order the snapshots were taken: the two just before this one.
        if self.baseline.is_none() && self.target.is_none() {
            if let [target, baseline, ..] = snap.earlier(others)[..] {
                (self.baseline, self.target) = (Some(baseline.id), Some(target.id));
            }
        }
        ui.horizontal(|ui| {
            pick_document(ui, "Baseline:", &mut self.baseline, others);
            pick_document(ui, "Target:", &mut self.target, others);
            ui.label(format!("Final: {}", snap.title));
            let picked = chosen(others, self.baseline).zip(chosen(others, self.target));
            let ready = picked.is_some() && self.task.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Find leaks"))
                .clicked()
            {
                let Some((b, t)) = picked else { return };
                let (b, t, f) = (b.clone(), t.clone(), snap.clone());
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
        if !report.ids_kept {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                crate::report::leaks::headline(report),
            );
            return;
        }
        ui.label(crate::report::leaks::headline(report));
        not_counted(
            ui,
            "One-time allocations",
            (report.one_time_allocations.len(), "group(s)"),
            || one_time_text(report),
        );
        not_counted(
            ui,
            "Replaced values",
            (report.replaced_values.len(), "group(s)"),
            || replaced_text(report),
        );
        not_counted(
            ui,
            "WebAssembly memory that grew",
            (report.wasm_growth.len(), "memory(ies)"),
            || without_arrows(&wasm_growth_text(report)),
        );
        not_counted(
            ui,
            "Grew without new objects",
            (report.grown_holders.len(), "object(s)"),
            || without_arrows(&grown_text(report)),
        );
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
                .columns(Column::auto().at_least(80.0), 3)
                .header(20.0, |mut h| {
                    for t in ["Leaked class", "Count", "Retained", "Reached"] {
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
                        // What the new objects reached only past them hold besides.
                        row.col(|ui| size_cell(ui, c.reached_size));
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
        if let Some(holder) = named_holder(c) {
            ui.label(egui::RichText::new(format!("held by {holder}")).italics());
        }
        if let Some(chain) = chain_line(c) {
            ui.label(egui::RichText::new(chain).italics());
        }
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

impl View for LeaksView {
    fn title(&self) -> &'static str {
        "Leaks"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.others, cx.selection);
        None
    }
}

/// A collapsed section for `count` things (`unit`) found but not counted; its text is made only
/// while the section is open.
fn not_counted(
    ui: &mut egui::Ui,
    what: &str,
    (count, unit): (usize, &str),
    text: impl FnOnce() -> String,
) {
    if count == 0 {
        return;
    }
    ui.collapsing(format!("{what} (not counted): {count} {unit}"), |ui| {
        ui.label(egui::RichText::new(text().trim()).weak());
    });
}
