//! Moving a big heap's edge arrays (and its nodes' names and ids) to files, so that the
//! process keeps in memory only the pages the running pass reads.
//!
//! A heap's edges outweigh its nodes three to one, and no pass needs all of them at once: the
//! dominator search walks the forward edges, the semidominator pass only the retainers, and
//! only the class naming reads edge names; the dominator search reads no node names, and
//! node ids only to test WeakMap edges. Once spilled, each array is a read-only map of a
//! private, already unlinked file; the passes [`release`](crate::model::Column::release) what
//! they are done with. The values never change, so every result is the same as in memory.
//!
//! The files go to the user's cache folder (never a RAM-backed one such as a `tmpfs`, where
//! spilling would save nothing) and vanish with the process, even when it is killed.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Heaps whose edge arrays are smaller than this stay in memory: the saving would be small and
/// the write not free.
pub const MIN_SPILL_BYTES: u64 = 64 << 20;

/// The smallest edge arrays to spill: `$HEAPSIGHT_SPILL_MIN` (bytes; `0` spills every heap,
/// which is how the checks against DevTools run the spilled path on small samples), else
/// [`MIN_SPILL_BYTES`].
pub fn min_spill_bytes() -> u64 {
    std::env::var("HEAPSIGHT_SPILL_MIN")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(MIN_SPILL_BYTES)
}

/// Where a heap whose edge arrays take `edge_bytes` spills: `None` when they are smaller
/// than [`min_spill_bytes`] or there is nowhere to spill (see [`SpillDir::from_env`]).
pub fn dir_for(edge_bytes: u64) -> Option<SpillDir> {
    (edge_bytes >= min_spill_bytes())
        .then(SpillDir::from_env)
        .flatten()
}

/// A folder to spill into.
#[derive(Debug, Clone)]
pub struct SpillDir {
    dir: PathBuf,
}

/// The user's cache folder: `$HEAPSIGHT_CACHE_DIR`, else `$XDG_CACHE_HOME/heapsight`, else
/// `~/.cache/heapsight`. `None` when none can be found.
pub fn user_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    Some(match var("HEAPSIGHT_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => match var("XDG_CACHE_HOME") {
            Some(d) => PathBuf::from(d).join("heapsight"),
            None => PathBuf::from(var("HOME")?).join(".cache").join("heapsight"),
        },
    })
}

impl SpillDir {
    /// Spill into `dir` (created when needed).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Where to spill by default: `$HEAPSIGHT_SPILL_DIR`, else the user's cache folder. `None`
    /// when `$HEAPSIGHT_SPILL` is `0` (keep everything in memory), off Unix, or when the folder
    /// is RAM-backed.
    pub fn from_env() -> Option<Self> {
        if !cfg!(unix) || std::env::var_os("HEAPSIGHT_SPILL").is_some_and(|v| v == "0") {
            return None;
        }
        let dir = match std::env::var_os("HEAPSIGHT_SPILL_DIR").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => user_cache_dir()?,
        };
        std::fs::create_dir_all(&dir).ok()?;
        (!is_ram_backed(&dir)).then(|| Self::at(dir))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new empty file private to this process. On Unix its name is gone before it is
    /// returned, so it is freed when the last map of it is dropped, whatever happens.
    pub(crate) fn new_file(&self) -> io::Result<File> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!(
            "spill-{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        if cfg!(unix) {
            std::fs::remove_file(&path)?;
        }
        Ok(file)
    }
}

/// Is `dir` on a file system that lives in RAM (tmpfs, ramfs)? Pages spilled there would
/// still take memory, only no longer counted as the process's.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn is_ram_backed(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return true;
    }
    matches!(st.f_type as i64, TMPFS_MAGIC | RAMFS_MAGIC)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn is_ram_backed(_dir: &Path) -> bool {
    false
}
