//! The dominator tree: every object under the one that dominates it (whose removal would free
//! it), largest retained size first, with its share of the heap. Selecting an object elsewhere
//! reveals it here by expanding its dominator chain.

use std::sync::Arc;

use eframe::egui;

use super::tree::{Children, PathMatch, TreeSource, TreeStyle, TreeTable};
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::model::NodeIx;
use crate::store::Document;

/// Revealing a node expands at most this many levels of its dominator chain.
const MAX_REVEAL_DEPTH: usize = 200;

const STYLE: TreeStyle = TreeStyle {
    id_salt: "dominator tree",
    object_header: "Object",
    joiner: "",
    share: true,
    primary: true,
};

/// Children in the dominator tree: the nodes a node immediately dominates.
#[derive(Debug, Clone, Copy)]
pub struct DominatorSource;

impl TreeSource for DominatorSource {
    fn children(self, snap: &Document, n: NodeIx) -> Children {
        Children::Nodes(snap.data.analysis.dominators.sorted_children(n))
    }

    fn may_have_children(self, snap: &Document, n: NodeIx) -> bool {
        !snap.data.analysis.dominators.children().of(n).is_empty()
    }

    fn work_hint(self, snap: &Document, n: NodeIx) -> usize {
        snap.data.analysis.dominators.children().of(n).len()
    }
}

/// View state.
#[derive(Default)]
pub struct DominatorsView {
    tree: TreeTable,
    /// The snapshot the tree shows (its address; 0 before the first frame).
    built_for: usize,
    /// Building the child lists (once per snapshot, 8 bytes a node) off the UI thread.
    warmup: Option<(usize, BackgroundTask<()>)>,
    /// The selection as of the last frame: a change not made here is revealed.
    last_selection: Option<NodeIx>,
}

impl DominatorsView {
    /// The tree's state (rows shown, for tests and other views).
    pub fn tree(&self) -> &TreeTable {
        &self.tree
    }

    /// Draw the view.
    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        if !self.ready(ui, snap) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Building the dominator tree…");
            });
            return;
        }
        if selection.node != self.last_selection {
            if let Some(n) = selection.node {
                self.reveal(snap, n);
            }
        }
        ui.label(
            egui::RichText::new(
                "Each object sits under its dominator: the object whose removal would free it. \
                 Largest retained size first.",
            )
            .weak(),
        );
        self.tree.ui(ui, snap, selection, DominatorSource, &STYLE);
        self.last_selection = selection.node;
    }

    /// True once the tree for `snap` is set up; starts the set-up the first time.
    fn ready(&mut self, ui: &egui::Ui, snap: &Arc<Document>) -> bool {
        let key = Arc::as_ptr(snap) as usize;
        if self.built_for == key {
            return true;
        }
        if self.warmup.as_ref().is_none_or(|(k, _)| *k != key) {
            let s = snap.clone();
            let task = BackgroundTask::spawn(ui.ctx(), move |_| {
                s.data.analysis.dominators.children();
            });
            self.warmup = Some((key, task));
        }
        let done = self
            .warmup
            .as_mut()
            .is_some_and(|(_, task)| task.poll().is_some());
        if !done {
            return false;
        }
        self.warmup = None;
        self.built_for = key;
        let root = snap.data.graph().root();
        self.tree = TreeTable::default();
        self.tree
            .set_roots(snap, DominatorSource, Children::Nodes(vec![root]));
        // The root may dominate millions of nodes: sort them off the UI thread if so.
        self.tree.expand(0, snap, DominatorSource, Some(ui.ctx()));
        self.last_selection = None;
        true
    }

    /// Show `n`: scroll to its row, or expand its dominator chain down to it.
    fn reveal(&mut self, snap: &Arc<Document>, n: NodeIx) {
        if let Some(i) = self.tree.find_row(n) {
            self.tree.reveal_row(i);
            return;
        }
        let mut chain = snap.data.analysis.dominators.chain(n);
        if chain.len() > MAX_REVEAL_DEPTH {
            return;
        }
        chain.reverse();
        chain.push(n);
        let steps: Vec<PathMatch> = chain
            .into_iter()
            .map(|node| PathMatch { node, edge: None })
            .collect();
        if let Some(i) = self.tree.expand_path(snap, DominatorSource, &steps) {
            self.tree.reveal_row(i);
        }
    }
}

impl View for DominatorsView {
    fn title(&self) -> &'static str {
        "Dominators"
    }

    fn applies_to(&self, _doc: &Document) -> bool {
        true
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
