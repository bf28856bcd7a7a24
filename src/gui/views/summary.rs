//! The Summary view: DevTools' class table. One row per class (constructor), sortable by any
//! column and filterable by name; a class expands into its instances, largest retained first.
//!
//! Everything that grows with the snapshot is computed on a change, never per frame: the sorted
//! order on a sort change, the filtered order on a filter change, the flat row list on an
//! expand or collapse. A class's instances need a scan over every node, so they are listed on a
//! background thread and cached per class. Each frame draws only the visible rows.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::analysis::ClassRow;
use crate::gui::format;
use crate::gui::worker::BackgroundTask;
use crate::gui::{LoadedSnapshot, Selection};
use crate::model::NodeIx;
use crate::progress::Progress;
use crate::report::text::distance_text;

/// How many instances of one class are listed: the largest by retained size.
pub const MAX_INSTANCES: usize = 2000;

/// Nodes scanned between progress reports (and cancellation checks) when listing instances.
const SCAN_CHUNK: usize = 1 << 20;

/// Indentation of instance rows under their class, in points.
const INSTANCE_INDENT: f32 = 28.0;

/// A column of the class table; the table is sorted by one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// Class name.
    Constructor,
    /// Number of instances.
    Count,
    /// Shallow size.
    Shallow,
    /// Shallow size as a share of the heap (sorts like [`SortColumn::Shallow`]).
    ShallowPercent,
    /// Retained size.
    Retained,
    /// Retained size as a share of the heap (sorts like [`SortColumn::Retained`]).
    RetainedPercent,
    /// Distance from the roots (unreachable last).
    Distance,
}

impl SortColumn {
    /// Names and distances read best smallest first; sizes and counts largest first.
    fn default_descending(self) -> bool {
        !matches!(self, SortColumn::Constructor | SortColumn::Distance)
    }

    /// Compare classes `a` and `b` (indices into `classes`) by this column, ascending.
    /// `lower` holds the lower-case names, so name order is case-insensitive without
    /// allocating in the comparison.
    fn compare(self, classes: &[ClassRow], lower: &[String], a: u32, b: u32) -> Ordering {
        let (x, y) = (&classes[a as usize], &classes[b as usize]);
        match self {
            SortColumn::Constructor => lower[a as usize]
                .cmp(&lower[b as usize])
                .then_with(|| x.name.cmp(&y.name)),
            SortColumn::Count => x.count.cmp(&y.count),
            SortColumn::Shallow | SortColumn::ShallowPercent => x.shallow_size.cmp(&y.shallow_size),
            SortColumn::Retained | SortColumn::RetainedPercent => {
                x.retained_size.cmp(&y.retained_size)
            }
            SortColumn::Distance => x
                .distance
                .unwrap_or(u32::MAX)
                .cmp(&y.distance.unwrap_or(u32::MAX)),
        }
    }
}

/// How the class table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: SortColumn,
    /// Largest first.
    pub descending: bool,
}

impl Default for Sort {
    /// Retained size, largest first (as DevTools opens).
    fn default() -> Self {
        Self {
            column: SortColumn::Retained,
            descending: true,
        }
    }
}

/// The instances of one class that are listed, and how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct InstanceList {
    /// At most [`MAX_INSTANCES`] nodes, largest retained size first.
    pub nodes: Vec<NodeIx>,
    /// Number of instances (nodes of the class with a non-zero shallow size, as the Count
    /// column counts them).
    pub total: usize,
}

/// List the instances of class `class_id`: one scan over all nodes, then a partial sort.
pub fn class_instances(
    snap: &LoadedSnapshot,
    class_id: u32,
    progress: Progress<'_>,
) -> crate::Result<InstanceList> {
    let class_of = &snap.data.classes.class_of;
    let a = &snap.data.analysis;
    let mut nodes: Vec<NodeIx> = Vec::new();
    for (k, chunk) in class_of.chunks(SCAN_CHUNK).enumerate() {
        let base = k * SCAN_CHUNK;
        progress.step("listing instances", base as u64, class_of.len() as u64)?;
        for (i, &c) in chunk.iter().enumerate() {
            let v = (base + i) as NodeIx;
            if c == class_id && a.shallow_size(v) != 0 {
                nodes.push(v);
            }
        }
    }
    let total = nodes.len();
    let largest_first =
        |x: &NodeIx, y: &NodeIx| a.retained_size(*y).cmp(&a.retained_size(*x)).then(x.cmp(y));
    if nodes.len() > MAX_INSTANCES {
        nodes.select_nth_unstable_by(MAX_INSTANCES, largest_first);
        nodes.truncate(MAX_INSTANCES);
        nodes.shrink_to_fit();
    }
    nodes.sort_unstable_by(largest_first);
    Ok(InstanceList { nodes, total })
}

/// One line of the table. Classes are indices into `snap.summary.classes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
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
    fn selectable(self) -> bool {
        matches!(self, Row::Class(_) | Row::Instance { .. })
    }
}

/// The highlighted row: a class, or a node (which is also the tab's selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    Class(u32),
    Node(NodeIx),
}

impl Cursor {
    fn is_row(self, row: Row) -> bool {
        match (self, row) {
            (Cursor::Class(a), Row::Class(b)) => a == b,
            (Cursor::Node(a), Row::Instance { node, .. }) => a == node,
            _ => false,
        }
    }
}

/// What the user did in the table this frame (applied after drawing it).
enum Action {
    Sort(SortColumn),
    ClickClass(u32),
    SelectNode(NodeIx),
}

/// State of the Summary view of one tab.
#[derive(Default)]
pub struct SummaryView {
    filter: String,
    sort: Sort,
    /// Which snapshot the caches below belong to.
    snap_key: usize,
    /// All classes in sort order.
    sorted: Vec<u32>,
    sorted_valid: bool,
    /// The classes the filter lets through, in sort order.
    shown: Vec<u32>,
    shown_valid: bool,
    /// Lower-case class names, built the first time a filter is typed or names are sorted.
    lower_names: Vec<String>,
    /// Every line of the table: shown classes with the instances of expanded ones.
    rows: Vec<Row>,
    rows_valid: bool,
    expanded: HashSet<u32>,
    instances: HashMap<u32, InstanceList>,
    tasks: HashMap<u32, BackgroundTask<crate::Result<InstanceList>>>,
    cursor: Option<Cursor>,
    /// The tab's selection as last seen, to notice changes made by other views.
    last_node: Option<NodeIx>,
    scroll_to: Option<(usize, Option<egui::Align>)>,
    /// A class to reveal on the next frame (by class id), and the row to scroll to once the
    /// rows are rebuilt (by summary index).
    reveal: Option<u32>,
    scroll_to_class: Option<u32>,
    /// After a re-sort, show the highlighted row (or the top).
    scroll_after_sort: bool,
}

impl SummaryView {
    /// Draw the view.
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: &Arc<LoadedSnapshot>, selection: &mut Selection) {
        self.bind(snap);
        self.poll_tasks();
        self.apply_reveal(snap);
        self.toolbar(ui, snap);
        self.refresh(ui.ctx(), snap);
        self.follow_selection(selection);
        self.keyboard(ui, snap, selection);
        self.refresh(ui.ctx(), snap);
        if let Some(action) = self.table(ui, snap) {
            self.apply(action, selection);
            ui.ctx().request_repaint();
        }
    }

    /// Scroll to and expand class `class_id` (from search results), clearing the filter if it
    /// hides the class. Takes effect on the next frame.
    pub fn reveal_class(&mut self, class_id: u32) {
        self.reveal = Some(class_id);
    }

    /// The current sort.
    pub fn sort(&self) -> Sort {
        self.sort
    }

    /// The filter text.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The classes shown, in table order, as indices into `snap.summary.classes`.
    pub fn shown_classes(&self) -> &[u32] {
        &self.shown
    }

    /// True when the class at `snap.summary.classes[index]` is expanded.
    pub fn is_expanded(&self, index: u32) -> bool {
        self.expanded.contains(&index)
    }

    /// The listed instances of the class at `snap.summary.classes[index]`, once found.
    pub fn instances(&self, index: u32) -> Option<&InstanceList> {
        self.instances.get(&index)
    }

    /// Forget everything computed for another snapshot.
    fn bind(&mut self, snap: &Arc<LoadedSnapshot>) {
        let key = Arc::as_ptr(snap) as usize;
        if key != self.snap_key {
            *self = Self {
                filter: std::mem::take(&mut self.filter),
                sort: self.sort,
                reveal: self.reveal,
                snap_key: key,
                ..Self::default()
            };
        }
    }

    fn poll_tasks(&mut self) {
        let instances = &mut self.instances;
        let mut finished = false;
        self.tasks.retain(|&c, task| match task.poll() {
            Some(result) => {
                // Only cancellation fails; an empty list stops it from being asked again.
                instances.insert(c, result.unwrap_or_default());
                finished = true;
                false
            }
            None => true,
        });
        if finished {
            self.rows_valid = false;
        }
    }

    fn apply_reveal(&mut self, snap: &LoadedSnapshot) {
        let Some(class_id) = self.reveal.take() else {
            return;
        };
        let Some(index) = snap
            .summary
            .classes
            .iter()
            .position(|r| r.class_id == class_id)
        else {
            return;
        };
        let index = index as u32;
        let query = self.filter.trim().to_lowercase();
        if !query.is_empty()
            && !snap.summary.classes[index as usize]
                .name
                .to_lowercase()
                .contains(&query)
        {
            self.filter.clear();
            self.shown_valid = false;
        }
        self.expanded.insert(index);
        self.cursor = Some(Cursor::Class(index));
        self.rows_valid = false;
        self.scroll_to_class = Some(index);
    }

    fn toolbar(&mut self, ui: &mut egui::Ui, snap: &Arc<LoadedSnapshot>) {
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
            let all = snap.summary.classes.len() as u64;
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

    /// Recompute whatever a change made stale: sort order, filtered classes, rows.
    fn refresh(&mut self, ctx: &egui::Context, snap: &Arc<LoadedSnapshot>) {
        let classes = &snap.summary.classes;
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
                    let task =
                        BackgroundTask::spawn(ctx, move |p| class_instances(&s, class_id, p));
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
    fn follow_selection(&mut self, selection: &Selection) {
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

    fn cursor_row(&self) -> Option<usize> {
        let cursor = self.cursor?;
        self.rows.iter().position(|&r| cursor.is_row(r))
    }

    /// The first selectable row from `i` on in direction `dir` (±1).
    fn selectable_from(&self, i: isize, dir: isize) -> Option<usize> {
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
    fn select_row(&mut self, i: usize, selection: &mut Selection) {
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

    fn set_expanded(&mut self, c: u32, open: bool) {
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

    /// Arrow keys, Home/End, Page Up/Down and Enter, while no widget has keyboard focus.
    fn keyboard(&mut self, ui: &egui::Ui, snap: &Arc<LoadedSnapshot>, selection: &mut Selection) {
        use egui::{Event, Key};
        const KEYS: [Key; 9] = [
            Key::ArrowUp,
            Key::ArrowDown,
            Key::ArrowLeft,
            Key::ArrowRight,
            Key::Home,
            Key::End,
            Key::PageUp,
            Key::PageDown,
            Key::Enter,
        ];
        if ui.ctx().memory(|m| m.focused().is_some()) {
            return;
        }
        // Every press this frame, in order (a fast typist or a test may send several).
        let mut pressed = [None; 8];
        let mut count = 0;
        ui.input_mut(|i| {
            i.events.retain(|e| match e {
                Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } if modifiers.is_none() && KEYS.contains(key) => {
                    if count < pressed.len() {
                        pressed[count] = Some(*key);
                        count += 1;
                    }
                    false
                }
                _ => true,
            });
        });
        let page = ((ui.available_height() / row_height(ui)) as isize - 2).max(1);
        for key in pressed.into_iter().flatten() {
            self.key(key, page, selection);
            // An expand or collapse changes the rows the next key moves over.
            self.refresh(ui.ctx(), snap);
        }
    }

    fn key(&mut self, key: egui::Key, page: isize, selection: &mut Selection) {
        use egui::Key;
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() as isize - 1;
        let current = self.cursor_row();
        let at = current.map(|i| i as isize);
        let target = match key {
            Key::ArrowUp => match at {
                Some(i) => self.selectable_from(i - 1, -1),
                None => self.selectable_from(0, 1),
            },
            Key::ArrowDown => match at {
                Some(i) => self.selectable_from(i + 1, 1),
                None => self.selectable_from(0, 1),
            },
            Key::Home => self.selectable_from(0, 1),
            Key::End => self.selectable_from(last, -1),
            Key::PageUp => {
                let i = at.map_or(0, |i| (i - page).max(0));
                self.selectable_from(i, 1)
            }
            Key::PageDown => {
                let i = at.map_or(0, |i| (i + page).min(last));
                self.selectable_from(i, -1)
            }
            Key::ArrowRight | Key::ArrowLeft | Key::Enter => {
                let Some(i) = current else {
                    return;
                };
                match (key, self.rows[i]) {
                    (Key::ArrowRight, Row::Class(c)) if !self.expanded.contains(&c) => {
                        self.set_expanded(c, true);
                        None
                    }
                    // Already open: step into the instances.
                    (Key::ArrowRight, Row::Class(_)) => self.selectable_from(i as isize + 1, 1),
                    (Key::ArrowLeft, Row::Class(c)) => {
                        self.set_expanded(c, false);
                        None
                    }
                    // From an instance to its class.
                    (Key::ArrowLeft, Row::Instance { class, .. }) => {
                        self.rows.iter().position(|&r| r == Row::Class(class))
                    }
                    (Key::Enter, Row::Class(c)) => {
                        self.set_expanded(c, !self.expanded.contains(&c));
                        None
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(i) = target {
            self.select_row(i, selection);
        }
    }

    fn apply(&mut self, action: Action, selection: &mut Selection) {
        match action {
            Action::Sort(column) => {
                self.sort = if self.sort.column == column {
                    Sort {
                        column,
                        descending: !self.sort.descending,
                    }
                } else {
                    Sort {
                        column,
                        descending: column.default_descending(),
                    }
                };
                self.sorted_valid = false;
                self.scroll_after_sort = true;
            }
            Action::ClickClass(c) => {
                self.cursor = Some(Cursor::Class(c));
                self.set_expanded(c, !self.expanded.contains(&c));
            }
            Action::SelectNode(n) => {
                self.cursor = Some(Cursor::Node(n));
                selection.node = Some(n);
                self.last_node = Some(n);
            }
        }
    }

    /// Draw the table; returns what was clicked.
    fn table(&mut self, ui: &mut egui::Ui, snap: &LoadedSnapshot) -> Option<Action> {
        let row_h = row_height(ui);
        let mut action = None;
        let total = snap.summary.total_size;
        let classes = &snap.summary.classes;
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

fn row_height(ui: &egui::Ui) -> f32 {
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
        ui.label(distance_text(distance));
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
