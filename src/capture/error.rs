//! What can go wrong while capturing. Every error names the endpoint (`host:port`) or the file,
//! so one line tells the user what to fix.

use std::path::PathBuf;

/// A capture that could not start, or stopped early.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The options do not make sense (a zero count, a prefix with a path in it, …).
    #[error("{0}")]
    Options(String),
    /// `--inspect` is not `HOST:PORT`.
    #[error("'{endpoint}' is not HOST:PORT ({why})")]
    BadEndpoint {
        /// What the user gave.
        endpoint: String,
        /// What is wrong with it.
        why: String,
    },
    /// A host that is not loopback, without `--allow-remote`.
    #[error(
        "refusing to connect to {endpoint}: {host} is not a loopback address, and a heap \
         snapshot holds all of the process's memory; pass --allow-remote to connect anyway"
    )]
    Remote {
        /// `host:port`.
        endpoint: String,
        /// The host part.
        host: String,
    },
    /// Nothing listens on the port.
    #[error(
        "cannot connect to {endpoint}: connection refused (is the process running with \
         --inspect={endpoint} or --remote-debugging-port?)"
    )]
    Refused {
        /// `host:port`.
        endpoint: String,
    },
    /// Another network error.
    #[error("{endpoint}: {what}: {source}")]
    Network {
        /// `host:port`.
        endpoint: String,
        /// What we were doing.
        what: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `/json/list` answered something we cannot use, or the WebSocket handshake failed.
    #[error("{endpoint}: {what}")]
    Discovery {
        /// `host:port`.
        endpoint: String,
        /// What is wrong, in words a user can act on.
        what: String,
    },
    /// The connection ended: the target exited, or closed the session.
    #[error("the connection to {endpoint} was lost (did the process exit?)")]
    Disconnected {
        /// `host:port`.
        endpoint: String,
    },
    /// The target answered a command with an error, or with something that is not the protocol.
    #[error("{endpoint}: {method}: {message}")]
    Protocol {
        /// `host:port`.
        endpoint: String,
        /// The DevTools-protocol method, e.g. `HeapProfiler.takeHeapSnapshot`.
        method: String,
        /// The target's message.
        message: String,
    },
    /// Writing a capture failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Stopped by the user (Ctrl-C, Cancel).
    #[error("capture stopped")]
    Cancelled,
}

impl CaptureError {
    /// True when the capture ended the way captures end on their own: the target went away or
    /// the user stopped it. What was saved before is good; the CLI exits 0 if anything was.
    pub fn ends_cleanly(&self) -> bool {
        matches!(
            self,
            CaptureError::Disconnected { .. } | CaptureError::Cancelled
        )
    }
}
