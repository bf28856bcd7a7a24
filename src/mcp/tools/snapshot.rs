//! Tools over one heap snapshot: the class summary, the dominator tree, one node, its
//! retainer paths, search, detached DOM and the memory map. Each prints what the matching CLI
//! command prints.

use std::fmt::Write;

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use super::{or, tool, ToolDef};
use crate::analysis::memory_map::DEFAULT_MIN_BUFFER;
use crate::analysis::retainers::retainer_paths;
use crate::error::{Error, Result};
use crate::mcp::session::Session;
use crate::progress::Progress;
use crate::report::command::{self, Format};
use crate::report::{bytes_exact, node, one_line, text};
use crate::store::search::search as search_doc;
use crate::store::Document;

#[derive(Deserialize, JsonSchema)]
struct SummaryArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// The N largest classes by retained size (default 25, 0 = all, paged).
    top: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
struct DominatorsArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// Start below this node (e.g. "@12345") instead of the root, to page down the tree.
    node: Option<String>,
    /// Levels shown below the start (default 3).
    depth: Option<usize>,
    /// Children shown per node, largest retained size first (default 10).
    top: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
struct NodeArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// The node id as DevTools shows it, e.g. "@12345".
    node: String,
    /// Edges and retainers listed at most (default 20).
    limit: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
struct RetainersArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// The node id as DevTools shows it, e.g. "@12345".
    node: String,
    /// How many shortest paths from the GC roots (default 3).
    paths: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
struct SearchArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// Text to find in class and node names (any case).
    query: String,
}

#[derive(Deserialize, JsonSchema)]
struct DocArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
}

#[derive(Deserialize, JsonSchema)]
struct MemoryArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// Backing stores of this many bytes or more are grouped by holder (default 65536).
    min_buffer: Option<u64>,
}

pub(super) fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "summary",
            "Totals and the class table (DevTools' Summary view): count, shallow and retained \
             size per class, largest retained first; for allocation profiles, the profile's \
             summary (peak, leaked at exit, temporary).",
            summary,
        ),
        tool(
            "dominators",
            "The dominator tree: who keeps what alive, with each node's share of the heap. \
             Start below a node (`node`) to walk down a subtree.",
            dominators,
        ),
        tool(
            "node",
            "One node: its class, sizes, distance, outgoing edges, retainers and dominator chain.",
            node_tool,
        ),
        tool(
            "retainers",
            "The K shortest retainer paths from the GC roots to a node: why it is still alive.",
            retainers,
        ),
        tool(
            "search",
            "Find classes and nodes whose name contains the text; nodes largest retained first.",
            search,
        ),
        tool(
            "detached",
            "Detached DOM trees (browser snapshots): members by class, retained size and the \
             path from JS that keeps each tree alive.",
            detached,
        ),
        tool(
            "memory",
            "Where the memory is: JS heap, ArrayBuffer backing stores, WebAssembly memories and \
             external bytes (adding up to the total), each WebAssembly.Memory with its holders, \
             the objects holding large buffers, and wasm-bindgen wrappers.",
            memory,
        ),
    ]
}

/// The snapshot `id` names; allocation profiles have no graph to walk.
fn snapshot(session: &Session, id: &str, tool: &str) -> Result<std::sync::Arc<Document>> {
    let doc = session.get(id)?;
    if doc.profile().is_some() {
        return Err(Error::Request(format!(
            "{tool} needs a heap snapshot; {} is an allocation profile (see `calltree`)",
            doc.path.display()
        )));
    }
    Ok(doc)
}

fn summary(session: &Session, a: SummaryArgs, _: Progress<'_>) -> Result<String> {
    command::summary(&*session.get(&a.doc)?, or(a.top, 25), Format::Text)
}

fn dominators(session: &Session, a: DominatorsArgs, _: Progress<'_>) -> Result<String> {
    let doc = snapshot(session, &a.doc, "dominators")?;
    let (depth, top) = (or(a.depth, 3), or(a.top, 10));
    let Some(id) = a.node else {
        return command::dominators(&doc, depth, top, false);
    };
    let n = doc.find_node(&id)?;
    let mut out = String::new();
    text::dominators_under(&mut out, &doc.data, n, doc.total_size(), depth, top);
    Ok(out)
}

fn node_tool(session: &Session, a: NodeArgs, _: Progress<'_>) -> Result<String> {
    let doc = snapshot(session, &a.doc, "node")?;
    let n = doc.find_node(&a.node)?;
    node::node(&doc.data, n, or(a.limit, 20), false)
}

fn retainers(session: &Session, a: RetainersArgs, _: Progress<'_>) -> Result<String> {
    let doc = snapshot(session, &a.doc, "retainers")?;
    let n = doc.find_node(&a.node)?;
    let found = retainer_paths(doc.data.graph(), &doc.data.analysis, n, or(a.paths, 3));
    node::retainers(&doc.data, n, &found, false)
}

fn search(session: &Session, a: SearchArgs, _: Progress<'_>) -> Result<String> {
    let doc = snapshot(session, &a.doc, "search")?;
    let r = search_doc(&doc, &a.query);
    let mut out = String::new();
    let classes = &doc.summary().classes;
    let _ = writeln!(out, "{} class(es) match {:?}:", r.classes.len(), a.query);
    for &i in &r.classes {
        let c = &classes[i];
        let _ = writeln!(
            out,
            "  {}  ×{}  retained {}",
            one_line(&c.name, 80),
            c.count,
            bytes_exact(c.retained_size)
        );
    }
    let more = if r.truncated { " (the largest)" } else { "" };
    let _ = writeln!(out, "{} node(s){more}:", r.nodes.len());
    for &n in &r.nodes {
        let _ = writeln!(out, "  {}", text::node_line(&doc.data, n));
    }
    Ok(out)
}

fn detached(session: &Session, a: DocArgs, _: Progress<'_>) -> Result<String> {
    command::detached(&*snapshot(session, &a.doc, "detached")?, false)
}

fn memory(session: &Session, a: MemoryArgs, _: Progress<'_>) -> Result<String> {
    let doc = session.get(&a.doc)?;
    command::memory(&doc, a.min_buffer.unwrap_or(DEFAULT_MIN_BUFFER), false)
}
