//! Allocation profiles (DHAT, heaptrack, pprof): allocation sites with their call stacks and
//! metrics. [`AllocProfile::call_tree`] turns one onto the common [`HeapGraph`] — a call tree
//! whose nodes are frames, with each site's bytes as the allocating frame's self size — so the
//! summary, dominator (= top-down call tree), retainer (= bottom-up stack) and diff views work
//! on these files too.

use serde::Serialize;

use super::builder::GraphBuilder;
pub use super::folding::{is_folded, Folding, DEFAULT_FOLDED_PREFIXES};
use super::graph::{HeapGraph, NodeIx};
use super::kinds::{EdgeKind, NodeKind};
use super::strings::{StrId, StringTable};
use super::{FxHashMap, Snapshot, SnapshotInfo};

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
    /// Add `o` into `self` (saturating: hostile files can't make sums wrap or panic; loaders
    /// reject totals beyond 2^64 with [`AllocMetrics::checked_add`]).
    pub fn add(&mut self, o: &AllocMetrics) {
        *self = self.combine(o, u64::saturating_add);
    }

    /// `self + o`, or `None` when a field would pass 2^64.
    pub fn checked_add(&self, o: &AllocMetrics) -> Option<AllocMetrics> {
        let mut overflow = false;
        let sum = self.combine(o, |a, b| {
            a.checked_add(b).unwrap_or_else(|| {
                overflow = true;
                0
            })
        });
        (!overflow).then_some(sum)
    }

    /// Field by field `f(self, o)`.
    fn combine(&self, o: &AllocMetrics, mut f: impl FnMut(u64, u64) -> u64) -> AllocMetrics {
        AllocMetrics {
            total_bytes: f(self.total_bytes, o.total_bytes),
            total_blocks: f(self.total_blocks, o.total_blocks),
            peak_bytes: f(self.peak_bytes, o.peak_bytes),
            peak_blocks: f(self.peak_blocks, o.peak_blocks),
            end_bytes: f(self.end_bytes, o.end_bytes),
            end_blocks: f(self.end_blocks, o.end_blocks),
            temporary_blocks: f(self.temporary_blocks, o.temporary_blocks),
            read_bytes: f(self.read_bytes, o.read_bytes),
            written_bytes: f(self.written_bytes, o.written_bytes),
            total_lifetime: f(self.total_lifetime, o.total_lifetime),
        }
    }

    /// The value of `m`.
    pub fn get(&self, m: Metric) -> u64 {
        // Through a copy, so reading and writing share one mapping (the copy compiles away).
        let mut copy = *self;
        *copy.field(m)
    }

    /// Set `m` to `v`.
    pub fn set(&mut self, m: Metric, v: u64) {
        *self.field(m) = v;
    }

    /// The field holding `m`: the one place metrics map onto fields.
    fn field(&mut self, m: Metric) -> &mut u64 {
        match m {
            Metric::PeakBytes => &mut self.peak_bytes,
            Metric::PeakBlocks => &mut self.peak_blocks,
            Metric::EndBytes => &mut self.end_bytes,
            Metric::EndBlocks => &mut self.end_blocks,
            Metric::TotalBytes => &mut self.total_bytes,
            Metric::TotalBlocks => &mut self.total_blocks,
            Metric::TemporaryBlocks => &mut self.temporary_blocks,
            Metric::ReadBytes => &mut self.read_bytes,
            Metric::WrittenBytes => &mut self.written_bytes,
        }
    }

    /// Average lifetime of a block, in the profile's time unit (`None` with no blocks).
    pub fn average_lifetime(&self) -> Option<u64> {
        self.total_lifetime.checked_div(self.total_blocks)
    }

    /// `self - o`, field by field, never below zero.
    pub fn saturating_sub(&self, o: &AllocMetrics) -> AllocMetrics {
        self.combine(o, u64::saturating_sub)
    }
}

/// One measure of an allocation site: what call trees, flame graphs and tables can be sized
/// and sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Bytes live at the peak.
    #[default]
    PeakBytes,
    /// Blocks live at the peak.
    PeakBlocks,
    /// Bytes leaked (live at exit).
    EndBytes,
    /// Blocks leaked (live at exit).
    EndBlocks,
    /// Bytes allocated in all.
    TotalBytes,
    /// Allocations in all.
    TotalBlocks,
    /// Temporary allocations.
    TemporaryBlocks,
    /// Bytes read from the blocks (DHAT under valgrind).
    ReadBytes,
    /// Bytes written to the blocks (DHAT under valgrind).
    WrittenBytes,
}

impl Metric {
    /// All metrics, in the order tables show them.
    pub const ALL: [Metric; 9] = [
        Metric::PeakBytes,
        Metric::PeakBlocks,
        Metric::EndBytes,
        Metric::EndBlocks,
        Metric::TotalBytes,
        Metric::TotalBlocks,
        Metric::TemporaryBlocks,
        Metric::ReadBytes,
        Metric::WrittenBytes,
    ];

    /// Human name.
    pub fn label(self) -> &'static str {
        match self {
            Metric::PeakBytes => "bytes at peak",
            Metric::PeakBlocks => "blocks at peak",
            Metric::EndBytes => "bytes leaked (at exit)",
            Metric::EndBlocks => "blocks leaked (at exit)",
            Metric::TotalBytes => "bytes allocated",
            Metric::TotalBlocks => "allocations",
            Metric::TemporaryBlocks => "temporary allocations",
            Metric::ReadBytes => "bytes read",
            Metric::WrittenBytes => "bytes written",
        }
    }

    /// Short name for a column header.
    pub fn column(self) -> &'static str {
        match self {
            Metric::PeakBytes => "At peak",
            Metric::PeakBlocks => "Blocks at peak",
            Metric::EndBytes => "Leaked",
            Metric::EndBlocks => "Blocks leaked",
            Metric::TotalBytes => "Allocated",
            Metric::TotalBlocks => "Allocations",
            Metric::TemporaryBlocks => "Temporary",
            Metric::ReadBytes => "Read",
            Metric::WrittenBytes => "Written",
        }
    }

    /// The name on the command line and in JSON (`peak_bytes`, …).
    pub fn key(self) -> &'static str {
        match self {
            Metric::PeakBytes => "peak_bytes",
            Metric::PeakBlocks => "peak_blocks",
            Metric::EndBytes => "end_bytes",
            Metric::EndBlocks => "end_blocks",
            Metric::TotalBytes => "total_bytes",
            Metric::TotalBlocks => "total_blocks",
            Metric::TemporaryBlocks => "temporary_blocks",
            Metric::ReadBytes => "read_bytes",
            Metric::WrittenBytes => "written_bytes",
        }
    }

    /// Is it a number of bytes (else a count of blocks)?
    pub fn is_bytes(self) -> bool {
        matches!(
            self,
            Metric::PeakBytes
                | Metric::EndBytes
                | Metric::TotalBytes
                | Metric::ReadBytes
                | Metric::WrittenBytes
        )
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

/// An allocation site: a call stack and what was allocated there. The stack lives in the
/// profile's shared frame list ([`AllocProfile::stack`]), not in a vector per site.
#[derive(Debug, Clone)]
pub struct AllocSite {
    /// Where the stack starts in the profile's frame list.
    start: u64,
    /// Frames in the stack.
    len: u32,
    /// Metrics of the allocations made with exactly this stack.
    pub metrics: AllocMetrics,
}

/// The frames of all sites' stacks in one list; read through [`AllocProfile::stack`].
#[derive(Debug, Clone, Default)]
pub struct StackFrames(Vec<u32>);

/// A point of the memory-over-time curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimePoint {
    /// Time in the profile's unit.
    pub time: u64,
    /// Bytes live then.
    pub bytes: u64,
}

/// The `samples` list of a V8 sampling heap profile, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SampleList {
    /// Samples in the list.
    pub count: u64,
    /// Sum of their `size` fields.
    pub bytes: u64,
}

/// A loaded allocation profile.
#[derive(Debug, Clone, Default)]
pub struct AllocProfile {
    /// `dhat`, `heaptrack`, `pprof`, `heapprofile` (V8 sampling heap profile) or `v8-live`
    /// (a V8 snapshot's live objects by allocation stack).
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
    /// Allocation sites (add with [`AllocProfile::push_site`]).
    pub sites: Vec<AllocSite>,
    /// Every site's stack, one after the other.
    pub stack_frames: StackFrames,
    /// Program totals (as the producer reports them).
    pub totals: AllocMetrics,
    /// Memory over time (empty when the producer doesn't record it).
    pub timeline: Vec<TimePoint>,
    /// True when read/written byte counts are meaningful (DHAT's heap mode).
    pub has_access_counts: bool,
    /// True when block lifetimes are recorded (DHAT's `bklt`).
    pub has_lifetimes: bool,
    /// Average lifetime at or below which DHAT calls blocks short-lived (its `tuth`, in
    /// [`AllocProfile::time_unit`]).
    pub short_lived_threshold: Option<u64>,
    /// Which frames count as plumbing and are folded away from the allocating end of stacks.
    /// Set it before the first query (or use [`AllocProfile::set_folding`]).
    pub folding: Folding,
    /// For each frame, whether some stack shows it inlined: sharing its code address with the
    /// next frame out (DHAT writes addresses). Empty when the producer doesn't say.
    pub inlined: Vec<bool>,
    /// Which frames are folded, worked out on first use.
    pub folded_frames: FoldedFrames,
    /// A V8 sampling heap profile's `samples` list (count, sum of their `size`s), a figure apart
    /// from the totals: it can hold allocations sampled and collected since.
    pub sample_list: Option<SampleList>,
}

/// The folded flag of every frame, computed once per profile ([`AllocProfile::is_folded_frame`]).
#[derive(Debug, Clone, Default)]
pub struct FoldedFrames(std::sync::OnceLock<Vec<bool>>);

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

    /// Use `folding` from now on.
    pub fn set_folding(&mut self, folding: Folding) {
        self.folding = folding;
        self.folded_frames = FoldedFrames::default();
    }

    /// Is frame `f` plumbing under the profile's [`Folding`]?
    pub fn is_folded_frame(&self, f: u32) -> bool {
        let folded = self.folded_frames.0.get_or_init(|| self.fold_frames());
        folded.get(f as usize).copied().unwrap_or(false)
    }

    /// Every frame's folded flag: by name and location, and, with standard folding, inlined
    /// frames from files no user function lives in. valgrind names inlined standard-library
    /// frames without their path (`alloc (alloc.rs:95)`, `allocate (alloc.rs:429)`), so the
    /// files of the real, unfolded frames (`main.rs`) say which inlined frames are the user's.
    fn fold_frames(&self) -> Vec<bool> {
        let file = |f: u32| source_file(self.location(f));
        let n = self.frames.len() as u32;
        let direct: Vec<bool> = (0..n)
            .map(|f| self.folding.folds(self.function(f), self.location(f)))
            .collect();
        let inlined = |f: u32| self.inlined.get(f as usize).copied().unwrap_or(false);
        if !self.folding.std_sources || !(0..n).any(inlined) {
            return direct;
        }
        let user_files: crate::model::FxHashSet<&str> = (0..n)
            .filter(|&f| !inlined(f) && !direct[f as usize])
            .map(file)
            .collect();
        (0..n)
            .map(|f| direct[f as usize] || (inlined(f) && !user_files.contains(file(f))))
            .collect()
    }

    /// Add a site: its stack (frame indices, outermost e.g. `main` first, the allocating
    /// function last) and its metrics.
    pub fn push_site(&mut self, frames: &[u32], metrics: AllocMetrics) {
        self.sites.push(AllocSite {
            start: self.stack_frames.0.len() as u64,
            len: frames.len().min(u32::MAX as usize) as u32,
            metrics,
        });
        self.stack_frames
            .0
            .extend_from_slice(&frames[..frames.len().min(u32::MAX as usize)]);
    }

    /// The site's whole stack, outermost first.
    pub fn stack(&self, site: &AllocSite) -> &[u32] {
        &self.stack_frames.0[site.start as usize..site.start as usize + site.len as usize]
    }

    /// The site's stack without folded frames at its allocating end (but never empty).
    pub fn user_stack(&self, site: &AllocSite) -> &[u32] {
        let frames = self.stack(site);
        let mut end = frames.len();
        while end > 1 && self.is_folded_frame(frames[end - 1]) {
            end -= 1;
        }
        &frames[..end]
    }

    /// True when the profile shows one moment, what was live when it was taken (pprof heap
    /// dumps, V8 sampling heap profiles, a V8 snapshot's live objects): its *at peak* metrics
    /// are that moment, and nothing is known at exit.
    pub fn is_live_only(&self) -> bool {
        is_live_only(&self.format)
    }

    /// `m`'s column title for this profile: the live-only profiles of V8 say what their
    /// *at peak* values are (live objects, samples).
    pub fn metric_column(&self, m: Metric) -> &'static str {
        match (self.format.as_str(), m) {
            ("v8-live", Metric::PeakBytes) => "Live size",
            ("v8-live", Metric::PeakBlocks) => "Live count",
            ("heapprofile", Metric::PeakBytes) => "Live (sampled)",
            ("heapprofile", Metric::PeakBlocks) => "Samples",
            _ => m.column(),
        }
    }

    /// `m`'s name for this profile (see [`AllocProfile::metric_column`]).
    pub fn metric_label(&self, m: Metric) -> &'static str {
        match (self.format.as_str(), m) {
            ("v8-live", Metric::PeakBytes) => "live size",
            ("v8-live", Metric::PeakBlocks) => "live objects",
            ("heapprofile", Metric::PeakBytes) => "sampled bytes live",
            ("heapprofile", Metric::PeakBlocks) => "samples",
            _ => m.label(),
        }
    }

    /// Does the producer record `m` (so a zero means zero, not "unknown")?
    pub fn records(&self, m: Metric) -> bool {
        match m {
            Metric::PeakBytes => true,
            // jemalloc's pprof dumps hold bytes only.
            Metric::PeakBlocks => !self.is_live_only() || self.totals.peak_blocks > 0,
            // pprof heap profiles hold what is in use at the dump, nothing at exit.
            Metric::EndBytes | Metric::EndBlocks => !self.is_live_only(),
            Metric::TotalBytes | Metric::TotalBlocks => {
                !self.is_live_only() || self.totals.total_blocks > 0
            }
            Metric::TemporaryBlocks => self.format == "heaptrack",
            Metric::ReadBytes | Metric::WrittenBytes => self.has_access_counts,
        }
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
    /// its allocating frame; stacks folded by the profile's [`Folding`].
    pub fn call_tree(&self, metric: Metric) -> HeapGraph {
        let trie = self.stack_trie(false, |f| f);
        let mut sizes = vec![0u64; trie.len()];
        for (site, &leaf) in self.sites.iter().zip(&trie.leaf_of_site) {
            sizes[leaf as usize] += site.metrics.get(metric);
        }
        // Names per frame, made once (frames are far fewer than tree nodes).
        let names: Vec<String> = (0..self.frames.len() as u32)
            .map(|f| {
                let loc = self.location(f);
                if loc.is_empty() {
                    self.function(f).to_string()
                } else {
                    format!("{} {loc}", self.function(f))
                }
            })
            .collect();
        let mut b = GraphBuilder::new();
        b.node(NodeKind::Synthetic, "(all allocations)", 1, 0);
        for (n, (&f, &size)) in trie.frame.iter().zip(&sizes).enumerate().skip(1) {
            // Odd ids like V8's, stable for one profile and metric.
            b.node(NodeKind::Object, &names[f as usize], 1 + 2 * n as u32, size);
        }
        for n in 1..trie.len() {
            let f = trie.frame[n];
            b.edge(
                trie.parent[n],
                EdgeKind::Property,
                self.function(f),
                n as NodeIx,
            );
        }
        // Every edge joins a trie node to its parent, both nodes added above.
        b.finish()
            .expect("a stack trie's edges join nodes of the trie")
    }

    /// The sites' folded stacks merged into a tree: one node per distinct stack prefix, frames
    /// compared by `key` (the frame itself, or its function to merge lines), read from `main`
    /// down or, `bottom_up`, from the allocating function up. Stacks are sorted first, so each
    /// new node extends the previous stack's path: no hash table, nodes numbered depth-first
    /// (a parent before its children).
    pub fn stack_trie(&self, bottom_up: bool, key: impl Fn(u32) -> u32) -> StackTrie {
        let stacks: Vec<&[u32]> = self.sites.iter().map(|s| self.user_stack(s)).collect();
        // The frame at depth `d` of a stack, the way the tree hangs.
        let at = |s: &[u32], d: usize| {
            if bottom_up {
                s[s.len() - 1 - d]
            } else {
                s[d]
            }
        };
        let common = |a: &[u32], b: &[u32]| {
            let n = a.len().min(b.len());
            (0..n)
                .find(|&d| key(at(a, d)) != key(at(b, d)))
                .unwrap_or(n)
        };
        let mut order: Vec<u32> = (0..stacks.len() as u32).collect();
        order.sort_by(|&x, &y| {
            let (a, b) = (stacks[x as usize], stacks[y as usize]);
            let d = common(a, b);
            match (d < a.len(), d < b.len()) {
                (true, true) => key(at(a, d)).cmp(&key(at(b, d))),
                (more_a, more_b) => more_a.cmp(&more_b),
            }
        });
        let mut t = StackTrie {
            frame: vec![u32::MAX],
            parent: vec![0],
            depth: vec![0],
            leaf_of_site: vec![0; stacks.len()],
        };
        // path[d]: the node at depth d of the current stack.
        let mut path: Vec<u32> = vec![0];
        let mut prev: &[u32] = &[];
        for &i in &order {
            let stack = stacks[i as usize];
            path.truncate(common(prev, stack) + 1);
            for d in path.len() - 1..stack.len() {
                t.frame.push(at(stack, d));
                t.parent.push(path[d]);
                t.depth.push(d as u32 + 1);
                path.push((t.frame.len() - 1) as u32);
            }
            t.leaf_of_site[i as usize] = *path.last().unwrap_or(&0);
            prev = stack;
        }
        t
    }
}

/// The file of a `file:line` or `file:line:column` location (a Windows drive letter's colon
/// stays: only numeric suffixes go).
fn source_file(location: &str) -> &str {
    let mut file = location;
    for _ in 0..2 {
        match file.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                file = head
            }
            _ => break,
        }
    }
    file
}

/// Stacks merged into a tree ([`AllocProfile::stack_trie`]); node 0 is the root.
#[derive(Debug, Clone, Default)]
pub struct StackTrie {
    /// Each node's frame (`u32::MAX` for the root).
    pub frame: Vec<u32>,
    /// Each node's parent (the root's is itself); always a smaller index.
    pub parent: Vec<u32>,
    /// Each node's depth (root 0).
    pub depth: Vec<u32>,
    /// For each site, the node its stack ends at.
    pub leaf_of_site: Vec<u32>,
}

impl StackTrie {
    /// Number of nodes, the root included.
    pub fn len(&self) -> usize {
        self.frame.len()
    }

    /// True when only the root is there.
    pub fn is_empty(&self) -> bool {
        self.frame.len() <= 1
    }
}

impl AllocProfile {
    /// A snapshot over this profile: its call tree by bytes at peak as the graph (so the
    /// snapshot views work on it), and the profile itself.
    pub fn into_snapshot(self) -> Snapshot {
        let graph = self.call_tree(Metric::PeakBytes);
        Snapshot {
            info: SnapshotInfo {
                title: Some(format!("{} {}", self.producer, self.command)),
                declared_node_count: graph.node_count() as u64,
                declared_edge_count: graph.edge_count() as u64,
                ..Default::default()
            },
            graph,
            traces: Default::default(),
            alloc: Some(Box::new(self)),
        }
    }
}

/// See [`AllocProfile::is_live_only`]; by the profile's `format`.
pub fn is_live_only(format: &str) -> bool {
    matches!(format, "pprof" | "heapprofile" | "v8-live")
}

/// Demangle a Rust (legacy or v0) symbol; other names come back unchanged.
pub fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_files() {
        assert_eq!(source_file("src/main.rs:83:14"), "src/main.rs");
        assert_eq!(source_file("main.rs:142"), "main.rs");
        assert_eq!(source_file(r"C:\src\main.rs:7"), r"C:\src\main.rs");
        assert_eq!(source_file("/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
    }

    #[test]
    fn inlined_frames_fold_unless_in_a_user_file() {
        let mut p = AllocProfile::default();
        let mut index = FxHashMap::default();
        let user = p.frame("my::work", "main.rs:10", &mut index);
        let helper = p.frame("helper", "main.rs:3", &mut index);
        let std = p.frame("allocate", "alloc.rs:429", &mut index);
        p.inlined = vec![false, true, true];
        p.push_site(&[user, helper, std], AllocMetrics::default());
        p.strings.finish();
        assert!(p.is_folded_frame(std));
        assert!(!p.is_folded_frame(helper));
        assert_eq!(p.user_stack(&p.sites[0]), [user, helper]);
        p.set_folding(Folding::none());
        assert!(!p.is_folded_frame(std));
    }
}
