//! Background work for the GUI: loading and analysing snapshots, and any other task that could
//! take longer than a frame (searches, instance lists). The UI polls; it never waits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use eframe::egui;

use crate::analysis::alloc::{site_stats, SiteStat};
use crate::analysis::call_tree::{CallTree, Direction};
use crate::analysis::{AnalysisOptions, AnalyzedSnapshot, Statistics, Summary};
use crate::formats::LoadOptions;
use crate::model::alloc::AllocProfile;
use crate::progress::Progress;

/// A snapshot with everything the views read, shared read-only between views and tasks.
pub struct LoadedSnapshot {
    /// The file.
    pub path: PathBuf,
    /// Short name for tabs (the file name).
    pub title: String,
    /// Graph and per-node analyses.
    pub data: AnalyzedSnapshot,
    /// The class summary.
    pub summary: Summary,
    /// Statistics by category.
    pub stats: Statistics,
    /// Seconds from open to ready.
    pub load_secs: f64,
    /// File size in bytes.
    pub file_size: u64,
    /// The options it was loaded with (folding of allocation profiles).
    pub options: LoadOptions,
    /// For allocation profiles: call trees and site rows, built off the UI thread.
    pub alloc: Option<AllocTables>,
}

/// What the Allocations view reads besides the profile itself.
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
}

impl LoadedSnapshot {
    /// The call tree of an allocation profile hanging `direction`'s way. The bottom-up tree is
    /// built on first use: right away for small profiles, else on a thread (`None` until it
    /// is done; the UI is asked to repaint then).
    pub fn call_tree(
        self: &Arc<Self>,
        ctx: &egui::Context,
        direction: Direction,
    ) -> Option<&CallTree> {
        let tables = self.alloc.as_ref()?;
        let p = self.data.snapshot.alloc.as_deref()?;
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
            let (snap, ctx) = (Arc::clone(self), ctx.clone());
            std::thread::spawn(move || {
                if let (Some(t), Some(p)) = (&snap.alloc, snap.data.snapshot.alloc.as_deref()) {
                    let _ = t.bottom_up.set(CallTree::build(p, Direction::BottomUp));
                }
                ctx.request_repaint();
            });
        }
        None
    }
}

impl LoadedSnapshot {
    /// Load and analyse `path` with default options.
    pub fn load(path: &Path, progress: Progress<'_>) -> crate::Result<Self> {
        Self::load_with(path, &LoadOptions::default(), progress)
    }

    /// Load and analyse `path` (the worker calls this; tests may call it directly).
    pub fn load_with(
        path: &Path,
        options: &LoadOptions,
        progress: Progress<'_>,
    ) -> crate::Result<Self> {
        let start = Instant::now();
        let snapshot = crate::formats::load_with(path, options, progress)?;
        let alloc = snapshot.alloc.as_deref().map(|p| {
            progress.report("call trees", 0, 1);
            AllocTables::build(p)
        });
        let data = AnalyzedSnapshot::new(snapshot, AnalysisOptions::default(), progress)?;
        progress.step("summary", 0, 1)?;
        let summary = data.summary();
        // Built here, off the UI thread, so the first dominator-tree open and the first
        // retainer path are instant.
        progress.step("retainer paths", 0, 1)?;
        data.analysis.parent_edges(data.graph());
        let stats = data.statistics();
        Ok(Self {
            path: path.to_path_buf(),
            title: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            data,
            summary,
            stats,
            load_secs: start.elapsed().as_secs_f64(),
            file_size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            options: options.clone(),
            alloc,
        })
    }
}

/// Where a task is, for a progress bar.
#[derive(Debug, Clone, Default)]
pub struct TaskProgress {
    /// Phase name.
    pub phase: String,
    /// 0..1 within the phase.
    pub fraction: f32,
}

/// A value computed on another thread; poll it each frame.
pub struct BackgroundTask<T> {
    rx: Receiver<T>,
    cancel: Arc<AtomicBool>,
    progress: Arc<Mutex<TaskProgress>>,
}

impl<T: Send + 'static> BackgroundTask<T> {
    /// Run `work` on a new thread; the UI is asked to repaint when it finishes.
    pub fn spawn(
        ctx: &egui::Context,
        work: impl FnOnce(Progress<'_>) -> T + Send + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Mutex::new(TaskProgress::default()));
        let (c, p, ctx) = (cancel.clone(), progress.clone(), ctx.clone());
        std::thread::spawn(move || {
            let last_repaint = Mutex::new(Instant::now());
            let report = |phase: &str, done: u64, total: u64| {
                if let Ok(mut g) = p.lock() {
                    g.phase.clear();
                    g.phase.push_str(phase);
                    g.fraction = if total == 0 {
                        0.0
                    } else {
                        done as f32 / total as f32
                    };
                }
                // Repaint at most ~30 times a second for progress.
                if let Ok(mut t) = last_repaint.lock() {
                    if t.elapsed().as_millis() > 33 {
                        *t = Instant::now();
                        ctx.request_repaint();
                    }
                }
            };
            let result = work(Progress::new(Some(&report), Some(&c)));
            let _ = tx.send(result);
            ctx.request_repaint();
        });
        Self {
            rx,
            cancel,
            progress,
        }
    }

    /// The result once ready (taken once); `None` while running.
    pub fn poll(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// Ask the task to stop (it ends with a `Cancelled` error where it checks).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Current progress.
    pub fn progress(&self) -> TaskProgress {
        self.progress.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

impl<T> Drop for BackgroundTask<T> {
    fn drop(&mut self) {
        // Nobody will read the result: let the thread stop early.
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// A value worked out for a key (a metric, a sort column, the run compared with): right away
/// when the work is small, else on a thread and picked up on a later frame. Asking with another
/// key starts over; the old work is dropped (and told to stop).
pub struct Deferred<K, T> {
    done: Option<(K, T)>,
    running: Option<(K, BackgroundTask<T>)>,
}

impl<K, T> Default for Deferred<K, T> {
    fn default() -> Self {
        Self {
            done: None,
            running: None,
        }
    }
}

impl<K: PartialEq + Clone, T: Send + 'static> Deferred<K, T> {
    /// The value for `key`, computing it with `work`: now when `now`, else on a thread (`None`
    /// until it is ready).
    pub fn get(
        &mut self,
        ctx: &egui::Context,
        key: K,
        now: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<&T> {
        let fresh = |d: &Option<(K, T)>| d.as_ref().is_some_and(|(k, _)| *k == key);
        if !fresh(&self.done) {
            match &mut self.running {
                Some((k, task)) if *k == key => {
                    if let Some(v) = task.poll() {
                        self.done = Some((key.clone(), v));
                        self.running = None;
                    }
                }
                _ if now => {
                    self.running = None;
                    self.done = Some((key.clone(), work()));
                }
                _ => {
                    let task = BackgroundTask::spawn(ctx, move |_| work());
                    self.running = Some((key.clone(), task));
                }
            }
        }
        self.done
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The last value computed, whatever its key.
    pub fn last(&self) -> Option<&T> {
        self.done.as_ref().map(|(_, v)| v)
    }
}

/// A snapshot being opened.
pub struct LoadJob {
    /// The file.
    pub path: PathBuf,
    /// True when it replaces the open tab of the same file (reopened with other options).
    pub reload: bool,
    /// The work.
    pub task: BackgroundTask<crate::Result<LoadedSnapshot>>,
}

impl LoadJob {
    /// Start loading `path` with `options`.
    pub fn start(ctx: &egui::Context, path: PathBuf, options: LoadOptions, reload: bool) -> Self {
        let p = path.clone();
        Self {
            path,
            reload,
            task: BackgroundTask::spawn(ctx, move |progress| {
                LoadedSnapshot::load_with(&p, &options, progress)
            }),
        }
    }
}
