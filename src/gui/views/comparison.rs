//! The Comparison view: this snapshot against a base picked among the open ones, per class
//! (# new, # deleted, sizes), with the new objects of a class one click away.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::{chosen, pick_document, Action, View, ViewContext};
use crate::analysis::diff::SnapshotDiff;
use crate::gui::format::{number_cell, size_cell};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::model::NodeIx;
use crate::report::one_line;
use crate::store::{Document, DocumentId};

/// Comparison view state.
#[derive(Default)]
pub struct ComparisonView {
    base: Option<DocumentId>,
    /// The comparison, and how many of its new objects were allocated after the base was
    /// taken (counted once, in the background: it is a pass over the new objects).
    task: Option<BackgroundTask<(SnapshotDiff, usize)>>,
    diff: Option<SnapshotDiff>,
    allocated_after_base: usize,
    class: Option<String>,
    objects: Vec<NodeIx>,
    only_between: bool,
}

impl ComparisonView {
    /// The base snapshot picked (or pre-selected).
    pub fn base(&self) -> Option<DocumentId> {
        self.base
    }

    /// The comparison shown, once computed.
    pub fn diff(&self) -> Option<&SnapshotDiff> {
        self.diff.as_ref()
    }

    /// Draw: base picker, class table, new objects of the chosen class.
    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        others: &[Arc<Document>],
        selection: &mut Selection,
    ) {
        if others.is_empty() {
            ui.label("Open a second snapshot (an earlier one) to compare this one with it.");
            return;
        }
        if let Some(t) = self.task.as_mut() {
            if let Some((d, allocated)) = t.poll() {
                self.diff = Some(d);
                self.allocated_after_base = allocated;
                self.task = None;
                self.class = None;
                self.objects.clear();
            }
        }
        // As DevTools does: compared with the snapshot taken just before this one, unless the
        // user picks another.
        let mut changed = false;
        if self.base.is_none() && self.task.is_none() && self.diff.is_none() {
            self.base = snap.earlier(others).first().map(|d| d.id);
            changed = self.base.is_some();
        }
        ui.horizontal(|ui| {
            if pick_document(ui, "Base:", &mut self.base, others) || changed {
                if let Some(b) = chosen(others, self.base) {
                    let (b, t) = (b.clone(), snap.clone());
                    self.task = Some(BackgroundTask::spawn(ui.ctx(), move |_| {
                        let d = SnapshotDiff::compute(&b.data, &t.data);
                        let allocated = d.allocated_between(&t.data).len();
                        (d, allocated)
                    }));
                }
            }
            ui.label(format!("compared with this snapshot, {}", snap.title));
            if self.task.is_some() {
                ui.spinner();
            }
        });
        let Some(diff) = &self.diff else {
            if self.task.is_none() {
                ui.label(
                    egui::RichText::new("Pick the base snapshot (taken before this one).").weak(),
                );
            }
            return;
        };
        // Ids that are not kept say nothing about when an object was allocated either.
        ui.label(if diff.ids_kept {
            format!(
                "{}; {} allocated after the base was taken",
                crate::report::diff::snapshot_headline(diff),
                self.allocated_after_base
            )
        } else {
            crate::report::diff::snapshot_headline(diff)
        });
        if !diff.ids_kept {
            let base = chosen(others, self.base).map_or("the base", |b| b.title.as_str());
            ui.colored_label(
                ui.visuals().warn_fg_color,
                crate::analysis::diff::ids_not_kept_message(&[base, &snap.title]),
            );
        }
        let mut clicked: Option<String> = None;
        let height = ui.available_height();
        ui.push_id("comparison table", |ui| {
            TableBuilder::new(ui)
                .striped(true)
                .max_scroll_height(height * 0.55)
                .column(Column::remainder().at_least(200.0).clip(true))
                .columns(Column::auto().at_least(70.0), 6)
                .header(20.0, |mut h| {
                    for t in
                        std::iter::once("Constructor").chain(crate::report::diff::COUNT_COLUMNS)
                    {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, diff.classes.len(), |mut row| {
                        let r = &diff.classes[row.index()];
                        row.set_selected(self.class.as_deref() == Some(r.name.as_str()));
                        row.col(|ui| {
                            if ui.selectable_label(false, one_line(&r.name, 80)).clicked() {
                                clicked = Some(r.name.clone());
                            }
                        });
                        row.col(|ui| number_cell(ui, r.new_count.to_string()));
                        row.col(|ui| number_cell(ui, r.deleted_count.to_string()));
                        row.col(|ui| number_cell(ui, format!("{:+}", r.delta_count)));
                        row.col(|ui| size_cell(ui, r.alloc_size));
                        row.col(|ui| size_cell(ui, r.freed_size));
                        row.col(|ui| number_cell(ui, crate::report::signed_bytes(r.size_delta)));
                    });
                });
        });
        if let Some(name) = clicked {
            self.objects = diff.new_objects_of(&snap.data, &name);
            if self.only_between {
                let max = diff.base_max_id;
                self.objects.retain(|&n| snap.data.graph().id(n) > max);
            }
            self.class = Some(name);
        }
        ui.separator();
        ui.horizontal(|ui| {
            match &self.class {
                Some(c) => ui.strong(format!("New {c} objects ({})", self.objects.len())),
                None => {
                    ui.label(egui::RichText::new("Click a class to list its new objects.").weak())
                }
            };
            ui.checkbox(
                &mut self.only_between,
                "only allocated between the two snapshots",
            );
        });
        let g = snap.data.graph();
        ui.push_id("comparison objects", |ui| {
            TableBuilder::new(ui)
                .striped(true)
                .column(Column::remainder().clip(true))
                .columns(Column::auto().at_least(80.0), 2)
                .body(|body| {
                    body.rows(20.0, self.objects.len(), |mut row| {
                        let n = self.objects[row.index()];
                        row.set_selected(selection.node == Some(n));
                        row.col(|ui| {
                            let text = format!("{} @{}", one_line(g.name(n), 60), g.id(n));
                            if ui
                                .selectable_label(selection.node == Some(n), text)
                                .clicked()
                            {
                                selection.node = Some(n);
                            }
                        });
                        row.col(|ui| size_cell(ui, snap.data.analysis.shallow_size(n)));
                        row.col(|ui| size_cell(ui, snap.data.analysis.retained_size(n)));
                    });
                });
        });
    }
}

impl View for ComparisonView {
    fn title(&self) -> &'static str {
        "Comparison"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.others, cx.selection);
        None
    }
}
