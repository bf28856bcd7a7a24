//! Finding classes and nodes by name in an open document: the app's search box and the agent
//! interface's `search` tool run the same search, so they agree on what matches.

use crate::model::NodeIx;
use crate::store::Document;

/// How many node matches a search returns.
pub const MAX_MATCHES: usize = 200;

/// Search results.
#[derive(Default)]
pub struct SearchResults {
    /// Matching class names (index into the summary's rows).
    pub classes: Vec<usize>,
    /// Matching nodes, largest retained size first.
    pub nodes: Vec<NodeIx>,
    /// True when more nodes matched than were kept.
    pub truncated: bool,
}

/// Classes and nodes whose name contains `query` (any case); runs on any thread.
pub fn search(snap: &Document, query: &str) -> SearchResults {
    let q = query.trim().to_lowercase();
    let mut out = SearchResults::default();
    if q.is_empty() {
        return out;
    }
    out.classes = snap
        .summary()
        .classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name.to_lowercase().contains(&q))
        .map(|(i, _)| i)
        .take(MAX_MATCHES)
        .collect();
    let g = snap.data.graph();
    let mut nodes: Vec<NodeIx> = Vec::new();
    for n in 0..g.node_count() as NodeIx {
        let name = g.name(n);
        // Cheap length test first; most names fail it.
        if name.len() >= q.len() && name.to_lowercase().contains(&q) {
            nodes.push(n);
        }
    }
    let a = &snap.data.analysis;
    nodes.sort_by_key(|&n| std::cmp::Reverse(a.retained_size(n)));
    out.truncated = nodes.len() > MAX_MATCHES;
    nodes.truncate(MAX_MATCHES);
    out.nodes = nodes;
    out
}
