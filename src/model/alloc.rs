//! Allocation profiles (DHAT, heaptrack, pprof): allocation sites with their call stacks and
//! metrics. [`AllocProfile::call_tree`] turns one onto the common [`HeapGraph`] — a call tree
//! whose nodes are frames, with each site's bytes as the allocating frame's self size — so the
//! summary, dominator (= top-down call tree), retainer (= bottom-up stack) and diff views work
//! on these files too.

use serde::Serialize;

use super::graph::{GraphBuilder, HeapGraph, NodeIx};
use super::strings::{StrId, StringTable};
use super::FxHashMap;

/// What an allocation site (or the whole program) did, as far as the producer recorded it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AllocMetrics {
    /// Bytes allocated over the whole run.
    pub total_bytes: u64,
    /// Allocations (blocks) over the whole run.
    pub total_blocks: u64,
    /// Bytes live at the global peak (DHAT's t-gmax; heaptrack's peak).
    pub peak_bytes: u64,
    /// Blocks live at the global peak.
    pub peak_blocks: u64,
    /// Bytes still live at exit (DHAT's t-end): leaked.
    pub end_bytes: u64,
    /// Blocks still live at exit.
    pub end_blocks: u64,
    /// Temporary allocations: freed right after being allocated, with no other allocation in
    /// between (heaptrack's definition).
    pub temporary_blocks: u64,
    /// Bytes read from the blocks (DHAT only).
    pub read_bytes: u64,
    /// Bytes written to the blocks (DHAT only).
    pub written_bytes: u64,
    /// Sum of the blocks' lifetimes, in the profile's time unit (DHAT only).
    pub total_lifetime: u64,
}

impl AllocMetrics {
    /// Add `o` into `self`.
    pub fn add(&mut self, o: &AllocMetrics) {
        self.total_bytes += o.total_bytes;
        self.total_blocks += o.total_blocks;
        self.peak_bytes += o.peak_bytes;
        self.peak_blocks += o.peak_blocks;
        self.end_bytes += o.end_bytes;
        self.end_blocks += o.end_blocks;
        self.temporary_blocks += o.temporary_blocks;
        self.read_bytes += o.read_bytes;
        self.written_bytes += o.written_bytes;
        self.total_lifetime += o.total_lifetime;
    }

    /// The value of `m`.
    pub fn get(&self, m: Metric) -> u64 {
        match m {
            Metric::PeakBytes => self.peak_bytes,
            Metric::EndBytes => self.end_bytes,
            Metric::TotalBytes => self.total_bytes,
            Metric::TotalBlocks => self.total_blocks,
            Metric::TemporaryBlocks => self.temporary_blocks,
        }
    }
}

/// The metric that sizes the call tree's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Bytes live at the peak.
    #[default]
    PeakBytes,
    /// Bytes leaked (live at exit).
    EndBytes,
    /// Bytes allocated in all.
    TotalBytes,
    /// Allocations in all.
    TotalBlocks,
    /// Temporary allocations.
    TemporaryBlocks,
}

impl Metric {
    /// All metrics.
    pub const ALL: [Metric; 5] = [
        Metric::PeakBytes,
        Metric::EndBytes,
        Metric::TotalBytes,
        Metric::TotalBlocks,
        Metric::TemporaryBlocks,
    ];

    /// Human name.
    pub fn label(self) -> &'static str {
        match self {
            Metric::PeakBytes => "bytes at peak",
            Metric::EndBytes => "bytes leaked (at exit)",
            Metric::TotalBytes => "bytes allocated",
            Metric::TotalBlocks => "allocations",
            Metric::TemporaryBlocks => "temporary allocations",
        }
    }
}

/// One stack frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Function name (demangled).
    pub function: StrId,
    /// `file:line`, or empty when unknown.
    pub location: StrId,
}

/// An allocation site: a call stack and what was allocated there.
#[derive(Debug, Clone)]
pub struct AllocSite {
    /// Frame indices, outermost (e.g. `main`) first, the allocating function last.
    pub frames: Vec<u32>,
    /// Metrics of the allocations made with exactly this stack.
    pub metrics: AllocMetrics,
}

/// A point of the memory-over-time curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimePoint {
    /// Time in the profile's unit.
    pub time: u64,
    /// Bytes live then.
    pub bytes: u64,
}

/// A loaded allocation profile.
#[derive(Debug, Clone, Default)]
pub struct AllocProfile {
    /// `dhat`, `heaptrack` or `pprof`.
    pub format: String,
    /// What made it (e.g. `dhat-rs 0.3`, `valgrind DHAT`, `heaptrack 1.4`).
    pub producer: String,
    /// The profiled command line, when recorded.
    pub command: String,
    /// Time unit of times (`instrs`, `µs`, `ms`).
    pub time_unit: String,
    /// Time of the global peak, when recorded.
    pub peak_time: Option<u64>,
    /// Time at exit, when recorded.
    pub end_time: Option<u64>,
    /// Function names and locations.
    pub strings: StringTable,
    /// Frames.
    pub frames: Vec<Frame>,
    /// Allocation sites.
    pub sites: Vec<AllocSite>,
    /// Program totals (as the producer reports them).
    pub totals: AllocMetrics,
    /// Memory over time (empty when the producer doesn't record it).
    pub timeline: Vec<TimePoint>,
    /// True when read/written byte counts are meaningful (DHAT's heap mode).
    pub has_access_counts: bool,
}

/// Frames that are allocator or standard-library plumbing, folded away by default so stacks
/// end at the user's function that allocated.
pub const DEFAULT_FOLDED_PREFIXES: [&str; 14] = [
    "alloc::",
    "core::",
    "std::",
    "hashbrown::",
    "__rust",
    "__rg_",
    "__libc_",
    "dhat::",
    "malloc",
    "calloc",
    "realloc",
    "posix_memalign",
    "operator new",
    "_Znwm",
];

/// Does `function` belong to a folded crate or allocator? A trait impl counts by its type
/// (`<alloc::vec::Vec<T> as …>::f`), or by its trait when the type is a bare generic
/// parameter (`<T as alloc::…>::f`); `<my::Thing as core::fmt::Debug>::fmt` is the user's.
pub fn is_folded(function: &str, fold: &[&str]) -> bool {
    let f = function.trim_start_matches('<');
    let folded = |s: &str| fold.iter().any(|p| s.starts_with(p));
    match f.split_once(" as ") {
        Some((ty, tr)) if !ty.contains("::") => folded(ty) || folded(tr),
        _ => folded(f),
    }
}

impl AllocProfile {
    /// Intern a frame.
    pub fn frame(
        &mut self,
        function: &str,
        location: &str,
        index: &mut FxHashMap<(StrId, StrId), u32>,
    ) -> u32 {
        let f = self.strings.intern(function).unwrap_or(0);
        let l = self.strings.intern(location).unwrap_or(0);
        *index.entry((f, l)).or_insert_with(|| {
            self.frames.push(Frame {
                function: f,
                location: l,
            });
            (self.frames.len() - 1) as u32
        })
    }

    /// Function name of frame `f`.
    pub fn function(&self, f: u32) -> &str {
        self.strings.get(self.frames[f as usize].function)
    }

    /// Location of frame `f`.
    pub fn location(&self, f: u32) -> &str {
        self.strings.get(self.frames[f as usize].location)
    }

    /// Is frame `f` plumbing: a folded function, or code from Rust's standard library sources
    /// (valgrind names inlined std frames `UnknownInlinedFun` or by short generic names)?
    pub fn is_folded_frame(&self, f: u32, fold: &[&str]) -> bool {
        let (func, loc) = (self.function(f), self.location(f));
        is_folded(func, fold)
            || func == "UnknownInlinedFun"
            || loc.starts_with("library/")
            || loc.contains("/rustc/")
    }

    /// The site's stack without folded frames at its allocating end (but never empty).
    pub fn user_stack<'a>(&self, site: &'a AllocSite, fold: &[&str]) -> &'a [u32] {
        let mut end = site.frames.len();
        while end > 1 && self.is_folded_frame(site.frames[end - 1], fold) {
            end -= 1;
        }
        &site.frames[..end]
    }

    /// Sum of all sites' metrics.
    pub fn site_totals(&self) -> AllocMetrics {
        let mut t = AllocMetrics::default();
        for s in &self.sites {
            t.add(&s.metrics);
        }
        t
    }

    /// The call tree sized by `metric`: a synthetic root, one node per distinct stack prefix
    /// (named after its function, `file:line` in the name after a space), each site's value on
    /// its allocating frame. Frames matching `fold` at the allocating end are folded away.
    pub fn call_tree(&self, metric: Metric, fold: &[&str]) -> HeapGraph {
        let mut b = GraphBuilder::new();
        let root = b.node("synthetic", "(all allocations)", 1, 0);
        // (parent node, frame) → child node; sizes accumulate per node.
        let mut children: FxHashMap<(NodeIx, u32), NodeIx> = FxHashMap::default();
        let mut sizes: Vec<u64> = vec![0];
        let mut nodes: Vec<(NodeIx, u32)> = Vec::new();
        for site in &self.sites {
            let mut at = root;
            for &f in self.user_stack(site, fold) {
                at = *children.entry((at, f)).or_insert_with(|| {
                    nodes.push((at, f));
                    sizes.push(0);
                    nodes.len() as NodeIx
                });
            }
            sizes[at as usize] += site.metrics.get(metric);
        }
        for (i, &(_, f)) in nodes.iter().enumerate() {
            let loc = self.location(f);
            let name = if loc.is_empty() {
                self.function(f).to_string()
            } else {
                format!("{} {loc}", self.function(f))
            };
            // Odd ids like V8's, stable for one profile and metric.
            b.node("object", &name, 3 + 2 * i as u32, sizes[i + 1]);
        }
        for (i, &(parent, f)) in nodes.iter().enumerate() {
            b.edge(parent, "property", self.function(f), i as NodeIx + 1);
        }
        b.finish()
    }
}

/// Demangle a Rust (legacy or v0) symbol; other names come back unchanged.
pub fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let f = &DEFAULT_FOLDED_PREFIXES;
        assert!(is_folded("alloc::vec::from_elem", f));
        assert!(is_folded(
            "<T as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            f
        ));
        assert!(is_folded(
            "<alloc::string::String as core::clone::Clone>::clone",
            f
        ));
        assert!(is_folded("malloc", f));
        assert!(!is_folded("alloc_workload::load_tensors", f));
        assert!(!is_folded("<my::Thing as core::fmt::Debug>::fmt", f));
    }
}
