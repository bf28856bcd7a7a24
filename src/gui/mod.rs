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
use std::sync::OnceLock;
use std::time::Instant;

pub use app::{render_export, ExportKind, HeapsightApp, SnapshotTab};
pub use eframe::egui;
pub use views::{View, ViewContext};

use crate::analysis::allocation_stacks::TimeRange;
use crate::model::NodeIx;

/// When [`run`] started, if `HEAPSIGHT_LOG_TIMINGS` is set: the app then writes one line to
/// standard error when a document's first view is first drawn (for timing the app in a real
/// window, e.g. a reopen from the index cache).
static TIMINGS_FROM: OnceLock<Instant> = OnceLock::new();

/// Write the line [`TIMINGS_FROM`] promises, for `doc` shown in `view`.
fn log_first_draw(doc: &crate::store::Document, view: &str) {
    log_timing(&format!(
        "{}: {view} drawn (opening took {:.2} s, index {})",
        doc.path.display(),
        doc.load_secs,
        doc.cache,
    ));
}

/// One `HEAPSIGHT_LOG_TIMINGS` line: `what`, then the seconds since the app started and the
/// process's peak RSS so far.
fn log_timing(what: &str) {
    let Some(start) = TIMINGS_FROM.get() else {
        return;
    };
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or_else(String::new, |kib| {
            format!(", peak RSS {} MB", kib * 1024 / 1_000_000)
        });
    eprintln!(
        "heapsight: {what}, {:.2} s after the app started{peak}",
        start.elapsed().as_secs_f64()
    );
}

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
    if std::env::var_os("HEAPSIGHT_LOG_TIMINGS").is_some() {
        let _ = TIMINGS_FROM.set(Instant::now());
    }
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
