//! RetainersPanel (placeholder until the view is written).

use eframe::egui;

use crate::gui::{LoadedSnapshot, Selection};

/// View state.
#[derive(Default)]
pub struct RetainersPanel {}

impl RetainersPanel {
    /// Draw the view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: &std::sync::Arc<LoadedSnapshot>,
        selection: &mut Selection,
    ) {
        let _ = (snap, selection);
        ui.label("RetainersPanel");
    }
}
