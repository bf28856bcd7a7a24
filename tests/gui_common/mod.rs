//! Shared helpers for the GUI tests.
#![allow(dead_code)]

use egui_kittest::Harness;
use heapsight::gui::{egui, HeapsightApp};

/// The Node leak sample (1000 leaked `RequestContext`).
pub const SAMPLE: &str = "sample-snapshots/node-leak/target.heapsnapshot";

/// Build the app with `files` and step frames until they are loaded (bounded by frame count,
/// not by time).
pub fn app_with(files: &[&str]) -> Harness<'static, HeapsightApp> {
    // The app's loader uses the index cache: keep it under target/, never the user's home
    // (shared by the tests of this binary, which also exercises concurrent writers).
    static CACHE_DIR: std::sync::Once = std::sync::Once::new();
    CACHE_DIR.call_once(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-index-cache");
        std::env::set_var("HEAPSIGHT_CACHE_DIR", dir);
    });
    let app = HeapsightApp::new(None, files.iter().map(Into::into).collect(), None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut HeapsightApp| app.show(ui), app);
    for _ in 0..2000 {
        h.step();
        if !h.state().is_loading() && !h.state().tabs.is_empty() || !h.state().errors.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.run_steps(2);
    h
}

/// Step frames until `done` holds (loading and some views' work run on background threads),
/// then two more. Bounded by frame count, never by wall-clock time; panics naming `what`.
pub fn step_until(
    h: &mut Harness<'static, HeapsightApp>,
    what: &str,
    done: impl Fn(&HeapsightApp) -> bool,
) {
    for _ in 0..2000 {
        if done(h.state()) {
            h.run_steps(2);
            return;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("never happened: {what}");
}
