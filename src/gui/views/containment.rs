//! Containment: the heap as the references lay it out, from the root along outgoing edges of
//! every type. Edge names are written as DevTools writes them; weak edges are greyed and marked.

use std::sync::Arc;

use eframe::egui;

use super::tree::{Children, TreeSource, TreeStyle, TreeTable};
use crate::gui::views::{Action, View, ViewContext};
use crate::gui::Selection;
use crate::model::NodeIx;
use crate::store::Document;

const STYLE: TreeStyle = TreeStyle {
    id_salt: "containment tree",
    object_header: "Object",
    joiner: " :: ",
    share: false,
    primary: true,
};

/// Children in containment: the targets of a node's outgoing edges, in snapshot order.
#[derive(Debug, Clone, Copy)]
pub struct ContainmentSource;

impl TreeSource for ContainmentSource {
    fn children(self, _snap: &Document, n: NodeIx) -> Children {
        Children::OutEdges(n)
    }

    fn may_have_children(self, snap: &Document, n: NodeIx) -> bool {
        !snap.data.graph().edge_range(n).is_empty()
    }

    fn work_hint(self, _snap: &Document, _n: NodeIx) -> usize {
        // Edges are read from the graph a page at a time: nothing to list up front.
        0
    }
}

/// View state.
#[derive(Default)]
pub struct ContainmentView {
    tree: TreeTable,
    /// The snapshot the tree shows (its address; 0 before the first frame).
    built_for: usize,
    /// The selection as of the last frame: a change not made here is scrolled to if shown.
    last_selection: Option<NodeIx>,
}

impl ContainmentView {
    /// The tree's state (rows shown, for tests and other views).
    pub fn tree(&self) -> &TreeTable {
        &self.tree
    }

    /// Draw the view.
    fn draw(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        let key = Arc::as_ptr(snap) as usize;
        if self.built_for != key {
            self.built_for = key;
            let root = snap.data.graph().root();
            self.tree = TreeTable::default();
            self.tree
                .set_roots(snap, ContainmentSource, Children::Nodes(vec![root]));
            self.tree.expand(0, snap, ContainmentSource, None);
            self.last_selection = None;
        }
        if selection.node != self.last_selection {
            // Only rows already shown: a node can be reached along many paths here.
            if let Some(i) = selection.node.and_then(|n| self.tree.find_row(n)) {
                self.tree.reveal_row(i);
            }
        }
        ui.label(
            egui::RichText::new(
                "References from the root, edges named as in DevTools: .property, [element], \
                 ->context variable, {internal}, [[weak]].",
            )
            .weak(),
        );
        self.tree.ui(ui, snap, selection, ContainmentSource, &STYLE);
        self.last_selection = selection.node;
    }
}

impl View for ContainmentView {
    fn title(&self) -> &'static str {
        "Containment"
    }

    fn applies_to(&self, _doc: &Document) -> bool {
        true
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
