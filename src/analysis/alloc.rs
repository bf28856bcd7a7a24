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
    /// A V8 sampling heap profile's `samples` list, apart from the totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_list: Option<crate::model::alloc::SampleList>,
}

/// `function (file:line)`, or the function alone when the location is unknown.
pub fn frame_text(p: &AllocProfile, f: u32) -> String {
    let loc = p.location(f);
    if loc.is_empty() {
        p.function(f).to_string()
    } else {
        format!("{} ({loc})", p.function(f))
    }
}

/// An allocation site after folding, compactly: which site of the profile has its stack, and
/// the metrics of every site with that folded stack. [`SiteRow::of`] spells it out.
#[derive(Debug, Clone)]
pub struct SiteStat {
    /// A site of the profile whose folded stack this is.
    pub site: u32,
    /// Metrics of all sites with this folded stack.
    pub metrics: AllocMetrics,
    /// See [`SiteRow::never_read`].
    pub never_read: bool,
    /// See [`SiteRow::never_written`].
    pub never_written: bool,
    /// See [`SiteRow::short_lived`].
    pub short_lived: bool,
}

impl SiteStat {
    /// The folded stack, outermost first.
    pub fn stack<'a>(&self, p: &'a AllocProfile) -> &'a [u32] {
        p.user_stack(&p.sites[self.site as usize])
    }

    /// The allocating frame (the innermost after folding), if the stack has any.
    pub fn leaf(&self, p: &AllocProfile) -> Option<u32> {
        self.stack(p).last().copied()
    }
}

impl SiteRow {
    /// The site spelled out.
    pub fn of(p: &AllocProfile, s: &SiteStat) -> Self {
        let stack = s.stack(p);
        let leaf = stack.last().copied();
        SiteRow {
            function: leaf.map(|f| p.function(f).to_string()).unwrap_or_default(),
            location: leaf.map(|f| p.location(f).to_string()).unwrap_or_default(),
            stack: stack.iter().map(|&f| frame_text(p, f)).collect(),
            metrics: s.metrics,
            never_read: s.never_read,
            never_written: s.never_written,
            short_lived: s.short_lived,
        }
    }
}

/// Sites merged by their folded stack, compactly (no strings), in first-seen order.
pub fn site_stats(p: &AllocProfile) -> Vec<SiteStat> {
    let mut index: FxHashMap<&[u32], u32> = FxHashMap::default();
    let mut out: Vec<SiteStat> = Vec::new();
    for (i, s) in p.sites.iter().enumerate() {
        let at = *index.entry(p.user_stack(s)).or_insert_with(|| {
            out.push(SiteStat {
                site: i as u32,
                metrics: AllocMetrics::default(),
                never_read: false,
                never_written: false,
                short_lived: false,
            });
            (out.len() - 1) as u32
        });
        out[at as usize].metrics.add(&s.metrics);
    }
    for s in &mut out {
        let m = &s.metrics;
        s.never_read = p.has_access_counts && m.total_bytes > 0 && m.read_bytes == 0;
        s.never_written = p.has_access_counts && m.total_bytes > 0 && m.written_bytes == 0;
        s.short_lived = is_short_lived(p, m);
    }
    out
}

/// Sites merged by their folded stack, spelled out.
pub fn sites(p: &AllocProfile) -> Vec<SiteRow> {
    site_stats(p).iter().map(|s| SiteRow::of(p, s)).collect()
}

/// The access flags in words: `never read`, `never written`, `never read or written`, or empty.
pub fn access_text(never_read: bool, never_written: bool) -> &'static str {
    match (never_read, never_written) {
        (true, true) => "never read or written",
        (true, false) => "never read",
        (false, true) => "never written",
        (false, false) => "",
    }
}

/// DHAT's rule: blocks whose average lifetime is at most the threshold the producer wrote.
pub fn is_short_lived(p: &AllocProfile, m: &AllocMetrics) -> bool {
    match (p.short_lived_threshold, m.average_lifetime()) {
        (Some(limit), Some(avg)) => p.has_lifetimes && avg <= limit,
        _ => false,
    }
}

/// The `top` stats with the largest nonzero `key`, spelled out; ties by stack text.
fn top_by(
    p: &AllocProfile,
    stats: &[SiteStat],
    top: usize,
    key: impl Fn(&SiteStat) -> u64,
) -> Vec<SiteRow> {
    let mut v: Vec<&SiteStat> = stats.iter().filter(|s| key(s) > 0).collect();
    v.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| stack_order(p, a, b)));
    v.into_iter().take(top).map(|s| SiteRow::of(p, s)).collect()
}

/// Stacks compared by their functions' text, outermost first, for stable tie-breaking.
fn stack_order(p: &AllocProfile, a: &SiteStat, b: &SiteStat) -> std::cmp::Ordering {
    let text = |s: &SiteStat| s.stack(p).iter().map(|&f| (p.function(f), p.location(f)));
    text(a).cmp(text(b))
}

impl AllocSummary {
    /// Where the profile comes from: `dhat profile by dhat-rs (heap) of ./app`.
    pub fn origin(&self) -> String {
        let mut s = format!("{} profile by {}", self.format, self.producer);
        if !self.command.is_empty() {
            s.push_str(&format!(" of {}", self.command));
        }
        s
    }

    /// Summarise `p`, keeping `top` sites per list.
    pub fn build(p: &AllocProfile, top: usize) -> Self {
        let rows = site_stats(p);
        Self {
            format: p.format.clone(),
            producer: p.producer.clone(),
            command: p.command.clone(),
            totals: p.totals,
            site_count: rows.len(),
            top_by_peak: top_by(p, &rows, top, |r| r.metrics.peak_bytes),
            top_by_leaked: top_by(p, &rows, top, |r| r.metrics.end_bytes),
            top_by_temporary: top_by(p, &rows, top, |r| r.metrics.temporary_blocks),
            time_unit: p.time_unit.clone(),
            short_lived_threshold: p.short_lived_threshold,
            top_by_short_lived: top_by(p, &rows, top, |r| {
                if r.short_lived {
                    r.metrics.total_blocks
                } else {
                    0
                }
            }),
            top_never_read_or_written: top_by(p, &rows, top, |r| {
                if r.never_read || r.never_written {
                    r.metrics.total_bytes
                } else {
                    0
                }
            }),
            sample_list: p.sample_list,
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

/// A site of a profile diff: the stack's index in each profile's [`site_stats`], when there.
#[derive(Debug, Clone)]
pub struct SiteDiff {
    /// The stack in the first profile's site stats.
    pub before_site: Option<u32>,
    /// The stack in the second profile's site stats.
    pub after_site: Option<u32>,
    /// What changed.
    pub change: SiteChange,
    /// Metrics in the first profile (zero when new).
    pub before: AllocMetrics,
    /// Metrics in the second (zero when gone).
    pub after: AllocMetrics,
}

/// Two profiles compared site by site.
#[derive(Debug, Clone, Default)]
pub struct ProfileDiff {
    /// The first profile's sites.
    pub before_sites: Vec<SiteStat>,
    /// The second profile's sites.
    pub after_sites: Vec<SiteStat>,
    /// One entry per folded stack in either, largest change in bytes at peak first, then in
    /// bytes allocated.
    pub sites: Vec<SiteDiff>,
}

/// A site diff spelled out, for JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SiteDiffRow {
    /// Stack, outermost first, `function (file:line)`.
    pub stack: Vec<String>,
    /// What changed.
    pub change: SiteChange,
    /// Metrics in the first profile (zero when new).
    pub before: AllocMetrics,
    /// Metrics in the second (zero when gone).
    pub after: AllocMetrics,
}

impl ProfileDiff {
    /// The folded stack of `d`, outermost first, from whichever profile has it.
    pub fn stack<'a>(
        &self,
        a: &'a AllocProfile,
        b: &'a AllocProfile,
        d: &SiteDiff,
    ) -> (&'a AllocProfile, &'a [u32]) {
        match (d.after_site, d.before_site) {
            (Some(i), _) => (b, self.after_sites[i as usize].stack(b)),
            (None, Some(i)) => (a, self.before_sites[i as usize].stack(a)),
            (None, None) => (b, &[]),
        }
    }

    /// `d` spelled out.
    pub fn row(&self, a: &AllocProfile, b: &AllocProfile, d: &SiteDiff) -> SiteDiffRow {
        let (p, stack) = self.stack(a, b, d);
        SiteDiffRow {
            stack: stack.iter().map(|&f| frame_text(p, f)).collect(),
            change: d.change,
            before: d.before,
            after: d.after,
        }
    }
}

/// Each frame of `p` numbered by its text in `ids` (shared between profiles).
fn number_frames<'a>(
    p: &'a AllocProfile,
    ids: &mut FxHashMap<(&'a str, &'a str), u32>,
) -> Vec<u32> {
    (0..p.frames.len() as u32)
        .map(|f| {
            let n = ids.len() as u32;
            *ids.entry((p.function(f), p.location(f))).or_insert(n)
        })
        .collect()
}

/// Compare two allocation profiles site by site (by the folded stacks' function names and
/// locations, so two builds of one program match), largest change in bytes at peak first,
/// then in bytes allocated.
pub fn diff_profiles(a: &AllocProfile, b: &AllocProfile) -> ProfileDiff {
    // Frames of both profiles numbered by their text, so stacks compare as integers.
    let mut ids: FxHashMap<(&str, &str), u32> = FxHashMap::default();
    let (ida, idb) = (number_frames(a, &mut ids), number_frames(b, &mut ids));
    let (sa, sb) = (site_stats(a), site_stats(b));
    let key = |p: &AllocProfile, id: &[u32], s: &SiteStat| -> Vec<u32> {
        s.stack(p).iter().map(|&f| id[f as usize]).collect()
    };
    let mut map: FxHashMap<Vec<u32>, (Option<u32>, Option<u32>)> = FxHashMap::default();
    for (i, s) in sa.iter().enumerate() {
        map.entry(key(a, &ida, s)).or_default().0 = Some(i as u32);
    }
    for (i, s) in sb.iter().enumerate() {
        map.entry(key(b, &idb, s)).or_default().1 = Some(i as u32);
    }
    let zero = AllocMetrics::default();
    let mut out: Vec<SiteDiff> = map
        .into_values()
        .map(|(before_site, after_site)| {
            let before = before_site.map_or(zero, |i| sa[i as usize].metrics);
            let after = after_site.map_or(zero, |i| sb[i as usize].metrics);
            let change = if before_site.is_none() {
                SiteChange::New
            } else if after_site.is_none() {
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
                before_site,
                after_site,
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
    out.sort_by(|x, y| {
        delta(y)
            .cmp(&delta(x))
            .then(x.after_site.cmp(&y.after_site))
            .then(x.before_site.cmp(&y.before_site))
    });
    ProfileDiff {
        before_sites: sa,
        after_sites: sb,
        sites: out,
    }
}
