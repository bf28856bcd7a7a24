//! Summaries and diffs of allocation profiles (DHAT, heaptrack, pprof), by call stack.

use serde::Serialize;

use crate::model::alloc::{AllocMetrics, AllocProfile};
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
    /// Blocks were allocated but never read (DHAT under valgrind only; else false).
    pub never_read: bool,
    /// Blocks were allocated but never written (DHAT under valgrind only; else false).
    pub never_written: bool,
    /// The blocks' average lifetime is at or below the producer's short-lived threshold
    /// (DHAT's `tuth`; false when lifetimes aren't recorded).
    pub short_lived: bool,
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
    /// Time unit of lifetimes (`instrs`, `µs`, …).
    pub time_unit: String,
    /// Average lifetime at or below which blocks are short-lived (DHAT only).
    pub short_lived_threshold: Option<u64>,
    /// Short-lived sites with the most blocks (DHAT only).
    pub top_by_short_lived: Vec<SiteRow>,
    /// Sites whose blocks were never read or never written, most bytes first (DHAT under
    /// valgrind only).
    pub top_never_read_or_written: Vec<SiteRow>,
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
        by_stack.entry(p.user_stack(s)).or_default().add(&s.metrics);
    }
    by_stack
        .into_iter()
        .map(|(stack, metrics)| {
            let leaf = stack.last().copied();
            SiteRow {
                function: leaf.map(|f| p.function(f).to_string()).unwrap_or_default(),
                location: leaf.map(|f| p.location(f).to_string()).unwrap_or_default(),
                stack: stack.iter().map(|&f| frame_text(p, f)).collect(),
                never_read: p.has_access_counts
                    && metrics.total_bytes > 0
                    && metrics.read_bytes == 0,
                never_written: p.has_access_counts
                    && metrics.total_bytes > 0
                    && metrics.written_bytes == 0,
                short_lived: is_short_lived(p, &metrics),
                metrics,
            }
        })
        .collect()
}

/// DHAT's rule: blocks whose average lifetime is at most the threshold the producer wrote.
pub fn is_short_lived(p: &AllocProfile, m: &AllocMetrics) -> bool {
    match (p.short_lived_threshold, m.average_lifetime()) {
        (Some(limit), Some(avg)) => p.has_lifetimes && avg <= limit,
        _ => false,
    }
}

fn top_by(rows: &[SiteRow], top: usize, key: impl Fn(&SiteRow) -> u64) -> Vec<SiteRow> {
    let mut v: Vec<&SiteRow> = rows.iter().filter(|r| key(r) > 0).collect();
    v.sort_by(|a, b| key(b).cmp(&key(a)).then(a.stack.cmp(&b.stack)));
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
            top_by_peak: top_by(&rows, top, |r| r.metrics.peak_bytes),
            top_by_leaked: top_by(&rows, top, |r| r.metrics.end_bytes),
            top_by_temporary: top_by(&rows, top, |r| r.metrics.temporary_blocks),
            time_unit: p.time_unit.clone(),
            short_lived_threshold: p.short_lived_threshold,
            top_by_short_lived: top_by(&rows, top, |r| {
                if r.short_lived {
                    r.metrics.total_blocks
                } else {
                    0
                }
            }),
            top_never_read_or_written: top_by(&rows, top, |r| {
                if r.never_read || r.never_written {
                    r.metrics.total_bytes
                } else {
                    0
                }
            }),
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
