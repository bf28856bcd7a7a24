//! The Summary view: DevTools' class table. One row per class (constructor), sortable by any
//! column and filterable by name; a class expands into its instances, largest retained first.
//!
//! Everything that grows with the snapshot is computed on a change, never per frame: the sorted
//! order on a sort change, the filtered order on a filter change, the flat row list on an
//! expand or collapse. A class's instances need a scan over every node, so they are listed on a
//! background thread and cached per class. Each frame draws only the visible rows.
//!
//! With a time range chosen on the Allocation stacks view's timeline (the tab's
//! [`Selection::allocated`]), the table shows the summary of the objects allocated then,
//! counted by the library on a background thread, under a banner whose Clear drops the range.

mod classes;
mod keyboard;
mod rows;
mod table;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use eframe::egui;

use crate::analysis::allocation_stacks::TimeRange;
use crate::analysis::{ClassRow, Summary};
use crate::gui::format;
use crate::gui::views::{Action as ViewAction, View, ViewContext};
use crate::gui::worker::{BackgroundTask, Deferred};
use crate::gui::Selection;
use crate::model::NodeIx;
use crate::store::Document;

pub use classes::{class_instances, InstanceList, Sort, SortColumn, MAX_INSTANCES};
use rows::{Action, Cursor, Row};

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
    /// The time range the table is filtered to (the tab's [`Selection::allocated`]) once its
    /// summary is counted, and that summary: the caches above index its classes.
    range: Option<TimeRange>,
    filtered: Option<Arc<Summary>>,
    /// The summary of a range, counted on a thread (a pass over the nodes and the dominator
    /// tree).
    ranged: Deferred<TimeRange, Arc<Summary>>,
}

impl SummaryView {
    /// Draw the view.
    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        self.bind(snap);
        if !self.follow_range(ui, snap, selection) {
            return;
        }
        self.poll_tasks();
        self.apply_reveal(snap, selection);
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

    /// The classes shown, in table order, as indices into [`Self::classes`].
    pub fn shown_classes(&self) -> &[u32] {
        &self.shown
    }

    /// The class rows the table is drawn from: the document's summary, or with a time range
    /// chosen, the summary of the objects allocated in it.
    pub fn classes<'a>(&'a self, snap: &'a Document) -> &'a [ClassRow] {
        &self.filtered.as_deref().unwrap_or(snap.summary()).classes
    }

    /// The time range the table is filtered to, once its classes are counted.
    pub fn time_range(&self) -> Option<TimeRange> {
        self.filtered.as_ref().and(self.range)
    }

    /// True when the class at `classes(snap)[index]` is expanded.
    pub fn is_expanded(&self, index: u32) -> bool {
        self.expanded.contains(&index)
    }

    /// The listed instances of the class at `classes(snap)[index]`, once found.
    pub fn instances(&self, index: u32) -> Option<&InstanceList> {
        self.instances.get(&index)
    }

    /// Forget everything computed for another snapshot.
    fn bind(&mut self, snap: &Arc<Document>) {
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

    /// Follow the tab's time range: count its classes on a thread (a spinner meanwhile), then
    /// show them under a banner with a Clear button; with no range, the document's classes.
    /// False while counting (nothing else is drawn).
    fn follow_range(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        selection: &mut Selection,
    ) -> bool {
        let Some(range) = selection.allocated else {
            self.use_summary(None, None);
            return true;
        };
        let d = snap.clone();
        let ready = self
            .ranged
            .get(ui.ctx(), range, false, move || {
                Arc::new(d.data.summary_allocated_in(&range))
            })
            .cloned();
        let when = format!("{:.3} s and {:.3} s", range.from_secs(), range.to_secs());
        let mut clear = false;
        let frame = egui::Frame::group(ui.style()).fill(ui.visuals().extreme_bg_color);
        frame.show(ui, |ui| {
            ui.horizontal(|ui| match &ready {
                Some(s) => {
                    let count = |s: &Summary| s.classes.iter().map(|c| c.count).sum::<u64>();
                    ui.strong(format!(
                        "Allocated between {when} \u{2014} {} objects of {}",
                        format::group_digits(count(s)),
                        format::group_digits(count(snap.summary()))
                    ));
                    clear = ui
                        .button("Clear")
                        .on_hover_text("Show every object, whenever it was allocated")
                        .clicked();
                }
                None => {
                    ui.spinner();
                    ui.label(format!("Counting the objects allocated between {when}..."));
                    clear = ui.button("Clear").clicked();
                }
            });
        });
        if clear {
            selection.allocated = None;
            self.use_summary(None, None);
            return true;
        }
        match ready {
            Some(s) => {
                self.use_summary(Some(range), Some(s));
                true
            }
            None => false,
        }
    }

    /// Draw the table from `summary` (`None`: the document's) for `range`; a change drops
    /// everything that indexes the classes.
    fn use_summary(&mut self, range: Option<TimeRange>, summary: Option<Arc<Summary>>) {
        let same = match (&self.filtered, &summary) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if same {
            return;
        }
        self.range = range;
        self.filtered = summary;
        self.sorted_valid = false;
        self.shown_valid = false;
        self.rows_valid = false;
        self.lower_names.clear();
        self.expanded.clear();
        self.instances.clear();
        self.tasks.clear();
        self.cursor = None;
        self.scroll_to = Some((0, Some(egui::Align::TOP)));
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

    fn apply_reveal(&mut self, snap: &Document, selection: &mut Selection) {
        let Some(class_id) = self.reveal.take() else {
            return;
        };
        let Some(index) = self
            .classes(snap)
            .iter()
            .position(|r| r.class_id == class_id)
        else {
            // None of its objects was allocated in the chosen time: show every object, and
            // reveal the class there on the next frame.
            if self.filtered.is_some() {
                selection.allocated = None;
                self.reveal = Some(class_id);
            }
            return;
        };
        let index = index as u32;
        let query = self.filter.trim().to_lowercase();
        if !query.is_empty()
            && !self.classes(snap)[index as usize]
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
}

impl View for SummaryView {
    fn title(&self) -> &'static str {
        "Summary"
    }

    fn applies_to(&self, _doc: &Document) -> bool {
        true
    }

    fn opens_first(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<ViewAction> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
