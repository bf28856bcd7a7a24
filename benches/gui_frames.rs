//! Frame times of the desktop app on a snapshot you name, driven headless by egui_kittest.
//!
//! ```text
//! cargo bench --bench gui_frames -- sample-snapshots/node-leak/target.heapsnapshot
//! cargo bench --bench gui_frames -- target/bench/big.heapsnapshot     # ~10 s to load, ~2.3 GB
//! ```
//!
//! Opens the snapshot in `HeapsightApp` (as `heapsight FILE` does), waits until it is loaded,
//! then, on each view the file offers, times frames for: the first frame after clicking the
//! view's label, idle frames (nothing changes), the pointer moving over the view, mouse-wheel
//! scrolling, scrolling by pages, and selecting nodes (largest retained sizes and nodes spread
//! over the graph). It also says which views ask for a repaint while idle (burning CPU).
//!
//! Three times per frame, in milliseconds (mean, 95th percentile, max):
//! - `app`: `HeapsightApp::show` alone, the app's own UI code;
//! - `frame`: all of `Harness::step`, i.e. egui's pass around the app plus kittest's AccessKit
//!   update (which a real window pays only while a screen reader is attached);
//! - `tess`: tessellating that frame's shapes, which eframe does before painting.
//!
//! Nothing is rasterised: OpenGL painting (Mesa's llvmpipe under Xvfb, a GPU elsewhere) comes
//! on top. Env: `GUI_FRAMES_N` frames per scenario (default 120), `GUI_FRAMES_SECS` time budget
//! per scenario in seconds (default 20; a scenario stops early once it is spent).

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use egui_kittest::kittest::{By, NodeT, Queryable};
use egui_kittest::Harness;
use heapsight::gui::egui::{self, Event, MouseWheelSource, MouseWheelUnit, TouchPhase};
use heapsight::gui::HeapsightApp;

const DEFAULT_SNAPSHOT: &str = "sample-snapshots/node-leak/target.heapsnapshot";
const SIZE: [f32; 2] = [1280.0, 800.0];
/// A point inside the central panel (below the menu and view bars, above the retainers panel).
const CENTRAL: egui::Pos2 = egui::pos2(500.0, 250.0);
/// How long a view may keep asking for repaints once nothing happens (background work).
const IDLE_WAIT: Duration = Duration::from_secs(15);

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Per-frame samples of one scenario, in milliseconds.
#[derive(Default)]
struct Samples {
    app: Vec<f64>,
    frame: Vec<f64>,
    tess: Vec<f64>,
}

fn stats(v: &[f64]) -> String {
    if v.is_empty() {
        return format!("{:>26}", "-");
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let p95 = s[((s.len() as f64 * 0.95).ceil() as usize).clamp(1, s.len()) - 1];
    format!("{mean:8.2} {p95:8.2} {:8.2}", s[s.len() - 1])
}

struct Bench {
    h: Harness<'static, HeapsightApp>,
    /// Seconds spent in `HeapsightApp::show` since the last reset.
    app_secs: Rc<Cell<f64>>,
    frames: usize,
    budget: Duration,
}

impl Bench {
    /// One frame (queue at most one event before calling this), timed three ways.
    fn frame(&mut self, out: &mut Samples) {
        self.app_secs.set(0.0);
        let t = Instant::now();
        self.h.step();
        let frame = t.elapsed().as_secs_f64();
        let shapes = self.h.output().shapes.clone();
        let ppp = self.h.output().pixels_per_point;
        let t = Instant::now();
        let prims = self.h.ctx.tessellate(shapes, ppp);
        let tess = t.elapsed().as_secs_f64();
        std::hint::black_box(prims);
        out.app.push(self.app_secs.get() * 1e3);
        out.frame.push(frame * 1e3);
        out.tess.push(tess * 1e3);
    }

    /// Run up to `self.frames` frames (within the time budget), calling `before(i)` ahead of each.
    fn scenario(&mut self, name: &str, mut before: impl FnMut(&mut Harness<HeapsightApp>, usize)) {
        self.scenario_n(name, self.frames, &mut before);
    }

    fn scenario_n(
        &mut self,
        name: &str,
        n: usize,
        before: &mut dyn FnMut(&mut Harness<HeapsightApp>, usize),
    ) {
        let mut s = Samples::default();
        let start = Instant::now();
        for i in 0..n {
            before(&mut self.h, i);
            self.frame(&mut s);
            if start.elapsed() > self.budget && i >= 2 {
                break;
            }
        }
        report(name, &s);
    }

    /// Click the view's label in the view bar, one event per frame, and report the release frame
    /// plus the frame after it (the first frames drawing the view). False if the view bar has no
    /// such label (views are offered by file kind).
    fn switch_to(&mut self, title: &str) -> bool {
        if !self.click_label(title) {
            return false;
        }
        if self.h.state().tabs[0].current_title() != title {
            eprintln!("clicking {title:?} did not switch the view; switching directly");
            self.h.state_mut().tabs[0].show_titled(title);
        }
        let mut s = Samples::default();
        self.frame(&mut s);
        report(&format!("{title}: next frame"), &s);
        true
    }

    /// Click the topmost widget labelled `label`, one event per frame, and report the release
    /// frame (the first one drawing what the click opened). False if there is no such label.
    fn click_label(&mut self, label: &str) -> bool {
        let Some(pos) = self
            .h
            .query_all_by_label(label)
            .map(|n| n.rect())
            .min_by(|a, b| a.min.y.total_cmp(&b.min.y))
            .map(|r| r.center())
        else {
            println!("  ({label}: not offered for this file; skipped)");
            return false;
        };
        let mut s = Samples::default();
        let mut ignored = Samples::default();
        self.h.event(Event::PointerMoved(pos));
        self.frame(&mut ignored);
        for pressed in [true, false] {
            self.h.event(Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
            self.frame(if pressed { &mut ignored } else { &mut s });
        }
        report(&format!("{label}: first frame"), &s);
        true
    }
}

fn report(name: &str, s: &Samples) {
    println!(
        "{name:<32} {:>6}  {}  {}  {}",
        s.frame.len(),
        stats(&s.app),
        stats(&s.frame),
        stats(&s.tess)
    );
}

/// A hash of what the accessibility tree shows (labels, values, positions): tells whether
/// scrolling moved anything.
fn fingerprint(h: &Harness<HeapsightApp>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for node in h.query_all(By::new()) {
        let n = node.accesskit_node();
        n.label().hash(&mut hasher);
        n.value().hash(&mut hasher);
        n.bounding_box().map(|r| r.y0 as i32).hash(&mut hasher);
    }
    hasher.finish()
}

fn wheel(unit: MouseWheelUnit, dy: f32) -> Event {
    Event::MouseWheel {
        unit,
        delta: egui::vec2(0.0, dy),
        phase: TouchPhase::Move,
        source: MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    }
}

/// Does the app keep asking for another frame straight away while nothing happens? A view may
/// rightly do so while its background work runs (a spinner), so this waits up to `IDLE_WAIT` for
/// the requests to stop.
fn repaints_when_idle(h: &mut Harness<HeapsightApp>) -> bool {
    h.event(Event::PointerGone);
    let start = Instant::now();
    loop {
        h.run_steps(3);
        let asks = h
            .output()
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.repaint_delay.is_zero());
        if !asks || start.elapsed() > IDLE_WAIT {
            return asks;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| DEFAULT_SNAPSHOT.to_string());
    let path = PathBuf::from(path);
    if !path.is_file() {
        eprintln!("no snapshot at {}", path.display());
        std::process::exit(2);
    }

    let app_secs = Rc::new(Cell::new(0.0));
    let acc = app_secs.clone();
    let app = HeapsightApp::new(None, vec![path.clone()], None);
    // A timing tool, not a test: draw tofu for characters no font has (the GUI tests panic).
    let h = Harness::builder()
        .with_size(egui::Vec2::from(SIZE))
        .allow_missing_glyphs()
        .build_ui_state(
            move |ui, app: &mut HeapsightApp| {
                let t = Instant::now();
                app.show(ui);
                acc.set(acc.get() + t.elapsed().as_secs_f64());
            },
            app,
        );
    let mut b = Bench {
        h,
        app_secs,
        frames: env_num("GUI_FRAMES_N", 120.0) as usize,
        budget: Duration::from_secs_f64(env_num("GUI_FRAMES_SECS", 20.0)),
    };

    // Load (bounded by time: the big benchmark snapshot takes ~10 s in a release build).
    let t = Instant::now();
    let mut loading = Samples::default();
    while b.h.state().tabs.is_empty() && b.h.state().errors.is_empty() {
        if t.elapsed() > Duration::from_secs(900) {
            eprintln!("{} did not load within 900 s", path.display());
            std::process::exit(1);
        }
        b.frame(&mut loading);
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(e) = b.h.state().errors.first() {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let snap = b.h.state().tabs[0].doc.clone();
    let g = snap.data.graph();
    println!(
        "{}: {} nodes, {} edges, loaded in {:.2} s (app's own count), {:.2} s wall",
        path.display(),
        g.node_count(),
        g.edge_count(),
        snap.load_secs,
        t.elapsed().as_secs_f64()
    );
    println!(
        "window {}x{} points; {} frames per scenario at most, {:.0} s budget each; times in ms",
        SIZE[0],
        SIZE[1],
        b.frames,
        b.budget.as_secs_f64()
    );
    println!(
        "{:<32} {:>6}  {:^26}  {:^26}  {:^26}",
        "", "", "app (show)", "frame (step)", "tessellate"
    );
    println!(
        "{:<32} {:>6}  {:>8} {:>8} {:>8}  {:>8} {:>8} {:>8}  {:>8} {:>8} {:>8}",
        "scenario", "frames", "mean", "p95", "max", "mean", "p95", "max", "mean", "p95", "max"
    );
    report("while loading", &loading);
    b.h.run_steps(2);

    // Nodes to select: the largest retained sizes (below the root), then nodes spread evenly.
    let n = g.node_count() as u32;
    let root = g.root();
    let mut by_size: Vec<u32> = (0..n).filter(|&i| i != root).collect();
    let top = 20.min(by_size.len());
    if top > 0 {
        by_size.select_nth_unstable_by_key(top - 1, |&i| {
            std::cmp::Reverse(snap.data.analysis.retained_size(i))
        });
    }
    let mut picks: Vec<u32> = by_size[..top].to_vec();
    picks.extend((0..20u32).map(|k| (k as u64 * n as u64 / 20) as u32));
    drop(by_size);

    let mut idle_repaint = Vec::new();
    for name in heapsight::gui::views::titles() {
        if !b.switch_to(name) {
            continue;
        }
        b.scenario(&format!("{name}: idle"), |_, _| {});
        b.scenario(&format!("{name}: pointer moving"), |h, i| {
            let y = 80.0 + (i % 40) as f32 * 12.0;
            h.event(Event::PointerMoved(egui::pos2(CENTRAL.x, y)));
        });
        b.h.event(Event::PointerMoved(CENTRAL));
        b.h.step();
        let before = fingerprint(&b.h);
        b.scenario(&format!("{name}: wheel scroll"), |h, _| {
            h.event(wheel(MouseWheelUnit::Point, -120.0));
        });
        let after_wheel = fingerprint(&b.h);
        b.scenario_n(&format!("{name}: page scroll"), 30, &mut |h, _| {
            h.event(wheel(MouseWheelUnit::Page, -10.0));
        });
        if before == after_wheel && after_wheel == fingerprint(&b.h) {
            println!(
                "  ({name}: scrolling moved nothing: nothing to scroll, or not under the pointer)"
            );
        }
        b.scenario_n(&format!("{name}: select node"), picks.len(), &mut |h, i| {
            h.state_mut().tabs[0].selection.node = Some(picks[i]);
        });
        b.scenario(&format!("{name}: idle after select"), |_, _| {});
        if repaints_when_idle(&mut b.h) {
            idle_repaint.push(name);
        }
    }
    // Allocation profiles: each part of the Allocations view, its first frame, idle, scrolling.
    if b.switch_to("Allocations") {
        for part in [
            "Call tree",
            "Bottom-up (allocating functions first)",
            "All sites",
            "Leaked at exit",
            "Temporary allocations",
            "Short-lived",
            "Access (DHAT)",
            "Memory over time",
            "Flame graph",
        ] {
            if !b.click_label(part) {
                continue;
            }
            b.scenario(&format!("{part}: idle"), |_, _| {});
            b.h.event(Event::PointerMoved(CENTRAL));
            b.scenario_n(&format!("{part}: page scroll"), 30, &mut |h, _| {
                h.event(wheel(MouseWheelUnit::Page, -10.0));
            });
            if repaints_when_idle(&mut b.h) {
                idle_repaint.push(part);
            }
        }
    }
    if idle_repaint.is_empty() {
        println!(
            "no view keeps asking for repaints once idle (waited up to {} s)",
            IDLE_WAIT.as_secs()
        );
    } else {
        println!(
            "views that still ask for repaints {} s after the last input (burning CPU): {}",
            IDLE_WAIT.as_secs(),
            idle_repaint.join(", ")
        );
    }
}
