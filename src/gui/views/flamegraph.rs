//! A flame graph (icicle: callers on top) over an allocation profile for any metric: click to
//! zoom, hover for details, search to highlight. Data from the top-down [`CallTree`], laid out
//! per metric in [`FlameTree`], view state separate ([`FlameState`]); only boxes wider than a
//! pixel are drawn.

use eframe::egui;

use crate::analysis::call_tree::{CallTree, ROOT};
use crate::model::alloc::{AllocProfile, Metric};
use crate::report::metric_value;

/// The flame graph's layout for one metric over a top-down [`CallTree`]: each node's children
/// with a nonzero value, largest first.
#[derive(Debug, Clone)]
pub struct FlameTree {
    /// The metric boxes are sized by.
    pub metric: Metric,
    /// Children of node `n`: `kids[first[n]..first[n + 1]]`.
    first: Vec<u32>,
    kids: Vec<u32>,
    /// Deepest level with a nonzero value.
    max_depth: u32,
}

impl FlameTree {
    /// A layout with nothing in it.
    pub fn empty(metric: Metric) -> Self {
        Self {
            metric,
            first: vec![0, 0],
            kids: Vec::new(),
            max_depth: 0,
        }
    }

    /// Lay out `tree` (top-down) by `metric`.
    pub fn build(p: &AllocProfile, tree: &CallTree, metric: Metric) -> Self {
        let mut first = Vec::with_capacity(tree.len() + 1);
        let mut kids = Vec::new();
        let mut max_depth = 0;
        for n in 0..tree.len() as u32 {
            first.push(kids.len() as u32);
            if tree.value(n, metric) > 0 {
                max_depth = max_depth.max(tree.depth(n));
                let sorted = tree.sorted_children(p, n, metric);
                kids.extend(sorted.into_iter().filter(|&c| tree.value(c, metric) > 0));
            }
        }
        first.push(kids.len() as u32);
        Self {
            metric,
            first,
            kids,
            max_depth,
        }
    }

    /// Children of `n` drawn in the graph (none for a node this layout doesn't know).
    fn children(&self, n: u32) -> &[u32] {
        match (self.first.get(n as usize), self.first.get(n as usize + 1)) {
            (Some(&a), Some(&b)) => &self.kids[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// View state: zoom and search.
#[derive(Debug, Default)]
pub struct FlameState {
    /// Node shown full width.
    pub zoom: u32,
    /// Highlight functions containing this text.
    pub search: String,
}

const ROW: f32 = 18.0;

/// Draw the flame graph.
pub fn flamegraph_ui(
    ui: &mut egui::Ui,
    p: &AllocProfile,
    calls: &CallTree,
    tree: &FlameTree,
    state: &mut FlameState,
) {
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("Highlight function…")
                .desired_width(200.0),
        );
        if ui
            .add_enabled(state.zoom != 0, egui::Button::new("Reset zoom"))
            .clicked()
        {
            state.zoom = 0;
        }
        ui.label(egui::RichText::new("Click a box to zoom in; hover for details.").weak());
    });
    let zoom = (state.zoom as usize).min(calls.len().saturating_sub(1));
    let value = |n: u32| calls.value(n, tree.metric);
    let total = value(ROOT).max(1);
    let max_depth = tree.max_depth as f32;
    egui::ScrollArea::vertical().show(ui, |ui| {
        let width = ui.available_width();
        let (rect, response) = ui.allocate_exact_size(
            egui::vec2(width, (max_depth + 1.0) * ROW),
            egui::Sense::click(),
        );
        let painter = ui.painter_at(rect);
        let search = state.search.to_lowercase();
        // Through the response: a pointer over a menu on top, or over the part of the graph
        // scrolled out of view, is not over a box.
        let pointer = response.hover_pos();
        let clicked = response.clicked();
        let visuals = ui.visuals().clone();
        // Ancestors of the zoomed node are drawn full width above it.
        let mut chain = Vec::new();
        let mut stack: Vec<(u32, f32, f32)> = vec![(zoom as u32, rect.left(), width)];
        if zoom != 0 {
            chain = calls.path(zoom as u32);
            chain.pop();
        }
        let mut hovered: Option<u32> = None;
        let mut draw = |n: u32, x: f32, w: f32, painter: &egui::Painter| {
            let y = rect.top() + calls.depth(n) as f32 * ROW;
            let r = egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(w.max(1.0), ROW - 1.0));
            let name = calls.frame(n).map_or("all", |f| p.function(f));
            let matches = !search.is_empty() && name.to_lowercase().contains(&search);
            let hue = (name
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
                % 60) as f32
                / 360.0;
            let fill = if matches {
                visuals.selection.bg_fill
            } else {
                egui::Color32::from(egui::ecolor::Hsva::new(
                    0.02 + hue * 0.5,
                    0.55,
                    if visuals.dark_mode { 0.55 } else { 0.9 },
                    1.0,
                ))
            };
            painter.rect_filled(r, 2.0, fill);
            if w > 30.0 {
                let text = format!("{name} {}", metric_value(tree.metric, value(n)));
                painter.with_clip_rect(r.shrink(2.0)).text(
                    r.left_center() + egui::vec2(3.0, 0.0),
                    egui::Align2::LEFT_CENTER,
                    text,
                    egui::FontId::proportional(11.0),
                    if visuals.dark_mode {
                        egui::Color32::WHITE
                    } else {
                        egui::Color32::BLACK
                    },
                );
            }
            if pointer.is_some_and(|p| r.contains(p)) {
                hovered = Some(n);
            }
        };
        for &a in &chain {
            draw(a, rect.left(), width, &painter);
        }
        while let Some((n, x, w)) = stack.pop() {
            draw(n, x, w, &painter);
            let mut cx = x;
            for &c in tree.children(n) {
                let cw = w * value(c) as f32 / value(n).max(1) as f32;
                if cw >= 1.0 {
                    stack.push((c, cx, cw));
                }
                cx += cw;
            }
        }
        if let Some(h) = hovered {
            let (name, loc) = match calls.frame(h) {
                None => ("all allocations".to_string(), String::new()),
                Some(f) => (p.function(f).to_string(), p.location(f).to_string()),
            };
            egui::Tooltip::always_open(
                ui.ctx().clone(),
                ui.layer_id(),
                ui.scope_id().with("flame tip"),
                egui::PopupAnchor::Pointer,
            )
            .show(|ui| {
                ui.strong(name);
                if !loc.is_empty() {
                    ui.label(loc);
                }
                ui.label(format!(
                    "{}: {} ({:.1} %)",
                    p.metric_label(tree.metric),
                    metric_value(tree.metric, value(h)),
                    value(h) as f64 * 100.0 / total as f64
                ));
            });
            if clicked {
                state.zoom = h;
            }
        }
    });
}
