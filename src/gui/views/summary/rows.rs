//! The table's lines and cursor, rebuilt from the sort, filter and expanded classes only when
//! one of them changes; and moving the cursor over them.

use std::sync::Arc;

use eframe::egui;

use super::{class_instances, SortColumn, SummaryView};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::model::NodeIx;
use crate::store::Document;

/// One line of the table. Classes are indices into the classes shown ([`SummaryView::classes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Row {
    Class(u32),
    Instance {
        class: u32,
        node: NodeIx,
    },
    /// The class's instances are being listed.
    Pending(u32),
    /// Instances not listed.
    More(usize),
}

impl Row {
    pub(super) fn selectable(self) -> bool {
        matches!(self, Row::Class(_) | Row::Instance { .. })
    }
}

/// The highlighted row: a class, or a node (which is also the tab's selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cursor {
    Class(u32),
    Node(NodeIx),
}

impl Cursor {
    pub(super) fn is_row(self, row: Row) -> bool {
        match (self, row) {
            (Cursor::Class(a), Row::Class(b)) => a == b,
            (Cursor::Node(a), Row::Instance { node, .. }) => a == node,
            _ => false,
        }
    }
}

/// What the user did in the table this frame (applied after drawing it).
pub(super) enum Action {
    Sort(SortColumn),
    ClickClass(u32),
    SelectNode(NodeIx),
}

impl SummaryView {
    /// Recompute whatever a change made stale: sort order, filtered classes, rows.
    pub(super) fn refresh(&mut self, ctx: &egui::Context, snap: &Arc<Document>) {
        let filtered = self.filtered.clone();
        let classes = &filtered.as_deref().unwrap_or(snap.summary()).classes;
        let range = self.range;
        let needs_names = !self.sorted_valid && self.sort.column == SortColumn::Constructor
            || !self.shown_valid && !self.filter.trim().is_empty();
        if needs_names && self.lower_names.len() != classes.len() {
            self.lower_names = classes.iter().map(|c| c.name.to_lowercase()).collect();
        }
        if !self.sorted_valid {
            let sort = self.sort;
            let lower = &self.lower_names;
            self.sorted = (0..classes.len() as u32).collect();
            self.sorted.sort_unstable_by(|&a, &b| {
                let o = sort.column.compare(classes, lower, a, b);
                let o = if sort.descending { o.reverse() } else { o };
                // Ties keep the summary's order (retained size, then name).
                o.then(a.cmp(&b))
            });
            self.sorted_valid = true;
            self.shown_valid = false;
        }
        if !self.shown_valid {
            let query = self.filter.trim().to_lowercase();
            self.shown.clear();
            if query.is_empty() {
                self.shown.extend_from_slice(&self.sorted);
            } else {
                let lower = &self.lower_names;
                self.shown.extend(
                    self.sorted
                        .iter()
                        .copied()
                        .filter(|&c| lower[c as usize].contains(&query)),
                );
            }
            self.shown_valid = true;
            self.rows_valid = false;
        }
        if !self.rows_valid {
            for &c in &self.expanded {
                if !self.instances.contains_key(&c) && !self.tasks.contains_key(&c) {
                    let s = snap.clone();
                    let class_id = classes[c as usize].class_id;
                    let task = BackgroundTask::spawn(ctx, move |p| {
                        class_instances(&s, class_id, range, p)
                    });
                    self.tasks.insert(c, task);
                }
            }
            self.rows.clear();
            for &c in &self.shown {
                self.rows.push(Row::Class(c));
                if !self.expanded.contains(&c) {
                    continue;
                }
                match self.instances.get(&c) {
                    Some(list) => {
                        self.rows.extend(
                            list.nodes
                                .iter()
                                .map(|&node| Row::Instance { class: c, node }),
                        );
                        if list.total > list.nodes.len() {
                            self.rows.push(Row::More(list.total - list.nodes.len()));
                        }
                    }
                    None => self.rows.push(Row::Pending(c)),
                }
            }
            self.rows_valid = true;
            if std::mem::take(&mut self.scroll_after_sort) {
                self.scroll_to = Some(match self.cursor_row() {
                    Some(i) => (i, Some(egui::Align::Center)),
                    None => (0, Some(egui::Align::TOP)),
                });
            }
            if let Some(c) = self.scroll_to_class.take() {
                if let Some(i) = self.rows.iter().position(|&r| r == Row::Class(c)) {
                    self.scroll_to = Some((i, Some(egui::Align::Center)));
                }
            }
        }
    }

    /// Follow a selection made elsewhere (another view, the search results).
    pub(super) fn follow_selection(&mut self, selection: &Selection) {
        if selection.node == self.last_node {
            return;
        }
        self.last_node = selection.node;
        if let Some(n) = selection.node {
            self.cursor = Some(Cursor::Node(n));
            if let Some(i) = self.cursor_row() {
                self.scroll_to = Some((i, None));
            }
        }
    }

    pub(super) fn cursor_row(&self) -> Option<usize> {
        let cursor = self.cursor?;
        self.rows.iter().position(|&r| cursor.is_row(r))
    }

    /// The first selectable row from `i` on in direction `dir` (±1).
    pub(super) fn selectable_from(&self, i: isize, dir: isize) -> Option<usize> {
        let mut i = i;
        while i >= 0 && (i as usize) < self.rows.len() {
            if self.rows[i as usize].selectable() {
                return Some(i as usize);
            }
            i += dir;
        }
        None
    }

    /// Put the cursor on row `i` (and the selection, for an instance).
    pub(super) fn select_row(&mut self, i: usize, selection: &mut Selection) {
        match self.rows[i] {
            Row::Class(c) => self.cursor = Some(Cursor::Class(c)),
            Row::Instance { node, .. } => {
                self.cursor = Some(Cursor::Node(node));
                selection.node = Some(node);
                self.last_node = Some(node);
            }
            Row::Pending(_) | Row::More(_) => return,
        }
        self.scroll_to = Some((i, None));
    }

    pub(super) fn set_expanded(&mut self, c: u32, open: bool) {
        if open {
            self.expanded.insert(c);
        } else {
            self.expanded.remove(&c);
            // The cursor must not vanish with the rows it was on.
            if let Some(Cursor::Node(n)) = self.cursor {
                if self.rows.contains(&Row::Instance { class: c, node: n }) {
                    self.cursor = Some(Cursor::Class(c));
                }
            }
        }
        self.rows_valid = false;
    }
}
