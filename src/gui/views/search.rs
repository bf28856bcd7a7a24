//! The search box: `@123` jumps to a node; text finds classes and nodes by name. Node-name
//! searches run on a background thread, so millions of nodes never freeze a frame.

use std::sync::Arc;

use eframe::egui;

use crate::gui::worker::BackgroundTask;
use crate::gui::Selection;
use crate::store::search::{search, SearchResults};
use crate::store::Document;

/// Search state for one tab.
#[derive(Default)]
pub struct SearchBox {
    /// The text typed.
    pub text: String,
    task: Option<BackgroundTask<SearchResults>>,
    /// Last finished results.
    pub results: Option<SearchResults>,
    /// A message about the last search (e.g. "no node @123").
    pub message: Option<String>,
}

/// Parse `@123` (or `@ 123`).
pub fn parse_node_id(text: &str) -> Option<u32> {
    text.trim().strip_prefix('@')?.trim().parse().ok()
}

impl SearchBox {
    /// Draw the text field; Enter starts the search (or jumps for `@id`).
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, selection: &mut Selection) {
        if let Some(task) = self.task.as_mut() {
            if let Some(r) = task.poll() {
                self.message = (r.classes.is_empty() && r.nodes.is_empty())
                    .then(|| format!("nothing matches \"{}\"", self.text.trim()));
                self.results = Some(r);
                self.task = None;
            }
        }
        let edit = egui::TextEdit::singleline(&mut self.text)
            .hint_text("Search: @id or name")
            .desired_width(220.0);
        let response = ui.add(edit);
        if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            self.submit(ui.ctx(), snap, selection);
        }
        if self.task.is_some() {
            ui.spinner();
        }
        if let Some(m) = &self.message {
            ui.label(egui::RichText::new(m).weak());
        }
    }

    /// Start the search for the current text.
    pub fn submit(&mut self, ctx: &egui::Context, snap: &Arc<Document>, selection: &mut Selection) {
        self.message = None;
        if let Some(id) = parse_node_id(&self.text) {
            // Ids are looked up by scanning; 20 M ids take a few ms, fine for one keypress.
            match snap.data.graph().node_by_id(id) {
                Some(n) => selection.node = Some(n),
                None => self.message = Some(format!("no node @{id}")),
            }
            self.results = None;
            return;
        }
        let s = snap.clone();
        let q = self.text.clone();
        self.task = Some(BackgroundTask::spawn(ctx, move |_| search(&s, &q)));
    }

    /// True while a search runs.
    pub fn busy(&self) -> bool {
        self.task.is_some()
    }
}
