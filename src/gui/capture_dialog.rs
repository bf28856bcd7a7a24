//! File → Capture from process…: a small window that captures from a running Node or Chromium
//! process ([`crate::capture`]) on a background thread, with progress and Cancel, and hands
//! the saved files to the app to open as tabs.

use std::path::PathBuf;

use eframe::egui;

use super::worker::BackgroundTask;
use crate::capture::{
    capture, parse_duration, CaptureError, CaptureKind, CaptureOptions, CaptureOutcome,
};

/// The window's fields and the capture it runs.
pub struct CaptureDialog {
    /// Whether the window is shown.
    pub open: bool,
    /// The Host:port field.
    pub endpoint: String,
    allow_remote: bool,
    /// Track allocations for the series, so each snapshot carries allocation stacks.
    pub track_allocations: bool,
    kind: CaptureKind,
    /// The Count field: snapshots to take.
    pub count: u32,
    /// As typed; empty means the kind's default.
    interval: String,
    /// The Save in field.
    pub out_dir: String,
    task: Option<BackgroundTask<Result<CaptureOutcome, CaptureError>>>,
    /// The last capture's result or error, in words.
    message: Option<String>,
}

impl Default for CaptureDialog {
    fn default() -> Self {
        let defaults = CaptureOptions::default();
        let out_dir = std::env::current_dir().unwrap_or_else(|_| defaults.out_dir.clone());
        Self {
            open: false,
            endpoint: defaults.endpoint,
            allow_remote: false,
            track_allocations: false,
            kind: defaults.kind,
            count: defaults.count,
            interval: String::new(),
            out_dir: out_dir.display().to_string(),
            task: None,
            message: None,
        }
    }
}

impl CaptureDialog {
    /// The last capture's result or error, as shown under the button.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// True while a capture runs.
    pub fn is_running(&self) -> bool {
        self.task.is_some()
    }

    /// Draw the window (when open) and poll the capture; returns the files a capture that just
    /// finished saved, for the app to open.
    pub fn show(&mut self, ctx: &egui::Context) -> Vec<PathBuf> {
        let saved = self.poll();
        let mut open = self.open;
        egui::Window::new("Capture from process")
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .show(ctx, |ui| self.ui(ui));
        self.open = open;
        saved
    }

    fn poll(&mut self) -> Vec<PathBuf> {
        let Some(result) = self.task.as_mut().and_then(|t| t.poll()) else {
            return Vec::new();
        };
        self.task = None;
        match result {
            Ok(outcome) => {
                let mut text = format!("Saved {} of {}.", outcome.saved.len(), outcome.requested);
                if let Some(e) = &outcome.stopped {
                    text.push_str(&format!(" Stopped early: {e}."));
                }
                self.message = Some(text);
                outcome.saved
            }
            Err(e) => {
                self.message = Some(crate::report::capture::nothing_saved(&e));
                Vec::new()
            }
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        let running = self.task.is_some();
        ui.add_enabled_ui(!running, |ui| {
            egui::Grid::new("capture fields")
                .num_columns(2)
                .show(ui, |ui| {
                    ui.label("Host:port");
                    ui.text_edit_singleline(&mut self.endpoint).on_hover_text(
                        "node --inspect=HOST:PORT, or Chromium's --remote-debugging-port",
                    );
                    ui.end_row();
                    ui.label("");
                    ui.checkbox(&mut self.allow_remote, "Allow a host that is not loopback")
                        .on_hover_text("A heap snapshot holds all of the process's memory");
                    ui.end_row();
                    ui.label("Kind");
                    ui.horizontal(|ui| {
                        for kind in CaptureKind::ALL {
                            ui.selectable_value(&mut self.kind, kind, kind.name());
                        }
                    });
                    ui.end_row();
                    ui.label("Count");
                    ui.add(egui::DragValue::new(&mut self.count).range(1..=1000));
                    ui.end_row();
                    if self.kind == CaptureKind::Snapshot {
                        ui.label("");
                        ui.checkbox(&mut self.track_allocations, "Track allocations")
                            .on_hover_text(
                                "Each snapshot carries allocation stacks (for Trends and \
                                 Allocation stacks); costs the target speed while it runs",
                            );
                        ui.end_row();
                    }
                    ui.label(match self.kind {
                        CaptureKind::Snapshot => "Pause between",
                        _ => "Record for",
                    });
                    let hint = match self.kind.default_interval().as_secs() {
                        0 => "0s".to_string(),
                        s => format!("{s}s"),
                    };
                    ui.add(egui::TextEdit::singleline(&mut self.interval).hint_text(hint));
                    ui.end_row();
                    ui.label("Save in");
                    ui.text_edit_singleline(&mut self.out_dir);
                    ui.end_row();
                });
        });
        ui.separator();
        match &self.task {
            Some(task) => {
                let p = task.progress();
                ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new(p.fraction)
                            .desired_width(240.0)
                            .text(p.phase),
                    );
                    if ui.button("Cancel").clicked() {
                        task.cancel();
                    }
                });
            }
            None => {
                if ui.button("Capture").clicked() {
                    self.start(ui.ctx());
                }
            }
        }
        if let Some(m) = &self.message {
            ui.label(m);
        }
    }

    fn start(&mut self, ctx: &egui::Context) {
        let every = match self.interval.trim() {
            "" => None,
            t => match parse_duration(t) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.message = Some(e);
                    return;
                }
            },
        };
        let options = CaptureOptions {
            endpoint: self.endpoint.trim().to_string(),
            allow_remote: self.allow_remote,
            track_allocations: self.track_allocations,
            kind: self.kind,
            count: self.count.max(1),
            every,
            out_dir: PathBuf::from(self.out_dir.trim()),
            ..CaptureOptions::default()
        };
        self.message = None;
        self.task = Some(BackgroundTask::spawn(ctx, move |progress| {
            capture(&options, progress)
        }));
    }
}
