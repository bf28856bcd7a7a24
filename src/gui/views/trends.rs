//! The Trends view: this snapshot as the last of a series with every open snapshot taken before
//! it (by their own clock), the growth trend over them computed in the background, the top
//! series plotted (bytes or count, linear or log), every series that changed in a sortable
//! table, and for the chosen series its newest objects: clicking one selects it here, so the
//! Retainers panel shows what keeps it.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::{Action, View, ViewContext};
use crate::analysis::leak_gate::IgnoreRules;
use crate::analysis::trend::{Series, Trend, TrendOptions, Verdict};
use crate::gui::format::{number_cell, without_arrows};
use crate::gui::worker::Deferred;
use crate::gui::Selection;
use crate::model::{FxHashMap, NodeIx};
use crate::report::signed_bytes;
use crate::store::{Document, DocumentId};

/// Series drawn in the plot.
const PLOTTED: usize = 6;

/// A finished trend and, for the last snapshot (this one), the node of every id the view may
/// select: the newest objects of each series and the collections themselves.
pub struct TrendResult {
    /// The trend, or why there is none.
    pub trend: Result<Trend, String>,
    nodes: FxHashMap<u32, NodeIx>,
}

/// The table's sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Bytes added, first to last (the trend's own order).
    #[default]
    BytesAdded,
    /// Bytes per step.
    BytesPerStep,
    /// Count per step.
    CountPerStep,
    /// Verdict (growing first).
    Verdict,
    /// Series name.
    Name,
}

/// Trends view state.
#[derive(Default)]
pub struct TrendsView {
    result: Deferred<Vec<DocumentId>, TrendResult>,
    log_scale: bool,
    plot_count: bool,
    sort: SortBy,
    /// Smallest first (the default is largest first; by name, A first; by verdict, growing first).
    ascending: bool,
    /// The chosen series, by label (stable when the table is re-sorted).
    chosen: Option<String>,
    /// The table's rows in sort order, and what they were sorted for (the snapshots of the
    /// trend, the column, the direction): sorted again only when one of these changes.
    rows: Vec<usize>,
    rows_for: Option<(Vec<DocumentId>, SortBy, bool)>,
}

impl TrendsView {
    /// The trend shown, once computed.
    pub fn trend(&self) -> Option<&Trend> {
        self.result.last().and_then(|r| r.trend.as_ref().ok())
    }

    /// Choose a series by its label, as a click in the table does.
    pub fn choose(&mut self, label: &str) {
        self.chosen = Some(label.to_string());
    }

    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        snap: &Arc<Document>,
        others: &[Arc<Document>],
        selection: &mut Selection,
    ) {
        let mut docs: Vec<Arc<Document>> = snap
            .earlier(others)
            .into_iter()
            .filter(|d| d.profile().is_none())
            .cloned()
            .collect();
        if snap.profile().is_some() || docs.is_empty() {
            ui.label(
                "A trend needs two or more heap snapshots of one process: open the snapshots \
                 taken before this one (this one is the last of the trend).",
            );
            return;
        }
        docs.reverse();
        docs.push(snap.clone());
        let key: Vec<DocumentId> = docs.iter().map(|d| d.id).collect();
        let result = self
            .result
            .get(ui.ctx(), key.clone(), false, move || compute(&docs));
        let Some(result) = result else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Computing the trend…");
            });
            return;
        };
        let t = match &result.trend {
            Ok(t) => t,
            Err(e) => {
                let colour = ui.visuals().error_fg_color;
                ui.colored_label(colour, e.as_str());
                return;
            }
        };
        ui.label(crate::report::trend::headline(t));
        if let Some(note) = crate::report::trend::ids_note(t) {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {note}."));
        }
        ui.label(
            egui::RichText::new(format!(
                "Snapshots {}: {}",
                crate::report::trend::order_text(t),
                t.snapshots
                    .iter()
                    .map(|s| s.title.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ))
            .weak(),
        );
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.log_scale, "Log scale");
            ui.selectable_value(&mut self.plot_count, false, "Bytes");
            ui.selectable_value(&mut self.plot_count, true, "Count");
        });
        let wanted = (key, self.sort, self.ascending);
        if self.rows_for.as_ref() != Some(&wanted) {
            self.rows = sorted_rows(t, self.sort, self.ascending);
            self.rows_for = Some(wanted);
        }
        let rows = &self.rows;
        let chosen = self.chosen.clone();
        plot(
            ui,
            t,
            rows,
            chosen.as_deref(),
            self.log_scale,
            self.plot_count,
        );
        ui.separator();
        series_table(
            ui,
            t,
            rows,
            &mut self.sort,
            &mut self.ascending,
            &mut self.chosen,
        );
        let Some(s) = self
            .chosen
            .as_deref()
            .and_then(|c| t.series.iter().find(|s| s.label() == c))
        else {
            ui.label("Choose a series to see its newest objects.");
            return;
        };
        ui.separator();
        objects(ui, s, &result.nodes, snap, selection);
    }
}

/// The series table: click a header to sort by it (again to flip), a row to choose the series.
fn series_table(
    ui: &mut egui::Ui,
    t: &Trend,
    rows: &[usize],
    sort: &mut SortBy,
    ascending: &mut bool,
    chosen: &mut Option<String>,
) {
    let heads = [
        ("Series", SortBy::Name),
        ("Verdict", SortBy::Verdict),
        ("Bytes added", SortBy::BytesAdded),
        ("Bytes/step", SortBy::BytesPerStep),
        ("Count/step", SortBy::CountPerStep),
    ];
    let mut clicked_sort = None;
    let mut clicked_row = None;
    ui.push_id("trend series", |ui| {
        TableBuilder::new(ui)
            .striped(true)
            .max_scroll_height(220.0)
            .column(Column::remainder().at_least(220.0).clip(true))
            .column(Column::auto().at_least(130.0))
            .columns(Column::auto().at_least(90.0), 3)
            .header(20.0, |mut h| {
                for (title, by) in heads {
                    h.col(|ui| {
                        let arrow = match (*sort == by, *ascending) {
                            (true, false) => " v",
                            (true, true) => " ^",
                            _ => "",
                        };
                        if ui
                            .selectable_label(*sort == by, format!("{title}{arrow}"))
                            .clicked()
                        {
                            clicked_sort = Some(by);
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, rows.len(), |mut row| {
                    let s = &t.series[rows[row.index()]];
                    let label = s.label();
                    let on = chosen.as_deref() == Some(label.as_str());
                    row.set_selected(on);
                    row.col(|ui| {
                        if ui.selectable_label(on, &label).clicked() {
                            clicked_row = Some(label.clone());
                        }
                    });
                    row.col(|ui| {
                        let text = if s.tripped() {
                            format!("{} (gate)", s.verdict.label())
                        } else {
                            s.verdict.label().to_string()
                        };
                        ui.label(text);
                    });
                    row.col(|ui| number_cell(ui, signed_bytes(s.bytes_added)));
                    row.col(|ui| number_cell(ui, signed_bytes(s.bytes_per_step.round() as i64)));
                    row.col(|ui| number_cell(ui, crate::report::trend::count_per_step(s)));
                });
            });
    });
    if let Some(by) = clicked_sort {
        // A second click on the column flips the order.
        *ascending = *sort == by && !*ascending;
        *sort = by;
    }
    if clicked_row.is_some() {
        *chosen = clicked_row;
    }
}

/// The trend over `docs` (this snapshot last) and the nodes of the ids the view can select.
fn compute(docs: &[Arc<Document>]) -> TrendResult {
    let refs: Vec<&Document> = docs.iter().map(|d| d.as_ref()).collect();
    let trend = Trend::from_documents(&refs, &IgnoreRules::default(), TrendOptions::default())
        .map_err(|e| e.to_string());
    let mut nodes = FxHashMap::default();
    if let (Ok(t), Some(last)) = (&trend, docs.last()) {
        let wanted: crate::model::FxHashSet<u32> = t
            .series
            .iter()
            .flat_map(|s| s.newest_ids.iter().copied().chain(s.id))
            .collect();
        let g = last.data.graph();
        for n in 0..g.node_count() as NodeIx {
            if wanted.contains(&g.id(n)) {
                nodes.entry(g.id(n)).or_insert(n);
            }
        }
    }
    TrendResult { trend, nodes }
}

/// Indices into `t.series` of the series that changed, in the table's order.
fn sorted_rows(t: &Trend, sort: SortBy, ascending: bool) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..t.series.len())
        .filter(|&i| t.series[i].verdict != Verdict::Stable)
        .collect();
    let rank = |v: Verdict| match v {
        Verdict::Grows => 0,
        Verdict::GrowsInSteps => 1,
        Verdict::GrowsThenPlateaus => 2,
        Verdict::Fluctuates => 3,
        Verdict::Shrinks => 4,
        Verdict::Stable => 5,
    };
    let s = &t.series;
    // Stable sorts: ties keep the trend's order (most bytes added first).
    match sort {
        SortBy::BytesAdded => rows.sort_by_key(|&i| s[i].bytes_added),
        SortBy::BytesPerStep => {
            rows.sort_by(|&a, &b| s[a].bytes_per_step.total_cmp(&s[b].bytes_per_step))
        }
        SortBy::CountPerStep => {
            rows.sort_by(|&a, &b| s[a].count_per_step.total_cmp(&s[b].count_per_step))
        }
        SortBy::Verdict => rows.sort_by_key(|&i| std::cmp::Reverse(rank(s[i].verdict))),
        SortBy::Name => rows.sort_by_key(|&i| std::cmp::Reverse(s[i].label())),
    }
    if !ascending {
        rows.reverse();
    }
    rows
}

/// The first growing series of the table (and the chosen one), one line each.
fn plot(
    ui: &mut egui::Ui,
    t: &Trend,
    rows: &[usize],
    chosen: Option<&str>,
    log: bool,
    count: bool,
) {
    use egui_plot::{Legend, Line, Plot, PlotPoints};
    let mut shown: Vec<&Series> = rows
        .iter()
        .map(|&i| &t.series[i])
        .filter(|s| s.verdict.is_growth())
        .take(PLOTTED)
        .collect();
    if let Some(c) = chosen.and_then(|c| t.series.iter().find(|s| s.label() == c)) {
        if !shown.iter().any(|s| s.label() == c.label()) {
            shown.push(c);
        }
    }
    let y = |v: u64| {
        if log {
            (v as f64 + 1.0).log10()
        } else {
            v as f64
        }
    };
    let unit = if count { "count" } else { "bytes" };
    Plot::new("trend plot")
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .height(220.0)
        .x_axis_label("snapshot")
        .y_axis_label(if log {
            format!("log10({unit} + 1)")
        } else {
            unit.to_string()
        })
        .include_y(0.0)
        .show(ui, |p| {
            for s in shown {
                let v = if count { &s.counts } else { &s.bytes };
                let points: Vec<[f64; 2]> = v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| [(i + 1) as f64, y(x)])
                    .collect();
                p.line(Line::new(s.label(), PlotPoints::from(points)));
            }
        });
}

/// The chosen series' newest objects (or the collection itself), each a button selecting it.
fn objects(
    ui: &mut egui::Ui,
    s: &Series,
    nodes: &FxHashMap<u32, NodeIx>,
    snap: &Document,
    selection: &mut Selection,
) {
    ui.strong(format!(
        "{}: {}: {} ({})",
        s.label(),
        without_arrows(&crate::report::trend::counts_text(s)),
        s.verdict.label(),
        signed_bytes(s.bytes_added)
    ));
    if let Some(v) = &s.new_alive {
        ui.label(format!(
            "New in snapshot #k and alive in every later one: {}",
            crate::report::trend::new_alive_text(v)
        ));
    }
    if !s.newest_stack.is_empty() {
        // The default fonts have no arrow glyph.
        let stack = crate::report::trend::stack_line(&s.newest_stack).replace('←', "<-");
        ui.label(format!("Newest allocated at: {stack}"));
    }
    let ids: Vec<u32> = match s.id {
        Some(id) => vec![id],
        None => s.newest_ids.clone(),
    };
    if ids.is_empty() {
        ui.label("No object of it is new in the last step.");
        return;
    }
    ui.label(if s.id.is_some() {
        "Click to select it and see its retainers:"
    } else {
        "Newest objects (new in the last step; click one to see its retainers):"
    });
    let a = &snap.data.analysis;
    ui.push_id("trend objects", |ui| {
        egui::ScrollArea::vertical()
            .max_height(200.0)
            .show(ui, |ui| {
                for id in ids {
                    let Some(&n) = nodes.get(&id) else { continue };
                    let text = format!(
                        "{} @{}  (retains {})",
                        snap.data.class_name(n),
                        id,
                        crate::report::human_bytes(a.retained_size(n))
                    );
                    if ui
                        .selectable_label(selection.node == Some(n), text)
                        .clicked()
                    {
                        selection.node = Some(n);
                    }
                }
            });
    });
}

impl View for TrendsView {
    fn title(&self) -> &'static str {
        "Trends"
    }

    fn applies_to(&self, doc: &Document) -> bool {
        doc.profile().is_none()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewContext<'_>) -> Option<Action> {
        self.draw(ui, cx.doc, cx.others, cx.selection);
        None
    }
}
