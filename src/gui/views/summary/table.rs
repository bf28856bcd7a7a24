//! Drawing the Summary view: the filter bar and the class table with its cells.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::rows::{Action, Row};
use super::{Sort, SortColumn, SummaryView, MAX_INSTANCES};
use crate::gui::format;
use crate::store::Document;

/// Indentation of instance rows under their class, in points.
const INSTANCE_INDENT: f32 = 28.0;

impl SummaryView {
    pub(super) fn toolbar(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>) {
        ui.horizontal(|ui| {
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("Filter classes")
                    .desired_width(240.0),
            );
            if edit.changed() {
                self.shown_valid = false;
            }
            // Down from the filter goes on into the table.
            if edit.has_focus() && ui.input(|i| i.key_pressed(egui::Key::ArrowDown)) {
                edit.surrender_focus();
            }
            if !self.filter.is_empty()
                && ui
                    .small_button("Clear")
                    .on_hover_text("Show every class")
                    .clicked()
            {
                self.filter.clear();
                self.shown_valid = false;
            }
            // The count must match the table drawn below in this same frame.
            self.refresh(ui.ctx(), snap);
            let all = self.classes(snap).len() as u64;
            let count = if self.filter.trim().is_empty() {
                format!("{} classes", format::group_digits(all))
            } else {
                format!(
                    "{} of {} classes",
                    format::group_digits(self.shown.len() as u64),
                    format::group_digits(all)
                )
            };
            ui.label(egui::RichText::new(count).weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(
                    egui::RichText::new("Click a class to list its instances; arrow keys move, Esc leaves the filter")
                        .weak(),
                );
            });
        });
        if self.shown.is_empty() && !self.filter.trim().is_empty() {
            ui.label(
                egui::RichText::new(format!(
                    "No class name contains \"{}\".",
                    self.filter.trim()
                ))
                .weak(),
            );
        }
    }

    /// Draw the table; returns what was clicked.
    pub(super) fn table(&mut self, ui: &mut egui::Ui, snap: &Document) -> Option<Action> {
        let row_h = row_height(ui);
        let mut action = None;
        let total = snap.summary().total_size;
        let filtered = self.filtered.clone();
        let classes = &filtered.as_deref().unwrap_or(snap.summary()).classes;
        let g = snap.data.graph();
        let a = &snap.data.analysis;
        let rows = &self.rows;
        let expanded = &self.expanded;
        let tasks = &self.tasks;
        let cursor = self.cursor;
        let sort = self.sort;

        ui.scope(|ui| {
            // Labels must not take the clicks meant for the rows.
            ui.style_mut().interaction.selectable_labels = false;
            let mut table = TableBuilder::new(ui)
                .id_salt("summary classes")
                .striped(true)
                .resizable(true)
                .sense(egui::Sense::CLICK)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .min_scrolled_height(0.0)
                .max_scroll_height(f32::INFINITY)
                .column(
                    Column::remainder()
                        .at_least(180.0)
                        .clip(true)
                        .resizable(false),
                )
                .column(Column::initial(80.0).at_least(48.0).clip(true))
                .column(Column::initial(90.0).at_least(56.0).clip(true))
                .column(Column::initial(84.0).at_least(48.0).clip(true))
                .column(Column::initial(90.0).at_least(56.0).clip(true))
                .column(Column::initial(120.0).at_least(48.0).clip(true))
                .column(Column::initial(84.0).at_least(48.0).clip(true));
            if let Some((i, align)) = self.scroll_to.take() {
                table = table.scroll_to_row(i, align);
            }
            table
                .header(row_h + 4.0, |mut header| {
                    for (column, title, tip) in HEADERS {
                        let (_, cell) = header.col(|ui| {
                            if header_button(ui, sort, column, title, tip) {
                                action = Some(Action::Sort(column));
                            }
                        });
                        if cell.clicked() {
                            action = Some(Action::Sort(column));
                        }
                    }
                })
                .body(|body| {
                    body.rows(row_h, rows.len(), |mut row| {
                        let line = rows[row.index()];
                        row.set_selected(cursor.is_some_and(|c| c.is_row(line)));
                        match line {
                            Row::Class(c) => {
                                let r = &classes[c as usize];
                                let open = expanded.contains(&c);
                                row.col(|ui| {
                                    let shape = if open {
                                        Triangle::Down
                                    } else {
                                        Triangle::Right
                                    };
                                    triangle(ui, shape);
                                    ui.label(&r.name);
                                });
                                row.col(|ui| {
                                    format::number_cell(ui, format::group_digits(r.count))
                                });
                                size_columns(&mut row, r.shallow_size, r.retained_size, total);
                                row.col(|ui| distance_cell(ui, r.distance));
                                if row.response().clicked() {
                                    action = Some(Action::ClickClass(c));
                                }
                            }
                            Row::Instance { node, .. } => {
                                row.col(|ui| {
                                    ui.add_space(INSTANCE_INDENT);
                                    ui.label(format!(
                                        "{} @{}",
                                        crate::report::one_line(g.name(node), 200),
                                        g.id(node)
                                    ));
                                });
                                row.col(|_| {});
                                size_columns(
                                    &mut row,
                                    a.shallow_size(node),
                                    a.retained_size(node),
                                    total,
                                );
                                row.col(|ui| distance_cell(ui, a.distance(node)));
                                if row.response().clicked() {
                                    action = Some(Action::SelectNode(node));
                                }
                            }
                            Row::Pending(c) => {
                                row.col(|ui| {
                                    ui.add_space(INSTANCE_INDENT);
                                    ui.spinner();
                                    let done = tasks.get(&c).map_or(0.0, |t| t.progress().fraction);
                                    ui.label(
                                        egui::RichText::new(format!(
                                            "Listing instances… {:.0} %",
                                            done * 100.0
                                        ))
                                        .weak(),
                                    );
                                });
                                empty_columns(&mut row);
                            }
                            Row::More(hidden) => {
                                row.col(|ui| {
                                    ui.add_space(INSTANCE_INDENT);
                                    ui.label(
                                        egui::RichText::new(format!(
                                            "{} more… (the {} largest by retained size are listed)",
                                            format::group_digits(hidden as u64),
                                            format::group_digits(MAX_INSTANCES as u64)
                                        ))
                                        .weak()
                                        .italics(),
                                    );
                                });
                                empty_columns(&mut row);
                            }
                        }
                    });
                });
        });
        action
    }
}

/// The table's columns: sort key, title, tooltip.
const HEADERS: [(SortColumn, &str, &str); 7] = [
    (
        SortColumn::Constructor,
        "Constructor",
        "Class (constructor name) or kind of object",
    ),
    (SortColumn::Count, "Count", "Number of instances"),
    (
        SortColumn::Shallow,
        "Shallow",
        "Bytes held by the instances themselves",
    ),
    (
        SortColumn::ShallowPercent,
        "Shallow %",
        "Shallow size as a share of the whole heap",
    ),
    (
        SortColumn::Retained,
        "Retained",
        "Bytes that would be freed with the instances (each byte counted once)",
    ),
    (
        SortColumn::RetainedPercent,
        "Retained %",
        "Retained size as a share of the whole heap",
    ),
    (
        SortColumn::Distance,
        "Distance",
        "Fewest references from a GC root (− when unreachable)",
    ),
];

/// Height of one table row.
pub(super) fn row_height(ui: &egui::Ui) -> f32 {
    ui.spacing().interact_size.y
}

/// A sortable column title, with an arrow when the table is sorted by it; numbers are
/// right-aligned like their cells. True when clicked.
fn header_button(
    ui: &mut egui::Ui,
    sort: Sort,
    column: SortColumn,
    title: &str,
    tip: &str,
) -> bool {
    let sorted = sort.column == column;
    let arrow = if sort.descending {
        Triangle::Down
    } else {
        Triangle::Up
    };
    let numeric = column != SortColumn::Constructor;
    let layout = if numeric {
        egui::Layout::right_to_left(egui::Align::Center)
    } else {
        egui::Layout::left_to_right(egui::Align::Center)
    };
    ui.with_layout(layout, |ui| {
        if column == SortColumn::Distance {
            ui.add_space(scroll_bar_room(ui));
        }
        // Right-to-left places the arrow first so it ends up after the title either way.
        if sorted && numeric {
            triangle(ui, arrow);
        }
        let clicked = ui
            .selectable_label(sorted, egui::RichText::new(title).strong())
            .on_hover_text(format!(
                "{tip}\n\nClick to sort by this column, again to reverse."
            ))
            .clicked();
        if sorted && !numeric {
            triangle(ui, arrow);
        }
        clicked
    })
    .inner
}

/// Which way a [`triangle`] points.
#[derive(Clone, Copy)]
enum Triangle {
    Right,
    Down,
    Up,
}

/// A small painted triangle (the default fonts have no arrow glyphs), in the weak text colour
/// or the colour a selected row overrides text with.
fn triangle(ui: &mut egui::Ui, shape: Triangle) {
    let side = ui.spacing().icon_width * 0.6;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    let r = rect.shrink(side * 0.15);
    let points = match shape {
        Triangle::Right => vec![r.left_top(), r.right_center(), r.left_bottom()],
        Triangle::Down => vec![r.left_top(), r.right_top(), r.center_bottom()],
        Triangle::Up => vec![r.left_bottom(), r.center_top(), r.right_bottom()],
    };
    let color = ui
        .visuals()
        .override_text_color
        .unwrap_or_else(|| ui.visuals().weak_text_color());
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        color,
        egui::Stroke::NONE,
    ));
}

/// Shallow, Shallow %, Retained and Retained % cells.
fn size_columns(row: &mut egui_extras::TableRow<'_, '_>, shallow: u64, retained: u64, total: u64) {
    row.col(|ui| format::size_cell(ui, shallow));
    row.col(|ui| {
        format::number_cell(
            ui,
            egui::RichText::new(format::percent(shallow, total)).weak(),
        )
    });
    row.col(|ui| format::size_cell(ui, retained));
    row.col(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(egui::RichText::new(format::percent(retained, total)).weak());
            let fraction = if total == 0 {
                0.0
            } else {
                (retained as f64 / total as f64) as f32
            };
            let width = (ui.available_width() - ui.spacing().item_spacing.x).min(40.0);
            if width >= 12.0 {
                format::share_bar(ui, fraction, width);
            }
        });
    });
}

/// The last column's cell, kept clear of the scroll bar floating over the table's right edge.
fn distance_cell(ui: &mut egui::Ui, distance: Option<u32>) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.add_space(scroll_bar_room(ui));
        format::distance_label(ui, distance);
    });
}

fn scroll_bar_room(ui: &egui::Ui) -> f32 {
    let scroll = &ui.spacing().scroll;
    scroll.bar_width + scroll.bar_outer_margin
}

/// Fill the rest of a note row so its stripe and highlight span the table.
fn empty_columns(row: &mut egui_extras::TableRow<'_, '_>) {
    for _ in 1..HEADERS.len() {
        row.col(|_| {});
    }
}
