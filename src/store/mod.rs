//! The loaded-document store, below every face: the CLI, the desktop app and the agent
//! interface load through [`Document::open`] and refer to open documents by [`DocumentId`],
//! never by position, so closing one never makes another reference point elsewhere.

mod document;
pub mod index_cache;
pub mod search;

pub use document::{
    title_of, AllocTables, CacheUse, Document, DocumentId, StackTables, BUILD_NOW_NODES,
};
pub use index_cache::IndexCache;

use std::sync::Arc;

/// The open documents, in the order they were opened.
#[derive(Default)]
pub struct Store {
    docs: Vec<Arc<Document>>,
}

impl Store {
    /// Add a loaded document; one with the same id (a reopening) takes its place.
    pub fn insert(&mut self, doc: Arc<Document>) {
        match self.docs.iter_mut().find(|d| d.id == doc.id) {
            Some(slot) => *slot = doc,
            None => self.docs.push(doc),
        }
    }

    /// The document with `id`, if still open.
    pub fn get(&self, id: DocumentId) -> Option<&Arc<Document>> {
        self.docs.iter().find(|d| d.id == id)
    }

    /// Close `id`; returns it when it was open.
    pub fn remove(&mut self, id: DocumentId) -> Option<Arc<Document>> {
        let i = self.docs.iter().position(|d| d.id == id)?;
        Some(self.docs.remove(i))
    }

    /// All open documents, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Document>> {
        self.docs.iter()
    }

    /// Every open document but `id`, oldest first.
    pub fn others(&self, id: DocumentId) -> Vec<Arc<Document>> {
        self.docs.iter().filter(|d| d.id != id).cloned().collect()
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}
