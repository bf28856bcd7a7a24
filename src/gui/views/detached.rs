//! The Detached DOM view: detached DOM trees, alike ones in one row, with their size and the JS
//! path that keeps each one alive.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::analysis::detached::{DetachedDom, TreeGroup};
use crate::gui::format::{number_cell, size_cell};
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::store::Document;

/// Detached view state.
#[derive(Default)]
pub struct DetachedView {
    task: Option<BackgroundTask<(DetachedDom, Vec<TreeGroup>)>>,
    result: Option<(DetachedDom, Vec<TreeGroup>)>,
    chosen: usize,
}

impl DetachedView {
    /// Draw the trees (computed in the background on first show).
    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        if self.result.is_none() && self.task.is_none() {
            let s = snap.clone();
            self.task = Some(BackgroundTask::spawn(ui.ctx(), move |_| {
                let d = DetachedDom::compute(&s.data);
                let groups = d.groups();
                (d, groups)
            }));
        }
        if let Some(t) = self.task.as_mut() {
            match t.poll() {
                Some(r) => {
                    self.result = Some(r);
                    self.task = None;
                }
                None => {
                    ui.spinner();
                    return;
                }
            }
        }
        let Some((d, groups)) = &self.result else {
            return;
        };
        ui.label(crate::report::text::detached_headline(d));
        if groups.is_empty() {
            return;
        }
        let mut chosen = self.chosen.min(groups.len() - 1);
        ui.push_id("detached trees", |ui| {
            let height = ui.available_height() * 0.6;
            TableBuilder::new(ui)
                .striped(true)
                .max_scroll_height(height)
                .column(Column::remainder().at_least(200.0).clip(true))
                .columns(Column::auto().at_least(80.0), 2)
                .header(20.0, |mut h| {
                    for t in [
                        "Tree (its topmost node; alike trees together)",
                        "Nodes",
                        "Retained",
                    ] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, groups.len(), |mut row| {
                        let i = row.index();
                        let t = &groups[i].total;
                        row.set_selected(i == chosen);
                        row.col(|ui| {
                            let title = crate::report::text::detached_group_title(&groups[i]);
                            if ui.selectable_label(i == chosen, title).clicked() {
                                chosen = i;
                                selection.node = Some(t.root);
                            }
                        });
                        row.col(|ui| number_cell(ui, t.node_count.to_string()));
                        row.col(|ui| size_cell(ui, t.retained_size));
                    });
                });
        });
        self.chosen = chosen;
        let t = &groups[chosen].total;
        ui.separator();
        ui.label(crate::report::text::detached_members(t));
        if !t.held_through.is_empty() {
            ui.label(format!(
                "Held through {}",
                crate::report::text::detached_holders(t)
            ));
        }
        ui.strong("What keeps it alive, from the GC roots:");
        ui.monospace("(root)");
        for (i, s) in t.retainer_path.iter().enumerate() {
            if let Some(gap) = s.gap() {
                ui.monospace(format!("{}{gap}", "  ".repeat(i + 1)));
            }
            ui.monospace(format!(
                "{}--{} {}--> {} @{}",
                "  ".repeat(i + 1),
                s.edge_type,
                s.edge_name,
                s.node_class,
                s.node_id
            ));
        }
    }
}

impl View for DetachedView {
    fn title(&self) -> &'static str {
        "Detached DOM"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
