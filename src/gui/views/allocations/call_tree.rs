//! The call-tree part of the Allocations view: top-down or bottom-up, one column per metric the
//! producer records, siblings sorted by the clicked column, virtualised rows, keyboard moves
//! (Up/Down, Right expands, Left collapses or goes to the parent).

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::analysis::call_tree::{CallTree, Direction, ROOT};
use crate::gui::format::{metric_cell, toggle_button};
use crate::model::alloc::{AllocProfile, Metric};
use crate::model::FxHashSet;
use crate::store::AllocTables;

const INDENT: f32 = 12.0;
/// A first look opens the heaviest path down to where it branches, at most this deep.
const AUTO_EXPAND_DEPTH: u32 = 40;

/// State of the call-tree part.
#[derive(Default)]
pub struct CallTreeView {
    direction: Direction,
    sort: Metric,
    /// Expanded nodes, per direction.
    expanded: [FxHashSet<u32>; 2],
    /// The visible rows in order, with each node's own value of the sort metric (its "Self"
    /// cell: a sum over its children, worked out once, not per frame); rebuilt when expansion
    /// or sorting changes.
    rows: Option<Vec<Row>>,
    selected: [Option<u32>; 2],
    scroll_to: Option<usize>,
}

/// A visible row: the node, and its own value of the sort metric.
#[derive(Clone, Copy)]
struct Row {
    node: u32,
    own: u64,
}

fn slot(d: Direction) -> usize {
    match d {
        Direction::TopDown => 0,
        Direction::BottomUp => 1,
    }
}

impl CallTreeView {
    /// The same direction and sort for a reloaded profile (its nodes are new).
    pub fn refolded(&self) -> Self {
        Self {
            direction: self.direction,
            sort: self.sort,
            ..Default::default()
        }
    }

    /// Draw the part over `p`'s call trees: `tree_of` gives the tree hanging a direction's
    /// way, or `None` while it is being built (it is asked again on a later frame).
    pub fn ui<'t>(
        &mut self,
        ui: &mut egui::Ui,
        p: &AllocProfile,
        tree_of: impl FnOnce(Direction) -> Option<&'t CallTree>,
    ) {
        let metrics: Vec<Metric> = Metric::ALL.into_iter().filter(|&m| p.records(m)).collect();
        if !metrics.contains(&self.sort) {
            self.sort = Metric::PeakBytes;
        }
        ui.horizontal(|ui| {
            for (d, label) in [
                (Direction::TopDown, "Top-down (callers first)"),
                (
                    Direction::BottomUp,
                    "Bottom-up (allocating functions first)",
                ),
            ] {
                if ui.selectable_value(&mut self.direction, d, label).changed() {
                    self.rows = None;
                }
            }
            ui.separator();
            ui.label(
                egui::RichText::new("Click a column to sort siblings by it; arrow keys move.")
                    .weak(),
            );
        });
        let Some(tree) = tree_of(self.direction) else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Building the bottom-up tree…");
            });
            return;
        };
        let s = slot(self.direction);
        if self.expanded[s].is_empty() {
            self.expand_heaviest_path(p, tree);
        }
        self.keyboard(ui, p, tree);
        let rows = self
            .rows
            .get_or_insert_with(|| visible_rows(p, tree, &self.expanded[s], self.sort));
        let top_down = self.direction == Direction::TopDown;
        let mut clicked_sort = None;
        let mut toggled = None;
        let mut selected = self.selected[s];
        let scroll_to = self.scroll_to.take();
        // Many metric columns may not fit a narrow window: scroll sideways then.
        egui::ScrollArea::horizontal().show(ui, |ui| {
            // Names are not selectable text: a click on one selects the row.
            ui.style_mut().interaction.selectable_labels = false;
            let name_width = (ui.available_width() * 0.4).max(260.0);
            let mut table = TableBuilder::new(ui)
                .striped(true)
                .sense(egui::Sense::click())
                // Indent, triangle and name side by side (cells lay out top-down by default).
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                // Deep stacks need room for names: at least ~40 % of the width goes to them.
                .column(Column::remainder().at_least(name_width).clip(true))
                .columns(
                    Column::auto().at_least(64.0),
                    metrics.len() + top_down as usize,
                );
            if let Some(i) = scroll_to {
                table = table.scroll_to_row(i, None);
            }
            table
                .header(20.0, |mut h| {
                    h.col(|ui| {
                        ui.strong("Function");
                    });
                    // Over right-aligned numbers, right-aligned titles.
                    let right = egui::Layout::right_to_left(egui::Align::Center);
                    for &m in &metrics {
                        h.col(|ui| {
                            ui.with_layout(right, |ui| {
                                if ui
                                    .selectable_label(self.sort == m, p.metric_column(m))
                                    .on_hover_text(format!("Sort by {}", p.metric_label(m)))
                                    .clicked()
                                {
                                    clicked_sort = Some(m);
                                }
                            });
                        });
                    }
                    if top_down {
                        h.col(|ui| {
                            ui.with_layout(right, |ui| {
                                ui.strong(format!(
                                    "Self {}",
                                    p.metric_column(self.sort).to_lowercase()
                                ))
                                .on_hover_text(
                                    "Allocated in the function itself, not in its callees",
                                );
                            });
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, rows.len(), |mut row| {
                        let Row { node: n, own } = rows[row.index()];
                        row.set_selected(selected == Some(n));
                        let m = tree.metrics(n);
                        row.col(|ui| {
                            ui.spacing_mut().item_spacing.x = 2.0;
                            ui.add_space(INDENT * tree.depth(n).saturating_sub(1) as f32);
                            let name = tree.function(p, n);
                            if tree.children(n).is_empty() {
                                // As wide as a triangle (with its spacing), so names line up.
                                let h = ui.available_height();
                                ui.allocate_exact_size(egui::vec2(INDENT, h), egui::Sense::hover());
                            } else {
                                let open = self.expanded[s].contains(&n);
                                if toggle_button(ui, INDENT, open, || name.to_string()).clicked() {
                                    toggled = Some(n);
                                }
                            }
                            let loc = tree.frame(n).map(|f| p.location(f)).unwrap_or("");
                            let r = ui.add(egui::Label::new(name).truncate());
                            if r.hovered() {
                                r.on_hover_text(if loc.is_empty() {
                                    name.to_string()
                                } else {
                                    format!("{name}\n{loc}")
                                });
                            }
                        });
                        for &metric in &metrics {
                            row.col(|ui| metric_cell(ui, metric, m.get(metric)));
                        }
                        if top_down {
                            row.col(|ui| metric_cell(ui, self.sort, own));
                        }
                        if row.response().clicked() {
                            selected = Some(n);
                        }
                        if row.response().double_clicked() {
                            toggled = Some(n);
                        }
                    });
                });
        });
        self.selected[s] = selected;
        if let Some(m) = clicked_sort {
            self.sort = m;
            self.rows = None;
        }
        if let Some(n) = toggled {
            self.toggle(n);
        }
    }

    fn toggle(&mut self, n: u32) {
        let set = &mut self.expanded[slot(self.direction)];
        if !set.remove(&n) {
            set.insert(n);
        }
        self.rows = None;
    }

    /// Open the root and, below it, the heaviest child while it is the only one that counts
    /// (its siblings together hold less than a tenth), so the first look shows where the
    /// memory goes.
    fn expand_heaviest_path(&mut self, p: &AllocProfile, tree: &CallTree) {
        let set = &mut self.expanded[slot(self.direction)];
        let mut at = ROOT;
        set.insert(ROOT);
        while tree.depth(at) < AUTO_EXPAND_DEPTH {
            let kids = tree.sorted_children(p, at, self.sort);
            let Some(&first) = kids.first() else { break };
            set.insert(first);
            let (total, heaviest) = (tree.value(at, self.sort), tree.value(first, self.sort));
            if (heaviest as u128) * 10 < (total as u128) * 9 {
                break;
            }
            at = first;
        }
        self.rows = None;
    }

    fn keyboard(&mut self, ui: &egui::Ui, p: &AllocProfile, tree: &CallTree) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let s = slot(self.direction);
        let rows = self
            .rows
            .get_or_insert_with(|| visible_rows(p, tree, &self.expanded[s], self.sort));
        let (up, down, left, right) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowUp),
                i.key_pressed(egui::Key::ArrowDown),
                i.key_pressed(egui::Key::ArrowLeft),
                i.key_pressed(egui::Key::ArrowRight),
            )
        });
        if !(up || down || left || right) || rows.is_empty() {
            return;
        }
        let at = self.selected[s].and_then(|n| rows.iter().position(|r| r.node == n));
        let Some(i) = at else {
            self.selected[s] = Some(rows[0].node);
            self.scroll_to = Some(0);
            return;
        };
        let n = rows[i].node;
        let open = self.expanded[s].contains(&n);
        if up && i > 0 {
            self.select_row(i - 1);
        } else if down && i + 1 < rows.len() {
            self.select_row(i + 1);
        } else if (right && !open && !tree.children(n).is_empty()) || (left && open) {
            self.toggle(n);
        } else if left && tree.depth(n) > 1 {
            let parent = tree.parent(n);
            self.selected[s] = Some(parent);
            self.scroll_to = rows.iter().position(|r| r.node == parent);
        }
    }

    fn select_row(&mut self, i: usize) {
        if let Some(rows) = &self.rows {
            self.selected[slot(self.direction)] = rows.get(i).map(|r| r.node);
            self.scroll_to = Some(i);
        }
    }

    /// The selected node's function, for tests and the status line.
    pub fn selected_function<'a>(
        &self,
        p: &'a AllocProfile,
        tables: &AllocTables,
    ) -> Option<&'a str> {
        let tree = tables.tree(self.direction)?;
        self.selected[slot(self.direction)].map(|n| tree.function(p, n))
    }
}

/// Visible rows: the root's children and, below every expanded node, its children, largest
/// first by `sort`.
fn visible_rows(
    p: &AllocProfile,
    tree: &CallTree,
    expanded: &FxHashSet<u32>,
    sort: Metric,
) -> Vec<Row> {
    tree.walk(p, sort, |n| expanded.contains(&n), |_| true, usize::MAX)
        .into_iter()
        .map(|node| Row {
            node,
            own: tree.self_value(node, sort),
        })
        .collect()
}
