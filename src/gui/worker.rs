//! Background work for the GUI: loading documents (through the library's one pipeline,
//! [`Document::open`]), and any other task that could take longer than a frame (searches,
//! instance lists). The UI polls; it never waits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui;

use crate::formats::LoadOptions;
use crate::progress::Progress;
use crate::store::{Document, DocumentId, IndexCache};

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

/// A document being opened.
pub struct LoadJob {
    /// The file.
    pub path: PathBuf,
    /// When it was asked for, counting every load the app starts: tabs keep this order.
    pub asked: u64,
    /// The open document this reopens with other options (its tabs keep their place).
    pub reopens: Option<DocumentId>,
    /// The work.
    pub task: BackgroundTask<crate::Result<Document>>,
}

impl LoadJob {
    /// Start loading `path` with `options`, as a new document or reopening `reopens`.
    pub fn start(
        ctx: &egui::Context,
        path: PathBuf,
        options: LoadOptions,
        reopens: Option<DocumentId>,
    ) -> Self {
        static ASKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let p = path.clone();
        Self {
            path,
            asked: ASKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            reopens,
            task: BackgroundTask::spawn(ctx, move |progress| {
                let id = reopens.unwrap_or_else(DocumentId::next);
                let cache = IndexCache::from_env();
                // The index is written after the tab is shown (see `write_index_later`).
                let mut doc = Document::open_cached_index_later(
                    id,
                    &p,
                    &options,
                    Default::default(),
                    cache.as_ref(),
                    progress,
                )?;
                doc.prepare(progress)?;
                Ok(doc)
            }),
        }
    }
}

/// Write `doc`'s index into the cache on a thread of its own, if its opening left that owed:
/// the tab is shown meanwhile, and nothing waits for it (a cache problem never fails an
/// open). An app closed before the index is finished leaves a temp file, which the cache
/// removes later.
pub fn write_index_later(doc: &Arc<Document>) {
    if let Some(cache) = IndexCache::from_env() {
        Document::write_index_in_background(doc, cache, |doc, how| {
            super::log_timing(&format!("{}: index {how}", doc.path.display()));
        });
    }
}
