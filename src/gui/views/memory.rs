//! The Memory view: where the process's bytes are as the snapshot sees them — JS heap, ArrayBuffer
//! backing stores, WebAssembly linear memory, external and native bytes — as one stacked bar with
//! exact bytes, then the WebAssembly memories, the wasm-bindgen wrappers and the big buffers by
//! holder (with their shapes and pools). Clicking a memory or a holder selects its node, so the
//! Retainers panel shows what keeps it.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::analysis::memory_map::{MemoryMap, PartKind, DEFAULT_MIN_BUFFER};
use crate::gui::format::{number_cell, size_cell};
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::report::human_bytes;
use crate::report::memory::{holder_label, path_line, shapes_line, via_suffix};
use crate::store::Document;

/// Memory view state: the map, built in the background on first show.
#[derive(Default)]
pub struct MemoryView {
    task: Option<BackgroundTask<MemoryMap>>,
    map: Option<MemoryMap>,
    /// How the holders table is sorted.
    sort: HolderSort,
}

/// The holders table's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HolderSort {
    /// Most bytes first (the map's own order).
    #[default]
    Bytes,
    /// Most buffers first.
    Count,
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

    /// How the holders table is sorted.
    pub fn holder_sort(&self) -> HolderSort {
        self.sort
    }

    /// Sort the holders table (as clicking its header does).
    pub fn sort_holders(&mut self, by: HolderSort) {
        self.sort = by;
        if let Some(map) = self.map.as_mut() {
            match by {
                HolderSort::Bytes => map
                    .buffer_holders
                    .sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.count.cmp(&a.count))),
                HolderSort::Count => map
                    .buffer_holders
                    .sort_by(|a, b| b.count.cmp(&a.count).then(b.bytes.cmp(&a.bytes))),
            }
        }
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
            let owner = match (m.instance_id, m.module_name.as_str()) {
                (Some(i), "") => format!(", Instance @{i}"),
                (Some(i), module) => format!(", Instance @{i} of {module}"),
                (None, _) => String::new(),
            };
            let views: Vec<String> = m.views.iter().map(|v| v.class.clone()).collect();
            let text = format!(
                "Memory @{}: {} in {} page(s) of 64 KiB{owner}; views: {}",
                m.id,
                human_bytes(m.bytes),
                m.pages,
                if views.is_empty() {
                    "none".to_string()
                } else {
                    views.join(", ")
                }
            );
            if ui
                .selectable_label(selection.node == Some(m.node), text)
                .on_hover_text(format!(
                    "{} bytes; kept by {}",
                    m.bytes,
                    path_line(&m.instance_path)
                ))
                .clicked()
            {
                selection.node = Some(m.node);
            }
        }
        wrappers(ui, map, selection);
        ui.separator();
        ui.strong(format!(
            "Buffers of {} or more by holder (click one to see what keeps it; click Buffers or \
             Bytes to sort)",
            human_bytes(map.min_buffer)
        ));
        if let Some(by) = holders_table(ui, map, self.sort, selection) {
            self.sort_holders(by);
        }
    }
}

/// The wasm-bindgen wrappers by class: live and freed, and who holds them (click to select).
fn wrappers(ui: &mut egui::Ui, map: &MemoryMap, selection: &mut Selection) {
    let w = &map.wasm_wrappers;
    ui.separator();
    ui.strong(format!(
        "Wrappers into WebAssembly memory: {} in {} class(es)",
        w.total(),
        w.classes.len()
    ));
    if !w.numeric_values && !w.classes.is_empty() {
        ui.weak("No numeric values in this snapshot: freed and live can't be told apart.");
    }
    for c in &w.classes {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} × {} ({}): {} live, {} freed, {} unknown",
                c.class, c.count, c.field, c.live, c.freed, c.unknown
            ));
            for h in &c.holders {
                let via = via_suffix(&h.via);
                if ui
                    .selectable_label(
                        selection.node == Some(h.node),
                        format!("{} held by {} @{}{via}", h.count, h.class, h.id),
                    )
                    .on_hover_text(path_line(&h.retainer_path))
                    .clicked()
                {
                    selection.node = Some(h.node);
                }
            }
        });
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

/// The holders table; returns the order asked for when a sortable header was clicked.
fn holders_table(
    ui: &mut egui::Ui,
    map: &MemoryMap,
    sort: HolderSort,
    selection: &mut Selection,
) -> Option<HolderSort> {
    if map.buffer_holders.is_empty() {
        ui.label("None.");
        return None;
    }
    let mut clicked = None;
    ui.push_id("buffer holders", |ui| {
        TableBuilder::new(ui)
            .striped(true)
            .column(
                Column::initial(420.0)
                    .at_least(220.0)
                    .resizable(true)
                    .clip(true),
            )
            .column(Column::remainder().at_least(200.0).clip(true))
            .columns(Column::auto().at_least(90.0), 2)
            .header(20.0, |mut h| {
                h.col(|ui| {
                    ui.strong("Holder");
                });
                h.col(|ui| {
                    ui.strong("Shapes");
                });
                for (title, by) in [("Buffers", HolderSort::Count), ("Bytes", HolderSort::Bytes)] {
                    h.col(|ui| {
                        // Highlighted when it is the order (the default fonts have no arrows).
                        if ui.selectable_label(sort == by, title).clicked() {
                            clicked = Some(by);
                        }
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
                            .join(" -> ");
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
                                format!("{}{place}", holder_label(hold)),
                            )
                            .on_hover_text(path)
                            .clicked()
                        {
                            selection.node = Some(hold.node);
                        }
                    });
                    row.col(|ui| {
                        ui.label(shapes_line(hold));
                    });
                    row.col(|ui| number_cell(ui, hold.count.to_string()));
                    row.col(|ui| size_cell(ui, hold.bytes));
                });
            });
    });
    clicked
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
