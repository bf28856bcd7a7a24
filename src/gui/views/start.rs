//! The start page: recent files and the bundled samples, one click to open.

use std::path::{Path, PathBuf};

use eframe::egui;

/// What the user picked on the start page.
pub enum StartAction {
    /// Open this file.
    Open(PathBuf),
    /// Show the file dialog.
    Browse,
}

/// Snapshots shipped in `sample-snapshots/` next to the working directory or the executable.
pub fn bundled_samples() -> Vec<PathBuf> {
    let mut roots = vec![PathBuf::from("sample-snapshots")];
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/heapsight → repository root.
        if let Some(repo) = exe.ancestors().nth(3) {
            roots.push(repo.join("sample-snapshots"));
        }
    }
    let mut out = Vec::new();
    for root in roots {
        let Ok(dirs) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut dirs: Vec<_> = dirs
            .flatten()
            .map(|d| d.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let Ok(files) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<_> = files
                .flatten()
                .map(|f| f.path())
                .filter(|p| is_heap_file(p))
                .collect();
            files.sort();
            out.extend(files);
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

fn is_heap_file(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [
        ".heapsnapshot",
        ".heaptimeline",
        ".heapsnapshot.gz",
        ".heaptimeline.gz",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

/// Draw the start page; returns what was clicked.
pub fn ui(ui: &mut egui::Ui, recent: &[PathBuf], samples: &[PathBuf]) -> Option<StartAction> {
    let mut action = None;
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        ui.heading("heapsight");
        ui.label("Find what holds the memory in V8 heap snapshots.");
        ui.add_space(8.0);
        if ui.button("Open a snapshot…  (Ctrl+O)").clicked() {
            action = Some(StartAction::Browse);
        }
        ui.label(egui::RichText::new("or drop a .heapsnapshot file on this window").weak());
    });
    ui.add_space(16.0);
    let mut section = |ui: &mut egui::Ui, title: &str, files: &[PathBuf], empty: &str| {
        ui.strong(title);
        if files.is_empty() {
            ui.label(egui::RichText::new(empty).weak());
        }
        for f in files {
            let label = f.display().to_string();
            if ui.link(&label).on_hover_text("Open").clicked() {
                action = Some(StartAction::Open(f.clone()));
            }
        }
        ui.add_space(12.0);
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        section(ui, "Recent files", recent, "None yet.");
        section(
            ui,
            "Bundled samples",
            samples,
            "No sample-snapshots folder found.",
        );
    });
    action
}
