//! A flame graph (icicle: callers on top) over an allocation profile for any metric: click to
//! zoom, hover for details, search to highlight. Data in ([`FlameTree`]), view state separate
//! ([`FlameState`]); only boxes wider than a pixel are drawn.

use eframe::egui;

use crate::model::alloc::{AllocProfile, Metric, DEFAULT_FOLDED_PREFIXES};
use crate::model::FxHashMap;
use crate::report::human_bytes;

/// One box: a stack prefix with its inclusive value.
#[derive(Debug, Clone)]
pub struct FlameNode {
    /// Frame index in the profile (`u32::MAX` for the root).
    pub frame: u32,
    /// Inclusive value.
    pub value: u64,
    /// Children, largest first.
    pub children: Vec<u32>,
    /// Depth (root 0).
    pub depth: u16,
    /// Parent node (the root's is itself).
    pub parent: u32,
}

/// The flame graph's tree for one metric.
#[derive(Debug, Clone)]
pub struct FlameTree {
    /// Nodes; 0 is the root.
    pub nodes: Vec<FlameNode>,
    /// The metric.
    pub metric: Metric,
}

impl FlameTree {
    /// Build from the profile's sites (std/allocator frames folded).
    pub fn build(p: &AllocProfile, metric: Metric) -> Self {
        let mut nodes = vec![FlameNode {
            frame: u32::MAX,
            value: 0,
            children: Vec::new(),
            depth: 0,
            parent: 0,
        }];
        let mut index: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        for site in &p.sites {
            let v = site.metrics.get(metric);
            if v == 0 {
                continue;
            }
            nodes[0].value += v;
            let mut at = 0u32;
            for &f in p.user_stack(site, &DEFAULT_FOLDED_PREFIXES) {
                // Boxes merge by function, as flame graphs do (lines differ per call site).
                let key = (at, p.frames[f as usize].function);
                let next = match index.get(&key) {
                    Some(&n) => n,
                    None => {
                        let n = nodes.len() as u32;
                        let depth = nodes[at as usize].depth.saturating_add(1);
                        nodes.push(FlameNode {
                            frame: f,
                            value: 0,
                            children: Vec::new(),
                            depth,
                            parent: at,
                        });
                        nodes[at as usize].children.push(n);
                        index.insert(key, n);
                        n
                    }
                };
                nodes[next as usize].value += v;
                at = next;
            }
        }
        let values: Vec<u64> = nodes.iter().map(|n| n.value).collect();
        for n in &mut nodes {
            n.children
                .sort_by_key(|&c| std::cmp::Reverse(values[c as usize]));
        }
        Self { nodes, metric }
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

fn format_value(metric: Metric, v: u64) -> String {
    match metric {
        Metric::TotalBlocks | Metric::TemporaryBlocks => format!("{v}"),
        _ => human_bytes(v),
    }
}

/// Draw the flame graph; returns the frame clicked (to select it elsewhere), if any.
pub fn flamegraph_ui(
    ui: &mut egui::Ui,
    p: &AllocProfile,
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
    let zoom = (state.zoom as usize).min(tree.nodes.len().saturating_sub(1));
    let total = tree.nodes[0].value.max(1);
    let max_depth = tree.nodes.iter().map(|n| n.depth).max().unwrap_or(0) as f32;
    egui::ScrollArea::vertical().show(ui, |ui| {
        let width = ui.available_width();
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(width, (max_depth + 1.0) * ROW),
            egui::Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        let search = state.search.to_lowercase();
        let pointer = ui.input(|i| i.pointer.hover_pos());
        let clicked = ui.input(|i| i.pointer.primary_clicked());
        let visuals = ui.visuals().clone();
        // Ancestors of the zoomed node are drawn full width above it.
        let mut chain = Vec::new();
        let mut stack: Vec<(u32, f32, f32)> = vec![(zoom as u32, rect.left(), width)];
        if zoom != 0 {
            chain = ancestors(tree, zoom as u32);
        }
        let mut hovered: Option<u32> = None;
        let mut draw = |n: u32, x: f32, w: f32, painter: &egui::Painter| {
            let node = &tree.nodes[n as usize];
            let y = rect.top() + node.depth as f32 * ROW;
            let r = egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(w.max(1.0), ROW - 1.0));
            let name = if node.frame == u32::MAX {
                "all"
            } else {
                p.function(node.frame)
            };
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
                let text = format!("{name} {}", format_value(tree.metric, node.value));
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
            let node = &tree.nodes[n as usize];
            let mut cx = x;
            for &c in &node.children {
                let cw = w * tree.nodes[c as usize].value as f32 / node.value.max(1) as f32;
                if cw >= 1.0 {
                    stack.push((c, cx, cw));
                }
                cx += cw;
            }
        }
        if let Some(h) = hovered {
            let node = &tree.nodes[h as usize];
            let (name, loc) = if node.frame == u32::MAX {
                ("all allocations".to_string(), String::new())
            } else {
                (
                    p.function(node.frame).to_string(),
                    p.location(node.frame).to_string(),
                )
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
                    tree.metric.label(),
                    format_value(tree.metric, node.value),
                    node.value as f64 * 100.0 / total as f64
                ));
            });
            if clicked {
                state.zoom = h;
            }
        }
    });
}

/// The nodes above `n`, root first.
fn ancestors(tree: &FlameTree, n: u32) -> Vec<u32> {
    let mut path = Vec::new();
    let mut at = tree.nodes[n as usize].parent;
    while at != n && path.len() < tree.nodes.len() {
        path.push(at);
        if at == 0 {
            break;
        }
        at = tree.nodes[at as usize].parent;
    }
    path.reverse();
    path
}
