//! The Allocations view for DHAT, heaptrack, pprof and V8 `.heapprofile` files: totals, the folding setting, and
//! parts: a flame graph for any metric, top-down and bottom-up call trees with every metric,
//! site lists (all sites, leaked at exit, temporary, short-lived, DHAT's access metrics),
//! memory over time with the peak marked, and a diff with another open profile by call stack.

pub(crate) mod call_tree;
mod sites;

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::flamegraph::{flamegraph_ui, FlameState, FlameTree};
use super::{Action, View, ViewContext};
use crate::analysis::alloc::{diff_profiles, frame_text, ProfileDiff};
use crate::gui::format::size_cell;
use crate::gui::worker::Deferred;
use crate::model::alloc::{AllocProfile, Folding, Metric};
use crate::report::{human_bytes, SITE_DIFF_COLUMNS};
use crate::store::{Document, BUILD_NOW_NODES};
use call_tree::CallTreeView;
use sites::{leaked, SiteColumn, SiteList};

/// Which part of the view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Part {
    #[default]
    FlameGraph,
    CallTree,
    Sites,
    Leaked,
    Temporary,
    ShortLived,
    Access,
    Timeline,
    Diff,
}

/// Allocations view state.
#[derive(Default)]
pub struct AllocationsView {
    part: Part,
    metric: Metric,
    /// The flame graph's layout, by metric (on a thread for big profiles).
    flame: Deferred<Metric, FlameTree>,
    flame_state: FlameState,
    calls: CallTreeView,
    lists: Option<Lists>,
    only_unused: bool,
    /// The earlier run compared with (stacks are read from both).
    other: Option<Arc<Document>>,
    /// The comparison with it, keyed by that run's address.
    diff: Deferred<usize, ProfileDiff>,
    folding: Option<FoldingDraft>,
}

/// The site lists, made on first use (their columns depend on what the producer records).
struct Lists {
    all: SiteList,
    leaked: SiteList,
    temporary: SiteList,
    short_lived: SiteList,
    access: SiteList,
    unused: SiteList,
}

impl Lists {
    fn new(p: &AllocProfile) -> Self {
        use Metric::*;
        use SiteColumn::Metric as M;
        let access = || {
            vec![
                M(TotalBytes),
                M(ReadBytes),
                M(WrittenBytes),
                SiteColumn::ReadPerByte,
                SiteColumn::WrittenPerByte,
                SiteColumn::Flags,
            ]
        };
        Self {
            all: SiteList::new("all", SiteList::metric_columns(p), M(PeakBytes)),
            leaked: SiteList::new(
                "leaked",
                vec![M(EndBytes), M(EndBlocks), M(PeakBytes), M(TotalBytes)],
                M(EndBytes),
            ),
            temporary: SiteList::new(
                "temporary",
                vec![M(TemporaryBlocks), M(TotalBlocks), M(TotalBytes)],
                M(TemporaryBlocks),
            ),
            short_lived: SiteList::new(
                "short-lived",
                vec![M(TotalBlocks), M(TotalBytes), SiteColumn::AvgLifetime],
                M(TotalBlocks),
            ),
            access: SiteList::new("access", access(), M(TotalBytes)),
            unused: SiteList::new("unused", access(), M(TotalBytes)),
        }
    }
}

/// The folding setting as edited, applied with a button.
struct FoldingDraft {
    standard: bool,
    extra: String,
}

impl FoldingDraft {
    fn of(f: &Folding) -> Self {
        Self {
            standard: f.std_sources,
            extra: f.extra_prefixes().join(", "),
        }
    }

    fn folding(&self) -> Folding {
        Folding::with_extra(
            self.standard,
            self.extra
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(String::from),
        )
    }
}

impl AllocationsView {
    /// The same view settings for a profile reloaded after it was loaded with `was`, without
    /// anything computed from the old one. A folding draft edited away from `was` (what was
    /// applied, or edits made while the reload ran) stays; an untouched one follows the reload.
    pub fn refolded(self, was: &Folding) -> Self {
        Self {
            part: self.part,
            metric: self.metric,
            calls: self.calls.refolded(),
            only_unused: self.only_unused,
            folding: self.folding.filter(|d| d.folding() != *was),
            ..Default::default()
        }
    }

    /// Draw the view (only for allocation profiles). Returns a new folding setting when the
    /// user applies one (the app reloads open profiles with it).
    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        others: &[Arc<Document>],
    ) -> Option<Folding> {
        let (Some(p), Some(tables)) = (snap.profile(), snap.alloc_tables()) else {
            ui.label("This file is a heap snapshot, not an allocation profile.");
            return None;
        };
        totals(ui, p);
        let refold = self.folding_ui(ui, &snap.options.folding);
        ui.horizontal_wrapped(|ui| {
            for (part, label) in [
                (Part::FlameGraph, "Flame graph"),
                (Part::CallTree, "Call tree"),
                (Part::Sites, "All sites"),
                (Part::Leaked, "Leaked at exit"),
                (Part::Temporary, "Temporary allocations"),
                (Part::ShortLived, "Short-lived"),
                (Part::Access, "Access (DHAT)"),
                (Part::Timeline, "Memory over time"),
                (Part::Diff, "Diff"),
            ] {
                ui.selectable_value(&mut self.part, part, label);
            }
        });
        ui.separator();
        let lists = self.lists.get_or_insert_with(|| Lists::new(p));
        match self.part {
            Part::FlameGraph => {
                ui.horizontal_wrapped(|ui| {
                    ui.label("Metric:");
                    for m in Metric::ALL.into_iter().filter(|&m| p.records(m)) {
                        if ui
                            .selectable_value(&mut self.metric, m, p.metric_label(m))
                            .changed()
                        {
                            self.flame_state.zoom = 0;
                        }
                    }
                });
                let (metric, now) = (self.metric, tables.top_down.len() < BUILD_NOW_NODES);
                let task_snap = Arc::clone(snap);
                let layout = self.flame.get(ui.ctx(), metric, now, move || {
                    let (p, t) = (task_snap.profile(), task_snap.alloc_tables());
                    match (p, t) {
                        (Some(p), Some(t)) => FlameTree::build(p, &t.top_down, metric),
                        _ => FlameTree::empty(metric),
                    }
                });
                match layout {
                    Some(tree) => {
                        flamegraph_ui(ui, p, &tables.top_down, tree, &mut self.flame_state)
                    }
                    None => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Laying out the flame graph…");
                        });
                    }
                }
            }
            Part::CallTree => {
                let ctx = ui.ctx().clone();
                self.calls
                    .ui(ui, p, |d| snap.call_tree(d, move || ctx.request_repaint()))
            }
            Part::Sites => lists.all.ui(ui, snap, |_| true),
            Part::Leaked => {
                if !p.records(Metric::EndBytes) {
                    ui.label("This producer does not record what is left at exit.");
                }
                lists.leaked.ui(ui, snap, |r| leaked(&r.metrics))
            }
            Part::Temporary => {
                if !p.records(Metric::TemporaryBlocks) {
                    ui.label(
                        "This producer does not record temporary allocations (heaptrack does).",
                    );
                }
                lists
                    .temporary
                    .ui(ui, snap, |r| r.metrics.temporary_blocks > 0)
            }
            Part::ShortLived => match p.short_lived_threshold {
                Some(limit) => {
                    ui.label(format!(
                        "Sites whose blocks live {limit} {} or less on average (DHAT's \
                         short-lived rule): candidates for reuse, a pool or the stack.",
                        p.time_unit
                    ));
                    lists.short_lived.ui(ui, snap, |r| r.short_lived)
                }
                None => {
                    ui.label(
                        "Block lifetimes come from DHAT (dhat-rs or valgrind); for heaptrack \
                         files see Temporary allocations.",
                    );
                }
            },
            Part::Access => {
                if !p.has_access_counts {
                    ui.label(
                        "Access counts come from `valgrind --tool=dhat` (dhat-rs doesn't record them).",
                    );
                } else {
                    ui.horizontal_wrapped(|ui| {
                        ui.label(
                            "Bytes read and written per allocated byte. Never read: the \
                             writes were wasted; never written: the memory was.",
                        );
                        ui.checkbox(&mut self.only_unused, "Only never read or never written");
                    });
                    if self.only_unused {
                        lists
                            .unused
                            .ui(ui, snap, |r| r.never_read || r.never_written)
                    } else {
                        lists.access.ui(ui, snap, |_| true)
                    }
                }
            }
            Part::Timeline => timeline(ui, p),
            Part::Diff => self.diff_ui(ui, snap, p, others),
        }
        refold
    }

    /// The function selected in the call tree, if any (for tests and tools).
    pub fn selected_function(&self, snap: &Document) -> Option<String> {
        let (p, tables) = (snap.profile()?, snap.alloc_tables()?);
        self.calls.selected_function(p, tables).map(String::from)
    }

    /// The metric the flame graph was last laid out by, if it was drawn (for tests and tools).
    pub fn flame_metric(&self) -> Option<Metric> {
        self.flame.last().map(|f| f.metric)
    }

    /// The folding row: standard folding on or off, extra prefixes, Apply.
    fn folding_ui(&mut self, ui: &mut egui::Ui, current: &Folding) -> Option<Folding> {
        let draft = self
            .folding
            .get_or_insert_with(|| FoldingDraft::of(current));
        let mut apply = false;
        ui.horizontal(|ui| {
            ui.checkbox(&mut draft.standard, "Fold allocator and std frames")
                .on_hover_text(
                    "Drop alloc::, core::, std::, malloc and the profiler's own frames from the \
                     allocating end of each stack, so sites are named after your code",
                );
            let label = ui.label("Also fold:");
            ui.add(
                egui::TextEdit::singleline(&mut draft.extra)
                    .hint_text("my_pool::, bumpalo::")
                    .desired_width(180.0),
            )
            .labelled_by(label.id)
            .on_hover_text("Function-name prefixes to fold too, separated by commas or spaces");
            let changed = draft.folding() != *current;
            apply = ui
                .add_enabled(changed, egui::Button::new("Apply"))
                .on_hover_text("Reload the open allocation profiles with this folding")
                .clicked();
        });
        apply.then(|| draft.folding())
    }

    fn diff_ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        p: &AllocProfile,
        others: &[Arc<Document>],
    ) {
        let profiles: Vec<&Arc<Document>> = others
            .iter()
            .filter(|o| o.data.snapshot.alloc.is_some())
            .collect();
        if profiles.is_empty() {
            ui.label("Open another allocation profile (an earlier run) to compare with.");
            return;
        }
        ui.horizontal(|ui| {
            ui.label("Earlier run:");
            for o in &profiles {
                let chosen = self.other.as_ref().is_some_and(|x| Arc::ptr_eq(x, o));
                if ui.selectable_label(chosen, &o.title).clicked() {
                    self.other = Some(Arc::clone(o));
                }
            }
        });
        // A run whose tab was closed is let go.
        if let Some(o) = &self.other {
            if !profiles.iter().any(|x| Arc::ptr_eq(x, o)) {
                self.other = None;
                self.diff = Deferred::default();
            }
        }
        let Some(other) = self.other.clone() else {
            return;
        };
        let Some(before) = other.data.snapshot.alloc.as_deref() else {
            return;
        };
        let small = |s: &Document| s.alloc_tables().map_or(0, |t| t.sites.len());
        let now = small(&other) + small(snap) < BUILD_NOW_NODES;
        let (a, b) = (Arc::clone(&other), Arc::clone(snap));
        let key = Arc::as_ptr(&other) as usize;
        let diff = self.diff.get(ui.ctx(), key, now, move || {
            match (
                a.data.snapshot.alloc.as_deref(),
                b.data.snapshot.alloc.as_deref(),
            ) {
                (Some(a), Some(b)) => diff_profiles(a, b),
                _ => ProfileDiff::default(),
            }
        });
        let Some(diff) = diff else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Comparing by call stack…");
            });
            return;
        };
        let d = &diff.sites;
        TableBuilder::new(ui)
            .striped(true)
            .column(Column::auto().at_least(60.0))
            .column(Column::remainder().clip(true))
            .columns(Column::auto().at_least(90.0), 4)
            .header(20.0, |mut h| {
                for t in SITE_DIFF_COLUMNS {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, d.len(), |mut row| {
                    let s = &d[row.index()];
                    row.col(|ui| {
                        ui.label(format!("{:?}", s.change).to_lowercase());
                    });
                    row.col(|ui| {
                        let (q, stack) = diff.stack(before, p, s);
                        let leaf = stack.last().map_or("(no stack)", |&f| q.function(f));
                        let label = ui.add(egui::Label::new(leaf).truncate());
                        if label.hovered() {
                            label.on_hover_text(stack_text(q, stack));
                        }
                    });
                    row.col(|ui| size_cell(ui, s.before.peak_bytes));
                    row.col(|ui| size_cell(ui, s.after.peak_bytes));
                    row.col(|ui| size_cell(ui, s.before.total_bytes));
                    row.col(|ui| size_cell(ui, s.after.total_bytes));
                });
            });
    }
}

/// A stack as hover text, innermost (the allocating function) first.
pub(crate) fn stack_text(p: &AllocProfile, stack: &[u32]) -> String {
    let lines: Vec<String> = stack.iter().rev().map(|&f| frame_text(p, f)).collect();
    lines.join("\n")
}

fn totals(ui: &mut egui::Ui, p: &AllocProfile) {
    let t = &p.totals;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("{} ({})", p.producer, p.format));
        ui.separator();
        ui.label(format!(
            "allocated {} in {} blocks",
            human_bytes(t.total_bytes),
            t.total_blocks
        ));
        ui.separator();
        ui.label(format!(
            "at peak {} in {} blocks",
            human_bytes(t.peak_bytes),
            t.peak_blocks
        ));
        ui.separator();
        ui.label(format!(
            "leaked {} in {} blocks",
            human_bytes(t.end_bytes),
            t.end_blocks
        ));
        if t.temporary_blocks > 0 {
            ui.separator();
            ui.label(format!("{} temporary", t.temporary_blocks));
        }
    });
}

fn timeline(ui: &mut egui::Ui, p: &AllocProfile) {
    use egui_plot::{Line, Plot, PlotPoints, Points, VLine};
    if p.timeline.is_empty() {
        let (Some(g), Some(e)) = (p.peak_time, p.end_time) else {
            ui.label("This producer records no memory-over-time data.");
            return;
        };
        // DHAT records two moments, not a curve: show them as marks on a time axis.
        let t = &p.totals;
        ui.label(format!(
            "DHAT records no curve, only two moments: the global peak (t-gmax) at {g} {unit}, \
             {} live; the end (t-end) at {e} {unit}, {} still live (leaked).",
            human_bytes(t.peak_bytes),
            human_bytes(t.end_bytes),
            unit = p.time_unit,
        ));
        Plot::new("dhat marks")
            .legend(egui_plot::Legend::default().position(egui_plot::Corner::LeftTop))
            .height(ui.available_height().max(200.0))
            .y_axis_label("bytes live")
            .x_axis_label(p.time_unit.clone())
            .include_x(0.0)
            .include_y(0.0)
            .show(ui, |plot| {
                plot.vline(VLine::new("t-gmax (peak)", g as f64));
                plot.vline(VLine::new("t-end", e as f64));
                plot.points(
                    Points::new("at peak", vec![[g as f64, t.peak_bytes as f64]]).radius(5.0),
                );
                plot.points(
                    Points::new("at exit", vec![[e as f64, t.end_bytes as f64]]).radius(5.0),
                );
            });
        return;
    }
    let points: Vec<[f64; 2]> = p
        .timeline
        .iter()
        .map(|t| [t.time as f64, t.bytes as f64])
        .collect();
    let peak = p.timeline.iter().max_by_key(|t| t.bytes).copied();
    ui.label(format!(
        "Live heap over time ({}); peak {}",
        p.time_unit,
        peak.map(|t| human_bytes(t.bytes)).unwrap_or_default()
    ));
    Plot::new("memory over time")
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::LeftTop))
        .height(ui.available_height().max(200.0))
        .y_axis_label("bytes")
        .x_axis_label(p.time_unit.clone())
        .show(ui, |plot| {
            plot.line(Line::new("live bytes", PlotPoints::from(points)));
            if let Some(t) = peak {
                plot.vline(VLine::new("peak", t.time as f64));
                plot.points(
                    Points::new("peak point", vec![[t.time as f64, t.bytes as f64]]).radius(4.0),
                );
            }
        });
}

impl View for AllocationsView {
    fn title(&self) -> &'static str {
        "Allocations"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_some()
    }

    fn opens_first(&self, doc: &Document) -> bool {
        doc.profile().is_some()
    }

    /// Nothing here selects a heap node: the panel would stay empty.
    fn shows_retainers(&self) -> bool {
        false
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.others).map(Action::Refold)
    }

    fn reopened(&mut self, was: &Document) -> Option<Box<dyn View>> {
        Some(Box::new(
            std::mem::take(self).refolded(&was.options.folding),
        ))
    }
}
