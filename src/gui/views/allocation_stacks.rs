//! The Allocation stacks view, for V8 documents with allocation traces (heap timelines,
//! snapshots taken with allocation tracking): the live objects' call tree top-down or
//! bottom-up by live size and count, their flame graph (the Allocations view's widgets over
//! the live-object profile), and the timeline of `samples` as a chart where a dragged (or
//! slider-picked) time range shows the classes of the live objects allocated in it. The range
//! is the tab's [`Selection::allocated`], so the Summary view filters to it too.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::allocations::call_tree::CallTreeView;
use super::flamegraph::{flamegraph_ui, FlameState, FlameTree};
use super::{Action, View, ViewContext};
use crate::analysis::allocation_stacks::{classes_where, RangeClassRow, TimeRange, Timeline};
use crate::gui::format::{group_digits, number_cell, size_cell};
use crate::gui::worker::Deferred;
use crate::gui::Selection;
use crate::model::alloc::Metric;
use crate::model::{HeapGraph, NodeKind};
use crate::report::human_bytes;
use crate::store::{Document, StackTables};

/// Which part of the view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Part {
    #[default]
    CallTree,
    FlameGraph,
    Timeline,
}

/// Allocation stacks view state.
#[derive(Default)]
pub struct AllocationStacksView {
    part: Part,
    calls: CallTreeView,
    metric: Metric,
    flame: Option<FlameTree>,
    flame_state: FlameState,
    /// Live objects allocated in each sample interval (interval `i` ends at sample `i`):
    /// count and self size. One pass over the nodes, on a thread.
    intervals: Deferred<(), Vec<(u64, u64)>>,
    /// A range asked for by [`Self::set_range`], chosen on the next frame as the sliders do.
    asked: Option<(usize, usize)>,
    /// The intervals drawn as chosen last frame, first and last (see [`Timeline`]).
    shown: Option<(usize, usize)>,
    /// A drag over the chart: where it started and where the pointer last was, in seconds.
    drag: Option<(f64, f64)>,
    /// The classes of the chosen range (a pass over the nodes, on a thread).
    classes: Deferred<TimeRange, Vec<RangeClassRow>>,
    /// Where the chart was drawn, to map seconds to the screen (tests drag over it).
    chart: Option<egui_plot::PlotTransform>,
}

impl AllocationStacksView {
    /// The sample intervals drawn as chosen (first, last), for tests and tools.
    pub fn range(&self) -> Option<(usize, usize)> {
        self.shown
    }

    /// Choose sample intervals `first..=last` (clamped when drawn) on the next frame, as the
    /// sliders do: the tab's [`Selection::allocated`] follows.
    pub fn set_range(&mut self, first: usize, last: usize) {
        self.asked = Some((first.min(last), first.max(last)));
    }

    /// The class rows of the chosen range, once counted (for tests and tools).
    pub fn range_classes(&self) -> Option<&[RangeClassRow]> {
        self.classes.last().map(Vec::as_slice)
    }

    /// The screen position of `secs` on the chart's time axis (halfway up), once drawn; tests
    /// drag between two of them.
    pub fn chart_point(&self, secs: f64) -> Option<egui::Pos2> {
        let t = self.chart.as_ref()?;
        let x = t.position_from_point_x(secs);
        Some(egui::pos2(x, t.frame().center().y))
    }

    fn draw(&mut self, ui: &mut egui::Ui, doc: &Arc<Document>, selection: &mut Selection) {
        let Some(live) = doc.allocation_stacks() else {
            ui.label(
                "This snapshot has no allocation stacks: record a heap timeline (DevTools' \
                 \"Allocations on timeline\") or track allocations while taking it.",
            );
            return;
        };
        let p = &live.stacks.profile;
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!(
                "{} live objects with an allocation stack, {}",
                group_digits(p.totals.peak_blocks),
                human_bytes(p.totals.peak_bytes)
            ));
            if live.stacks.unknown_trace > 0 {
                ui.separator();
                ui.label(format!(
                    "{} name a trace node the file lacks",
                    live.stacks.unknown_trace
                ));
            }
        });
        ui.horizontal(|ui| {
            for (part, label) in [
                (Part::CallTree, "Call tree"),
                (Part::FlameGraph, "Flame graph"),
                (Part::Timeline, "Timeline"),
            ] {
                ui.selectable_value(&mut self.part, part, label);
            }
        });
        ui.separator();
        match self.part {
            Part::CallTree => self.calls.ui(ui, p, |d| Some(live.tables.tree_now(p, d))),
            Part::FlameGraph => {
                ui.horizontal(|ui| {
                    ui.label("Size boxes by:");
                    for m in [Metric::PeakBytes, Metric::PeakBlocks] {
                        if ui
                            .selectable_value(&mut self.metric, m, p.metric_label(m))
                            .changed()
                        {
                            self.flame_state.zoom = 0;
                        }
                    }
                });
                let metric = self.metric;
                let top_down = &live.tables.top_down;
                let flame = match self.flame.take() {
                    Some(f) if f.metric == metric => f,
                    _ => FlameTree::build(p, top_down, metric),
                };
                flamegraph_ui(ui, p, top_down, &flame, &mut self.flame_state);
                self.flame = Some(flame);
            }
            Part::Timeline => self.timeline_ui(ui, doc, live, selection),
        }
    }

    fn timeline_ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Arc<Document>,
        live: &StackTables,
        selection: &mut Selection,
    ) {
        let t = &live.timeline;
        if t.len() < 2 {
            ui.label("The file has no samples timeline (a snapshot taken with allocation tracking has none; a heap timeline does).");
            return;
        }
        let last = t.len() - 1;
        // The tab's range (none: all of it); a range for another document's timeline is dropped.
        let chosen = selection
            .allocated
            .filter(|r| r.last <= last)
            .map_or((0, last), |r| (r.first, r.last));
        let (mut first, mut end) = self.asked.take().unwrap_or(chosen);
        first = first.min(last);
        end = end.clamp(first, last);
        let secs = |i: usize| t.timestamps_us[i] as f64 / 1e6;
        // Where interval `i` starts on the chart: interval 0 ends at the first sample; it is
        // drawn as wide as a fiftieth of the whole time before it.
        let span = (secs(last) - secs(0)).max(1e-3);
        let start = |i: usize| {
            if i == 0 {
                secs(0) - span / 50.0
            } else {
                secs(i - 1)
            }
        };
        ui.label(
            "Live objects by when they were allocated (bars: bytes allocated in each interval \
             between samples that are still live). Drag over the chart or use the sliders to \
             pick a time range; the Summary then shows only the objects allocated in it.",
        );
        ui.horizontal(|ui| {
            ui.label("From");
            ui.add(
                egui::Slider::new(&mut first, 0..=last)
                    .custom_formatter(|v, _| format!("{:.3} s", start(v as usize).max(0.0))),
            );
            ui.label("to");
            ui.add(
                egui::Slider::new(&mut end, 0..=last)
                    .custom_formatter(|v, _| format!("{:.3} s", secs(v as usize))),
            );
            if ui.button("All").clicked() {
                (first, end) = (0, last);
            }
        });
        if end < first {
            end = first;
        }
        let d = doc.clone();
        let intervals = self.intervals.get(ui.ctx(), (), false, move || {
            let timeline = d.allocation_stacks().map(|l| &l.timeline);
            timeline.map_or_else(Vec::new, |t| live_per_interval(d.data.graph(), t))
        });
        let bars: Vec<egui_plot::Bar> = (0..=last)
            .map(|i| {
                let (a, b) = (start(i), secs(i));
                let chosen = (first..=end).contains(&i);
                let (count, bytes) = intervals.and_then(|v| v.get(i)).copied().unwrap_or((0, 0));
                let bar = egui_plot::Bar::new((a + b) / 2.0, bytes as f64)
                    .width((b - a).max(1e-6))
                    .name(format!("{a:.3}-{b:.3} s: {count} objects"));
                if chosen {
                    bar
                } else {
                    bar.fill(ui.visuals().weak_text_color().gamma_multiply(0.5))
                }
            })
            .collect();
        let (lo, hi) = (start(first), secs(end));
        let mut drag = self.drag;
        let mut dragged: Option<(f64, f64)> = None;
        let shown = egui_plot::Plot::new("allocation timeline")
            .height(160.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .x_axis_label("seconds")
            .y_axis_label("live bytes")
            .include_y(0.0)
            .show(ui, |plot| {
                plot.bar_chart(egui_plot::BarChart::new("live bytes allocated", bars));
                plot.span(egui_plot::Span::new("chosen range", lo..=hi));
                let r = plot.response().clone();
                let x = plot.pointer_coordinate().map(|p| p.x);
                // A drag starts where the button went down, not where it is once it moved.
                let origin = r.ctx.input(|i| i.pointer.press_origin());
                if let (true, Some(o)) = (r.drag_started(), origin) {
                    let a = plot.transform().value_from_position(o).x;
                    drag = Some((a, a));
                }
                if let (Some((_, to)), Some(x)) = (drag.as_mut(), x) {
                    *to = x;
                }
                // The pointer may be gone by the release: the span ends where it last was.
                if r.drag_stopped() {
                    dragged = drag.take().map(|(a, b)| (a.min(b), a.max(b)));
                }
            });
        self.chart = Some(shown.transform);
        self.drag = drag;
        if let Some((a, b)) = dragged {
            // The intervals the dragged span touches.
            let at = |s: f64| (0..=last).find(|&i| secs(i) >= s).unwrap_or(last);
            (first, end) = (at(a), at(b));
        }
        self.shown = Some((first, end));
        // The whole timeline is no filter at all.
        let wanted = if (first, end) == (0, last) {
            None
        } else {
            t.time_range(first, end)
        };
        if wanted.map(|r| (r.first, r.last)) != selection.allocated.map(|r| (r.first, r.last)) {
            selection.allocated = wanted;
        }
        let Some(range) = t.time_range(first, end) else {
            return;
        };
        let d = doc.clone();
        let rows = self.classes.get(ui.ctx(), range, false, move || {
            let c = &d.data.classes;
            let g = d.data.graph();
            classes_where(g, &c.class_of, &c.names, |n| range.contains(g, n))
        });
        let Some(rows) = rows else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Counting the objects allocated then...");
            });
            return;
        };
        let (count, bytes) = rows
            .iter()
            .fold((0, 0), |(c, b), r| (c + r.count, b + r.self_size));
        ui.label(format!(
            "Allocated {:.3}-{:.3} s and still live: {} objects, {}",
            range.from_secs(),
            range.to_secs(),
            group_digits(count),
            human_bytes(bytes)
        ));
        TableBuilder::new(ui)
            .id_salt("range classes")
            .striped(true)
            .column(Column::remainder().at_least(200.0).clip(true))
            .columns(Column::auto().at_least(90.0), 2)
            .header(20.0, |mut h| {
                for title in ["Class", "Count", "Self size"] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, rows.len(), |mut row| {
                    let r = &rows[row.index()];
                    row.col(|ui| {
                        ui.add(egui::Label::new(&r.name).truncate());
                    });
                    row.col(|ui| number_cell(ui, group_digits(r.count)));
                    row.col(|ui| size_cell(ui, r.self_size));
                });
            });
    }
}

/// Live objects allocated in each interval between samples (see [`Timeline`]): count and
/// self size.
fn live_per_interval(g: &HeapGraph, t: &Timeline) -> Vec<(u64, u64)> {
    let mut out = vec![(0u64, 0u64); t.len()];
    for n in 0..g.node_count() as u32 {
        if matches!(g.kind(n), NodeKind::Native | NodeKind::Synthetic) {
            continue;
        }
        if let Some(slot) = t.interval_of(g.id(n)).and_then(|i| out.get_mut(i)) {
            slot.0 += 1;
            slot.1 += g.self_size(n);
        }
    }
    out
}

impl View for AllocationStacksView {
    fn title(&self) -> &'static str {
        "Allocation stacks"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.allocation_stacks().is_some()
    }

    /// Nothing here selects a heap node.
    fn shows_retainers(&self) -> bool {
        false
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.selection);
        None
    }
}
