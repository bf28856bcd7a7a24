//! One file per view or panel; each is a small struct holding only view state (scroll, sort,
//! expanded rows) with one `ui` method over the shared snapshot and the tab's selection.

pub mod allocations;
pub mod comparison;
pub mod containment;
pub mod detached;
pub mod dominators;
pub mod flamegraph;
pub mod leaks;
pub mod retainers;
pub mod search;
pub mod start;
pub mod statistics;
pub mod summary;
pub mod suspects;
pub mod tree;

/// The main views a tab can show (the retainers panel is always below them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewKind {
    /// Class table.
    #[default]
    Summary,
    /// Dominator tree.
    Dominators,
    /// Containment from the root.
    Containment,
    /// Size by category.
    Statistics,
    /// Against another open snapshot.
    Comparison,
    /// Three-snapshot leak detection.
    Leaks,
    /// Detached DOM trees.
    Detached,
    /// Leak suspects and duplicated strings of one snapshot.
    Suspects,
    /// Allocation profiles: flame graph, sites, timeline.
    Allocations,
}

impl ViewKind {
    /// All views, in tab order.
    pub const ALL: [ViewKind; 9] = [
        ViewKind::Summary,
        ViewKind::Dominators,
        ViewKind::Containment,
        ViewKind::Statistics,
        ViewKind::Comparison,
        ViewKind::Leaks,
        ViewKind::Suspects,
        ViewKind::Detached,
        ViewKind::Allocations,
    ];

    /// The views that make sense for a heap snapshot (`false`) or an allocation profile.
    pub fn for_file(alloc_profile: bool) -> Vec<ViewKind> {
        Self::ALL
            .into_iter()
            .filter(|v| match v {
                ViewKind::Allocations => alloc_profile,
                ViewKind::Comparison
                | ViewKind::Leaks
                | ViewKind::Detached
                | ViewKind::Statistics => !alloc_profile,
                _ => true,
            })
            .collect()
    }

    /// The view's title.
    pub fn label(self) -> &'static str {
        match self {
            ViewKind::Summary => "Summary",
            ViewKind::Dominators => "Dominators",
            ViewKind::Containment => "Containment",
            ViewKind::Statistics => "Statistics",
            ViewKind::Comparison => "Comparison",
            ViewKind::Leaks => "Leaks",
            ViewKind::Detached => "Detached DOM",
            ViewKind::Suspects => "Suspects",
            ViewKind::Allocations => "Allocations",
        }
    }

    /// Parse a view name (case-insensitive), for `--view`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.label().eq_ignore_ascii_case(name))
    }
}

/// A combo box choosing one of the other open snapshots by title; true when the choice changed.
pub fn pick_snapshot(
    ui: &mut eframe::egui::Ui,
    label: &str,
    value: &mut Option<usize>,
    others: &[std::sync::Arc<crate::gui::LoadedSnapshot>],
) -> bool {
    ui.label(label);
    let before = *value;
    let current = value
        .and_then(|i| others.get(i))
        .map_or("(pick one)".to_string(), |s| s.title.clone());
    eframe::egui::ComboBox::from_id_salt(label)
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (i, o) in others.iter().enumerate() {
                ui.selectable_value(value, Some(i), &o.title);
            }
        });
    *value != before
}
