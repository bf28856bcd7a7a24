//! The Memory view: where the process's bytes are as the snapshot sees them — JS heap, ArrayBuffer
//! backing stores, WebAssembly linear memory, external and native bytes — as one stacked bar with
//! exact bytes, then the WebAssembly memories and the big buffers by holder. Clicking a memory or
//! a holder selects its node, so the Retainers panel shows what keeps it.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::analysis::memory_map::{MemoryMap, PartKind, DEFAULT_MIN_BUFFER};
use crate::gui::format::{number_cell, size_cell};
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::report::human_bytes;
use crate::store::Document;

/// Memory view state: the map, built in the background on first show.
#[derive(Default)]
pub struct MemoryView {
    task: Option<BackgroundTask<MemoryMap>>,
    map: Option<MemoryMap>,
}

/// One colour per part, the same in light and dark themes.
fn part_colour(kind: PartKind) -> egui::Color32 {
    match kind {
        PartKind::JsHeap => egui::Color32::from_rgb(70, 130, 180),
        PartKind::ArrayBuffers => egui::Color32::from_rgb(230, 150, 50),
        PartKind::WasmMemory => egui::Color32::from_rgb(120, 90, 200),
        PartKind::External => egui::Color32::from_rgb(120, 160, 90),
    }
}

impl MemoryView {
    /// The map shown, once built.
    pub fn map(&self) -> Option<&MemoryMap> {
        self.map.as_ref()
    }

    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        if self.map.is_none() && self.task.is_none() {
            let s = snap.clone();
            self.task = Some(BackgroundTask::spawn(ui.ctx(), move |_| {
                MemoryMap::build(&s.data, DEFAULT_MIN_BUFFER)
            }));
        }
        if let Some(t) = self.task.as_mut() {
            match t.poll() {
                Some(m) => {
                    self.map = Some(m);
                    self.task = None;
                }
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Mapping memory…");
                    });
                    return;
                }
            }
        }
        let Some(map) = &self.map else {
            return;
        };
        ui.label(format!(
            "{} in all ({} bytes)",
            human_bytes(map.total),
            map.total
        ));
        stacked_bar(ui, map);
        ui.separator();
        ui.strong(format!("WebAssembly memories: {}", map.wasm_memories.len()));
        for m in &map.wasm_memories {
            let text = format!(
                "Memory @{}: {} in {} page(s) of 64 KiB; {} view(s)",
                m.id,
                human_bytes(m.bytes),
                m.pages,
                m.views.len()
            );
            if ui
                .selectable_label(selection.node == Some(m.node), text)
                .on_hover_text(format!("{} bytes", m.bytes))
                .clicked()
            {
                selection.node = Some(m.node);
            }
        }
        ui.separator();
        ui.strong(format!(
            "Buffers of {} or more by holder (click one to see what keeps it)",
            human_bytes(map.min_buffer)
        ));
        holders_table(ui, map, selection);
    }
}

/// The parts side by side in one bar, each as wide as its share; exact bytes on hover.
fn stacked_bar(ui: &mut egui::Ui, map: &MemoryMap) {
    let width = ui.available_width().min(900.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 22.0), egui::Sense::hover());
    let mut x = rect.left();
    for p in &map.parts {
        let w = (p.share as f32 * width).max(if p.bytes > 0 { 1.0 } else { 0.0 });
        let part = egui::Rect::from_min_size(egui::pos2(x, rect.top()), egui::vec2(w, 22.0));
        ui.painter().rect_filled(part, 0.0, part_colour(p.kind));
        ui.interact(
            part,
            ui.scope_id().with(("memory part", p.kind.label())),
            egui::Sense::hover(),
        )
        .on_hover_text(format!(
            "{}: {} bytes ({:.2} %), {} node(s)",
            p.kind.label(),
            p.bytes,
            p.share * 100.0,
            p.node_count
        ));
        x += w;
    }
    ui.horizontal_wrapped(|ui| {
        for p in &map.parts {
            // A painted swatch: the default fonts have no square glyph.
            let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, part_colour(p.kind));
            ui.label(format!(
                "{} {} ({:.1} %)",
                p.kind.label(),
                human_bytes(p.bytes),
                p.share * 100.0
            ));
            ui.add_space(8.0);
        }
    });
}

fn holders_table(ui: &mut egui::Ui, map: &MemoryMap, selection: &mut Selection) {
    if map.buffer_holders.is_empty() {
        ui.label("None.");
        return;
    }
    ui.push_id("buffer holders", |ui| {
        TableBuilder::new(ui)
            .striped(true)
            .column(Column::remainder().at_least(220.0).clip(true))
            .columns(Column::auto().at_least(90.0), 2)
            .header(20.0, |mut h| {
                for t in ["Holder", "Buffers", "Bytes"] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, map.buffer_holders.len(), |mut row| {
                    let hold = &map.buffer_holders[row.index()];
                    row.set_selected(selection.node == Some(hold.node));
                    row.col(|ui| {
                        let path = hold
                            .retainer_path
                            .iter()
                            .map(|s| format!("{}.{}", s.node_class, s.edge_name))
                            .collect::<Vec<_>>()
                            .join(" → ");
                        // Where it sits, as a person names it: the last step of its path.
                        let steps = &hold.retainer_path;
                        let place = match steps.len() {
                            0 | 1 => String::new(),
                            n => format!(
                                "  ({}.{})",
                                steps[n - 2].node_class,
                                steps[n - 1].edge_name
                            ),
                        };
                        if ui
                            .selectable_label(
                                selection.node == Some(hold.node),
                                format!("{} @{}{place}", hold.class, hold.id),
                            )
                            .on_hover_text(path)
                            .clicked()
                        {
                            selection.node = Some(hold.node);
                        }
                    });
                    row.col(|ui| number_cell(ui, hold.count.to_string()));
                    row.col(|ui| size_cell(ui, hold.bytes));
                });
            });
    });
}

impl View for MemoryView {
    fn title(&self) -> &'static str {
        "Memory"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
