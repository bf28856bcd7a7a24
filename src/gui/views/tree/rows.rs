//! The flat row list of a [`TreeTable`]: expanding, collapsing and paging splice it, revealing
//! a path expands along it, and a cursor follows the rows as they move.

use std::ops::Range;
use std::sync::Arc;

use eframe::egui;

use super::{
    Child, Children, Parent, PathMatch, TreeRow, TreeSource, TreeTable, BACKGROUND_WORK, PAGE,
};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::model::NodeIx;
use crate::store::Document;

/// Revealing a node loads pages of its siblings up to this position, not further.
const REVEAL_LIMIT: usize = 10_000;

/// What a row is, for the operations that open and close it (see [`TreeTable::row_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowState {
    /// A "… N more" row.
    More,
    /// Its children are shown below it.
    Expanded,
    /// Its children are being listed on a background thread (only rows with children).
    Listing,
    /// Not expanded, and may have children.
    Closed,
    /// Known to have no children.
    Leaf,
}

impl TreeTable {
    /// The rows shown, top to bottom.
    pub fn rows(&self) -> &[TreeRow] {
        &self.rows
    }

    /// Show `roots` as the top-level rows (the first page of them), replacing everything.
    pub fn set_roots<S: TreeSource>(&mut self, snap: &Document, src: S, roots: Children) {
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
        snap: &Arc<Document>,
        src: S,
        ctx: Option<&egui::Context>,
    ) {
        let Some(state @ (RowState::Closed | RowState::Listing)) = self.row_state(i) else {
            return;
        };
        let (node, uid) = (self.rows[i].child.node, self.rows[i].uid);
        if let Some(ctx) = ctx {
            if src.work_hint(snap, node) > BACKGROUND_WORK {
                if state == RowState::Closed {
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
        snap: &Arc<Document>,
        src: S,
        ctx: Option<&egui::Context>,
    ) {
        match self.row_state(i) {
            Some(RowState::More) => self.load_more(i, snap, src),
            Some(RowState::Expanded | RowState::Listing) => self.collapse(i),
            Some(RowState::Closed) => self.expand(i, snap, src, ctx),
            Some(RowState::Leaf) | None => {}
        }
    }

    /// Replace "more" row `i` with the next page of its parent's children.
    pub fn load_more<S: TreeSource>(&mut self, i: usize, snap: &Document, src: S) {
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
        snap: &Arc<Document>,
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

    /// What row `i` is, for opening and closing it; `None` past the last row.
    pub(super) fn row_state(&self, i: usize) -> Option<RowState> {
        let r = self.rows.get(i)?;
        Some(if r.is_more() {
            RowState::More
        } else if r.expanded {
            RowState::Expanded
        } else if self.is_pending(r.uid) {
            RowState::Listing
        } else if r.has_children {
            RowState::Closed
        } else {
            RowState::Leaf
        })
    }

    fn is_pending(&self, uid: u64) -> bool {
        self.pending.iter().any(|(u, _)| *u == uid)
    }

    pub(super) fn poll_pending<S: TreeSource>(&mut self, snap: &Arc<Document>, src: S) {
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
    fn attach<S: TreeSource>(&mut self, i: usize, kids: Children, snap: &Document, src: S) {
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
    fn show_page<S: TreeSource>(&mut self, parent: Parent, at: usize, snap: &Document, src: S) {
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
        snap: &Document,
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

    pub(super) fn valid_cursor(&self, selected: Option<NodeIx>) -> Option<usize> {
        let c = self.cursor?;
        let r = self.rows.get(c)?;
        (self.cursor_for == selected && (r.is_more() || Some(r.child.node) == selected))
            .then_some(c)
    }

    pub(super) fn select_row(&mut self, i: usize, selection: &mut Selection) {
        let Some(r) = self.rows.get(i) else { return };
        if !r.is_more() {
            selection.node = Some(r.child.node);
        }
        self.cursor = Some(i);
        self.cursor_for = selection.node;
        self.scroll_to = Some(i);
    }
}
