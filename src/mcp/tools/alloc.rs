//! Allocation tools: live objects by allocation stack (V8 heap timelines) and the call tree of
//! an allocation profile (Rust dumps: DHAT, heaptrack, pprof; V8 .heapprofile).

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use super::{or, tool, ToolDef};
use crate::cli::args::parse_metric;
use crate::error::{Error, Result};
use crate::mcp::session::Session;
use crate::model::alloc::Metric;
use crate::progress::Progress;
use crate::report::command;

#[derive(Deserialize, JsonSchema)]
struct AllocationsArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// Allocating functions first, their callers below (default: outermost first).
    #[serde(default)]
    bottom_up: bool,
    /// Rows shown at most (default 50, 0 = all, paged).
    top: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
struct CalltreeArgs {
    /// The document id `open` returned, e.g. "#1".
    doc: String,
    /// Allocating functions first, their callers below (default: main first).
    #[serde(default)]
    bottom_up: bool,
    /// Sort siblings by: peak_bytes (default), peak_blocks, end_bytes (leaked at exit),
    /// end_blocks, total_bytes, total_blocks, temporary_blocks, read_bytes, written_bytes.
    sort: Option<String>,
    /// Levels shown below the root (default 6).
    depth: Option<u32>,
    /// Rows shown at most (default 200, 0 = all, paged).
    limit: Option<usize>,
}

pub(super) fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "allocations",
            "Live objects by allocation stack, from a V8 heap timeline or a snapshot taken \
             while tracking allocations: the call tree by live size and count.",
            allocations,
        ),
        tool(
            "calltree",
            "The call tree of an allocation profile (Rust dumps: DHAT, heaptrack, pprof; V8 \
             .heapprofile), top-down or bottom-up, every metric per function, largest first.",
            calltree,
        ),
    ]
}

fn allocations(session: &Session, a: AllocationsArgs, _: Progress<'_>) -> Result<String> {
    command::allocations(&*session.get(&a.doc)?, a.bottom_up, or(a.top, 50), false)
}

fn calltree(session: &Session, a: CalltreeArgs, _: Progress<'_>) -> Result<String> {
    let sort = match a.sort.as_deref() {
        None => Metric::PeakBytes,
        Some(s) => parse_metric(s).map_err(Error::Request)?,
    };
    let doc = session.get(&a.doc)?;
    command::calltree(
        &doc,
        a.bottom_up,
        sort,
        a.depth.unwrap_or(6),
        or(a.limit, 200),
        false,
    )
}
