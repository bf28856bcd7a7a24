//! A lazy, virtualised tree-table, drawn by the dominator tree, containment and retainers views.
//!
//! The tree is a flat list of the rows shown (depth, node, edge, expanded…). Expanding or
//! collapsing splices that list, so the work is proportional to the rows that change, and
//! drawing lays out only the rows in view (`TableBuilder` body `rows`), so a 20 M node heap
//! scrolls like a small one. Children come a page at a time: a "… N more" row loads the next
//! page. Listing a node's children when there are very many runs on a background thread.
//!
//! What a node's children are is up to a [`TreeSource`]; the table only pages and draws them.

use std::ops::Range;
use std::sync::Arc;

use eframe::egui::{self, text::LayoutJob, Align, Color32, FontSelection, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};

use crate::gui::format;
use crate::gui::worker::BackgroundTask;
use crate::gui::{LoadedSnapshot, Selection};
use crate::model::{EdgeKind, EdgeRef, HeapGraph, NodeIx, NodeKind};
use crate::report::one_line;
use crate::report::text::distance_text;

/// Children shown per page: the first page when a node is expanded, then one per "more" click.
pub const PAGE: usize = 200;
/// A node whose child listing costs more than this (see [`TreeSource::work_hint`]) is listed
/// on a background thread when expanded by the user.
pub const BACKGROUND_WORK: usize = 20_000;
/// Revealing a node loads pages of its siblings up to this position, not further.
const REVEAL_LIMIT: usize = 10_000;
/// Indent per tree level, in points.
const INDENT: f32 = 14.0;
/// Longest node or edge name shown in a row, in characters.
const NAME_CHARS: usize = 80;

/// One child of a node: the node reached and the edge that leads there (`None` in the
/// dominator tree, where children are dominated nodes, not referenced ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// The node the row shows.
    pub node: NodeIx,
    /// The edge shown before it: from the parent in containment, to the parent in retainers.
    pub edge: Option<EdgeRef>,
}

impl Child {
    /// A child reached without an edge.
    pub fn node(node: NodeIx) -> Self {
        Self { node, edge: None }
    }

    /// True when the row's edge is weak (shown greyed).
    pub fn weak(&self) -> bool {
        self.edge.is_some_and(|e| e.kind == EdgeKind::Weak)
    }
}

/// A node's children, in display order, in the most compact form the source has.
#[derive(Debug, Clone)]
pub enum Children {
    /// An explicit list.
    List(Vec<Child>),
    /// Nodes without edges (4 bytes a child).
    Nodes(Vec<NodeIx>),
    /// The node's outgoing edges in snapshot order, read from the graph (nothing copied).
    OutEdges(NodeIx),
}

impl Default for Children {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

impl Children {
    /// Number of children.
    pub fn count(&self, g: &HeapGraph) -> usize {
        match self {
            Self::List(v) => v.len(),
            Self::Nodes(v) => v.len(),
            Self::OutEdges(n) => g.edge_range(*n).len(),
        }
    }

    /// The `i`-th child.
    pub fn get(&self, g: &HeapGraph, i: usize) -> Child {
        match self {
            Self::List(v) => v[i],
            Self::Nodes(v) => Child::node(v[i]),
            Self::OutEdges(n) => {
                let e = g.edge_range(*n).start + i;
                Child {
                    node: g.edge_target(e),
                    edge: Some(EdgeRef {
                        index: e as u32,
                        from: *n,
                        to: g.edge_target(e),
                        kind: g.edge_kind(e),
                        name_or_index: g.edge_name_or_index(e),
                    }),
                }
            }
        }
    }
}

/// What a tree shows under each node. Implementations are small `Copy` markers so listing can
/// move to a background thread.
pub trait TreeSource: Copy + Send + 'static {
    /// The children of `n`, in display order.
    fn children(self, snap: &LoadedSnapshot, n: NodeIx) -> Children;
    /// Cheap test whether `n` may have children (decides whether the row gets a toggle).
    fn may_have_children(self, snap: &LoadedSnapshot, n: NodeIx) -> bool;
    /// Rough cost of [`TreeSource::children`] for `n` (e.g. how many children to sort).
    fn work_hint(self, snap: &LoadedSnapshot, n: NodeIx) -> usize;
}

/// How a tree looks: its id, column set and wording.
#[derive(Debug, Clone, Copy)]
pub struct TreeStyle {
    /// Salt for the table's id (unique among the trees drawn in one frame).
    pub id_salt: &'static str,
    /// Header of the tree column.
    pub object_header: &'static str,
    /// Between a row's edge and its node: `" :: "` in containment, `" in "` in retainers.
    pub joiner: &'static str,
    /// Show a share-of-heap bar and percentage of the retained size.
    pub share: bool,
    /// A primary tree (the main view) takes the arrow keys unless a secondary tree (the
    /// retainers panel) was clicked more recently.
    pub primary: bool,
}

/// One row of a tree: a node, or a "… N more" row standing for its parent's unseen children.
#[derive(Debug, Clone)]
pub struct TreeRow {
    /// Nesting level (0 for the top rows).
    pub depth: u32,
    /// The node and edge shown (for a "more" row: its parent's node).
    pub child: Child,
    /// Children are shown below.
    pub expanded: bool,
    /// The row has (or may have) children.
    pub has_children: bool,
    /// For a "more" row, how many children are not shown yet; 0 for node rows.
    pub more: usize,
    /// All children while expanded (paged into rows `PAGE` at a time).
    kids: Children,
    /// How many of `kids` have rows.
    shown: usize,
    /// Stable identity (rows move when others are inserted above them).
    uid: u64,
}

impl TreeRow {
    /// True for a "… N more" row.
    pub fn is_more(&self) -> bool {
        self.more > 0
    }
}

/// A step of a path to expand: the node, and the edge index when it must match too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMatch {
    /// Node of the row.
    pub node: NodeIx,
    /// Index of the row's edge, if it must match.
    pub edge: Option<u32>,
}

impl PathMatch {
    fn matches(&self, c: &Child) -> bool {
        c.node == self.node && self.edge.is_none_or(|e| c.edge.map(|x| x.index) == Some(e))
    }
}

/// What happened in a tree this frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeResponse {
    /// The tree changed `selection.node` (click or key).
    pub selection_changed: bool,
}

/// The state of one tree: the rows shown, the keyboard cursor and pending background listings.
#[derive(Default)]
pub struct TreeTable {
    rows: Vec<TreeRow>,
    roots: Children,
    roots_shown: usize,
    cursor: Option<usize>,
    /// The selection when the cursor was placed; the cursor counts only while it is unchanged.
    cursor_for: Option<NodeIx>,
    scroll_to: Option<usize>,
    pending: Vec<(u64, BackgroundTask<Children>)>,
    next_uid: u64,
}

/// Where a tree's rows start (`None`: the top level) for paging.
type Parent = Option<usize>;

impl TreeTable {
    /// The rows shown, top to bottom.
    pub fn rows(&self) -> &[TreeRow] {
        &self.rows
    }

    /// Show `roots` as the top-level rows (the first page of them), replacing everything.
    pub fn set_roots<S: TreeSource>(&mut self, snap: &LoadedSnapshot, src: S, roots: Children) {
        self.rows.clear();
        self.pending.clear();
        self.cursor = None;
        self.cursor_for = None;
        self.scroll_to = None;
        self.roots = roots;
        self.roots_shown = 0;
        self.show_page(None, 0, snap, src);
    }

    /// The first row showing node `n`.
    pub fn find_row(&self, n: NodeIx) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| !r.is_more() && r.child.node == n)
    }

    /// Put the cursor on row `i` (which shows the selected node) and scroll to it.
    pub fn reveal_row(&mut self, i: usize) {
        if let Some(r) = self.rows.get(i) {
            self.cursor = Some(i);
            self.cursor_for = Some(r.child.node);
            self.scroll_to = Some(i);
        }
    }

    /// Expand row `i` now. With `ctx`, an expensive listing goes to a background thread and
    /// the rows appear when it is done.
    pub fn expand<S: TreeSource>(
        &mut self,
        i: usize,
        snap: &Arc<LoadedSnapshot>,
        src: S,
        ctx: Option<&egui::Context>,
    ) {
        let Some(r) = self.rows.get(i) else { return };
        if r.is_more() || r.expanded || !r.has_children {
            return;
        }
        let (node, uid) = (r.child.node, r.uid);
        if let Some(ctx) = ctx {
            if src.work_hint(snap, node) > BACKGROUND_WORK {
                if !self.is_pending(uid) {
                    let s = snap.clone();
                    let task = BackgroundTask::spawn(ctx, move |_| src.children(&s, node));
                    self.pending.push((uid, task));
                }
                return;
            }
        }
        let kids = src.children(snap, node);
        self.attach(i, kids, snap, src);
    }

    /// Collapse row `i`, dropping the rows below it.
    pub fn collapse(&mut self, i: usize) {
        let Some(r) = self.rows.get_mut(i) else {
            return;
        };
        let uid = r.uid;
        r.expanded = false;
        r.kids = Children::default();
        r.shown = 0;
        self.pending.retain(|(u, _)| *u != uid);
        let end = self.subtree_end(i);
        self.replace_rows(i + 1..end, Vec::new(), i);
    }

    /// Expand or collapse row `i`, or load the next page for a "more" row.
    pub fn toggle<S: TreeSource>(
        &mut self,
        i: usize,
        snap: &Arc<LoadedSnapshot>,
        src: S,
        ctx: Option<&egui::Context>,
    ) {
        let Some(r) = self.rows.get(i) else { return };
        if r.is_more() {
            self.load_more(i, snap, src);
        } else if r.expanded || self.is_pending(r.uid) {
            self.collapse(i);
        } else {
            self.expand(i, snap, src, ctx);
        }
    }

    /// Replace "more" row `i` with the next page of its parent's children.
    pub fn load_more<S: TreeSource>(&mut self, i: usize, snap: &LoadedSnapshot, src: S) {
        if !self.rows.get(i).is_some_and(TreeRow::is_more) {
            return;
        }
        let cursor_here = self.cursor == Some(i);
        let parent = self.parent_of(i);
        self.replace_rows(i..i + 1, Vec::new(), i);
        self.show_page(parent, i, snap, src);
        if cursor_here {
            self.cursor = Some(i.min(self.rows.len().saturating_sub(1)));
        }
    }

    /// Expand along `steps`, the first matched among the top-level rows and each next one among
    /// the children of the previous, loading more pages where needed (up to a limit). Returns
    /// the row of the last step, or `None` when a step is not found. The last row is left as
    /// it was.
    pub fn expand_path<S: TreeSource>(
        &mut self,
        snap: &Arc<LoadedSnapshot>,
        src: S,
        steps: &[PathMatch],
    ) -> Option<usize> {
        let mut parent: Parent = None;
        for step in steps {
            if let Some(p) = parent {
                // Listing a node with a huge child list would stall this frame: stop revealing
                // there (expanding it by hand lists it in the background).
                let unexpanded = !self.rows[p].expanded;
                if unexpanded && src.work_hint(snap, self.rows[p].child.node) > BACKGROUND_WORK {
                    return None;
                }
                self.expand(p, snap, src, None);
                if !self.rows[p].expanded {
                    return None;
                }
            }
            parent = Some(self.find_child(parent, step, snap, src)?);
        }
        parent
    }

    /// Index of the row one level up, `None` for top-level rows.
    pub fn parent_of(&self, i: usize) -> Parent {
        let depth = self.rows.get(i)?.depth;
        if depth == 0 {
            return None;
        }
        (0..i).rev().find(|&j| self.rows[j].depth == depth - 1)
    }

    /// Draw the tree, handle clicks and keys.
    pub fn ui<S: TreeSource>(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<LoadedSnapshot>,
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

    fn is_pending(&self, uid: u64) -> bool {
        self.pending.iter().any(|(u, _)| *u == uid)
    }

    fn poll_pending<S: TreeSource>(&mut self, snap: &Arc<LoadedSnapshot>, src: S) {
        if self.pending.is_empty() {
            return;
        }
        let mut done = Vec::new();
        self.pending.retain_mut(|(uid, task)| match task.poll() {
            Some(kids) => {
                done.push((*uid, kids));
                false
            }
            None => true,
        });
        for (uid, kids) in done {
            if let Some(i) = self.rows.iter().position(|r| r.uid == uid) {
                if !self.rows[i].expanded {
                    self.attach(i, kids, snap, src);
                }
            }
        }
    }

    /// Show `kids` under row `i` (first page).
    fn attach<S: TreeSource>(&mut self, i: usize, kids: Children, snap: &LoadedSnapshot, src: S) {
        let r = &mut self.rows[i];
        if kids.count(snap.data.graph()) == 0 {
            r.has_children = false;
            return;
        }
        r.kids = kids;
        r.expanded = true;
        r.shown = 0;
        self.show_page(Some(i), i + 1, snap, src);
    }

    /// Insert the next page of `parent`'s children at row `at`, with a "more" row after them
    /// when some are still left.
    fn show_page<S: TreeSource>(
        &mut self,
        parent: Parent,
        at: usize,
        snap: &LoadedSnapshot,
        src: S,
    ) {
        let g = snap.data.graph();
        let (kids, start, depth, parent_node) = match parent {
            Some(p) => {
                let r = &self.rows[p];
                (&r.kids, r.shown, r.depth + 1, r.child.node)
            }
            None => (&self.roots, self.roots_shown, 0, g.root()),
        };
        let total = kids.count(g);
        let end = (start + PAGE).min(total);
        let page: Vec<Child> = (start..end).map(|k| kids.get(g, k)).collect();
        let mut new: Vec<TreeRow> = Vec::with_capacity(page.len() + 1);
        for c in page {
            let has_children = src.may_have_children(snap, c.node);
            new.push(self.new_row(depth, c, has_children, 0));
        }
        if end < total {
            new.push(self.new_row(depth, Child::node(parent_node), false, total - end));
        }
        match parent {
            Some(p) => self.rows[p].shown = end,
            None => self.roots_shown = end,
        }
        self.replace_rows(at..at, new, at);
    }

    fn new_row(&mut self, depth: u32, child: Child, has_children: bool, more: usize) -> TreeRow {
        self.next_uid += 1;
        TreeRow {
            depth,
            child,
            expanded: false,
            has_children,
            more,
            kids: Children::default(),
            shown: 0,
            uid: self.next_uid,
        }
    }

    /// Splice rows, keeping the cursor on the same row (or on `displaced` if it was removed).
    fn replace_rows(&mut self, range: Range<usize>, new: Vec<TreeRow>, displaced: usize) {
        let (removed, added) = (range.len(), new.len());
        if let Some(c) = self.cursor {
            if range.contains(&c) {
                self.cursor = Some(displaced);
            } else if c >= range.end {
                self.cursor = Some(c - removed + added);
            }
        }
        self.scroll_to = None;
        self.rows.splice(range, new);
    }

    /// One past the last row below `i` (its expanded subtree).
    fn subtree_end(&self, i: usize) -> usize {
        let depth = self.rows[i].depth;
        let mut j = i + 1;
        while j < self.rows.len() && self.rows[j].depth > depth {
            j += 1;
        }
        j
    }

    /// The row of `parent`'s child matching `step`, loading pages until it shows.
    fn find_child<S: TreeSource>(
        &mut self,
        parent: Parent,
        step: &PathMatch,
        snap: &LoadedSnapshot,
        src: S,
    ) -> Option<usize> {
        let g = snap.data.graph();
        let position = |t: &Self| {
            let (start, end, depth) = match parent {
                Some(p) => (p + 1, t.subtree_end(p), t.rows[p].depth + 1),
                None => (0, t.rows.len(), 0),
            };
            (start..end).find(|&j| {
                let r = &t.rows[j];
                r.depth == depth && !r.is_more() && step.matches(&r.child)
            })
        };
        if let Some(j) = position(self) {
            return Some(j);
        }
        let (kids, shown) = match parent {
            Some(p) => (&self.rows[p].kids, self.rows[p].shown),
            None => (&self.roots, self.roots_shown),
        };
        let total = kids.count(g).min(REVEAL_LIMIT);
        let k = (shown..total).find(|&k| step.matches(&kids.get(g, k)))?;
        loop {
            let shown = match parent {
                Some(p) => self.rows[p].shown,
                None => self.roots_shown,
            };
            if shown > k {
                break;
            }
            // The "more" row is the last row of the parent's subtree.
            let more = match parent {
                Some(p) => self.subtree_end(p) - 1,
                None => self.rows.len() - 1,
            };
            if !self.rows[more].is_more() {
                return None;
            }
            self.load_more(more, snap, src);
        }
        position(self)
    }

    fn valid_cursor(&self, selected: Option<NodeIx>) -> Option<usize> {
        let c = self.cursor?;
        let r = self.rows.get(c)?;
        (self.cursor_for == selected && (r.is_more() || Some(r.child.node) == selected))
            .then_some(c)
    }

    fn select_row(&mut self, i: usize, selection: &mut Selection) {
        let Some(r) = self.rows.get(i) else { return };
        if !r.is_more() {
            selection.node = Some(r.child.node);
        }
        self.cursor = Some(i);
        self.cursor_for = selection.node;
        self.scroll_to = Some(i);
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
        snap: &Arc<LoadedSnapshot>,
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
            let (is_more, expanded, uid) = {
                let r = &self.rows[c];
                (r.is_more(), r.expanded, r.uid)
            };
            if right {
                if is_more {
                    self.load_more(c, snap, src);
                    target = Some(c);
                } else if expanded {
                    target = Some((c + 1).min(last));
                } else {
                    self.expand(c, snap, src, Some(ui.ctx()));
                    target = Some(c);
                }
            } else if left {
                if expanded || self.is_pending(uid) {
                    self.collapse(c);
                    target = Some(c);
                } else {
                    target = Some(self.parent_of(c).unwrap_or(c));
                }
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
        snap: &LoadedSnapshot,
        selection: &Selection,
        style: &TreeStyle,
    ) -> Option<RowAction> {
        let text_height = ui.text_style_height(&egui::TextStyle::Body);
        let row_height = (text_height + 6.0).max(18.0);
        let highlight = self.valid_cursor(selection.node);
        let selected = selection.node;
        let total = snap.summary.total_size;
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
                            row.col(|ui| format::number_cell(ui, distance_text(a.distance(n))));
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
    snap: &LoadedSnapshot,
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
        clicked = toggle_button(ui, r.expanded, label).clicked();
    } else {
        ui.add_space(INDENT);
    }
    ui.add(egui::Label::new(row_job(ui, snap, &r.child, style.joiner)).truncate());
    clicked
}

/// A small ▶/▼ triangle; its accessible label is "Expand …"/"Collapse …" plus the row text.
fn toggle_button(ui: &mut egui::Ui, expanded: bool, label: impl Fn() -> String) -> egui::Response {
    let size = egui::vec2(INDENT, ui.available_height());
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    response.widget_info(|| {
        let verb = if expanded { "Collapse" } else { "Expand" };
        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("{verb} {}", label()))
    });
    if ui.is_rect_visible(rect) {
        let color = if response.hovered() {
            ui.visuals().strong_text_color()
        } else {
            ui.visuals().text_color()
        };
        let c = rect.center();
        let s = 4.0;
        let points = if expanded {
            vec![
                c + egui::vec2(-s, -s * 0.5),
                c + egui::vec2(s, -s * 0.5),
                c + egui::vec2(0.0, s * 0.7),
            ]
        } else {
            vec![
                c + egui::vec2(-s * 0.5, -s),
                c + egui::vec2(-s * 0.5, s),
                c + egui::vec2(s * 0.7, 0.0),
            ]
        };
        ui.painter().add(egui::Shape::convex_polygon(
            points,
            color,
            egui::Stroke::NONE,
        ));
    }
    response
}

/// Colour of edge names.
fn edge_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(0xc5, 0x94, 0xf0)
    } else {
        Color32::from_rgb(0x88, 0x1e, 0xa8)
    }
}

/// A row's label, coloured: edge, joiner, class, name, `@id`, and a "weak" marker.
fn row_job(ui: &egui::Ui, snap: &LoadedSnapshot, c: &Child, joiner: &str) -> LayoutJob {
    let style = ui.style();
    let weak_color = ui.visuals().weak_text_color();
    let weak = c.weak();
    let mut job = LayoutJob::default();
    let mut add = |text: RichText| {
        let text = if weak { text.color(weak_color) } else { text };
        text.append_to(&mut job, style, FontSelection::Default, Align::Center);
    };
    let g = snap.data.graph();
    if let Some(e) = &c.edge {
        add(RichText::new(edge_text(g, e)).color(edge_color(ui)));
        add(RichText::new(joiner).color(weak_color));
    }
    let (title, name) = node_title(snap, c.node);
    add(RichText::new(title).color(ui.visuals().strong_text_color()));
    if !name.is_empty() {
        add(RichText::new(name).color(weak_color));
    }
    add(RichText::new(format!(" @{}", g.id(c.node))).color(weak_color));
    if weak {
        add(RichText::new(" weak").small().italics().color(weak_color));
    }
    job
}

/// A row's label as plain text (also the accessible label): `edge joiner Class name @id`.
pub fn row_text(snap: &LoadedSnapshot, c: &Child, joiner: &str) -> String {
    let g = snap.data.graph();
    let mut s = String::new();
    if let Some(e) = &c.edge {
        s.push_str(&edge_text(g, e));
        s.push_str(joiner);
    }
    s.push_str(&node_label(snap, c.node));
    if c.weak() {
        s.push_str(" weak");
    }
    s
}

/// `Class name @id`, as the tree rows show a node.
pub fn node_label(snap: &LoadedSnapshot, n: NodeIx) -> String {
    let (title, name) = node_title(snap, n);
    format!("{title}{name} @{}", snap.data.graph().id(n))
}

/// The short name of a node: its class, or a synthetic node's own name (`(GC roots)`).
pub fn node_short_name(snap: &LoadedSnapshot, n: NodeIx) -> String {
    node_title(snap, n).0
}

/// A node's title (class, or the name of a synthetic node) and the rest of its name
/// (with a leading space, empty when it would repeat the class).
fn node_title(snap: &LoadedSnapshot, n: NodeIx) -> (String, String) {
    let g = snap.data.graph();
    let class = snap.data.class_name(n);
    let name = one_line(g.name(n), NAME_CHARS);
    match g.kind(n) {
        NodeKind::Synthetic if n == g.root() && name.is_empty() => ("(root)".into(), String::new()),
        NodeKind::Synthetic if !name.is_empty() => (name, String::new()),
        k if k.is_string() => (class.to_string(), format!(" \"{name}\"")),
        NodeKind::Closure if !name.is_empty() => (class.to_string(), format!(" {name}()")),
        _ if name.is_empty() || name == class => (class.to_string(), String::new()),
        _ => (class.to_string(), format!(" {name}")),
    }
}

/// An edge's name as DevTools writes it: property `.name` (`["a b"]` with a space), element
/// `[i]`, context `->name`, weak `[[name]]`, internal and hidden `{name}`, shortcut like a
/// property (or `[i]` when numeric).
pub fn edge_text(g: &HeapGraph, e: &EdgeRef) -> String {
    let name = || one_line(g.strings().get(e.name_or_index), NAME_CHARS);
    let property = |name: String| {
        if name.contains(' ') {
            format!("[\"{name}\"]")
        } else {
            format!(".{name}")
        }
    };
    match e.kind {
        EdgeKind::Element => format!("[{}]", e.name_or_index),
        EdgeKind::Hidden => format!("{{{}}}", e.name_or_index),
        EdgeKind::Property => property(name()),
        EdgeKind::Shortcut => {
            let name = name();
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                format!("[{name}]")
            } else {
                property(name)
            }
        }
        EdgeKind::Context => format!("->{}", name()),
        EdgeKind::Weak => format!("[[{}]]", name()),
        EdgeKind::Internal => format!("{{{}}}", name()),
        EdgeKind::Other => name(),
    }
}
