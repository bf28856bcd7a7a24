//! File → Capture from process… driven like a user drives it (egui_kittest): against a real
//! `node --inspect` (the saved snapshot opens as a tab), and against a port nobody listens on
//! (the error shows in the window). The Node part prints why and passes when `node` is not on
//! PATH.
#![cfg(feature = "gui")]

mod gui_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use gui_common::app_with;
use heapsight::gui::HeapsightApp;

fn open_dialog(h: &mut Harness<'static, HeapsightApp>) {
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Capture from process…").click();
    h.run_steps(2);
    assert!(h.state().capture.open);
    assert_eq!(h.state().capture.endpoint, "127.0.0.1:9229");
}

/// Step frames until `done` holds; bounded by frame count (generously: a capture runs a real
/// process's snapshot on a background thread).
fn step_until(
    h: &mut Harness<'static, HeapsightApp>,
    what: &str,
    done: impl Fn(&HeapsightApp) -> bool,
) {
    for _ in 0..12_000 {
        if done(h.state()) {
            h.run_steps(2);
            return;
        }
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("never happened: {what}");
}

#[test]
fn refused_connection_shows_in_the_window() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut h = app_with(&[]);
    open_dialog(&mut h);
    h.state_mut().capture.endpoint = format!("127.0.0.1:{port}");
    h.get_by_label("Capture").click();
    step_until(&mut h, "the capture fails", |app| {
        app.capture.message().is_some()
    });
    let message = h.state().capture.message().unwrap().to_string();
    assert!(
        message.contains("refused") && message.contains(&port.to_string()),
        "{message}"
    );
    assert!(h.state().tabs.is_empty());
}

#[test]
fn captured_series_opens_as_a_trend() {
    let spawned = Command::new("node")
        .args([
            "--inspect=127.0.0.1:0",
            "-e",
            "globalThis.kept = [{ a: 1 }]; setInterval(() => {}, 1000);",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut node = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: `node` is not on PATH");
            return;
        }
        Err(e) => panic!("cannot start node: {e}"),
    };
    let stderr = node.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(port);
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("node's port");
    let dir = std::env::temp_dir().join(format!("heapsight-gui-capture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let mut h = app_with(&[]);
    open_dialog(&mut h);
    h.state_mut().capture.endpoint = format!("127.0.0.1:{port}");
    h.state_mut().capture.out_dir = dir.display().to_string();
    h.state_mut().capture.count = 2;
    h.get_by_label("Track allocations").click();
    h.run_steps(1);
    assert!(h.state().capture.track_allocations);
    h.get_by_label("Capture").click();
    step_until(&mut h, "the series opens as a trend", |app| {
        (app.tabs.len() == 2
            && app.tabs[app.active].current_title() == "Trends"
            && app.capture_series_pending() == 0)
            || !app.errors.is_empty()
            || app
                .capture
                .message()
                .is_some_and(|m| !m.starts_with("Saved"))
    });
    let _ = node.kill();
    let _ = node.wait();
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    // Two snapshots: both open, and the last one's tab shows the series as a trend.
    assert_eq!(h.state().tabs.len(), 2, "{:?}", h.state().capture.message());
    let mut paths: Vec<_> = h.state().tabs.iter().map(|t| t.doc.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            dir.join("capture-001.heapsnapshot"),
            dir.join("capture-002.heapsnapshot")
        ]
    );
    let active = &h.state().tabs[h.state().active];
    assert_eq!(active.doc.path, dir.join("capture-002.heapsnapshot"));
    assert_eq!(active.current_title(), "Trends");
    // Taken while tracking allocations: the snapshot carries allocation stacks.
    assert!(!active.doc.data.snapshot.traces.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
