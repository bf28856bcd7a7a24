//! Site tables of the Allocations view: all sites, leaked at exit, temporary, short-lived and
//! DHAT's access metrics. One table type; each list picks its columns, its rows and the column
//! it sorts by first. Sorted row order is cached until the sort changes.

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use std::sync::Arc;

use crate::analysis::alloc::{access_text, SiteStat};
use crate::gui::format::{group_digits, metric_cell, number_cell};
use crate::gui::worker::Deferred;
use crate::model::alloc::{AllocMetrics, AllocProfile, Metric};
use crate::store::Document;
use crate::store::BUILD_NOW_NODES;

/// A column of a site table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteColumn {
    /// One metric.
    Metric(Metric),
    /// Bytes read per allocated byte.
    ReadPerByte,
    /// Bytes written per allocated byte.
    WrittenPerByte,
    /// Average block lifetime.
    AvgLifetime,
    /// `never read` / `never written`.
    Flags,
}

impl SiteColumn {
    fn title(self) -> &'static str {
        match self {
            SiteColumn::Metric(m) => m.column(),
            SiteColumn::ReadPerByte => "Read/byte",
            SiteColumn::WrittenPerByte => "Written/byte",
            SiteColumn::AvgLifetime => "Avg lifetime",
            SiteColumn::Flags => "Access",
        }
    }

    /// Sort key: larger first, except lifetimes and access ratios (smaller is the finding).
    fn key(self, r: &SiteStat) -> i128 {
        let m = &r.metrics;
        match self {
            SiteColumn::Metric(x) => m.get(x) as i128,
            SiteColumn::ReadPerByte => -(per_byte(m.read_bytes, m.total_bytes) as i128),
            SiteColumn::WrittenPerByte => -(per_byte(m.written_bytes, m.total_bytes) as i128),
            SiteColumn::AvgLifetime => match m.total_blocks {
                0 => i128::MIN,
                n => -(m.total_lifetime as i128 * 1000 / n as i128),
            },
            SiteColumn::Flags => (r.never_read as i128) * 2 + r.never_written as i128,
        }
    }

    fn cell(self, ui: &mut egui::Ui, r: &SiteStat, time_unit: &str) {
        let m = &r.metrics;
        let text = match self {
            SiteColumn::Metric(x) => return metric_cell(ui, x, m.get(x)),
            SiteColumn::ReadPerByte => ratio(m.read_bytes, m.total_bytes),
            SiteColumn::WrittenPerByte => ratio(m.written_bytes, m.total_bytes),
            SiteColumn::AvgLifetime => lifetime(m, time_unit),
            SiteColumn::Flags => access_text(r.never_read, r.never_written).to_string(),
        };
        number_cell(ui, text);
    }
}

/// Accesses per allocated byte, ×100 (for sorting).
fn per_byte(n: u64, bytes: u64) -> u64 {
    (n as u128 * 100 / bytes.max(1) as u128) as u64
}

/// Average block lifetime, with a decimal below 10 (short-lived blocks often live under one
/// unit on average, which a whole number shows as 0).
fn lifetime(m: &AllocMetrics, unit: &str) -> String {
    if m.total_blocks == 0 {
        return String::new();
    }
    let t = m.total_lifetime as f64 / m.total_blocks as f64;
    if t < 10.0 {
        format!("{t:.1} {unit}")
    } else {
        format!("{} {unit}", group_digits(t.round() as u64))
    }
}

fn ratio(n: u64, bytes: u64) -> String {
    format!("{:.2}", n as f64 / bytes.max(1) as f64)
}

/// One list: which rows, which columns, sorted how.
pub struct SiteList {
    id: &'static str,
    columns: Vec<SiteColumn>,
    sort: SiteColumn,
    /// Row indices in display order, by sort column (sorted on a thread for big lists).
    order: Deferred<SiteColumn, Vec<u32>>,
}

/// Indices of the `rows` that `keep` accepts, by `sort` (ties by site, for a stable order).
fn sorted(rows: &[SiteStat], keep: fn(&SiteStat) -> bool, sort: SiteColumn) -> Vec<u32> {
    let mut v: Vec<u32> = (0..rows.len() as u32)
        .filter(|&i| keep(&rows[i as usize]))
        .collect();
    v.sort_by(|&a, &b| {
        let (a, b) = (&rows[a as usize], &rows[b as usize]);
        sort.key(b)
            .cmp(&sort.key(a))
            .then_with(|| a.site.cmp(&b.site))
    });
    v
}

impl SiteList {
    /// A list over the rows `keep` accepts, with `columns`, sorted by `sort` first.
    pub fn new(id: &'static str, columns: Vec<SiteColumn>, sort: SiteColumn) -> Self {
        Self {
            id,
            columns,
            sort,
            order: Deferred::default(),
        }
    }

    /// The metric columns the producer of `p` records (with lifetimes when recorded).
    pub fn metric_columns(p: &AllocProfile) -> Vec<SiteColumn> {
        let mut c: Vec<SiteColumn> = Metric::ALL
            .into_iter()
            .filter(|&m| p.records(m))
            .map(SiteColumn::Metric)
            .collect();
        if p.has_lifetimes {
            c.push(SiteColumn::AvgLifetime);
        }
        c
    }

    /// Draw the sites of `snap` that `keep` accepts. Sorting a few hundred thousand sites takes
    /// longer than a frame, so big lists are sorted on a thread (a spinner meanwhile).
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: &Arc<Document>, keep: fn(&SiteStat) -> bool) {
        let (Some(p), Some(tables)) = (snap.profile(), snap.alloc_tables()) else {
            return;
        };
        let rows = &tables.sites;
        let (sort, task_snap) = (self.sort, Arc::clone(snap));
        let order = self
            .order
            .get(ui.ctx(), sort, rows.len() < BUILD_NOW_NODES, move || {
                task_snap
                    .alloc_tables()
                    .map_or_else(Vec::new, |t| sorted(&t.sites, keep, sort))
            });
        let Some(order) = order else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Sorting {} sites…", rows.len()));
            });
            return;
        };
        ui.label(format!(
            "{} sites; click a column to sort by it, hover a function for its stack",
            order.len()
        ));
        let mut clicked = None;
        ui.push_id(self.id, |ui| {
            TableBuilder::new(ui)
                .striped(true)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::remainder().at_least(220.0).clip(true))
                .columns(Column::auto().at_least(80.0), self.columns.len())
                .header(20.0, |mut h| {
                    h.col(|ui| {
                        ui.strong("Allocating function");
                    });
                    for &c in &self.columns {
                        h.col(|ui| {
                            // Over right-aligned values, right-aligned titles.
                            ui.with_layout(
                                egui::Layout::right_to_left(egui::Align::Center),
                                |ui| {
                                    if ui.selectable_label(sort == c, c.title()).clicked() {
                                        clicked = Some(c);
                                    }
                                },
                            );
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, order.len(), |mut row| {
                        let r = &rows[order[row.index()] as usize];
                        row.col(|ui| {
                            let text = r.leaf(p).map(|f| site_text(ui, p, f)).unwrap_or_default();
                            let label = ui.add(egui::Label::new(text).truncate());
                            if label.hovered() {
                                label.on_hover_text(super::stack_text(p, r.stack(p)));
                            }
                        });
                        for &c in &self.columns {
                            row.col(|ui| c.cell(ui, r, &p.time_unit));
                        }
                    });
                });
        });
        if let Some(c) = clicked {
            self.sort = c;
        }
    }
}

/// The allocating function, then its `file:line` dimmed.
fn site_text(ui: &egui::Ui, p: &AllocProfile, f: u32) -> egui::text::LayoutJob {
    let mut job = egui::text::LayoutJob::default();
    let mut add = |text: egui::RichText| {
        let font = egui::FontSelection::Default;
        text.append_to(&mut job, ui.style(), font, egui::Align::Center);
    };
    add(egui::RichText::new(p.function(f)));
    let location = p.location(f);
    if !location.is_empty() {
        add(egui::RichText::new(format!(" {location}")).weak());
    }
    job
}

/// Does `m` hold anything at exit?
pub fn leaked(m: &AllocMetrics) -> bool {
    m.end_bytes > 0 || m.end_blocks > 0
}
