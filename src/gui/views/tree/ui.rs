//! Drawing a [`TreeTable`] and handling its clicks and arrow keys.

use std::sync::Arc;

use eframe::egui::{self, Align, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};

use super::labels::{row_job, row_text};
use super::rows::RowState;
use super::{TreeResponse, TreeRow, TreeSource, TreeStyle, TreeTable, PAGE};
use crate::gui::format;
use crate::gui::Selection;
use crate::store::Document;

/// Indent per tree level, in points.
const INDENT: f32 = 14.0;

impl TreeTable {
    /// Draw the tree, handle clicks and keys.
    pub fn ui<S: TreeSource>(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        selection: &mut Selection,
        src: S,
        style: &TreeStyle,
    ) -> TreeResponse {
        self.poll_pending(snap, src);
        let before = selection.node;
        let ctx = ui.ctx().clone();
        if self.has_keyboard(&ctx, style) {
            self.handle_keys(ui, snap, selection, src);
        }
        let area = ui.available_rect_before_wrap();
        let action = self.draw(ui, snap, selection, style);
        if !style.primary {
            // A click anywhere else hands the keys back to the main view.
            let pressed_elsewhere = ctx.input(|i| {
                i.pointer.any_pressed()
                    && i.pointer.press_origin().is_some_and(|p| !area.contains(p))
            });
            if pressed_elsewhere {
                ctx.data_mut(|d| d.insert_temp(keyboard_id(), false));
            }
        }
        match action {
            Some(RowAction::Toggle(i)) => {
                self.toggle(i, snap, src, Some(&ctx));
                claim_keyboard(&ctx, style);
            }
            Some(RowAction::Click(i)) => {
                if self.rows[i].is_more() {
                    self.load_more(i, snap, src);
                    self.cursor = Some(i);
                    self.cursor_for = selection.node;
                } else {
                    self.select_row(i, selection);
                    self.scroll_to = None;
                }
                claim_keyboard(&ctx, style);
            }
            Some(RowAction::DoubleClick(i)) => {
                if !self.rows[i].is_more() {
                    self.select_row(i, selection);
                    self.scroll_to = None;
                }
                self.toggle(i, snap, src, Some(&ctx));
                claim_keyboard(&ctx, style);
            }
            None => {}
        }
        let selection_changed = selection.node != before;
        if selection_changed || action.is_some() {
            ctx.request_repaint();
        }
        TreeResponse { selection_changed }
    }

    fn has_keyboard(&self, ctx: &egui::Context, style: &TreeStyle) -> bool {
        if ctx.text_edit_focused() || self.rows.is_empty() {
            return false;
        }
        let secondary = ctx.data(|d| d.get_temp::<bool>(keyboard_id()).unwrap_or(false));
        secondary != style.primary
    }

    /// Up/Down move the cursor, Right expands (or steps into the children, or loads the next
    /// page on a "more" row), Left collapses (or steps to the parent). Not Enter: the search
    /// field gives up its focus on Enter, and that key would then reach the tree too.
    fn handle_keys<S: TreeSource>(
        &mut self,
        ui: &egui::Ui,
        snap: &Arc<Document>,
        selection: &mut Selection,
        src: S,
    ) {
        use egui::{Key, Modifiers};
        let [up, down, left, right] = ui.input_mut(|i| {
            [
                Key::ArrowUp,
                Key::ArrowDown,
                Key::ArrowLeft,
                Key::ArrowRight,
            ]
            .map(|k| i.consume_key(Modifiers::NONE, k))
        });
        if !(up || down || left || right) {
            return;
        }
        let last = self.rows.len() - 1;
        // Key presses are rare: a scan for the selected node is fine here.
        let cursor = self
            .valid_cursor(selection.node)
            .or_else(|| selection.node.and_then(|n| self.find_row(n)))
            // The selected row was collapsed away or the selection is elsewhere: go on from
            // where the cursor was.
            .or(self.cursor.filter(|&c| c <= last));
        let mut target = None;
        if down {
            target = Some(cursor.map_or(0, |c| (c + 1).min(last)));
        }
        if up {
            target = Some(cursor.map_or(0, |c| c.saturating_sub(1)));
        }
        if let Some(c) = cursor {
            let state = self.row_state(c);
            if right {
                target = Some(match state {
                    Some(RowState::More) => {
                        self.load_more(c, snap, src);
                        c
                    }
                    Some(RowState::Expanded) => (c + 1).min(last),
                    _ => {
                        self.expand(c, snap, src, Some(ui.ctx()));
                        c
                    }
                });
            } else if left {
                target = Some(match state {
                    Some(RowState::Expanded | RowState::Listing) => {
                        self.collapse(c);
                        c
                    }
                    _ => self.parent_of(c).unwrap_or(c),
                });
            }
        }
        if let Some(t) = target {
            self.select_row(t.min(self.rows.len().saturating_sub(1)), selection);
        }
    }

    /// Draw the table; returns what the user did to a row.
    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Document,
        selection: &Selection,
        style: &TreeStyle,
    ) -> Option<RowAction> {
        let text_height = ui.text_style_height(&egui::TextStyle::Body);
        let row_height = (text_height + 6.0).max(18.0);
        let highlight = self.valid_cursor(selection.node);
        let selected = selection.node;
        let total = snap.summary().total_size;
        let scroll_to = self.scroll_to.take();
        let rows = &self.rows;
        let pending = &self.pending;
        let mut action = None;
        ui.scope(|ui| {
            ui.style_mut().interaction.selectable_labels = false;
            let mut table = TableBuilder::new(ui)
                .id_salt(style.id_salt)
                .striped(true)
                .resizable(true)
                .sense(Sense::click())
                .cell_layout(Layout::left_to_right(Align::Center))
                .auto_shrink([false, false])
                .min_scrolled_height(0.0)
                .max_scroll_height(f32::INFINITY)
                .column(Column::remainder().at_least(180.0).clip(true))
                .column(Column::initial(70.0).at_least(40.0).clip(true))
                .column(Column::initial(90.0).at_least(50.0).clip(true))
                .column(Column::initial(90.0).at_least(50.0).clip(true));
            if style.share {
                table = table.column(Column::initial(130.0).at_least(60.0).clip(true));
            }
            if let Some(r) = scroll_to {
                table = table.scroll_to_row(r, None);
            }
            table
                .header(row_height, |mut h| {
                    h.col(|ui| {
                        ui.strong(style.object_header);
                    });
                    for title in ["Distance", "Shallow size", "Retained size"] {
                        h.col(|ui| {
                            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                                ui.strong(title);
                            });
                        });
                    }
                    if style.share {
                        h.col(|ui| {
                            ui.strong("Share of heap");
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, rows.len(), |mut row| {
                        let i = row.index();
                        let r = &rows[i];
                        let lit = match highlight {
                            Some(c) => c == i,
                            None => !r.is_more() && Some(r.child.node) == selected,
                        };
                        row.set_selected(lit);
                        let busy = pending.iter().any(|(u, _)| *u == r.uid);
                        row.col(|ui| {
                            if tree_cell(ui, snap, r, style, busy) {
                                action = Some(RowAction::Toggle(i));
                            }
                        });
                        if r.is_more() {
                            for _ in 0..3 + style.share as usize {
                                row.col(|_| {});
                            }
                        } else {
                            let a = &snap.data.analysis;
                            let n = r.child.node;
                            row.col(|ui| format::distance_cell(ui, a.distance(n)));
                            row.col(|ui| format::size_cell(ui, a.shallow_size(n)));
                            row.col(|ui| format::size_cell(ui, a.retained_size(n)));
                            if style.share {
                                row.col(|ui| {
                                    let retained = a.retained_size(n);
                                    let fraction = if total == 0 {
                                        0.0
                                    } else {
                                        (retained as f64 / total as f64) as f32
                                    };
                                    format::share_bar(ui, fraction, 56.0);
                                    ui.label(format::percent(retained, total));
                                });
                            }
                        }
                        let response = row.response();
                        if action.is_none() {
                            if response.double_clicked() {
                                action = Some(RowAction::DoubleClick(i));
                            } else if response.clicked() {
                                action = Some(RowAction::Click(i));
                            }
                        }
                    });
                });
        });
        action
    }
}

#[derive(Debug, Clone, Copy)]
enum RowAction {
    Toggle(usize),
    Click(usize),
    DoubleClick(usize),
}

/// Which kind of tree (primary or secondary) the arrow keys go to.
fn keyboard_id() -> egui::Id {
    egui::Id::unique("heapsight.tree.secondary_has_keys")
}

fn claim_keyboard(ctx: &egui::Context, style: &TreeStyle) {
    ctx.data_mut(|d| d.insert_temp(keyboard_id(), !style.primary));
}

/// The tree column: indent, toggle, label. Returns true when the toggle was clicked.
fn tree_cell(
    ui: &mut egui::Ui,
    snap: &Document,
    r: &TreeRow,
    style: &TreeStyle,
    busy: bool,
) -> bool {
    ui.spacing_mut().item_spacing.x = 2.0;
    ui.add_space(r.depth as f32 * INDENT);
    if r.is_more() {
        ui.add_space(INDENT);
        ui.label(
            RichText::new(format!("… {} more", format::group_digits(r.more as u64)))
                .color(ui.visuals().hyperlink_color),
        )
        .on_hover_text(format!("Show the next {PAGE}"));
        return false;
    }
    let mut clicked = false;
    if busy {
        ui.add(egui::Spinner::new().size(INDENT - 2.0));
    } else if r.has_children {
        let label = || row_text(snap, &r.child, style.joiner);
        clicked = format::toggle_button(ui, INDENT, r.expanded, label).clicked();
    } else {
        ui.add_space(INDENT);
    }
    ui.add(egui::Label::new(row_job(ui, snap, &r.child, style.joiner)).truncate());
    clicked
}
