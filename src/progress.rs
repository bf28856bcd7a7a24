//! Progress reporting and cancellation shared by loaders and analyses.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Callback signature: phase name, units done, units total (bytes while loading, nodes after).
pub type ProgressFn<'a> = dyn Fn(&str, u64, u64) + Sync + 'a;

/// What long-running work reports to and listens to. `Progress::default()` is silent and
/// can't be cancelled.
#[derive(Clone, Copy, Default)]
pub struct Progress<'a> {
    on_progress: Option<&'a ProgressFn<'a>>,
    cancel: Option<&'a AtomicBool>,
}

impl<'a> Progress<'a> {
    /// Report to `on_progress` and stop when `cancel` turns true.
    pub fn new(on_progress: Option<&'a ProgressFn<'a>>, cancel: Option<&'a AtomicBool>) -> Self {
        Self {
            on_progress,
            cancel,
        }
    }

    /// Tell the listener how far `phase` is.
    pub fn report(&self, phase: &str, done: u64, total: u64) {
        if let Some(f) = self.on_progress {
            f(phase, done, total);
        }
    }

    /// `Err(Cancelled)` once cancellation was asked for.
    pub fn check(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// The same cancellation with no reports: for work on a side thread, whose phases would
    /// interleave with the main thread's.
    pub fn without_reports(&self) -> Self {
        Self {
            on_progress: None,
            cancel: self.cancel,
        }
    }

    /// Report and check in one call; analyses call this every few hundred thousand nodes.
    pub fn step(&self, phase: &str, done: u64, total: u64) -> Result<()> {
        self.report(phase, done, total);
        self.check()
    }
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("reports", &self.on_progress.is_some())
            .field("cancellable", &self.cancel.is_some())
            .finish()
    }
}
