//! SummaryView (placeholder until the view is written).

use eframe::egui;

use crate::gui::{LoadedSnapshot, Selection};

/// View state.
#[derive(Default)]
pub struct SummaryView {}

impl SummaryView {
    /// Draw the view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: &std::sync::Arc<LoadedSnapshot>,
        selection: &mut Selection,
    ) {
        let _ = (snap, selection);
        ui.label("SummaryView");
    }

    /// Scroll to and expand class `class_id` (from search results).
    pub fn reveal_class(&mut self, class_id: u32) {
        let _ = class_id;
    }
}
