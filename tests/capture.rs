//! `heapsight capture` against a real Node process (`node --inspect=127.0.0.1:0`): snapshots
//! that heapsight itself loads, a sampling profile, a target that exits mid-series, and the
//! one-line errors for a refused connection and a non-loopback host. The tests that need Node
//! print why and pass when `node` is not on PATH.

mod common;

use common::{fresh_dir, heapsight};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Keeps the process alive and its heap changing: a growing, bounded array of small objects.
const ALLOCATING: &str = "globalThis.kept = []; setInterval(() => { \
    if (kept.length < 50000) for (let i = 0; i < 500; i++) kept.push({ i, s: 'x' + i }); \
    }, 20);";

/// A Node process with its inspector on a free loopback port; killed on drop.
struct NodeTarget {
    child: Child,
    port: u16,
}

impl NodeTarget {
    /// Start `node --inspect=127.0.0.1:0 -e script`; `None` (with a printed reason) when Node
    /// is not installed.
    fn start(script: &str) -> Option<Self> {
        let spawned = Command::new("node")
            .arg("--inspect=127.0.0.1:0")
            .arg("-e")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("skipped: `node` is not on PATH");
                return None;
            }
            Err(e) => panic!("cannot start node: {e}"),
        };
        // Read stderr on a thread for the whole life of the process (so Node never blocks
        // writing it), handing over the port from "Debugger listening on ws://127.0.0.1:PORT/…".
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("node printed no 'Debugger listening on ws://127.0.0.1:PORT' line");
        Some(Self { child, port })
    }

    fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for NodeTarget {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The folder's file names, sorted; hidden (temporary) files included.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_loads(file: &Path) {
    let out = heapsight(&["summary", file.to_str().unwrap(), "--top", "3"]);
    assert!(
        out.status.success(),
        "heapsight summary {} failed: {}",
        file.display(),
        text(&out.stderr)
    );
}

#[test]
fn two_snapshots_that_heapsight_loads() {
    let Some(node) = NodeTarget::start(ALLOCATING) else {
        return;
    };
    let dir = fresh_dir("capture-test-snapshots");
    let out = heapsight(&[
        "capture",
        "--inspect",
        &node.endpoint(),
        "--count",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "capture failed: {stderr}");
    assert_eq!(
        listing(&dir),
        ["capture-001.heapsnapshot", "capture-002.heapsnapshot"],
        "only the two snapshots, no temporary files"
    );
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed.len(), 2, "{stdout}");
    for (line, name) in printed.iter().zip(listing(&dir)) {
        assert_eq!(Path::new(line), dir.join(&name));
        assert_loads(&dir.join(name));
    }
    assert!(stderr.contains("heapsight trend "), "{stderr}");

    // A second run numbers on instead of overwriting.
    let out = heapsight(&[
        "capture",
        "--inspect",
        &node.endpoint(),
        "--no-gc",
        "--prefix",
        "again",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(listing(&dir).contains(&"again-001.heapsnapshot".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sampling_profile_and_timeline() {
    let Some(node) = NodeTarget::start(ALLOCATING) else {
        return;
    };
    let dir = fresh_dir("capture-test-sampling");
    let d = dir.to_str().unwrap();
    let out = heapsight(&[
        "capture",
        "--inspect",
        &node.endpoint(),
        "--kind",
        "sampling",
        "--every",
        "1s",
        "--out",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(listing(&dir), ["capture-001.heapprofile"]);
    let profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("capture-001.heapprofile")).unwrap())
            .expect("the profile is JSON");
    assert!(profile["head"].is_object(), "no head: {profile}");
    assert!(profile["samples"].is_array());

    let out = heapsight(&[
        "capture",
        "--inspect",
        &node.endpoint(),
        "--kind",
        "timeline",
        "--every",
        "500ms",
        "--out",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        listing(&dir),
        ["capture-001.heapprofile", "capture-001.heaptimeline"]
    );
    assert_loads(&dir.join("capture-001.heaptimeline"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn target_exiting_mid_series_keeps_what_was_saved() {
    let dir = fresh_dir("capture-test-exits");
    // The target exits on its own 1.5 s after the first snapshot is in place, so the series of
    // five ends early however fast or slow this machine is.
    let first = dir.join("capture-001.heapsnapshot");
    let script = format!(
        "{ALLOCATING} const fs = require('fs'); const first = {first:?}; \
         const t = setInterval(() => {{ if (fs.existsSync(first)) {{ clearInterval(t); \
         setTimeout(() => process.exit(0), 1500); }} }}, 50);",
        first = first.to_str().unwrap()
    );
    let Some(node) = NodeTarget::start(&script) else {
        return;
    };
    let out = heapsight(&[
        "capture",
        "--inspect",
        &node.endpoint(),
        "--count",
        "5",
        "--every",
        "1s",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let saved = listing(&dir);
    assert!(
        (1..5).contains(&saved.len()),
        "some but not all snapshots: {saved:?}"
    );
    assert!(
        saved
            .iter()
            .all(|n| n.ends_with(".heapsnapshot") && !n.starts_with('.')),
        "no temporary files left: {saved:?}"
    );
    assert_eq!(stdout.lines().count(), saved.len(), "{stdout}");
    assert!(
        stderr.contains(&format!("capture ended after {} of 5 files", saved.len()))
            && stderr.contains("was lost"),
        "{stderr}"
    );
    assert_loads(&first);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refused_connection_is_one_line_naming_the_endpoint() {
    // A port nobody listens on: bind one, note it, let it go.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = fresh_dir("capture-test-refused");
    let endpoint = format!("127.0.0.1:{port}");
    let out = heapsight(&[
        "capture",
        "--inspect",
        &endpoint,
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&endpoint) && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(listing(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn non_loopback_host_needs_allow_remote() {
    // 192.0.2.0/24 is reserved for documentation: refused before any connection is tried.
    let dir = fresh_dir("capture-test-remote");
    let out_dir = dir.join("not-created");
    let out = heapsight(&[
        "capture",
        "--inspect",
        "192.0.2.1:9229",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("192.0.2.1:9229") && stderr.contains("--allow-remote"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "nothing is created for a refused host");
    let help = text(&heapsight(&["capture", "--help"]).stdout);
    assert!(
        help.contains("loopback") && help.contains("--allow-remote"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
