//! The Suspects view: leak suspects of one snapshot (large retainers and accumulation points,
//! each explained in words with its path from the root) and duplicated strings.

use std::sync::Arc;

use eframe::egui;

use crate::analysis::strings::{duplicated_strings, DuplicatedString};
use crate::analysis::suspects::{find_suspects, LeakSuspect};
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::report::{human_bytes, one_line};
use crate::store::Document;

type Found = (Vec<LeakSuspect>, Vec<DuplicatedString>);

/// Suspects view state.
#[derive(Default)]
pub struct SuspectsView {
    task: Option<BackgroundTask<Found>>,
    found: Option<Found>,
}

impl SuspectsView {
    /// Draw the suspects (found in the background on first show).
    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        if self.found.is_none() && self.task.is_none() {
            let s = snap.clone();
            self.task = Some(BackgroundTask::spawn(ui.ctx(), move |_| {
                (
                    find_suspects(&s.data, Default::default()),
                    duplicated_strings(&s.data, 50),
                )
            }));
        }
        if let Some(t) = self.task.as_mut() {
            match t.poll() {
                Some(f) => {
                    self.found = Some(f);
                    self.task = None;
                }
                None => {
                    ui.spinner();
                    return;
                }
            }
        }
        let Some((suspects, strings)) = &self.found else {
            return;
        };
        let g = snap.data.graph();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Leak suspects");
            if suspects.is_empty() {
                ui.label("No object retains 10 % of the heap and no collection holds 100 or more objects of one class.");
            }
            for (i, s) in suspects.iter().enumerate() {
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    ui.strong(format!("{}.", i + 1));
                    if ui
                        .selectable_label(selection.node == Some(s.node), format!("{} @{}", s.class, g.id(s.node)))
                        .on_hover_text("Select it (the Retainers panel shows what keeps it alive)")
                        .clicked()
                    {
                        selection.node = Some(s.node);
                    }
                    if !s.held_as.is_empty() {
                        ui.label(egui::RichText::new(s.held_as.join(", ")).italics())
                            .on_hover_text("The named slots that hold it");
                    }
                    ui.label(format!("{} · {:.1} %", human_bytes(s.retained_size), s.share * 100.0));
                });
                ui.label(&s.explanation);
                for c in &s.breakdown {
                    ui.label(
                        egui::RichText::new(format!(
                            "    {} × {}  {}",
                            c.count,
                            c.class,
                            human_bytes(c.retained_size)
                        ))
                        .weak(),
                    );
                }
                let path: Vec<String> = s.path.iter().map(|p| format!("{} {}", p.edge_name, p.node_class)).collect();
                ui.label(egui::RichText::new(format!("path: (root) › {}", path.join(" › "))).small().weak());
            }
            ui.add_space(12.0);
            ui.heading("Duplicated strings");
            if strings.is_empty() {
                ui.label("No text is stored twice.");
            }
            egui::Grid::new("duplicated strings").striped(true).show(ui, |ui| {
                ui.strong("Text");
                ui.strong("Copies");
                ui.strong("Wasted");
                ui.end_row();
                for d in strings {
                    ui.label(one_line(&d.content, 80)).on_hover_text(&d.content);
                    ui.label(d.count.to_string());
                    ui.label(human_bytes(d.wasted_size))
                        .on_hover_text(format!("{} bytes beyond one copy", d.wasted_size));
                    ui.end_row();
                }
            });
        });
    }
}

impl View for SuspectsView {
    fn title(&self) -> &'static str {
        "Suspects"
    }

    fn applies_to(&self, _doc: &Document) -> bool {
        true
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
