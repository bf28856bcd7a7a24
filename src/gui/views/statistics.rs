//! The Statistics view: where the heap's bytes are, by kind (DevTools' categories), as a
//! stacked bar with a totals table for its legend, and the classes retaining the most.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::analysis::Statistics;
use crate::gui::format;
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::Selection;
use crate::store::Document;

/// How many classes the "largest classes" table lists.
const TOP_CLASSES: usize = 15;

/// One slice of the heap.
struct Category {
    name: &'static str,
    what: &'static str,
    bytes: u64,
    color: egui::Color32,
}

/// The categories, which add up to the total: typed arrays are taken out of native memory so
/// no byte is shown twice. Colours: the Okabe–Ito palette, readable by colour-blind people
/// and on light and dark backgrounds.
fn categories(s: &Statistics) -> [Category; 7] {
    let rgb = egui::Color32::from_rgb;
    [
        Category {
            name: "Code",
            what: "Compiled code and its metadata",
            bytes: s.code,
            color: rgb(230, 159, 0),
        },
        Category {
            name: "Strings",
            what: "Strings of every representation",
            bytes: s.strings,
            color: rgb(86, 180, 233),
        },
        Category {
            name: "JS arrays",
            what: "JavaScript arrays with the element stores only they hold",
            bytes: s.js_arrays,
            color: rgb(0, 158, 115),
        },
        Category {
            name: "Typed arrays",
            what: "Backing stores of ArrayBuffers and typed arrays",
            bytes: s.typed_arrays,
            color: rgb(240, 228, 66),
        },
        Category {
            name: "System objects",
            what: "V8-internal (hidden) objects",
            bytes: s.system,
            color: rgb(0, 114, 178),
        },
        Category {
            name: "Other JS objects",
            what: "The rest of the JavaScript heap",
            bytes: s.other,
            color: rgb(204, 121, 167),
        },
        Category {
            name: "Other native",
            what: "Native (embedder) memory other than typed arrays",
            bytes: s.native.saturating_sub(s.typed_arrays),
            color: rgb(213, 94, 0),
        },
    ]
}

/// View state (none yet: everything shown is read from the snapshot).
#[derive(Default)]
pub struct StatisticsView {}

impl StatisticsView {
    /// Draw the view.
    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        let _ = selection;
        let stats = snap.statistics();
        let cats = categories(stats);
        egui::ScrollArea::vertical()
            .id_salt("statistics")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.heading(format::human_bytes(stats.total))
                        .on_hover_text(format!("{} bytes", format::group_digits(stats.total)));
                    ui.label(
                        egui::RichText::new(
                            "in all (the root's retained size plus external native memory)",
                        )
                        .weak(),
                    );
                });
                ui.add_space(ui.spacing().item_spacing.y);
                stacked_bar(ui, &cats, stats.total);
                ui.add_space(ui.spacing().item_spacing.y * 2.0);
                let classes = |ui: &mut egui::Ui| {
                    ui.strong("Largest classes by retained size");
                    ui.push_id("top classes", |ui| top_classes(ui, snap));
                };
                // Side by side when there is room; the class list is the wider one.
                if ui.available_width() >= 1000.0 {
                    ui.horizontal_top(|ui| {
                        ui.vertical(|ui| {
                            ui.set_width(420.0);
                            ui.push_id("categories", |ui| totals_table(ui, &cats, stats.total));
                        });
                        ui.add_space(ui.spacing().item_spacing.x * 4.0);
                        ui.vertical(classes);
                    });
                } else {
                    ui.push_id("categories", |ui| totals_table(ui, &cats, stats.total));
                    ui.add_space(ui.spacing().item_spacing.y * 4.0);
                    classes(ui);
                }
            });
    }
}

/// The categories side by side in one bar as wide as the view; hover a slice for its size.
fn stacked_bar(ui: &mut egui::Ui, cats: &[Category], total: u64) {
    let height = ui.spacing().interact_size.y * 1.5;
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
    if total == 0 {
        return;
    }
    let mut x = rect.left();
    for (i, c) in cats.iter().enumerate() {
        if c.bytes == 0 {
            continue;
        }
        let w = rect.width() * (c.bytes as f64 / total as f64) as f32;
        let slice = egui::Rect::from_min_max(
            egui::pos2(x, rect.top()),
            egui::pos2((x + w).min(rect.right()), rect.bottom()),
        );
        x += w;
        painter.rect_filled(slice, 0.0, c.color);
        ui.interact(
            slice,
            ui.scope_id().with(("slice", i)),
            egui::Sense::hover(),
        )
        .on_hover_text(format!(
            "{}: {} ({} bytes, {})",
            c.name,
            format::human_bytes(c.bytes),
            format::group_digits(c.bytes),
            format::percent(c.bytes, total)
        ));
    }
    // Rounded ends over the square slices.
    painter.rect_stroke(
        rect,
        4.0,
        egui::Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color),
        egui::StrokeKind::Inside,
    );
}

/// Colour swatch, category, size, share: the bar's legend and its numbers.
fn totals_table(ui: &mut egui::Ui, cats: &[Category], total: u64) {
    let row_h = ui.spacing().interact_size.y;
    TableBuilder::new(ui)
        .id_salt("statistics totals")
        .striped(true)
        .vscroll(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(row_h))
        .column(Column::initial(180.0).at_least(120.0).clip(true))
        .column(Column::initial(100.0).at_least(70.0))
        .column(Column::initial(70.0).at_least(50.0))
        .header(row_h, |mut header| {
            header.col(|_| {});
            header.col(|ui| {
                ui.strong("Category");
            });
            header.col(|ui| format::number_cell(ui, egui::RichText::new("Size").strong()));
            header.col(|ui| format::number_cell(ui, egui::RichText::new("%").strong()));
        })
        .body(|mut body| {
            for c in cats {
                body.row(row_h, |mut row| {
                    row.col(|ui| swatch(ui, c.color));
                    row.col(|ui| {
                        ui.label(c.name).on_hover_text(c.what);
                    });
                    row.col(|ui| format::size_cell(ui, c.bytes));
                    row.col(|ui| {
                        format::number_cell(
                            ui,
                            egui::RichText::new(format::percent(c.bytes, total)).weak(),
                        )
                    });
                });
            }
            body.row(row_h, |mut row| {
                row.col(|_| {});
                row.col(|ui| {
                    ui.strong("Total");
                });
                row.col(|ui| {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        ui.strong(format::human_bytes(total))
                            .on_hover_text(format!("{} bytes", format::group_digits(total)));
                    });
                });
                row.col(|ui| format::number_cell(ui, egui::RichText::new("100 %").weak()));
            });
        });
}

fn swatch(ui: &mut egui::Ui, color: egui::Color32) {
    let side = ui.spacing().interact_size.y * 0.6;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

/// The first rows of the class summary (already sorted by retained size).
fn top_classes(ui: &mut egui::Ui, snap: &Document) {
    let total = snap.summary().total_size;
    let row_h = ui.spacing().interact_size.y;
    TableBuilder::new(ui)
        .id_salt("statistics top classes")
        .striped(true)
        .vscroll(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(260.0).at_least(120.0).clip(true))
        .column(Column::initial(80.0).at_least(50.0))
        .column(Column::initial(100.0).at_least(70.0))
        .column(Column::initial(110.0).at_least(60.0))
        .column(Column::initial(70.0).at_least(50.0))
        .header(row_h, |mut header| {
            header.col(|ui| {
                ui.strong("Constructor");
            });
            for title in ["Count", "Retained", "Retained %", "Distance"] {
                header.col(|ui| format::number_cell(ui, egui::RichText::new(title).strong()));
            }
        })
        .body(|mut body| {
            for r in snap.summary().classes.iter().take(TOP_CLASSES) {
                body.row(row_h, |mut row| {
                    row.col(|ui| {
                        ui.label(&r.name);
                    });
                    row.col(|ui| format::number_cell(ui, format::group_digits(r.count)));
                    row.col(|ui| format::size_cell(ui, r.retained_size));
                    row.col(|ui| {
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            // A fixed width, so the bars line up whatever the digits.
                            ui.add_sized(
                                [46.0, ui.available_height()],
                                egui::Label::new(
                                    egui::RichText::new(format::percent(r.retained_size, total))
                                        .weak(),
                                ),
                            );
                            let fraction = if total == 0 {
                                0.0
                            } else {
                                (r.retained_size as f64 / total as f64) as f32
                            };
                            format::share_bar(ui, fraction, 40.0);
                        });
                    });
                    row.col(|ui| format::distance_cell(ui, r.distance));
                });
            }
        });
    if snap.summary().classes.is_empty() {
        ui.label(egui::RichText::new("No classes.").weak());
    }
}

impl View for StatisticsView {
    fn title(&self) -> &'static str {
        "Statistics"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
