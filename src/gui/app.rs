//! The app: open snapshots as tabs, the menu and tool bars, the status bar, and wiring between
//! the views. It owns no analysis: finished results arrive from background tasks.

use std::any::Any;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

use eframe::egui;

use super::capture_dialog::CaptureDialog;
use super::views::retainers::RetainersPanel;
use super::views::search::SearchBox;
use super::views::start::{self, StartAction};
use super::views::summary::SummaryView;
use super::views::{registry, Action, View, ViewContext};
use super::worker::LoadJob;
use super::{format, Selection};
use crate::analysis::allocation_stacks::TimeRange;
use crate::formats::LoadOptions;
use crate::model::alloc::Folding;
use crate::report::text::distance_text;
use crate::store::{Document, Store};

const RECENT_KEY: &str = "heapsight.recent";
const FOLDING_KEY: &str = "heapsight.folding";
const MAX_RECENT: usize = 10;

/// One open document and the state of its views.
pub struct SnapshotTab {
    /// The document.
    pub doc: Arc<Document>,
    /// What is selected; every view reads and writes it.
    pub selection: Selection,
    /// The views that apply to the document, in tab order (from [`registry`]).
    views: Vec<Box<dyn View>>,
    /// Index of the view shown.
    current: usize,
    /// Retainers panel state.
    pub retainers: RetainersPanel,
    /// Search box state.
    pub search: SearchBox,
    /// Whether the tab has been drawn (see `HEAPSIGHT_LOG_TIMINGS`).
    drawn: bool,
    /// When its file was asked for ([`LoadJob::asked`]): the tabs' order.
    asked: u64,
}

impl SnapshotTab {
    /// A tab for a loaded document, showing the view titled `view` (any case) if it applies,
    /// else the document's main view.
    pub fn new(doc: Arc<Document>, view: Option<&str>) -> Self {
        let views: Vec<Box<dyn View>> = registry()
            .into_iter()
            .filter(|v| v.applies_to(&doc))
            .collect();
        let asked = view.and_then(|name| {
            views
                .iter()
                .position(|v| super::views::title_matches(v.title(), name))
        });
        let current = asked
            .or_else(|| views.iter().position(|v| v.opens_first(&doc)))
            .unwrap_or(0);
        Self {
            doc,
            selection: Selection::default(),
            views,
            current,
            retainers: RetainersPanel::default(),
            search: SearchBox::default(),
            drawn: false,
            asked: 0,
        }
    }

    /// The same tab over `doc`, the file reopened with other options: the view shown stays,
    /// and each view carries over what it can.
    fn reopened(&mut self, doc: Arc<Document>) {
        let mut tab = SnapshotTab::new(doc, Some(self.current_title()));
        for new in tab.views.iter_mut() {
            let old = self.views.iter_mut().find(|v| v.title() == new.title());
            if let Some(carried) = old.and_then(|v| v.reopened(&self.doc)) {
                *new = carried;
            }
        }
        tab.asked = self.asked;
        *self = tab;
    }

    /// The titles of the tab's views, in tab order.
    pub fn titles(&self) -> Vec<&'static str> {
        self.views.iter().map(|v| v.title()).collect()
    }

    /// The title of the view shown.
    pub fn current_title(&self) -> &'static str {
        self.views.get(self.current).map_or("", |v| v.title())
    }

    /// True when the view shown is a `V`.
    pub fn shows<V: View>(&self) -> bool {
        self.views
            .get(self.current)
            .is_some_and(|v| (&**v as &dyn Any).is::<V>())
    }

    /// Show the view titled `title`; false when the tab has none.
    pub fn show_titled(&mut self, title: &str) -> bool {
        match self.views.iter().position(|v| v.title() == title) {
            Some(i) => {
                self.current = i;
                true
            }
            None => false,
        }
    }

    /// The tab's `V`, if the view applies to its document.
    pub fn view<V: View>(&self) -> Option<&V> {
        self.views
            .iter()
            .find_map(|v| (&**v as &dyn Any).downcast_ref::<V>())
    }

    /// The tab's `V` to change, if the view applies to its document.
    pub fn view_mut<V: View>(&mut self) -> Option<&mut V> {
        self.views
            .iter_mut()
            .find_map(|v| (&mut **v as &mut dyn Any).downcast_mut::<V>())
    }

    /// Show the tab's `V`; false when the tab has none.
    pub fn show<V: View>(&mut self) -> bool {
        match self.views.iter().position(|v| (&**v as &dyn Any).is::<V>()) {
            Some(i) => {
                self.current = i;
                true
            }
            None => false,
        }
    }
}

/// The heapsight desktop app.
pub struct HeapsightApp {
    /// Open documents, one tab each.
    pub tabs: Vec<SnapshotTab>,
    /// The documents the tabs show, by id.
    pub store: Store,
    /// Index of the tab shown (`tabs.len()` or more: the start page).
    pub active: usize,
    /// Snapshots being opened.
    pub loading: Vec<LoadJob>,
    /// Errors to show until dismissed.
    pub errors: Vec<String>,
    /// Recently opened files, newest first.
    pub recent: Vec<PathBuf>,
    samples: Vec<PathBuf>,
    start_view: Option<String>,
    pending_files: Vec<PathBuf>,
    dialog: Option<Receiver<Vec<PathBuf>>>,
    /// Messages about finished exports.
    pub notices: Vec<String>,
    export: Option<Receiver<Result<String, String>>>,
    /// How files are loaded (the folding of allocation profiles); a persisted setting.
    pub load_options: LoadOptions,
    /// File → Capture from process… (its window and the capture it runs).
    pub capture: CaptureDialog,
    /// A captured series still loading (paths not yet open) and its last file: once all are
    /// open, the last one's tab shows the Trends view, so the series opens as a trend.
    capture_series: Option<(Vec<PathBuf>, PathBuf)>,
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

/// Render an export (on a background thread). `allocated` is the time range the active
/// snapshot's Summary is filtered to, if any: its class table is then what is written.
pub fn render_export(
    kind: ExportKind,
    docs: &[Arc<Document>],
    active: usize,
    allocated: Option<TimeRange>,
) -> Result<String, String> {
    use crate::report::document::{to_html, to_markdown};
    use crate::report::leak_report::LeakSuspectsReport;
    if kind == ExportKind::SummaryCsv {
        let d = docs.get(active).ok_or("no snapshot open")?;
        let csv = match allocated {
            Some(range) => {
                crate::report::csv::classes(&d.data.summary_allocated_in(&range).classes)
            }
            None => crate::report::csv::classes(&d.summary().classes),
        };
        return Ok(csv);
    }
    let refs: Vec<&Document> = docs.iter().map(|d| &**d).collect();
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
        start_view: Option<String>,
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
            store: Store::default(),
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
            load_options: LoadOptions {
                folding,
                ..LoadOptions::default()
            },
            capture: CaptureDialog::default(),
            capture_series: None,
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
        self.loading.push(LoadJob::start(ctx, path, options, None));
    }

    /// Use `folding` from now on, and reopen the open allocation profiles with it. A reopening
    /// still running with an earlier setting is dropped (which cancels it): the last one wins.
    pub fn refold(&mut self, ctx: &egui::Context, folding: Folding) {
        self.load_options.folding = folding;
        let profiles: Vec<(PathBuf, crate::store::DocumentId)> = self
            .store
            .iter()
            .filter(|d| d.profile().is_some())
            .map(|d| (d.path.clone(), d.id))
            .collect();
        for (path, id) in profiles {
            self.loading.retain(|j| j.reopens != Some(id));
            if !self.loading.iter().any(|j| j.path == path) {
                let options = self.load_options.clone();
                self.loading
                    .push(LoadJob::start(ctx, path, options, Some(id)));
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

    /// Files of a captured series not open yet (0 when none is loading).
    pub fn capture_series_pending(&self) -> usize {
        self.capture_series.as_ref().map_or(0, |(w, _)| w.len())
    }

    /// Add the tab of a file that finished loading. Files opened together (on the command
    /// line, several at once in the dialog, dropped together) finish in any order; their tabs
    /// keep the order they were asked for, and the one asked for last is shown: a file that
    /// finishes late does not take the place, or the focus, of one asked for after it.
    fn add_tab(&mut self, tab: SnapshotTab) {
        let at = self
            .tabs
            .iter()
            .position(|t| t.asked > tab.asked)
            .unwrap_or(self.tabs.len());
        let shown_is_later = self
            .tabs
            .get(self.active)
            .is_some_and(|t| t.asked > tab.asked);
        self.tabs.insert(at, tab);
        if !shown_is_later {
            self.active = at;
        } else if self.active >= at {
            self.active += 1;
        }
    }

    /// One file of a captured series is open; when the last one is, show its trend.
    fn series_loaded(&mut self, path: &std::path::Path) {
        let Some((waiting, last)) = self.capture_series.as_mut() else {
            return;
        };
        waiting.retain(|p| p != path);
        if !waiting.is_empty() {
            return;
        }
        let last = last.clone();
        self.capture_series = None;
        if let Some(i) = self.tabs.iter().position(|t| t.doc.path == last) {
            self.active = i;
            self.tabs[i].show_titled("Trends");
        }
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
                        // Reopened with new options: every tab of the document keeps its
                        // place and view (none left: the tabs were closed meanwhile, drop it).
                        Ok(doc) if job.reopens.is_some() => {
                            if self.store.get(doc.id).is_none() {
                                continue;
                            }
                            let doc = Arc::new(doc);
                            super::worker::write_index_later(&doc);
                            self.store.insert(doc.clone());
                            for tab in self.tabs.iter_mut().filter(|t| t.doc.id == doc.id) {
                                tab.reopened(doc.clone());
                            }
                        }
                        Ok(doc) => {
                            let doc = Arc::new(doc);
                            super::worker::write_index_later(&doc);
                            self.store.insert(doc.clone());
                            let mut tab = SnapshotTab::new(doc, self.start_view.as_deref());
                            tab.asked = job.asked;
                            self.add_tab(tab);
                            self.series_loaded(&job.path);
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
                .add_filter(
                    "Heap snapshots and allocation profiles",
                    &crate::formats::dialog_extensions(),
                )
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
        let docs: Vec<Arc<Document>> = self.tabs.iter().map(|t| t.doc.clone()).collect();
        let active = self.active;
        let allocated = self.tabs[active].selection.allocated;
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let result = render_export(kind, &docs, active, allocated).and_then(|text| {
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
        let captured = self.capture.show(&ctx);
        if captured.len() >= 2 {
            let last = captured[captured.len() - 1].clone();
            self.capture_series = Some((captured.clone(), last));
        }
        for path in captured {
            self.open(&ctx, path);
        }
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        if let Some(tab) = self.tabs.get_mut(self.active) {
            egui::Panel::top("views").show(ui, |ui| {
                ui.horizontal(|ui| {
                    for (i, v) in tab.views.iter().enumerate() {
                        ui.selectable_value(&mut tab.current, i, v.title());
                    }
                    ui.separator();
                    tab.search.ui(ui, &tab.doc, &mut tab.selection);
                });
            });
            if tab.search.results.is_some() {
                egui::Panel::right("search results")
                    .resizable(true)
                    .default_size(300.0)
                    .show(ui, |ui| search_results(ui, tab));
            }
            // With nothing selected the panel is one line of hint, not 220 empty pixels.
            if tab
                .views
                .get(tab.current)
                .is_some_and(|v| v.shows_retainers())
            {
                let panel = if tab.selection.node.is_none() {
                    egui::Panel::bottom("retainers hint").resizable(false)
                } else {
                    egui::Panel::bottom("retainers")
                        .resizable(true)
                        .default_size(220.0)
                        .min_size(120.0)
                };
                panel.show(ui, |ui| tab.retainers.ui(ui, &tab.doc, &mut tab.selection));
            }
        }
        let mut action = None;
        egui::CentralPanel::default().show(ui, |ui| {
            self.error_list(ui);
            match self.tabs.get_mut(self.active) {
                Some(tab) => {
                    let others = self.store.others(tab.doc.id);
                    let mut cx = ViewContext {
                        doc: &tab.doc,
                        others: &others,
                        selection: &mut tab.selection,
                    };
                    if let Some(view) = tab.views.get_mut(tab.current) {
                        action = view.ui(ui, &mut cx);
                        if !tab.drawn {
                            tab.drawn = true;
                            super::log_first_draw(&tab.doc, view.title());
                        }
                    }
                }
                None => match start::ui(ui, &self.recent, &self.samples) {
                    Some(StartAction::Open(p)) => self.open(&ctx, p),
                    Some(StartAction::Browse) => self.browse(&ctx),
                    None => {}
                },
            }
        });
        match action {
            Some(Action::Refold(f)) => self.refold(&ctx, f),
            None => {}
        }
    }

    /// Close the tab at `i`; its document leaves the store when no other tab shows it.
    pub fn close_tab(&mut self, i: usize) {
        if i >= self.tabs.len() {
            return;
        }
        let tab = self.tabs.remove(i);
        if !self.tabs.iter().any(|t| t.doc.id == tab.doc.id) {
            self.store.remove(tab.doc.id);
        }
        // The tab shown stays shown; closing it shows the one before it.
        if self.active >= i {
            self.active = self.active.saturating_sub(1);
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
                if ui.button("Capture from process…").clicked() {
                    self.capture.open = true;
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
                    self.close_tab(self.active);
                    ui.close();
                }
            });
            ui.separator();
            // Tabs: open snapshots, then the start page.
            let mut close = None;
            for (i, tab) in self.tabs.iter().enumerate() {
                let selected = self.active == i;
                let r = ui
                    .selectable_label(selected, &tab.doc.title)
                    .on_hover_text(tab.doc.path.display().to_string());
                if r.clicked() {
                    self.active = i;
                }
                if r.middle_clicked() {
                    close = Some(i);
                }
            }
            if let Some(i) = close {
                self.close_tab(i);
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
                let s = &tab.doc;
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
                    format::human_bytes(s.summary().total_size)
                ))
                .on_hover_text(format!(
                    "{} bytes",
                    format::group_digits(s.summary().total_size)
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
    let snap = tab.doc.clone();
    let (mut close, mut reveal) = (false, None);
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
                let row = &snap.summary().classes[c];
                if ui
                    .selectable_label(false, format!("{}  ×{}", row.name, row.count))
                    .clicked()
                {
                    reveal = Some(row.class_id);
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
    if let Some(class_id) = reveal {
        tab.show::<SummaryView>();
        if let Some(v) = tab.view_mut::<SummaryView>() {
            v.reveal_class(class_id);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Tabs asked for in the order 0, 1, 2 that finish loading in the order 2, 0, 1 (the
    /// kittest test in tests/gui.rs depends on which file finishes first; this one does not).
    #[test]
    fn tabs_keep_the_order_asked_for_and_show_the_last() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample-snapshots/node-trend/step1.heapsnapshot.gz");
        let doc = Arc::new(
            Document::open(
                &path,
                &LoadOptions::default(),
                crate::analysis::AnalysisOptions::default(),
                crate::progress::Progress::default(),
            )
            .expect("the sample opens"),
        );
        let mut app = HeapsightApp::new(None, Vec::new(), None);
        for asked in [2, 0, 1] {
            let mut tab = SnapshotTab::new(doc.clone(), None);
            tab.asked = asked;
            app.add_tab(tab);
        }
        let order: Vec<u64> = app.tabs.iter().map(|t| t.asked).collect();
        assert_eq!(order, [0, 1, 2]);
        assert_eq!(
            app.tabs[app.active].asked, 2,
            "the one asked for last stays shown"
        );
    }
}
