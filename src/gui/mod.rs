//! The desktop app (feature `gui`). It only draws analysis results: documents are opened through
//! the library's store ([`crate::store`]) and searches run on background threads ([`worker`]);
//! finished results come back by channel. Each view is one file in [`views`], a small struct
//! implementing [`views::View`] over the shared, immutable document and the tab's [`Selection`].

mod app;
pub mod capture_dialog;
pub mod format;
pub mod views;
pub mod worker;

use std::path::PathBuf;

pub use app::{render_export, ExportKind, HeapsightApp, SnapshotTab};
pub use eframe::egui;
pub use views::{View, ViewContext};

use crate::analysis::allocation_stacks::TimeRange;
use crate::model::NodeIx;

/// What is selected in a tab: every view reads and writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    /// The selected node.
    pub node: Option<NodeIx>,
    /// The time range chosen on the Allocation stacks view's timeline (`None`: all of it); the
    /// Summary then shows only the objects allocated in it.
    pub allocated: Option<TimeRange>,
}

/// Start the app with `files` open (none: the start page). `Err` carries a one-line message,
/// e.g. when there is no display.
pub fn run(files: Vec<PathBuf>, start_view: Option<String>) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("no display available (neither DISPLAY nor WAYLAND_DISPLAY is set); \
                    use the command line instead, e.g. `heapsight summary FILE` (see `heapsight --help`)"
            .into());
    }
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("heapsight")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "heapsight",
        options,
        Box::new(move |cc| Ok(Box::new(HeapsightApp::new(Some(cc), files, start_view)))),
    )
    .map_err(|e| {
        format!("cannot open a window: {e}; use the command line instead (see `heapsight --help`)")
    })
}
