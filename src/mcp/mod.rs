//! `heapsight mcp`: a Model Context Protocol server over stdio (on the `rmcp` SDK) for agents.
//!
//! Agents open documents by path and call tools over them; documents stay loaded in a
//! [`Session`] (through the store and its index cache) until closed. Every result is text of at
//! most [`bounded::MAX_RESULT_BYTES`] bytes, paged with a `cursor`. Long calls report MCP progress
//! notifications and stop when the client cancels. Errors come back as tool errors carrying the
//! CLI's one-line message; a panic inside a tool is caught and reported the same way, and the
//! server keeps serving. The server reads only the files the client names, writes nothing but
//! the index cache, and opens no network connection.

pub mod bounded;
pub mod session;
mod tools;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::progress::Progress;
pub use session::Session;
use tools::ToolDef;

/// What the server tells clients about itself when they connect.
const INSTRUCTIONS: &str = "heapsight finds memory leaks and bloat in V8 heap snapshots \
    (Node, Chromium) and Rust allocation dumps (DHAT, heaptrack, pprof). Call `open` with a \
    file path first; it returns a document id (#1) and an overview. Then `investigate` ranks the \
    findings; `summary`, `dominators`, `node`, `retainers`, `search`, `detached`, `memory`, \
    `allocations` and `calltree` look closer; `diff`, `leaks` (baseline/target/final) and \
    `trend` compare documents. Results are paged text of at most 16384 bytes: a last line \
    naming a `cursor` means there is more.";

/// The server: the tools and the session's documents.
#[derive(Clone)]
pub struct HeapsightServer {
    tools: Arc<Vec<ToolDef>>,
    session: Arc<Session>,
}

impl HeapsightServer {
    /// A server with every tool and nothing open.
    pub fn new() -> Self {
        Self {
            tools: Arc::new(tools::all()),
            session: Arc::new(Session::new()),
        }
    }

    /// Run tool `name` on `args` on this thread, with its panics caught: the page of its text
    /// at `args.cursor`, or the error a client sees. The protocol handler runs this on a
    /// blocking thread; tests call it directly.
    pub fn call(&self, name: &str, args: Value, progress: Progress<'_>) -> Result<String> {
        let tool = self
            .tools
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::Request(format!("unknown tool '{name}'")))?;
        let (args, cursor) = split_cursor(args)?;
        // Sizes read "1.50 KiB (1536 B)": readable, with the exact count beside.
        let text =
            contain(|| crate::units::with_exact_bytes(|| tool.run(&self.session, args, progress)))?;
        Ok(bounded::page(&text, cursor))
    }
}

impl Default for HeapsightServer {
    fn default() -> Self {
        Self::new()
    }
}

/// Take `cursor` out of the arguments (every tool pages the same way).
fn split_cursor(args: Value) -> Result<(Value, usize)> {
    let mut map = match args {
        Value::Object(m) => m,
        Value::Null => serde_json::Map::new(),
        other => {
            return Err(Error::Request(format!(
                "arguments must be an object, not {other}"
            )))
        }
    };
    let cursor = match map.remove("cursor") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .and_then(|c| usize::try_from(c).ok())
            .ok_or_else(|| {
                Error::Request(format!(
                    "cursor must be a line number from a previous page, not {v}"
                ))
            })?,
    };
    Ok((Value::Object(map), cursor))
}

/// Run `f`, turning a panic into an error that names it, so one bad call never takes the
/// server down.
pub fn contain(f: impl FnOnce() -> Result<String>) -> Result<String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(Error::Request(format!(
            "internal error: the tool panicked ({what}); the server is still running, please \
             report this"
        )))
    })
}

/// Sets the cancel flag when dropped: the client cancelled, or the call's future was dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Progress as MCP numbers: phases done plus the share of the current phase, so it only
/// grows (each phase counts its own units from zero).
struct ProgressCounter {
    phase: String,
    phases_done: u64,
    last_permille: u64,
}

impl ProgressCounter {
    /// `Some((progress, message))` when worth a notification: a new phase, or 1% more.
    fn update(&mut self, phase: &str, done: u64, total: u64) -> Option<(f64, String)> {
        // Saturating: `done * 1000` must not overflow for multi-terabyte byte counts.
        let permille = done
            .min(total)
            .saturating_mul(1000)
            .checked_div(total)
            .unwrap_or(0);
        if phase != self.phase {
            if !self.phase.is_empty() {
                self.phases_done += 1;
            }
            self.phase = phase.to_string();
        } else if permille < self.last_permille + 10 {
            return None;
        }
        self.last_permille = permille;
        let progress = self.phases_done as f64 + permille as f64 / 1000.0;
        Some((progress, format!("{phase}: {}%", permille / 10)))
    }
}

impl ServerHandler for HeapsightServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        let tools = self
            .tools
            .iter()
            .map(|t| Tool::new(t.name, t.description.clone(), Arc::clone(&t.schema)))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            return Err(ErrorData::invalid_params(
                format!("unknown tool '{}'", request.name),
                None,
            ));
        }
        let token = request
            .meta
            .as_ref()
            .and_then(|m| m.get_progress_token())
            .or_else(|| context.meta.get_progress_token());
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let result = self
            .call_blocking(request.name.to_string(), args, token, &context)
            .await;
        Ok(match result {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!("heapsight: {e}"))]),
        }
        .into())
    }
}

impl HeapsightServer {
    /// Run a tool on a blocking thread, forwarding its progress to the client (when it asked
    /// with a progress token) and raising its cancel flag when the client cancels.
    async fn call_blocking(
        &self,
        name: String,
        args: Value,
        token: Option<ProgressToken>,
        context: &RequestContext<RoleServer>,
    ) -> Result<String> {
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancel));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(f64, String)>();
        let server = self.clone();
        let flag = Arc::clone(&cancel);
        let mut handle = tokio::task::spawn_blocking(move || {
            let counter = Mutex::new(ProgressCounter {
                phase: String::new(),
                phases_done: 0,
                last_permille: 0,
            });
            let report = move |phase: &str, done: u64, total: u64| {
                let update = counter
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .update(phase, done, total);
                if let Some(u) = update {
                    let _ = tx.send(u);
                }
            };
            server.call(&name, args, Progress::new(Some(&report), Some(&*flag)))
        });
        let mut cancel_seen = false;
        loop {
            tokio::select! {
                joined = &mut handle => {
                    return joined.unwrap_or_else(|e| {
                        Err(Error::Request(format!("internal error: the tool's thread failed ({e})")))
                    });
                }
                Some((progress, message)) = rx.recv() => {
                    if let Some(t) = &token {
                        notify(&context.peer, t, progress, message).await;
                    }
                }
                _ = context.ct.cancelled(), if !cancel_seen => {
                    cancel_seen = true;
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

async fn notify(peer: &Peer<RoleServer>, token: &ProgressToken, progress: f64, message: String) {
    // A client that went away mid-call is not this call's error.
    let _ = peer
        .notify_progress(
            ProgressNotificationParam::new(token.clone(), progress).with_message(message),
        )
        .await;
}

/// `heapsight mcp`: serve on stdin/stdout until the client disconnects.
pub fn serve() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Request(format!("cannot start the MCP server: {e}")))?;
    runtime.block_on(async {
        let service = HeapsightServer::new()
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::Request(format!("MCP handshake failed: {e}")))?;
        service
            .waiting()
            .await
            .map_err(|e| Error::Request(format!("MCP server stopped: {e}")))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_tool_becomes_an_error() {
        let e = contain(|| panic!("boom")).unwrap_err().to_string();
        assert!(e.contains("panicked (boom)"), "{e}");
        assert_eq!(contain(|| Ok("fine".into())).unwrap(), "fine");
    }

    #[test]
    fn progress_only_grows() {
        let mut c = ProgressCounter {
            phase: String::new(),
            phases_done: 0,
            last_permille: 0,
        };
        let mut last = -1.0;
        for (phase, done) in [
            ("parse", 0),
            ("parse", 500),
            ("parse", 501),
            ("analyse", 10),
        ] {
            if let Some((p, _)) = c.update(phase, done, 1000) {
                assert!(p > last, "{p} after {last}");
                last = p;
            }
        }
        assert_eq!(last, 1.01);
    }

    #[test]
    fn unknown_tools_and_bad_arguments_are_errors() {
        let s = HeapsightServer::new();
        let p = Progress::default();
        assert!(s.call("nope", Value::Null, p).is_err());
        let e = s
            .call("summary", serde_json::json!({"doc": 3}), p)
            .unwrap_err();
        assert!(e.to_string().contains("invalid arguments"), "{e}");
        let e = s
            .call("summary", serde_json::json!({"doc": "#999"}), p)
            .unwrap_err();
        assert!(e.to_string().contains("no open document"), "{e}");
    }
}
