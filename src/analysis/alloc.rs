//! Summaries and diffs of allocation profiles (DHAT, heaptrack, pprof), by call stack.

use serde::Serialize;

use crate::model::alloc::{AllocMetrics, AllocProfile, DEFAULT_FOLDED_PREFIXES};
use crate::model::FxHashMap;

/// One allocation site, its stack folded to the user's code.
#[derive(Debug, Clone, Serialize)]
pub struct SiteRow {
    /// The allocating function (the innermost frame left after folding).
    pub function: String,
    /// Its `file:line`.
    pub location: String,
    /// The whole stack, outermost first, as `function (file:line)`.
    pub stack: Vec<String>,
    /// What was allocated there.
    pub metrics: AllocMetrics,
}

/// What `heapsight summary` shows for an allocation profile.
#[derive(Debug, Clone, Serialize)]
pub struct AllocSummary {
    /// `dhat`, `heaptrack` or `pprof`.
    pub format: String,
    /// What made the file.
    pub producer: String,
    /// The profiled command.
    pub command: String,
    /// Program totals: total, at peak (t-gmax), at exit (t-end), temporary.
    pub totals: AllocMetrics,
    /// Number of distinct (folded) allocation sites.
    pub site_count: usize,
    /// Sites with the most bytes live at the peak.
    pub top_by_peak: Vec<SiteRow>,
    /// Sites with the most bytes leaked (live at exit).
    pub top_by_leaked: Vec<SiteRow>,
    /// Sites with the most temporary allocations (pool candidates).
    pub top_by_temporary: Vec<SiteRow>,
}

fn frame_text(p: &AllocProfile, f: u32) -> String {
    let loc = p.location(f);
    if loc.is_empty() {
        p.function(f).to_string()
    } else {
        format!("{} ({loc})", p.function(f))
    }
}

/// Sites merged by their folded stack.
pub fn sites(p: &AllocProfile) -> Vec<SiteRow> {
    let mut by_stack: FxHashMap<&[u32], AllocMetrics> = FxHashMap::default();
    for s in &p.sites {
        by_stack
            .entry(p.user_stack(s, &DEFAULT_FOLDED_PREFIXES))
            .or_default()
            .add(&s.metrics);
    }
    by_stack
        .into_iter()
        .map(|(stack, metrics)| {
            let leaf = stack.last().copied();
            SiteRow {
                function: leaf.map(|f| p.function(f).to_string()).unwrap_or_default(),
                location: leaf.map(|f| p.location(f).to_string()).unwrap_or_default(),
                stack: stack.iter().map(|&f| frame_text(p, f)).collect(),
                metrics,
            }
        })
        .collect()
}

fn top_by(rows: &[SiteRow], top: usize, key: impl Fn(&AllocMetrics) -> u64) -> Vec<SiteRow> {
    let mut v: Vec<&SiteRow> = rows.iter().filter(|r| key(&r.metrics) > 0).collect();
    v.sort_by(|a, b| {
        key(&b.metrics)
            .cmp(&key(&a.metrics))
            .then(a.stack.cmp(&b.stack))
    });
    v.into_iter().take(top).cloned().collect()
}

impl AllocSummary {
    /// Summarise `p`, keeping `top` sites per list.
    pub fn build(p: &AllocProfile, top: usize) -> Self {
        let rows = sites(p);
        Self {
            format: p.format.clone(),
            producer: p.producer.clone(),
            command: p.command.clone(),
            totals: p.totals,
            site_count: rows.len(),
            top_by_peak: top_by(&rows, top, |m| m.peak_bytes),
            top_by_leaked: top_by(&rows, top, |m| m.end_bytes),
            top_by_temporary: top_by(&rows, top, |m| m.temporary_blocks),
        }
    }
}

/// How a site changed between two profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteChange {
    /// Only in the second profile.
    New,
    /// More bytes at peak (or allocated) in the second.
    Grown,
    /// Fewer.
    Shrunk,
    /// The same.
    Same,
    /// Only in the first profile.
    Gone,
}

/// A site of a profile diff.
#[derive(Debug, Clone, Serialize)]
pub struct SiteDiff {
    /// Stack, outermost first.
    pub stack: Vec<String>,
    /// What changed.
    pub change: SiteChange,
    /// Metrics in the first profile (zero when new).
    pub before: AllocMetrics,
    /// Metrics in the second (zero when gone).
    pub after: AllocMetrics,
}

/// Compare two allocation profiles site by site (by folded stack text, so two builds of one
/// program match), largest change in bytes at peak first, then in bytes allocated.
pub fn diff_profiles(a: &AllocProfile, b: &AllocProfile) -> Vec<SiteDiff> {
    let mut map: FxHashMap<Vec<String>, (AllocMetrics, AllocMetrics)> = FxHashMap::default();
    for r in sites(a) {
        map.entry(r.stack).or_default().0.add(&r.metrics);
    }
    for r in sites(b) {
        map.entry(r.stack).or_default().1.add(&r.metrics);
    }
    let zero = AllocMetrics::default();
    let mut out: Vec<SiteDiff> = map
        .into_iter()
        .map(|(stack, (before, after))| {
            let change = if before == zero {
                SiteChange::New
            } else if after == zero {
                SiteChange::Gone
            } else {
                let key = |m: &AllocMetrics| (m.peak_bytes, m.total_bytes);
                match key(&after).cmp(&key(&before)) {
                    std::cmp::Ordering::Greater => SiteChange::Grown,
                    std::cmp::Ordering::Less => SiteChange::Shrunk,
                    std::cmp::Ordering::Equal => SiteChange::Same,
                }
            };
            SiteDiff {
                stack,
                change,
                before,
                after,
            }
        })
        .collect();
    let delta = |d: &SiteDiff| {
        (
            (d.after.peak_bytes as i128 - d.before.peak_bytes as i128).abs(),
            (d.after.total_bytes as i128 - d.before.total_bytes as i128).abs(),
        )
    };
    out.sort_by(|x, y| delta(y).cmp(&delta(x)).then(x.stack.cmp(&y.stack)));
    out
}
