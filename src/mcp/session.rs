//! The documents one MCP session has open: loaded through the store like the CLI and the app
//! do (with the index cache), kept between calls, freed on `close`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::analysis::{AnalysisOptions, RuleSet};
use crate::error::{Error, Result};
use crate::formats::LoadOptions;
use crate::progress::Progress;
use crate::store::{Document, DocumentId, IndexCache, Store};

/// One client's open documents and the cache they load through.
pub struct Session {
    store: Mutex<Store>,
    cache: Option<IndexCache>,
}

impl Session {
    /// A session with nothing open, using the cache `HEAPSIGHT_CACHE_DIR`/`--no-cache` chose.
    pub fn new() -> Self {
        Self {
            store: Mutex::new(Store::default()),
            cache: IndexCache::from_env(),
        }
    }

    /// The store, even after a panic in another call (documents are read-only once loaded,
    /// so a poisoned lock guards nothing half-written).
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Open `path` (resolved against the working directory) under `rules`, or return the
    /// document already open for that file and rules. The flag says whether it was already open.
    pub fn open(
        &self,
        path: &Path,
        rules: RuleSet,
        progress: Progress<'_>,
    ) -> Result<(Arc<Document>, bool)> {
        let path = resolve(path);
        let same = |d: &Arc<Document>| d.path == path && d.data.analysis.rules == rules;
        if let Some(d) = self.store().iter().find(|d| same(d)) {
            return Ok((Arc::clone(d), true));
        }
        let doc = Document::open_cached(
            DocumentId::next(),
            &path,
            &LoadOptions::default(),
            AnalysisOptions {
                rules,
                distances: true,
            },
            self.cache.as_ref(),
            progress,
        )?;
        let doc = Arc::new(doc);
        self.store().insert(Arc::clone(&doc));
        Ok((doc, false))
    }

    /// The open document `id` names (`#3` or `3`, as `open` returned it).
    pub fn get(&self, id: &str) -> Result<Arc<Document>> {
        let n = parse_id(id)?;
        self.store().get(n).cloned().ok_or_else(|| not_open(id))
    }

    /// The open documents `ids` name, in that order.
    pub fn get_all(&self, ids: &[String]) -> Result<Vec<Arc<Document>>> {
        ids.iter().map(|id| self.get(id)).collect()
    }

    /// Close `id`, freeing it once no running call still reads it.
    pub fn close(&self, id: &str) -> Result<Arc<Document>> {
        let n = parse_id(id)?;
        self.store().remove(n).ok_or_else(|| not_open(id))
    }

    /// Every open document, oldest first.
    pub fn all(&self) -> Vec<Arc<Document>> {
        self.store().iter().cloned().collect()
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// `path` made absolute against the working directory, with symlinks and `..` resolved when
/// the file exists (so the reply names the file that was really read).
pub fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    }
}

fn parse_id(id: &str) -> Result<DocumentId> {
    id.trim()
        .trim_start_matches('#')
        .parse()
        .map(DocumentId)
        .map_err(|_| {
            Error::Request(format!(
                "'{id}' is not a document id (expected what `open` returned, like #1)"
            ))
        })
}

fn not_open(id: &str) -> Error {
    Error::Request(format!(
        "no open document {id} (it was closed or never opened; `list` shows the open ones)"
    ))
}
