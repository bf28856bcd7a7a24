//! The retainers panel: what keeps the selected object alive. Its retainers as a tree (each one
//! expands to its own retainers, closest to the roots first, weak ones greyed at the end), with
//! the shortest path to a GC root expanded, and the few shortest paths listed beside it.
//!
//! Clicking in the panel selects that object without re-rooting the panel; a selection made
//! anywhere else shows that object's retainers.

use std::sync::Arc;

use eframe::egui;

use super::tree::{
    self, Child, Children, PathMatch, TreeSource, TreeStyle, TreeTable, BACKGROUND_WORK,
};
use crate::analysis::allocation_stacks::stack_of;
use crate::analysis::retainers::{
    left_out_note, retainer_paths, sorted_retainers, RetainerPath, SHOWN_TAIL,
};
use crate::gui::worker::BackgroundTask;
use crate::gui::{format, Selection};
use crate::model::{EdgeKind, NodeIx};
use crate::report::text::distance_text;
use crate::store::Document;

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
    fn children(self, snap: &Document, n: NodeIx) -> Children {
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
            crate::analysis::retainers::incoming_edges(g, &snap.data.analysis, n)
                .into_iter()
                .filter(|e| e.kind == EdgeKind::Weak && e.from != g.root())
                .map(|e| Child {
                    node: e.from,
                    edge: Some(e),
                }),
        );
        Children::List(list)
    }

    fn may_have_children(self, snap: &Document, n: NodeIx) -> bool {
        let g = snap.data.graph();
        g.retainer_nodes(n).any(|r| r != g.root())
    }

    fn work_hint(self, snap: &Document, n: NodeIx) -> usize {
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
    /// Finding the paths (the first search of a snapshot walks the whole graph once).
    paths_task: Option<BackgroundTask<Vec<RetainerPath>>>,
    /// Listing the target's retainers, when it has very many.
    roots_task: Option<BackgroundTask<Children>>,
    /// The first path has been expanded in the tree (once both it and the tree were ready).
    path_shown: bool,
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

    /// True while the retainers or the paths are being found.
    pub fn busy(&self) -> bool {
        self.paths_task.is_some() || self.roots_task.is_some()
    }

    /// Draw the view.
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        // Fill the height the panel was given, so the panel keeps its size whatever it shows.
        ui.set_min_height(ui.available_height());
        let key = Arc::as_ptr(snap) as usize;
        if key != self.built_for || selection.node != self.last_selection {
            self.built_for = key;
            self.set_target(ui.ctx(), snap, selection.node);
        }
        self.poll_tasks(snap);
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
        } else if self.roots_task.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Listing the retainers…");
            });
        } else if self.tree.rows().is_empty() {
            ui.label(egui::RichText::new("Nothing but the root retains this object.").weak());
        } else {
            if !self.paths.is_empty() || self.paths_task.is_some() {
                let width = (ui.available_width() * 0.4).max(200.0);
                let busy = self.paths_task.is_some();
                egui::Panel::right("retainer paths")
                    .resizable(true)
                    .default_size(width)
                    .show(ui, |ui| paths_ui(ui, snap, &self.paths, busy, selection));
            }
            self.tree.ui(ui, snap, selection, RetainerSource, &STYLE);
        }
        self.last_selection = selection.node;
    }

    /// Show the retainers of `n`, and start finding its paths to the GC roots.
    fn set_target(&mut self, ctx: &egui::Context, snap: &Arc<Document>, n: Option<NodeIx>) {
        self.target = n;
        self.tree = TreeTable::default();
        self.paths.clear();
        self.paths_task = None;
        self.roots_task = None;
        self.path_shown = false;
        let Some(n) = n else { return };
        if RetainerSource.work_hint(snap, n) > BACKGROUND_WORK {
            // Shared objects (shapes, prototypes) can have millions of retainers to sort.
            let s = snap.clone();
            self.roots_task = Some(BackgroundTask::spawn(ctx, move |_| {
                RetainerSource.children(&s, n)
            }));
        } else {
            self.tree
                .set_roots(snap, RetainerSource, RetainerSource.children(snap, n));
        }
        // A path costs its length once the distance search's parent edges exist, but the first
        // request of a snapshot computes those for the whole graph: off the UI thread.
        let s = snap.clone();
        self.paths_task = Some(BackgroundTask::spawn(ctx, move |_| {
            retainer_paths(s.data.graph(), &s.data.analysis, n, MAX_PATHS)
        }));
    }

    /// Take finished work; once the retainers and the paths are both there, expand the first
    /// path in the tree.
    fn poll_tasks(&mut self, snap: &Arc<Document>) {
        if let Some(kids) = self.roots_task.as_mut().and_then(BackgroundTask::poll) {
            self.roots_task = None;
            self.tree.set_roots(snap, RetainerSource, kids);
        }
        if let Some(paths) = self.paths_task.as_mut().and_then(BackgroundTask::poll) {
            self.paths_task = None;
            self.paths = paths;
        }
        if self.path_shown || self.busy() || self.target.is_none() {
            return;
        }
        self.path_shown = true;
        if let Some(first) = self.paths.first() {
            // The tree lists retainers from the node upwards and never the root itself. On a
            // long path it opens as many levels as the path line shows below the cut; the
            // user opens more by hand.
            let steps: Vec<PathMatch> = first
                .steps
                .iter()
                .skip(1)
                .rev()
                .take(SHOWN_TAIL)
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
fn header(ui: &mut egui::Ui, snap: &Document, n: NodeIx) {
    let a = &snap.data.analysis;
    ui.horizontal(|ui| {
        ui.label("Retainers of");
        ui.strong(tree::node_label(snap, n));
        ui.separator();
        size_label(ui, "shallow", a.shallow_size(n));
        size_label(ui, "retained", a.retained_size(n));
        ui.label(format!("distance {}", distance_text(a.distance(n))));
        allocation_stack(ui, snap, n);
    });
}

/// Where `n` was allocated, for documents with allocation stacks: the allocating function,
/// the whole stack on hover.
fn allocation_stack(ui: &mut egui::Ui, snap: &Document, n: NodeIx) {
    let Some(live) = snap.allocation_stacks() else {
        return;
    };
    let snapshot = &snap.data.snapshot;
    let frames = stack_of(&snapshot.graph, &snapshot.traces, &live.index, n);
    let Some(first) = frames.first() else {
        return;
    };
    ui.separator();
    let stack: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
    ui.label(format!("allocated in {first}"))
        .on_hover_text(format!("Allocation stack:\n{}", stack.join("\n")));
}

fn size_label(ui: &mut egui::Ui, what: &str, bytes: u64) {
    ui.label(format!("{what} {}", format::human_bytes(bytes)))
        .on_hover_text(format!("{} bytes", format::group_digits(bytes)));
}

/// The paths, one wrapped line each: `(GC roots) › [7] (Stack roots) › … › {627} Class`.
fn paths_ui(
    ui: &mut egui::Ui,
    snap: &Document,
    paths: &[RetainerPath],
    busy: bool,
    selection: &mut Selection,
) {
    let g = snap.data.graph();
    ui.horizontal(|ui| {
        ui.strong("Paths to GC roots");
        if busy {
            ui.spinner();
        }
    });
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (k, p) in paths.iter().enumerate() {
                ui.horizontal_wrapped(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    ui.label(egui::RichText::new(format!("{}.", k + 1)).weak());
                    for (j, (left_out, step)) in p.shown().enumerate() {
                        if left_out > 0 {
                            ui.label(egui::RichText::new("›").weak());
                            ui.label(egui::RichText::new(left_out_note(left_out)).weak());
                        }
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
