//! The retainers panel: what keeps the selected object alive. Its retainers as a tree (each one
//! expands to its own retainers, closest to the roots first, weak ones greyed at the end), with
//! the shortest path to a GC root expanded, and the few shortest paths listed beside it.
//!
//! Clicking in the panel selects that object without re-rooting the panel; a selection made
//! anywhere else shows that object's retainers.

use std::sync::Arc;

use eframe::egui;

use super::tree::{self, Child, Children, PathMatch, TreeSource, TreeStyle, TreeTable};
use crate::analysis::retainers::{retainer_paths, sorted_retainers, RetainerPath};
use crate::gui::{format, LoadedSnapshot, Selection};
use crate::model::{EdgeKind, NodeIx};
use crate::report::text::distance_text;

/// How many paths to GC roots are listed.
const MAX_PATHS: usize = 5;

const STYLE: TreeStyle = TreeStyle {
    id_salt: "retainers tree",
    object_header: "Retainer",
    joiner: " in ",
    share: false,
    primary: false,
};

/// Children in the retainers tree: the nodes holding a node, through which edge.
#[derive(Debug, Clone, Copy)]
pub struct RetainerSource;

impl TreeSource for RetainerSource {
    fn children(self, snap: &LoadedSnapshot, n: NodeIx) -> Children {
        let g = snap.data.graph();
        let mut list: Vec<Child> = sorted_retainers(g, &snap.data.analysis, n)
            .into_iter()
            .map(|e| Child {
                node: e.from,
                edge: Some(e),
            })
            .collect();
        // Weak retainers don't keep the node alive; list them last, greyed, for completeness.
        list.extend(
            g.retainer_edges(n)
                .into_iter()
                .filter(|e| e.kind == EdgeKind::Weak && e.from != g.root())
                .map(|e| Child {
                    node: e.from,
                    edge: Some(e),
                }),
        );
        Children::List(list)
    }

    fn may_have_children(self, snap: &LoadedSnapshot, n: NodeIx) -> bool {
        let g = snap.data.graph();
        g.retainer_nodes(n).any(|r| r != g.root())
    }

    fn work_hint(self, snap: &LoadedSnapshot, n: NodeIx) -> usize {
        snap.data.graph().retainer_count(n)
    }
}

/// View state.
#[derive(Default)]
pub struct RetainersPanel {
    tree: TreeTable,
    /// The object whose retainers are shown.
    target: Option<NodeIx>,
    /// Up to [`MAX_PATHS`] shortest paths from the roots to the target.
    paths: Vec<RetainerPath>,
    /// The snapshot shown (its address; 0 before the first frame).
    built_for: usize,
    /// The selection as of the last frame: a change not made here re-roots the panel.
    last_selection: Option<NodeIx>,
}

impl RetainersPanel {
    /// The retainers tree's state (rows shown, for tests).
    pub fn tree(&self) -> &TreeTable {
        &self.tree
    }

    /// The object whose retainers are shown.
    pub fn target(&self) -> Option<NodeIx> {
        self.target
    }

    /// The shortest paths from the roots to the target, shortest first.
    pub fn paths(&self) -> &[RetainerPath] {
        &self.paths
    }

    /// Draw the view.
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: &Arc<LoadedSnapshot>, selection: &mut Selection) {
        // Fill the height the panel was given, so the panel keeps its size whatever it shows.
        ui.set_min_height(ui.available_height());
        let key = Arc::as_ptr(snap) as usize;
        if key != self.built_for || selection.node != self.last_selection {
            self.built_for = key;
            self.set_target(snap, selection.node);
        }
        let Some(n) = self.target else {
            ui.label(egui::RichText::new("Select an object to see what keeps it alive").weak());
            self.last_selection = selection.node;
            return;
        };
        header(ui, snap, n);
        if n == snap.data.graph().root() {
            ui.label(
                egui::RichText::new("The root holds the whole heap; nothing retains it.").weak(),
            );
        } else if self.tree.rows().is_empty() {
            ui.label(egui::RichText::new("Nothing but the root retains this object.").weak());
        } else {
            if !self.paths.is_empty() {
                let width = (ui.available_width() * 0.4).max(200.0);
                egui::Panel::right("retainer paths")
                    .resizable(true)
                    .default_size(width)
                    .show(ui, |ui| paths_ui(ui, snap, &self.paths, selection));
            }
            self.tree.ui(ui, snap, selection, RetainerSource, &STYLE);
        }
        self.last_selection = selection.node;
    }

    /// Show the retainers of `n`, with its shortest path to a GC root expanded.
    fn set_target(&mut self, snap: &Arc<LoadedSnapshot>, n: Option<NodeIx>) {
        self.target = n;
        self.tree = TreeTable::default();
        self.paths.clear();
        let Some(n) = n else { return };
        let g = snap.data.graph();
        self.tree
            .set_roots(snap, RetainerSource, RetainerSource.children(snap, n));
        // Each step costs the path length times the retainers' degree: fine on the UI thread.
        self.paths = retainer_paths(g, &snap.data.analysis, n, MAX_PATHS);
        if let Some(first) = self.paths.first() {
            // The tree lists retainers from the node upwards and never the root itself.
            let steps: Vec<PathMatch> = first.steps[1..]
                .iter()
                .rev()
                .map(|s| PathMatch {
                    node: s.edge.from,
                    edge: Some(s.edge.index),
                })
                .collect();
            self.tree.expand_path(snap, RetainerSource, &steps);
        }
    }
}

/// `Class name @id   shallow …   retained …   distance …`
fn header(ui: &mut egui::Ui, snap: &LoadedSnapshot, n: NodeIx) {
    let a = &snap.data.analysis;
    ui.horizontal(|ui| {
        ui.label("Retainers of");
        ui.strong(tree::node_label(snap, n));
        ui.separator();
        size_label(ui, "shallow", a.shallow_size(n));
        size_label(ui, "retained", a.retained_size(n));
        ui.label(format!("distance {}", distance_text(a.distance(n))));
    });
}

fn size_label(ui: &mut egui::Ui, what: &str, bytes: u64) {
    ui.label(format!("{what} {}", format::human_bytes(bytes)))
        .on_hover_text(format!("{} bytes", format::group_digits(bytes)));
}

/// The paths, one wrapped line each: `(GC roots) › [7] (Stack roots) › … › {627} Class`.
fn paths_ui(
    ui: &mut egui::Ui,
    snap: &LoadedSnapshot,
    paths: &[RetainerPath],
    selection: &mut Selection,
) {
    let g = snap.data.graph();
    ui.strong("Paths to GC roots");
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (k, p) in paths.iter().enumerate() {
                ui.horizontal_wrapped(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    ui.label(egui::RichText::new(format!("{}.", k + 1)).weak());
                    for (j, step) in p.steps.iter().enumerate() {
                        if j > 0 {
                            ui.label(egui::RichText::new("›").weak());
                            ui.label(egui::RichText::new(tree::edge_text(g, &step.edge)).italics());
                        }
                        let node = step.edge.to;
                        let chosen = selection.node == Some(node);
                        if ui
                            .selectable_label(chosen, tree::node_short_name(snap, node))
                            .on_hover_text(tree::node_label(snap, node))
                            .clicked()
                        {
                            selection.node = Some(node);
                        }
                    }
                });
                ui.add_space(4.0);
            }
        });
}
