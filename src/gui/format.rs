//! Small formatting and drawing helpers shared by the views.

use eframe::egui;

pub use crate::report::human_bytes;

/// `s` with each `→` written `->`: egui's default fonts have no arrow glyph, and the report
/// texts the views share with the CLI use one.
pub fn without_arrows(s: &str) -> String {
    s.replace('→', "->")
}

/// A right-aligned size cell: human-readable, exact bytes on hover.
pub fn size_cell(ui: &mut egui::Ui, bytes: u64) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.label(human_bytes(bytes))
            .on_hover_text(format!("{} bytes", group_digits(bytes)));
    });
}

/// A right-aligned cell for an allocation metric: sizes as [`size_cell`], counts as numbers.
pub fn metric_cell(ui: &mut egui::Ui, m: crate::model::alloc::Metric, v: u64) {
    if m.is_bytes() {
        size_cell(ui, v);
    } else {
        number_cell(ui, group_digits(v));
    }
}

/// A right-aligned distance cell (`−` when only system roots or nothing reach the object,
/// explained on hover).
pub fn distance_cell(ui: &mut egui::Ui, distance: Option<u32>) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        distance_label(ui, distance);
    });
}

/// A distance as a label; `−` carries a tooltip saying what it means.
pub fn distance_label(ui: &mut egui::Ui, distance: Option<u32>) -> egui::Response {
    let text = crate::report::text::distance_text(distance);
    let r = ui.label(text);
    match distance {
        Some(d) if d < crate::analysis::distances::SYSTEM_DISTANCE => r,
        _ => r.on_hover_text(
            "No distance: not reachable from the page's or program's own roots (only through \
             system roots such as the engine's handles and caches, or not at all), as in \
             DevTools. Objects a leak holds through internal structures often look like this.",
        ),
    }
}

/// A right-aligned plain number cell.
pub fn number_cell(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.label(text);
    });
}

/// `12345678` → `12 345 678`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Percentage text of `part` in `total`.
pub fn percent(part: u64, total: u64) -> String {
    if total == 0 {
        "0 %".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / total as f64)
    }
}

/// A thin horizontal bar showing `fraction` (0..1) of the heap, drawn behind nothing.
pub fn share_bar(ui: &mut egui::Ui, fraction: f32, width: f32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 8.0), egui::Sense::hover());
    let visuals = ui.visuals();
    ui.painter()
        .rect_filled(rect, 2.0, visuals.extreme_bg_color);
    let mut filled = rect;
    filled.set_width(rect.width() * fraction.clamp(0.0, 1.0));
    ui.painter()
        .rect_filled(filled, 2.0, visuals.selection.bg_fill);
}

/// A small painted ▶/▼ triangle `width` wide (the default fonts have no arrow glyphs); its
/// accessible label is "Expand …"/"Collapse …" plus `label()`.
pub fn toggle_button(
    ui: &mut egui::Ui,
    width: f32,
    expanded: bool,
    label: impl Fn() -> String,
) -> egui::Response {
    let size = egui::vec2(width, ui.available_height());
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
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
