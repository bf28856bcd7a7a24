//! The app: open snapshots as tabs, the menu and tool bars, the status bar, and wiring between
//! the views. It owns no analysis: finished results arrive from background tasks.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

use eframe::egui;

use super::views::allocations::AllocationsView;
use super::views::comparison::ComparisonView;
use super::views::containment::ContainmentView;
use super::views::detached::DetachedView;
use super::views::dominators::DominatorsView;
use super::views::leaks::LeaksView;
use super::views::retainers::RetainersPanel;
use super::views::search::SearchBox;
use super::views::start::{self, StartAction};
use super::views::statistics::StatisticsView;
use super::views::summary::SummaryView;
use super::views::suspects::SuspectsView;
use super::views::ViewKind;
use super::worker::LoadJob;
use super::{format, LoadedSnapshot, Selection};
use crate::formats::LoadOptions;
use crate::model::alloc::Folding;
use crate::report::text::distance_text;

const RECENT_KEY: &str = "heapsight.recent";
const FOLDING_KEY: &str = "heapsight.folding";
const MAX_RECENT: usize = 10;

/// One open snapshot and the state of its views.
pub struct SnapshotTab {
    /// The snapshot.
    pub snap: Arc<LoadedSnapshot>,
    /// What is selected; every view reads and writes it.
    pub selection: Selection,
    /// The view shown.
    pub view: ViewKind,
    /// Summary view state.
    pub summary: SummaryView,
    /// Dominator tree state.
    pub dominators: DominatorsView,
    /// Containment state.
    pub containment: ContainmentView,
    /// Statistics state.
    pub statistics: StatisticsView,
    /// Retainers panel state.
    pub retainers: RetainersPanel,
    /// Search box state.
    pub search: SearchBox,
    /// Comparison state.
    pub comparison: ComparisonView,
    /// Leaks state.
    pub leaks: LeaksView,
    /// Detached DOM state.
    pub detached: DetachedView,
    /// Allocation-profile state.
    pub allocations: AllocationsView,
    /// Suspects state.
    pub suspects: SuspectsView,
}

impl SnapshotTab {
    /// A tab for a loaded snapshot, showing `view`.
    pub fn new(snap: LoadedSnapshot, view: Option<ViewKind>) -> Self {
        Self::with_arc(Arc::new(snap), view)
    }

    /// A tab for a loaded snapshot already shared, showing `view`.
    pub fn with_arc(snap: Arc<LoadedSnapshot>, view: Option<ViewKind>) -> Self {
        // Each kind of file opens on its main view unless asked for another that applies.
        let alloc = snap.data.snapshot.alloc.is_some();
        let main = if alloc {
            ViewKind::Allocations
        } else {
            ViewKind::Summary
        };
        let view = view
            .filter(|v| ViewKind::for_file(alloc).contains(v))
            .unwrap_or(main);
        Self {
            snap,
            selection: Selection::default(),
            view,
            summary: SummaryView::default(),
            dominators: DominatorsView::default(),
            containment: ContainmentView::default(),
            statistics: StatisticsView::default(),
            retainers: RetainersPanel::default(),
            search: SearchBox::default(),
            comparison: ComparisonView::default(),
            leaks: LeaksView::default(),
            detached: DetachedView::default(),
            allocations: AllocationsView::default(),
            suspects: SuspectsView::default(),
        }
    }
}

/// The heapsight desktop app.
pub struct HeapsightApp {
    /// Open snapshots.
    pub tabs: Vec<SnapshotTab>,
    /// Index of the tab shown (`tabs.len()` or more: the start page).
    pub active: usize,
    /// Snapshots being opened.
    pub loading: Vec<LoadJob>,
    /// Errors to show until dismissed.
    pub errors: Vec<String>,
    /// Recently opened files, newest first.
    pub recent: Vec<PathBuf>,
    samples: Vec<PathBuf>,
    start_view: Option<ViewKind>,
    pending_files: Vec<PathBuf>,
    dialog: Option<Receiver<Vec<PathBuf>>>,
    /// Messages about finished exports.
    pub notices: Vec<String>,
    export: Option<Receiver<Result<String, String>>>,
    /// How files are loaded (the folding of allocation profiles); a persisted setting.
    pub load_options: LoadOptions,
}

/// What File → Export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The leak-suspects report over all open snapshots, as one HTML page.
    ReportHtml,
    /// The same as Markdown.
    ReportMarkdown,
    /// The same as JSON.
    ReportJson,
    /// The shown snapshot's class table as CSV.
    SummaryCsv,
}

impl ExportKind {
    fn default_name(self) -> &'static str {
        match self {
            ExportKind::ReportHtml => "heapsight-report.html",
            ExportKind::ReportMarkdown => "heapsight-report.md",
            ExportKind::ReportJson => "heapsight-report.json",
            ExportKind::SummaryCsv => "classes.csv",
        }
    }
}

/// Render an export (on a background thread).
pub fn render_export(
    kind: ExportKind,
    snaps: &[Arc<LoadedSnapshot>],
    active: usize,
) -> Result<String, String> {
    use crate::report::document::{to_html, to_markdown};
    use crate::report::leak_report::LeakSuspectsReport;
    if kind == ExportKind::SummaryCsv {
        let s = snaps.get(active).ok_or("no snapshot open")?;
        return Ok(crate::cli::summary_csv(&s.summary.classes));
    }
    let refs: Vec<(&crate::analysis::AnalyzedSnapshot, String)> =
        snaps.iter().map(|s| (&s.data, s.title.clone())).collect();
    let r = LeakSuspectsReport::build(&refs, Default::default());
    Ok(match kind {
        ExportKind::ReportHtml => to_html("heapsight leak suspects", &r.blocks()),
        ExportKind::ReportMarkdown => to_markdown(&r.blocks()),
        _ => serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?,
    })
}

impl HeapsightApp {
    /// Create the app; `files` start loading on the first frame.
    pub fn new(
        cc: Option<&eframe::CreationContext<'_>>,
        files: Vec<PathBuf>,
        start_view: Option<ViewKind>,
    ) -> Self {
        let recent = cc
            .and_then(|cc| cc.storage)
            .and_then(|s| s.get_string(RECENT_KEY))
            .map(|s| {
                s.lines()
                    .filter(|l| !l.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let folding = cc
            .and_then(|cc| cc.storage)
            .and_then(|s| s.get_string(FOLDING_KEY))
            .map(|s| folding_from_text(&s))
            .unwrap_or_default();
        if let Some(cc) = cc {
            cc.egui_ctx
                .options_mut(|o| o.theme_preference = egui::ThemePreference::System);
        }
        Self {
            tabs: Vec::new(),
            active: 0,
            loading: Vec::new(),
            errors: Vec::new(),
            recent,
            samples: start::bundled_samples(),
            start_view,
            pending_files: files,
            dialog: None,
            notices: Vec::new(),
            export: None,
            load_options: LoadOptions { folding },
        }
    }

    /// Start opening `path` in the background.
    pub fn open(&mut self, ctx: &egui::Context, path: PathBuf) {
        if self.loading.iter().any(|j| j.path == path) {
            return;
        }
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path.clone());
        self.recent.truncate(MAX_RECENT);
        let options = self.load_options.clone();
        self.loading.push(LoadJob::start(ctx, path, options, false));
    }

    /// Use `folding` from now on, and reopen the open allocation profiles with it. A reopening
    /// still running with an earlier setting is dropped (which cancels it): the last one wins.
    pub fn refold(&mut self, ctx: &egui::Context, folding: Folding) {
        self.load_options.folding = folding;
        let mut paths: Vec<PathBuf> = Vec::new();
        for tab in &self.tabs {
            if tab.snap.alloc.is_some() && !paths.contains(&tab.snap.path) {
                paths.push(tab.snap.path.clone());
            }
        }
        for path in paths {
            self.loading.retain(|j| !(j.reload && j.path == path));
            if !self.loading.iter().any(|j| j.path == path) {
                let options = self.load_options.clone();
                self.loading.push(LoadJob::start(ctx, path, options, true));
            }
        }
    }

    /// True while any snapshot is loading.
    pub fn is_loading(&self) -> bool {
        !self.loading.is_empty()
    }

    /// The tab shown, if any.
    pub fn active_tab(&mut self) -> Option<&mut SnapshotTab> {
        self.tabs.get_mut(self.active)
    }

    fn poll_background(&mut self, ctx: &egui::Context) {
        for path in std::mem::take(&mut self.pending_files) {
            self.open(ctx, path);
        }
        let mut i = 0;
        while i < self.loading.len() {
            match self.loading[i].task.poll() {
                Some(result) => {
                    let job = self.loading.remove(i);
                    match result {
                        // Reopened with new options: every tab of the file keeps its place
                        // and view (none left: the tabs were closed meanwhile, drop it).
                        Ok(snap) if job.reload => {
                            let snap = Arc::new(snap);
                            for old in self.tabs.iter_mut().filter(|t| t.snap.path == snap.path) {
                                let mut tab = SnapshotTab::with_arc(snap.clone(), Some(old.view));
                                tab.allocations = std::mem::take(&mut old.allocations)
                                    .refolded(&old.snap.options.folding);
                                *old = tab;
                            }
                        }
                        Ok(snap) => {
                            self.tabs.push(SnapshotTab::new(snap, self.start_view));
                            self.active = self.tabs.len() - 1;
                        }
                        Err(crate::Error::Cancelled) => {}
                        Err(e) => self
                            .errors
                            .push(format!("Could not open {}: {e}", job.path.display())),
                    }
                }
                None => i += 1,
            }
        }
        if let Some(rx) = &self.export {
            if let Ok(result) = rx.try_recv() {
                self.export = None;
                match result {
                    Ok(msg) => self.notices.push(msg),
                    Err(e) => self.errors.push(format!("Export: {e}")),
                }
            }
        }
        if let Some(rx) = &self.dialog {
            if let Ok(files) = rx.try_recv() {
                self.dialog = None;
                for f in files {
                    self.open(ctx, f);
                }
            }
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        for f in dropped {
            self.open(ctx, f);
        }
    }

    /// Show the file dialog on its own thread (it may block, or fail with no desktop portal).
    fn browse(&mut self, ctx: &egui::Context) {
        if self.dialog.is_some() {
            return;
        }
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let files = rfd::FileDialog::new()
                .set_title("Open heap snapshots")
                .add_filter("Heap snapshots", &["heapsnapshot", "heaptimeline", "gz"])
                .add_filter("All files", &["*"])
                .pick_files()
                .unwrap_or_default();
            let _ = tx.send(files);
            ctx.request_repaint();
        });
        self.dialog = Some(rx);
    }

    /// Export in the background: render, ask where to save (off the UI thread), write atomically.
    pub fn export(&mut self, ctx: &egui::Context, kind: ExportKind) {
        if self.tabs.is_empty() || self.export.is_some() {
            return;
        }
        let snaps: Vec<Arc<LoadedSnapshot>> = self.tabs.iter().map(|t| t.snap.clone()).collect();
        let active = self.active;
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let result = render_export(kind, &snaps, active).and_then(|text| {
                let path = rfd::FileDialog::new()
                    .set_file_name(kind.default_name())
                    .save_file()
                    .ok_or_else(|| "export cancelled (or no file dialog available)".to_string())?;
                crate::report::write_atomically(&path, text.as_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(format!("Wrote {}", path.display()))
            });
            let _ = tx.send(result);
            ctx.request_repaint();
        });
        self.export = Some(rx);
    }

    /// Draw the whole app into `ui` (eframe calls this each frame; tests call it directly).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_background(&ctx);
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::O)) {
            self.browse(&ctx);
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        if let Some(tab) = self.tabs.get_mut(self.active) {
            egui::Panel::top("views").show(ui, |ui| {
                ui.horizontal(|ui| {
                    for v in ViewKind::for_file(tab.snap.data.snapshot.alloc.is_some()) {
                        ui.selectable_value(&mut tab.view, v, v.label());
                    }
                    ui.separator();
                    tab.search.ui(ui, &tab.snap, &mut tab.selection);
                });
            });
            if tab.search.results.is_some() {
                egui::Panel::right("search results")
                    .resizable(true)
                    .default_size(300.0)
                    .show(ui, |ui| search_results(ui, tab));
            }
            // The Allocations view selects no snapshot node: the panel would stay empty there.
            // With nothing selected it is one line of hint, not 220 empty pixels.
            if tab.view != ViewKind::Allocations {
                let panel = if tab.selection.node.is_none() {
                    egui::Panel::bottom("retainers hint").resizable(false)
                } else {
                    egui::Panel::bottom("retainers")
                        .resizable(true)
                        .default_size(220.0)
                        .min_size(120.0)
                };
                panel.show(ui, |ui| tab.retainers.ui(ui, &tab.snap, &mut tab.selection));
            }
        }
        let others: Vec<Arc<LoadedSnapshot>> = self
            .tabs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.active)
            .map(|(_, t)| t.snap.clone())
            .collect();
        let mut refold = None;
        egui::CentralPanel::default().show(ui, |ui| {
            self.error_list(ui);
            match self.tabs.get_mut(self.active) {
                Some(tab) => match tab.view {
                    ViewKind::Summary => tab.summary.ui(ui, &tab.snap, &mut tab.selection),
                    ViewKind::Dominators => tab.dominators.ui(ui, &tab.snap, &mut tab.selection),
                    ViewKind::Containment => tab.containment.ui(ui, &tab.snap, &mut tab.selection),
                    ViewKind::Statistics => tab.statistics.ui(ui, &tab.snap, &mut tab.selection),
                    ViewKind::Comparison => {
                        tab.comparison
                            .ui(ui, &tab.snap, &others, &mut tab.selection)
                    }
                    ViewKind::Leaks => tab.leaks.ui(ui, &tab.snap, &others, &mut tab.selection),
                    ViewKind::Detached => tab.detached.ui(ui, &tab.snap, &mut tab.selection),
                    ViewKind::Suspects => tab.suspects.ui(ui, &tab.snap, &mut tab.selection),
                    ViewKind::Allocations => {
                        if let Some(f) =
                            tab.allocations
                                .ui(ui, &tab.snap, &others, &mut tab.selection)
                        {
                            refold = Some(f);
                        }
                    }
                },
                None => match start::ui(ui, &self.recent, &self.samples) {
                    Some(StartAction::Open(p)) => self.open(&ctx, p),
                    Some(StartAction::Browse) => self.browse(&ctx),
                    None => {}
                },
            }
        });
        if let Some(f) = refold {
            self.refold(&ctx, f);
        }
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.horizontal_wrapped(|ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…  (Ctrl+O)").clicked() {
                    self.browse(&ctx);
                    ui.close();
                }
                ui.menu_button("Open recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("None");
                    }
                    for p in self.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.open(&ctx, p);
                            ui.close();
                        }
                    }
                });
                if ui
                    .add_enabled(
                        self.active < self.tabs.len(),
                        egui::Button::new("Close tab"),
                    )
                    .clicked()
                {
                    self.tabs.remove(self.active);
                    self.active = self.active.saturating_sub(1);
                    ui.close();
                }
            });
            ui.separator();
            // Tabs: open snapshots, then the start page.
            let mut close = None;
            for (i, tab) in self.tabs.iter().enumerate() {
                let selected = self.active == i;
                let r = ui
                    .selectable_label(selected, &tab.snap.title)
                    .on_hover_text(tab.snap.path.display().to_string());
                if r.clicked() {
                    self.active = i;
                }
                if r.middle_clicked() {
                    close = Some(i);
                }
            }
            if let Some(i) = close {
                self.tabs.remove(i);
                self.active = self.active.min(self.tabs.len().saturating_sub(1));
            }
            if ui
                .selectable_label(self.active >= self.tabs.len(), "+ Start")
                .on_hover_text("Start page: recent files and samples")
                .clicked()
            {
                self.active = self.tabs.len();
            }
            for job in &self.loading {
                ui.separator();
                let p = job.task.progress();
                ui.label(format!(
                    "Opening {}",
                    job.path
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ));
                ui.add(
                    egui::ProgressBar::new(p.fraction)
                        .desired_width(160.0)
                        .text(format!("{} {:.0} %", p.phase, p.fraction * 100.0)),
                );
                if ui.button("Cancel").clicked() {
                    job.task.cancel();
                }
            }
        });
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| match self.tabs.get(self.active) {
            Some(tab) => {
                let s = &tab.snap;
                let g = s.data.graph();
                ui.label(s.path.display().to_string());
                ui.separator();
                ui.label(format!(
                    "{} nodes",
                    format::group_digits(g.node_count() as u64)
                ));
                ui.separator();
                ui.label(format!(
                    "{} edges",
                    format::group_digits(g.edge_count() as u64)
                ));
                ui.separator();
                ui.label(format!(
                    "total {}",
                    format::human_bytes(s.summary.total_size)
                ))
                .on_hover_text(format!(
                    "{} bytes",
                    format::group_digits(s.summary.total_size)
                ));
                ui.separator();
                ui.label(format!("loaded in {:.2} s", s.load_secs));
                if let Some(n) = tab.selection.node {
                    ui.separator();
                    ui.label(format!(
                        "selected {} @{} (distance {})",
                        s.data.class_name(n),
                        g.id(n),
                        distance_text(s.data.analysis.distance(n))
                    ));
                }
            }
            None => {
                ui.label(format!("{} snapshot(s) open", self.tabs.len()));
            }
        });
    }

    fn error_list(&mut self, ui: &mut egui::Ui) {
        let mut dismiss_notice = None;
        for (i, n) in self.notices.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(n);
                if ui.small_button("Dismiss").clicked() {
                    dismiss_notice = Some(i);
                }
            });
        }
        if let Some(i) = dismiss_notice {
            self.notices.remove(i);
        }
        if self.export.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Exporting…");
            });
        }
        let mut dismiss = None;
        for (i, e) in self.errors.iter().enumerate() {
            egui::Frame::group(ui.style())
                .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                        if ui.small_button("Dismiss").clicked() {
                            dismiss = Some(i);
                        }
                    });
                });
        }
        if let Some(i) = dismiss {
            self.errors.remove(i);
        }
    }
}

fn search_results(ui: &mut egui::Ui, tab: &mut SnapshotTab) {
    let Some(results) = &tab.search.results else {
        return;
    };
    let snap = tab.snap.clone();
    let mut close = false;
    ui.horizontal(|ui| {
        ui.strong("Search results");
        if ui.small_button("Close").clicked() {
            close = true;
        }
    });
    egui::ScrollArea::vertical().show(ui, |ui| {
        if !results.classes.is_empty() {
            ui.label(egui::RichText::new("Classes").weak());
            for &c in &results.classes {
                let row = &snap.summary.classes[c];
                if ui
                    .selectable_label(false, format!("{}  ×{}", row.name, row.count))
                    .clicked()
                {
                    tab.view = ViewKind::Summary;
                    tab.summary.reveal_class(row.class_id);
                }
            }
        }
        if !results.nodes.is_empty() {
            ui.label(egui::RichText::new("Nodes").weak());
            let g = snap.data.graph();
            for &n in &results.nodes {
                let text = format!(
                    "{} @{}  {}",
                    snap.data.class_name(n),
                    g.id(n),
                    crate::report::one_line(g.name(n), 40)
                );
                if ui
                    .selectable_label(tab.selection.node == Some(n), text)
                    .clicked()
                {
                    tab.selection.node = Some(n);
                }
            }
            if results.truncated {
                ui.label(egui::RichText::new("(more matches not shown)").weak());
            }
        }
    });
    if close {
        tab.search.results = None;
    }
}

impl eframe::App for HeapsightApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let list: Vec<String> = self
            .recent
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        storage.set_string(RECENT_KEY, list.join("\n"));
        storage.set_string(FOLDING_KEY, folding_to_text(&self.load_options.folding));
    }
}

/// The folding setting as stored: `standard` or `none`, then one extra prefix per line.
fn folding_to_text(f: &Folding) -> String {
    let mut lines = vec![if f.std_sources { "standard" } else { "none" }.to_string()];
    lines.extend(f.extra_prefixes());
    lines.join("\n")
}

fn folding_from_text(s: &str) -> Folding {
    let mut lines = s.lines();
    let standard = lines.next() != Some("none");
    Folding::with_extra(standard, lines.map(String::from))
}
