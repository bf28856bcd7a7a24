//! Finding the target: parse `HOST:PORT`, refuse non-loopback hosts unless allowed, ask the
//! DevTools HTTP endpoint for its targets (`GET /json/list`) and pick one.
//!
//! The WebSocket is always opened to the `HOST:PORT` the user named; only the path of the
//! target's `webSocketDebuggerUrl` is used, so a target cannot send us to another host.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;

use super::CaptureError;

/// How long connecting and each HTTP read may take.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);
/// `/json/list` answers are a few KB; anything this big is not one.
const MAX_LIST_BYTES: u64 = 16 << 20;

/// A DevTools endpoint: `host:port` as the user wrote it, resolved.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The host part (`127.0.0.1`, `localhost`, `::1`), without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
    /// What the user wrote, for messages.
    pub text: String,
}

impl Endpoint {
    /// Parse `HOST:PORT` (`[::1]:9229` for IPv6) and apply the loopback rule: a host that is
    /// not `localhost` or a loopback address is refused unless `allow_remote`.
    pub fn parse(text: &str, allow_remote: bool) -> Result<Self, CaptureError> {
        let bad = |why: &str| CaptureError::BadEndpoint {
            endpoint: text.to_string(),
            why: why.to_string(),
        };
        let text = text.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("no closing ']'"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| bad("no :PORT after the address"))?;
            (host, port)
        } else {
            text.rsplit_once(':')
                .ok_or_else(|| bad("no :PORT, e.g. 127.0.0.1:9229"))?
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.contains(':') && !text.starts_with('[') {
            return Err(bad("write IPv6 addresses in brackets, e.g. [::1]:9229"));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?;
        let endpoint = Endpoint {
            host: host.to_string(),
            port,
            text: text.to_string(),
        };
        if !allow_remote && !endpoint.is_loopback() {
            return Err(CaptureError::Remote {
                endpoint: endpoint.text,
                host: host.to_string(),
            });
        }
        Ok(endpoint)
    }

    /// True for `localhost` and loopback addresses (127.0.0.0/8, ::1). Other names count as
    /// remote even when they resolve to loopback: the rule is about what the user typed.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The `Host` header value and the authority of URLs: `host:port`, IPv6 in brackets.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Open a TCP connection, with a one-line error naming the endpoint.
    pub fn connect(&self) -> Result<TcpStream, CaptureError> {
        let network = |what, source| CaptureError::Network {
            endpoint: self.text.clone(),
            what,
            source,
        };
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| network("cannot resolve the host", e))?
            .collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, NETWORK_TIMEOUT) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => CaptureError::Refused {
                endpoint: self.text.clone(),
            },
            Some(e) => network("cannot connect", e),
            None => network(
                "cannot resolve the host",
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            ),
        })
    }
}

/// One entry of `/json/list`.
#[derive(Debug, Clone, Deserialize)]
pub struct TargetInfo {
    /// The target's id.
    #[serde(default)]
    pub id: String,
    /// `node`, `page`, `service_worker`, `iframe`, …
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Page title or script name.
    #[serde(default)]
    pub title: String,
    /// Page URL or `file://` of the script.
    #[serde(default)]
    pub url: String,
    /// Where to open the WebSocket; missing when another client is attached (Chromium).
    #[serde(default, rename = "webSocketDebuggerUrl")]
    pub websocket_url: Option<String>,
}

impl TargetInfo {
    /// The path (and query) of the WebSocket URL, e.g. `/devtools/page/ABC` or `/<uuid>`.
    pub fn websocket_path(&self) -> Option<String> {
        let url = self.websocket_url.as_deref()?;
        let rest = url
            .strip_prefix("ws://")
            .or_else(|| url.strip_prefix("wss://"))?;
        let slash = rest.find('/')?;
        Some(rest[slash..].to_string())
    }
}

/// Ask the endpoint for its targets and pick one: the one `wanted` names (its id, or a part of
/// its URL), else the single Node target, else the first page.
pub fn find_target(endpoint: &Endpoint, wanted: Option<&str>) -> Result<TargetInfo, CaptureError> {
    let body = http_get(endpoint, "/json/list")?;
    let targets: Vec<TargetInfo> =
        serde_json::from_slice(&body).map_err(|e| CaptureError::Discovery {
            endpoint: endpoint.text.clone(),
            what: format!("/json/list is not a DevTools target list ({e})"),
        })?;
    let found = match wanted {
        Some(w) => targets
            .iter()
            .find(|t| t.id == w)
            .or_else(|| targets.iter().find(|t| t.url.contains(w))),
        None => targets
            .iter()
            .find(|t| t.kind == "node")
            .or_else(|| targets.iter().find(|t| t.kind == "page")),
    };
    let Some(target) = found else {
        let listed: Vec<String> = targets
            .iter()
            .map(|t| format!("{} {} {}", t.kind, t.id, t.url))
            .collect();
        let what = match wanted {
            Some(w) => format!("no target with id {w:?} or a URL containing it"),
            None => "no Node or page target".to_string(),
        };
        return Err(CaptureError::Discovery {
            endpoint: endpoint.text.clone(),
            what: if listed.is_empty() {
                format!("{what}: the endpoint lists none")
            } else {
                format!("{what}; targets: {}", listed.join("; "))
            },
        });
    };
    if target.websocket_path().is_none() {
        return Err(CaptureError::Discovery {
            endpoint: endpoint.text.clone(),
            what: format!(
                "target {} has no WebSocket URL (is another debugger attached to it?)",
                target.id
            ),
        });
    }
    Ok(target.clone())
}

/// A plain HTTP/1.1 GET; returns the body of a 200 answer.
fn http_get(endpoint: &Endpoint, path: &str) -> Result<Vec<u8>, CaptureError> {
    let network = |what, source| CaptureError::Network {
        endpoint: endpoint.text.clone(),
        what,
        source,
    };
    let mut stream = endpoint.connect()?;
    stream
        .set_read_timeout(Some(NETWORK_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(NETWORK_TIMEOUT)))
        .map_err(|e| network("cannot set a timeout", e))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        endpoint.authority()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| network("cannot send the request for /json/list", e))?;
    // Read until the answer is complete: servers (Node's among them) may keep the connection
    // open despite `Connection: close`.
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while !answer_complete(&answer) && (answer.len() as u64) < MAX_LIST_BYTES {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(network("cannot read /json/list", e)),
        }
    }
    parse_http_answer(&answer).map_err(|what| CaptureError::Discovery {
        endpoint: endpoint.text.clone(),
        what: format!("{path}: {what} (is this a DevTools endpoint?)"),
    })
}

/// True once `answer` holds the whole HTTP answer: its head and as many body bytes as
/// `Content-Length` says, or the last chunk of a chunked body. Without either, the answer ends
/// when the server closes the connection.
fn answer_complete(answer: &[u8]) -> bool {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..split]);
    let body = &answer[split + 4..];
    for line in head.lines().skip(1) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("content-length") {
            return value.parse::<usize>().is_ok_and(|n| body.len() >= n);
        }
        if key.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
    }
    false
}

/// The body of an HTTP answer, if its status is 200 (chunked transfer encoding undone).
fn parse_http_answer(answer: &[u8]) -> Result<Vec<u8>, String> {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete HTTP answer")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let body = &answer[split + 4..];
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        return Err(format!("HTTP answer {status_line:?}"));
    }
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    if chunked {
        dechunk(body)
    } else {
        Ok(body.to_vec())
    }
}

/// Undo HTTP/1.1 chunked transfer encoding.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("truncated chunked body".into());
        }
        out.extend_from_slice(&body[..size]);
        body = body[size..].strip_prefix(b"\r\n").unwrap_or(&body[size..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_need_allow_remote() {
        for ok in [
            "127.0.0.1:9229",
            "localhost:9222",
            "[::1]:9229",
            "127.1.2.3:1",
        ] {
            assert!(Endpoint::parse(ok, false).is_ok(), "{ok}");
        }
        for remote in ["10.0.0.5:9229", "example.com:9229", "[2001:db8::1]:9229"] {
            let e = Endpoint::parse(remote, false).unwrap_err();
            assert!(matches!(e, CaptureError::Remote { .. }), "{remote}: {e}");
            assert!(e.to_string().contains("--allow-remote"));
            assert!(Endpoint::parse(remote, true).is_ok(), "{remote}");
        }
        for bad in [
            "9229",
            "127.0.0.1:",
            "127.0.0.1:0",
            ":9229",
            "::1:9229",
            "h:99999",
        ] {
            let e = Endpoint::parse(bad, true).unwrap_err();
            assert!(matches!(e, CaptureError::BadEndpoint { .. }), "{bad}: {e}");
        }
        let v6 = Endpoint::parse("[::1]:9229", false).unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority()),
            ("::1", "[::1]:9229".into())
        );
    }

    #[test]
    fn http_answers_plain_and_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]";
        assert_eq!(parse_http_answer(plain).unwrap(), b"[]");
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[{}\r\n1\r\n]\r\n0\r\n\r\n";
        assert_eq!(parse_http_answer(chunked).unwrap(), b"[{}]");
        assert!(parse_http_answer(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
        assert!(parse_http_answer(b"garbage").is_err());
        assert!(answer_complete(plain));
        assert!(!answer_complete(&plain[..plain.len() - 1]));
        assert!(answer_complete(chunked));
        assert!(!answer_complete(b"HTTP/1.1 200 OK\r\n\r\n[]"));
    }

    #[test]
    fn websocket_path_keeps_only_the_path() {
        let t = TargetInfo {
            id: "x".into(),
            kind: "page".into(),
            title: String::new(),
            url: String::new(),
            websocket_url: Some("ws://evil.example:1/devtools/page/ABC".into()),
        };
        assert_eq!(t.websocket_path().as_deref(), Some("/devtools/page/ABC"));
    }
}
