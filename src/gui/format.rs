//! Small formatting and drawing helpers shared by the views.

use eframe::egui;

pub use crate::report::human_bytes;

/// A right-aligned size cell: human-readable, exact bytes on hover.
pub fn size_cell(ui: &mut egui::Ui, bytes: u64) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.label(human_bytes(bytes))
            .on_hover_text(format!("{} bytes", group_digits(bytes)));
    });
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
