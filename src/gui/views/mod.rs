//! One file per view or panel, the way egui's demo app keeps its windows: each view is a small
//! struct holding only view state (scroll, sort, expanded rows) that implements [`View`], and
//! [`registry`] lists them. The tab bar, dispatch, `--view` names and tests all come from that
//! list, so adding a view is one file plus one line there.

pub mod allocation_stacks;
pub mod allocations;
pub mod comparison;
pub mod containment;
pub mod detached;
pub mod dominators;
pub mod flamegraph;
pub mod leaks;
pub mod memory;
pub mod retainers;
pub mod search;
pub mod start;
pub mod statistics;
pub mod summary;
pub mod suspects;
pub mod tree;
pub mod trends;

use std::any::Any;
use std::sync::Arc;

use eframe::egui;

use crate::gui::Selection;
use crate::model::alloc::Folding;
use crate::store::{Document, DocumentId};

/// Every view a tab can show, in tab order. One line per view.
pub fn registry() -> Vec<Box<dyn View>> {
    vec![
        Box::<summary::SummaryView>::default(),
        Box::<dominators::DominatorsView>::default(),
        Box::<containment::ContainmentView>::default(),
        Box::<statistics::StatisticsView>::default(),
        Box::<comparison::ComparisonView>::default(),
        Box::<leaks::LeaksView>::default(),
        Box::<suspects::SuspectsView>::default(),
        Box::<detached::DetachedView>::default(),
        Box::<memory::MemoryView>::default(),
        Box::<trends::TrendsView>::default(),
        Box::<allocation_stacks::AllocationStacksView>::default(),
        Box::<allocations::AllocationsView>::default(),
    ]
}

/// The titles of every view, for `--view` and its help.
pub fn titles() -> Vec<&'static str> {
    registry().iter().map(|v| v.title()).collect()
}

/// True when `name` (from `--view`) names the view titled `title`: the title or its first word,
/// in any case (`detached` for "Detached DOM").
pub fn title_matches(title: &str, name: &str) -> bool {
    title.eq_ignore_ascii_case(name)
        || title
            .split(' ')
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(name))
}

/// What a view reads and writes each frame.
pub struct ViewContext<'a> {
    /// The tab's document.
    pub doc: &'a Arc<Document>,
    /// The other open documents, oldest first.
    pub others: &'a [Arc<Document>],
    /// What is selected in the tab; every view reads and writes it.
    pub selection: &'a mut Selection,
}

/// What a view asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Reopen the open allocation profiles with this folding (and use it from now on).
    Refold(Folding),
}

/// A main view of a tab (the Retainers panel and the search box sit beside all of them).
pub trait View: Any {
    /// The name on the tab bar, also accepted by `--view` (in any case).
    fn title(&self) -> &'static str;

    /// Whether the view has anything to show for this kind of document.
    fn applies_to(&self, doc: &Document) -> bool;

    /// Whether a tab of this document opens on this view (the first such view wins).
    fn opens_first(&self, _doc: &Document) -> bool {
        false
    }

    /// Whether the Retainers panel belongs under the view (not where nothing selects a node).
    fn shows_retainers(&self) -> bool {
        true
    }

    /// Draw the view.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action>;

    /// The view for the same file reopened with other options, carrying over what still holds
    /// (`was`: the document before); `None` starts afresh.
    fn reopened(&mut self, _was: &Document) -> Option<Box<dyn View>> {
        None
    }
}

/// A combo box choosing one of the other open documents by title; true when the choice
/// changed. The choice is an id: closing other tabs never makes it point elsewhere, and a
/// choice whose document was closed reads as none.
pub fn pick_document(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut Option<DocumentId>,
    others: &[Arc<Document>],
) -> bool {
    if value.is_some_and(|id| !others.iter().any(|o| o.id == id)) {
        *value = None;
    }
    ui.label(label);
    let before = *value;
    let current = value
        .and_then(|id| chosen(others, Some(id)))
        .map_or("(pick one)".to_string(), |s| s.title.clone());
    // A fixed width: the pickers and what follows them stay put when the choice changes.
    egui::ComboBox::from_id_salt(label)
        .width(200.0)
        .truncate()
        .selected_text(current)
        .show_ui(ui, |ui| {
            for o in others {
                ui.selectable_value(value, Some(o.id), &o.title);
            }
        });
    *value != before
}

/// The open document `id` names, if any.
pub fn chosen(others: &[Arc<Document>], id: Option<DocumentId>) -> Option<&Arc<Document>> {
    let id = id?;
    others.iter().find(|o| o.id == id)
}
