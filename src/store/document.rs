//! One loaded and analysed file, with the tables every face reads built once, when first asked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::analysis::alloc::{site_stats, SiteStat};
use crate::analysis::allocation_stacks::{has_stacks, AllocationStacks, Timeline, TraceIndex};
use crate::analysis::call_tree::{CallTree, Direction};
use crate::analysis::{AnalysisOptions, AnalyzedSnapshot, Statistics, Summary};
use crate::formats::LoadOptions;
use crate::model::alloc::AllocProfile;
use crate::progress::Progress;

use super::index_cache::{IndexCache, Lookup};

/// A document's identity while it is open: stable when other documents open or close, kept
/// when the same file is reopened with other options, never reused in one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(pub u64);

impl DocumentId {
    /// A fresh id.
    pub fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for DocumentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What the index cache did for a document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CacheUse {
    /// No cache asked for (`--no-cache`, or no cache folder).
    #[default]
    Off,
    /// Read from a valid index.
    Hit,
    /// Loaded from the file and indexed for next time.
    Written,
    /// Loaded from the file; not indexed (allocation profiles), or indexing failed (why).
    NotWritten(String),
    /// Loaded from the file; the opener writes the index later
    /// ([`Document::open_cached_index_later`], then [`Document::write_index`]).
    Owed,
}

impl std::fmt::Display for CacheUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheUse::Off => f.write_str("off"),
            CacheUse::Hit => f.write_str("hit"),
            CacheUse::Written => f.write_str("written"),
            CacheUse::NotWritten(why) => write!(f, "not written: {why}"),
            CacheUse::Owed => f.write_str("not written yet"),
        }
    }
}

/// A heap snapshot or allocation profile with its analyses, shared read-only between the views,
/// background tasks and commands that read it.
pub struct Document {
    /// Its identity while open.
    pub id: DocumentId,
    /// The file.
    pub path: PathBuf,
    /// Short name for tabs and reports (the file name).
    pub title: String,
    /// Graph and per-node analyses.
    pub data: AnalyzedSnapshot,
    /// Seconds from open to analysed.
    pub load_secs: f64,
    /// File size in bytes.
    pub file_size: u64,
    /// The options it was loaded with (folding of allocation profiles).
    pub options: LoadOptions,
    /// Whether it came from, or went to, the index cache.
    pub cache: CacheUse,
    alloc_tables: OnceLock<AllocTables>,
    stacks: OnceLock<Option<StackTables>>,
    last_node_id: OnceLock<u32>,
}

/// A V8 document's live objects by allocation stack (heap timelines, snapshots taken with
/// allocation tracking), with what the views read.
pub struct StackTables {
    /// Trace node id → trace tree index, for the per-node lookup.
    pub index: TraceIndex,
    /// Every live object with a trace, as an allocation profile.
    pub stacks: AllocationStacks,
    /// Its call trees and sites.
    pub tables: AllocTables,
    /// The `samples`: time → last assigned object id.
    pub timeline: Timeline,
}

/// What the allocation views read besides the profile itself.
pub struct AllocTables {
    /// Callers above callees.
    pub top_down: CallTree,
    /// Allocating functions above their callers: built when first asked for (as big as the
    /// top-down tree, and many sessions never look).
    bottom_up: OnceLock<CallTree>,
    bottom_up_started: AtomicBool,
    /// Sites merged by folded stack.
    pub sites: Vec<SiteStat>,
}

/// Work over a call tree with fewer nodes than this is done on the spot (a few milliseconds at
/// most); over bigger ones it runs on a thread.
pub const BUILD_NOW_NODES: usize = 50_000;

impl AllocTables {
    /// Build the top-down call tree and the site rows of `p`.
    pub fn build(p: &AllocProfile) -> Self {
        Self {
            top_down: CallTree::build(p, Direction::TopDown),
            bottom_up: OnceLock::new(),
            bottom_up_started: AtomicBool::new(false),
            sites: site_stats(p),
        }
    }

    /// The tree hanging `direction`'s way, if built.
    pub fn tree(&self, direction: Direction) -> Option<&CallTree> {
        match direction {
            Direction::TopDown => Some(&self.top_down),
            Direction::BottomUp => self.bottom_up.get(),
        }
    }

    /// The tree hanging `direction`'s way, built now if it isn't (for small trees: see
    /// [`Document::call_tree`] for big ones).
    pub fn tree_now(&self, p: &AllocProfile, direction: Direction) -> &CallTree {
        match direction {
            Direction::TopDown => &self.top_down,
            Direction::BottomUp => self
                .bottom_up
                .get_or_init(|| CallTree::build(p, Direction::BottomUp)),
        }
    }
}

impl Document {
    /// Load and analyse `path`: the one pipeline behind every face (CLI, app, agents).
    pub fn open(
        path: &Path,
        options: &LoadOptions,
        analysis: AnalysisOptions,
        progress: Progress<'_>,
    ) -> crate::Result<Self> {
        Self::open_as(DocumentId::next(), path, options, analysis, progress)
    }

    /// [`Document::open`] keeping an id (the same file reopened with other options).
    pub fn open_as(
        id: DocumentId,
        path: &Path,
        options: &LoadOptions,
        analysis: AnalysisOptions,
        progress: Progress<'_>,
    ) -> crate::Result<Self> {
        Self::open_cached(id, path, options, analysis, None, progress)
    }

    /// [`Document::open_as`] through the index cache: a valid index of the file (same
    /// contents, rules and options) is mapped instead of loading and analysing; otherwise the
    /// file is loaded and its index written for next time. A cache problem never fails the open.
    pub fn open_cached(
        id: DocumentId,
        path: &Path,
        options: &LoadOptions,
        analysis: AnalysisOptions,
        cache: Option<&IndexCache>,
        progress: Progress<'_>,
    ) -> crate::Result<Self> {
        let mut doc = Self::open_cached_index_later(id, path, options, analysis, cache, progress)?;
        if let (CacheUse::Owed, Some(c)) = (&doc.cache, cache) {
            progress.step("writing index", 0, 1)?;
            let start = Instant::now();
            doc.cache = doc.write_index(c);
            doc.load_secs += start.elapsed().as_secs_f64();
        }
        Ok(doc)
    }

    /// [`Document::open_cached`] without writing the index: a document loaded from the file
    /// comes back with [`CacheUse::Owed`], for the caller to show first and index afterwards
    /// with [`Document::write_index`]. The app and the CLI do that on a thread of their own:
    /// on a 1.6 GB snapshot that is seconds the user need not wait for.
    pub fn open_cached_index_later(
        id: DocumentId,
        path: &Path,
        options: &LoadOptions,
        analysis: AnalysisOptions,
        cache: Option<&IndexCache>,
        progress: Progress<'_>,
    ) -> crate::Result<Self> {
        let start = Instant::now();
        let mut used = CacheUse::Off;
        let mut data = None;
        if let Some(c) = cache {
            progress.step("index cache", 0, 1)?;
            if let Lookup::Hit(d) = c.lookup(path, analysis.rules, options) {
                data = Some(*d);
                used = CacheUse::Hit;
            }
        }
        let data = match data {
            Some(d) => d,
            None => {
                // The passes' big arrays reuse each other's pages (see `big_blocks`).
                let _reuse = crate::big_blocks::ReuseScope::enter();
                let snapshot = crate::formats::load_with(path, options, progress)?;
                let data = AnalyzedSnapshot::new(snapshot, analysis, progress)?;
                if cache.is_some() {
                    used = if data.snapshot.alloc.is_none() {
                        CacheUse::Owed
                    } else {
                        CacheUse::NotWritten("allocation profiles are not cached".into())
                    };
                }
                data
            }
        };
        Ok(Self {
            id,
            path: path.to_path_buf(),
            title: title_of(path),
            data,
            load_secs: start.elapsed().as_secs_f64(),
            file_size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            options: options.clone(),
            cache: used,
            alloc_tables: OnceLock::new(),
            stacks: OnceLock::new(),
            last_node_id: OnceLock::new(),
        })
    }

    /// Write this document's index into `cache` (see [`IndexCache::store`]) and say how it
    /// went; the index also holds the retainer-path parents, worked out now if not yet. A
    /// cache problem is reported, never raised.
    pub fn write_index(&self, cache: &IndexCache) -> CacheUse {
        match cache.store(&self.path, &self.options, &self.data) {
            Ok(Some(_)) => CacheUse::Written,
            Ok(None) => CacheUse::NotWritten("not cached".into()),
            Err(e) => CacheUse::NotWritten(e.to_string()),
        }
    }

    /// [`Document::write_index`] on a thread of its own, if the opening left the index owed
    /// ([`CacheUse::Owed`]); `then` gets the outcome there. The handle is for a caller that
    /// must not exit before the index is written (the CLI); the app lets it run.
    pub fn write_index_in_background(
        doc: &Arc<Self>,
        cache: IndexCache,
        then: impl FnOnce(&Document, CacheUse) + Send + 'static,
    ) -> Option<std::thread::JoinHandle<()>> {
        if !matches!(doc.cache, CacheUse::Owed) {
            return None;
        }
        let doc = Arc::clone(doc);
        std::thread::Builder::new()
            .name("index writer".into())
            .spawn(move || then(&doc, doc.write_index(&cache)))
            .ok()
    }

    /// Build now, while the caller is still on a background thread, what an interactive face
    /// reads on its first frames: the summary, statistics, retainer-path parents, the allocation
    /// tables and the order it was taken in. `load_secs` then counts them too.
    pub fn prepare(&mut self, progress: Progress<'_>) -> crate::Result<()> {
        let start = Instant::now();
        if self.data.snapshot.alloc.is_some() {
            progress.report("call trees", 0, 1);
            self.alloc_tables();
        }
        progress.step("summary", 0, 1)?;
        self.data.prepare_totals();
        progress.step("retainer paths", 0, 1)?;
        self.data.analysis.parent_edges(self.data.graph());
        self.taken_order();
        self.load_secs += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// The class summary, computed on first use.
    pub fn summary(&self) -> &Summary {
        self.data.summary_ref()
    }

    /// Statistics by category, computed on first use.
    pub fn statistics(&self) -> &Statistics {
        self.data.statistics_ref()
    }

    /// The allocation profile, for Rust allocation dumps.
    pub fn profile(&self) -> Option<&AllocProfile> {
        self.data.snapshot.alloc.as_deref()
    }

    /// For allocation profiles: the call trees and site rows, built on first use.
    pub fn alloc_tables(&self) -> Option<&AllocTables> {
        let p = self.profile()?;
        Some(self.alloc_tables.get_or_init(|| AllocTables::build(p)))
    }

    /// For V8 documents with allocation traces: live objects by allocation stack, built on
    /// first use (one pass over the nodes). `None` without traces.
    pub fn allocation_stacks(&self) -> Option<&StackTables> {
        self.stacks
            .get_or_init(|| {
                let snap = &self.data.snapshot;
                if snap.alloc.is_some() || !has_stacks(&snap.graph, &snap.traces) {
                    return None;
                }
                let index = TraceIndex::build(&snap.traces);
                let stacks = AllocationStacks::build(&snap.graph, &snap.traces, &index, |_| true);
                let tables = AllocTables::build(&stacks.profile);
                Some(StackTables {
                    index,
                    stacks,
                    tables,
                    timeline: Timeline::of(&snap.graph, &snap.traces),
                })
            })
            .as_ref()
    }

    /// The call tree of an allocation profile hanging `direction`'s way. The bottom-up tree is
    /// built on first use: right away for small profiles, else on a thread (`None` until it is
    /// done; `on_ready` is called then, e.g. to repaint).
    pub fn call_tree(
        self: &Arc<Self>,
        direction: Direction,
        on_ready: impl FnOnce() + Send + 'static,
    ) -> Option<&CallTree> {
        let tables = self.alloc_tables()?;
        let p = self.profile()?;
        if let Some(t) = tables.tree(direction) {
            return Some(t);
        }
        if tables.top_down.len() < BUILD_NOW_NODES {
            return Some(
                tables
                    .bottom_up
                    .get_or_init(|| CallTree::build(p, Direction::BottomUp)),
            );
        }
        if !tables.bottom_up_started.swap(true, Ordering::Relaxed) {
            let doc = Arc::clone(self);
            std::thread::spawn(move || {
                if let (Some(t), Some(p)) = (doc.alloc_tables(), doc.profile()) {
                    let _ = t.bottom_up.set(CallTree::build(p, Direction::BottomUp));
                }
                on_ready();
            });
        }
        None
    }

    /// Orders documents by when they were taken: V8 gives every heap object an id that grows
    /// with time and keeps it for the object's life, so a later snapshot of one process has a
    /// larger highest id. Embedder (native) and synthetic nodes are left out: Node and Blink
    /// number them from addresses. Allocation profiles (and ties) keep the order they were opened in.
    pub fn taken_order(&self) -> (u32, DocumentId) {
        let clock = if self.profile().is_some() {
            0
        } else {
            *self
                .last_node_id
                .get_or_init(|| self.data.graph().last_object_id())
        };
        (clock, self.id)
    }

    /// Of `others`, the heap snapshots (or profiles, like this one) taken before this one,
    /// latest first.
    pub fn earlier<'a>(&self, others: &'a [Arc<Document>]) -> Vec<&'a Arc<Document>> {
        let me = self.taken_order();
        let mut v: Vec<&Arc<Document>> = others
            .iter()
            .filter(|o| o.profile().is_some() == self.profile().is_some())
            .filter(|o| o.taken_order() < me)
            .collect();
        v.sort_by_key(|o| std::cmp::Reverse(o.taken_order()));
        v
    }

    /// The node a user names as DevTools shows it: `@123` or `123`.
    pub fn find_node(&self, text: &str) -> crate::Result<crate::model::NodeIx> {
        let digits = text.trim().trim_start_matches('@');
        let id: u32 = digits.parse().map_err(|_| {
            crate::Error::Request(format!(
                "'{text}' is not a node id (expected something like @12345)"
            ))
        })?;
        self.data
            .graph()
            .node_by_id(id)
            .ok_or_else(|| crate::Error::Request(format!("no node with id @{id} in this snapshot")))
    }

    /// The total a user sees for the whole file: what the root retains plus native bytes the
    /// snapshot counts outside the graph (Chromium's `extra_native_bytes`).
    pub fn total_size(&self) -> u64 {
        self.data.analysis.retained_size(self.data.graph().root())
            + self.data.snapshot.info.extra_native_bytes.unwrap_or(0)
    }
}

/// A file's name for tabs and reports.
pub fn title_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
