//! A minimal DevTools-protocol client over one WebSocket: send commands with ids, read
//! messages, hand events to the caller while waiting for a command's answer.
//!
//! Reads time out every [`POLL`] so that cancellation is noticed within a fraction of a second
//! even while the target is busy (a large heap snapshot can take minutes before its first
//! chunk).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::discovery::Endpoint;
use super::CaptureError;
use crate::progress::Progress;

/// How often a blocked read wakes up to check for cancellation.
const POLL: Duration = Duration::from_millis(200);
/// How long the WebSocket handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest single message accepted: a sampling profile arrives as one answer.
const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// One message from the target.
#[derive(Debug)]
pub enum Incoming {
    /// The answer to the command with `id`: its result, or the target's error message.
    Response {
        /// The command's id.
        id: u64,
        /// `result`, or `error.message`.
        result: Result<Value, String>,
    },
    /// An event, e.g. `HeapProfiler.addHeapSnapshotChunk`.
    Event {
        /// `Domain.event`.
        method: String,
        /// Its parameters (`null` when none).
        params: Value,
    },
}

/// The wire form of a message, either kind.
#[derive(Deserialize)]
struct RawMessage {
    id: Option<u64>,
    method: Option<String>,
    #[serde(default)]
    params: Value,
    result: Option<Value>,
    error: Option<RawError>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    message: String,
}

/// A connected DevTools-protocol session.
pub struct CdpClient {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    endpoint: String,
    /// An event that means the target is gone although the connection stays open.
    ends_on: Option<&'static str>,
}

impl CdpClient {
    /// Open the WebSocket at `path` on `endpoint` (the host and port the user named).
    pub fn connect(endpoint: &Endpoint, path: &str) -> Result<Self, CaptureError> {
        let stream = endpoint.connect()?;
        // A silent server must not hang the handshake.
        stream
            .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
            .map_err(|source| CaptureError::Network {
                endpoint: endpoint.text.clone(),
                what: "cannot set a read timeout",
                source,
            })?;
        let url = format!("ws://{}{path}", endpoint.authority());
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (socket, _) =
            tungstenite::client::client_with_config(url.as_str(), stream, Some(config)).map_err(
                |e| CaptureError::Discovery {
                    endpoint: endpoint.text.clone(),
                    what: format!("WebSocket handshake with {url} failed: {e}"),
                },
            )?;
        socket
            .get_ref()
            .set_read_timeout(Some(POLL))
            .map_err(|source| CaptureError::Network {
                endpoint: endpoint.text.clone(),
                what: "cannot set a read timeout",
                source,
            })?;
        Ok(Self {
            socket,
            next_id: 1,
            endpoint: endpoint.text.clone(),
            ends_on: None,
        })
    }

    /// Treat the event `method` like a closed connection from now on. A Node process that exits
    /// with a debugger attached keeps the connection open, "waiting for the debugger to
    /// disconnect", and answers nothing; its `Runtime.executionContextDestroyed` is the sign.
    pub fn end_on_event(&mut self, method: &'static str) {
        self.ends_on = Some(method);
    }

    /// Send `method` with `params`; returns the command's id.
    pub fn send(&mut self, method: &str, params: Value) -> Result<u64, CaptureError> {
        let id = self.next_id;
        self.next_id += 1;
        let text = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(Message::text(text))
            .map_err(|e| self.connection_error(e))?;
        Ok(id)
    }

    /// Send `method` and wait for its answer, handing every event that arrives meanwhile to
    /// `on_event`. An error answer becomes [`CaptureError::Protocol`].
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        progress: Progress<'_>,
        mut on_event: impl FnMut(&str, &Value) -> Result<(), CaptureError>,
    ) -> Result<Value, CaptureError> {
        let id = self.send(method, params)?;
        loop {
            match self.next_message(progress, None)? {
                Some(Incoming::Event { method, params }) => on_event(&method, &params)?,
                Some(Incoming::Response { id: got, result }) if got == id => {
                    return result.map_err(|message| CaptureError::Protocol {
                        endpoint: self.endpoint.clone(),
                        method: method.to_string(),
                        message,
                    });
                }
                // Answers to commands nobody waits for any more, or a timeout.
                _ => {}
            }
        }
    }

    /// Read (and drop) whatever the target sends for `wait`, reporting `phase` progress; a lost
    /// connection or cancellation ends the wait early with an error.
    pub fn idle(
        &mut self,
        wait: Duration,
        phase: &str,
        progress: Progress<'_>,
    ) -> Result<(), CaptureError> {
        let start = Instant::now();
        let deadline = start + wait;
        let total = wait.as_millis() as u64;
        while Instant::now() < deadline {
            progress.report(phase, start.elapsed().as_millis() as u64, total);
            self.next_message(progress, Some(deadline))?;
        }
        progress.report(phase, total, total);
        Ok(())
    }

    /// The next message, or `None` when the read timed out (after [`POLL`], or at `deadline`).
    /// Checks cancellation at each timeout.
    pub fn next_message(
        &mut self,
        progress: Progress<'_>,
        deadline: Option<Instant>,
    ) -> Result<Option<Incoming>, CaptureError> {
        loop {
            progress.check().map_err(|_| CaptureError::Cancelled)?;
            let message = match self.socket.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(None);
                    }
                    continue;
                }
                Err(e) => return Err(self.connection_error(e)),
            };
            let text = match message {
                Message::Text(t) => t,
                Message::Close(_) => {
                    return Err(CaptureError::Disconnected {
                        endpoint: self.endpoint.clone(),
                    })
                }
                // Pings are answered by the WebSocket itself; nothing else is expected.
                _ => continue,
            };
            let raw: RawMessage =
                serde_json::from_str(&text).map_err(|e| CaptureError::Protocol {
                    endpoint: self.endpoint.clone(),
                    method: "(message)".into(),
                    message: format!("not a DevTools-protocol message: {e}"),
                })?;
            return Ok(Some(match (raw.id, raw.method) {
                (Some(id), _) => Incoming::Response {
                    id,
                    result: match raw.error {
                        Some(err) => Err(err.message),
                        None => Ok(raw.result.unwrap_or(Value::Null)),
                    },
                },
                (None, Some(method)) if self.ends_on == Some(method.as_str()) => {
                    return Err(CaptureError::Disconnected {
                        endpoint: self.endpoint.clone(),
                    })
                }
                (None, Some(method)) => Incoming::Event {
                    method,
                    params: raw.params,
                },
                (None, None) => continue,
            }));
        }
    }

    /// Close the session politely; errors don't matter any more.
    pub fn close(mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }

    /// A WebSocket error as the capture sees it: the connection is gone.
    fn connection_error(&self, e: tungstenite::Error) -> CaptureError {
        match e {
            tungstenite::Error::Capacity(c) => CaptureError::Protocol {
                endpoint: self.endpoint.clone(),
                method: "(message)".into(),
                message: c.to_string(),
            },
            // Closed, reset, broken pipe, end of stream, a close without handshake: the target
            // went away.
            _ => CaptureError::Disconnected {
                endpoint: self.endpoint.clone(),
            },
        }
    }
}
