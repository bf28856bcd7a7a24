//! The app driven like a user drives it (egui_kittest): open a sample, switch views, select.
#![cfg(feature = "gui")]

mod gui_common;

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use gui_common::{app_with, step_until, SAMPLE};
use heapsight::analysis::leaks::LeakReport;
use heapsight::gui::views::allocations::AllocationsView;
use heapsight::gui::views::comparison::ComparisonView;
use heapsight::gui::views::leaks::LeaksView;
use heapsight::gui::views::memory::{HolderSort, MemoryView};
use heapsight::gui::views::trends::TrendsView;
use heapsight::gui::{egui, HeapsightApp};
use heapsight::model::alloc::{Folding, Metric};

#[test]
fn opens_a_sample_and_switches_views() {
    let mut h = app_with(&[SAMPLE]);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().tabs.len(), 1);
    let titles = h.state().tabs[0].titles();
    assert_eq!(
        titles.len(),
        10,
        "every view but Allocations applies to a heap snapshot"
    );
    for title in titles {
        h.get_by_label(title).click();
        h.run_steps(2);
        assert_eq!(h.state().tabs[0].current_title(), title);
    }
}

#[test]
fn bad_file_shows_an_error_and_the_app_keeps_running() {
    let mut h = app_with(&["Cargo.toml"]);
    assert!(h.state().tabs.is_empty());
    assert_eq!(h.state().errors.len(), 1);
    assert!(h.state().errors[0].contains("Cargo.toml"));
    h.run_steps(2);
}

#[test]
fn allocation_profiles_open_on_the_allocations_view() {
    let mut h = app_with(&["sample-snapshots/rust/dhat-rs-small.json"]);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(h.state().tabs[0].shows::<AllocationsView>());
    for label in [
        "Leaked at exit",
        "All sites",
        "Memory over time",
        "Flame graph",
    ] {
        h.get_by_label(label).click();
        h.run_steps(2);
    }
    // The heap-snapshot-only views are not offered.
    assert!(h.query_by_label("Detached DOM").is_none());
    // The retainers panel shows under the snapshot views (the stack of what they select), not
    // under the Allocations view, which selects nothing there.
    let empty_panel = "Select an object to see what keeps it alive";
    assert!(h.query_by_label(empty_panel).is_none());
    click(&mut h, "Dominators");
    assert!(h.query_by_label(empty_panel).is_some());
}

const DHAT_RS: &str = "sample-snapshots/rust/dhat-rs-small.json";
const VALGRIND: &str = "sample-snapshots/rust/valgrind-dhat-small.json";

/// Open an allocation profile; it must open on the Allocations view.
fn profile(file: &str) -> Harness<'static, HeapsightApp> {
    let h = app_with(&[file]);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(h.state().tabs[0].shows::<AllocationsView>());
    h
}

fn click(h: &mut Harness<'static, HeapsightApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
}

fn press(h: &mut Harness<'static, HeapsightApp>, key: egui::Key) {
    h.key_press(key);
    h.run_steps(2);
}

/// Focus the text field labelled `label` and type `text` into it.
fn type_into(h: &mut Harness<'static, HeapsightApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

/// The function selected in the call tree of the first tab.
fn selected(h: &Harness<'static, HeapsightApp>) -> Option<String> {
    let tab = &h.state().tabs[0];
    tab.view::<AllocationsView>()
        .unwrap()
        .selected_function(&tab.doc)
}

fn is_toggled(node: &egui_kittest::Node<'_>) -> bool {
    node.accesskit_node().toggled() == Some(egui::accesskit::Toggled::True)
}

#[test]
fn call_tree_bottom_up_by_leaked_bytes_leads_from_the_leak_to_its_caller() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Call tree");
    click(&mut h, "Bottom-up (allocating functions first)");
    click(&mut h, "Leaked");
    assert!(is_toggled(&h.get_by_label("Leaked")), "sorted by Leaked");
    // Nothing selected yet: the first key selects the first row, the biggest leak (Rc cycles).
    assert_eq!(selected(&h), None);
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );
    assert!(h
        .query_by_label("Expand alloc_workload::build_graph_cycle")
        .is_some());
    // Right opens it; Down moves to the row below, its caller.
    press(&mut h, egui::Key::ArrowRight);
    assert!(h
        .query_by_label("Collapse alloc_workload::build_graph_cycle")
        .is_some());
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(selected(&h).as_deref(), Some("alloc_workload::main"));
    // Left on a closed row goes back to its parent; Left again closes it; Up stays on row 0.
    press(&mut h, egui::Key::ArrowLeft);
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );
    press(&mut h, egui::Key::ArrowLeft);
    assert!(h
        .query_by_label("Expand alloc_workload::build_graph_cycle")
        .is_some());
    press(&mut h, egui::Key::ArrowUp);
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );

    // Top-down starts at main (opened on first look), with its own selection.
    click(&mut h, "Top-down (callers first)");
    assert_eq!(selected(&h), None);
    assert!(h.query_by_label("Collapse alloc_workload::main").is_some());
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(selected(&h).as_deref(), Some("alloc_workload::main"));
    // Sorted by Leaked still: main's biggest leaking callee comes first.
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );
    // Back in bottom-up, its selection is where it was.
    click(&mut h, "Bottom-up (allocating functions first)");
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );
}

#[test]
fn call_tree_rows_select_on_click_and_expand_with_their_triangle() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Call tree");
    click(&mut h, "Bottom-up (allocating functions first)");
    click(&mut h, "Leaked");
    click(&mut h, "Expand alloc_workload::leak_config");
    assert!(h
        .query_by_label("Collapse alloc_workload::leak_config")
        .is_some());
    // Expanding doesn't select; clicking the name does.
    assert_eq!(selected(&h), None);
    click(&mut h, "alloc_workload::leak_config");
    assert_eq!(selected(&h).as_deref(), Some("alloc_workload::leak_config"));
    // Its one caller is the row below.
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(selected(&h).as_deref(), Some("alloc_workload::main"));
}

#[test]
fn short_lived_part_lists_dhats_short_lived_sites() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Short-lived");
    assert!(
        !h.query_all_by_label_contains("alloc_workload::score_batch")
            .collect::<Vec<_>>()
            .is_empty(),
        "score_batch's scratch buffers live a few µs"
    );
    // Long-lived allocations are not in the list.
    assert!(h.query_by_label_contains("load_tensors").is_none());
}

#[test]
fn access_part_finds_never_read_memory() {
    let mut h = profile(VALGRIND);
    click(&mut h, "Access (DHAT)");
    click(&mut h, "Only never read or never written");
    let rows: Vec<String> = h
        .query_all_by_label_contains("alloc_workload::leak_config")
        .filter_map(|n| n.value())
        .collect();
    assert!(!rows.is_empty(), "the leaked config strings are never read");
    assert!(h.query_all_by_label("never read").next().is_some());
    // dhat-rs records no accesses: the part says so instead of showing an empty table.
    let mut h = profile(DHAT_RS);
    click(&mut h, "Access (DHAT)");
    assert!(h.query_by_label_contains("valgrind --tool=dhat").is_some());
    assert!(h
        .query_by_label("Only never read or never written")
        .is_none());
}

#[test]
fn folding_setting_reopens_the_profile_in_place() {
    let mut h = profile(DHAT_RS);
    assert_eq!(h.state().load_options.folding, Folding::standard());
    assert_eq!(h.state().tabs[0].doc.options.folding, Folding::standard());
    click(&mut h, "Call tree");
    click(&mut h, "Fold allocator and std frames");
    click(&mut h, "Apply");
    step_until(&mut h, "the profile is reloaded", |app| !app.is_loading());
    let app = h.state();
    assert!(app.errors.is_empty(), "{:?}", app.errors);
    assert_eq!(app.tabs.len(), 1, "reloaded in place, not as a new tab");
    assert_eq!(app.load_options.folding, Folding::none());
    let tab = &app.tabs[0];
    assert_eq!(tab.doc.options.folding, Folding::none());
    assert!(!tab.doc.options.folding.std_sources);
    assert!(tab.doc.options.folding.prefixes.is_empty());
    assert!(tab.shows::<AllocationsView>());
    // Still on the call tree, now with the allocator frames (nothing is folded).
    assert!(h.query_by_label("Top-down (callers first)").is_some());
    click(&mut h, "Bottom-up (allocating functions first)");
    assert!(
        h.query_all_by_label_contains("alloc::").next().is_some(),
        "bottom-up now starts at the allocator"
    );
    // The draft shows the setting as loaded: Apply is off until something changes.
    assert!(h.get_by_label("Apply").accesskit_node().is_disabled());

    // An extra prefix on top of the standard folding.
    click(&mut h, "Fold allocator and std frames");
    type_into(&mut h, "Also fold:", "alloc_workload::score");
    click(&mut h, "Apply");
    step_until(&mut h, "the profile is reloaded", |app| !app.is_loading());
    let want = Folding::with_extra(true, ["alloc_workload::score".to_string()]);
    assert_eq!(h.state().load_options.folding, want);
    assert_eq!(h.state().tabs[0].doc.options.folding, want);
}

#[test]
fn flame_graph_switches_to_every_recorded_metric() {
    for file in [
        DHAT_RS,
        VALGRIND,
        "sample-snapshots/rust/heaptrack-small.zst",
        "sample-snapshots/rust/pprof-small.pb.gz",
    ] {
        let mut h = profile(file);
        let p = h.state().tabs[0].doc.data.snapshot.alloc.clone().unwrap();
        assert_eq!(
            h.state().tabs[0]
                .view::<AllocationsView>()
                .unwrap()
                .flame_metric(),
            Some(Metric::PeakBytes),
            "{file}: the flame graph is the first part, by bytes at peak"
        );
        for m in Metric::ALL {
            if !p.records(m) {
                assert!(
                    h.query_by_label(m.label()).is_none(),
                    "{file}: {m:?} is not recorded, so not offered"
                );
                continue;
            }
            click(&mut h, m.label());
            assert!(is_toggled(&h.get_by_label(m.label())), "{file}: {m:?}");
            assert_eq!(
                h.state().tabs[0]
                    .view::<AllocationsView>()
                    .unwrap()
                    .flame_metric(),
                Some(m),
                "{file}"
            );
        }
    }
}

#[test]
fn applying_folding_twice_quickly_keeps_the_last_setting() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Fold allocator and std frames");
    click(&mut h, "Apply");
    // Change it again while the first reopening may still run.
    type_into(&mut h, "Also fold:", "alloc_workload::score");
    click(&mut h, "Apply");
    step_until(&mut h, "the profile is reloaded", |app| !app.is_loading());
    let want = Folding::with_extra(false, ["alloc_workload::score".to_string()]);
    assert_eq!(h.state().load_options.folding, want);
    assert_eq!(h.state().tabs.len(), 1);
    assert_eq!(h.state().tabs[0].doc.options.folding, want);
}

#[test]
fn folding_edits_made_while_reopening_survive_it() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Fold allocator and std frames");
    click(&mut h, "Apply");
    type_into(&mut h, "Also fold:", "alloc_workload::score");
    step_until(&mut h, "the profile is reloaded", |app| !app.is_loading());
    assert_eq!(h.state().tabs[0].doc.options.folding, Folding::none());
    let field = h.get_by_label("Also fold:");
    assert_eq!(field.value().as_deref(), Some("alloc_workload::score"));
    assert!(!h.get_by_label("Apply").accesskit_node().is_disabled());
    assert!(!is_toggled(
        &h.get_by_label("Fold allocator and std frames")
    ));
}

#[test]
fn a_profile_closed_while_reopening_stays_closed() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Fold allocator and std frames");
    click(&mut h, "Apply");
    click(&mut h, "File");
    click(&mut h, "Close tab");
    step_until(&mut h, "the reopening ends", |app| !app.is_loading());
    assert!(h.state().tabs.is_empty(), "the closed tab came back");
    assert_eq!(h.state().load_options.folding, Folding::none());
}

#[test]
fn refolding_keeps_the_call_tree_direction_and_sort() {
    let mut h = profile(DHAT_RS);
    click(&mut h, "Call tree");
    click(&mut h, "Bottom-up (allocating functions first)");
    click(&mut h, "Leaked");
    click(&mut h, "Fold allocator and std frames");
    click(&mut h, "Fold allocator and std frames");
    type_into(&mut h, "Also fold:", "alloc_workload::score");
    click(&mut h, "Apply");
    step_until(&mut h, "the profile is reloaded", |app| !app.is_loading());
    assert!(is_toggled(
        &h.get_by_label("Bottom-up (allocating functions first)")
    ));
    assert!(is_toggled(&h.get_by_label("Leaked")));
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(
        selected(&h).as_deref(),
        Some("alloc_workload::build_graph_cycle")
    );
}

#[test]
fn flame_graph_zooms_on_click_and_resets() {
    let mut h = profile(DHAT_RS);
    let reset = h.get_by_label("Reset zoom");
    assert!(reset.accesskit_node().is_disabled());
    // The graph starts below the search row: the root box on top, main's box under it.
    let below = reset.rect().left_bottom() + egui::vec2(40.0, 8.0 + 18.0 * 1.5);
    h.hover_at(below);
    h.run_steps(1);
    h.event(egui::Event::PointerButton {
        pos: below,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.event(egui::Event::PointerButton {
        pos: below,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(2);
    assert!(!h.get_by_label("Reset zoom").accesskit_node().is_disabled());
    click(&mut h, "Reset zoom");
    assert!(h.get_by_label("Reset zoom").accesskit_node().is_disabled());
}

#[test]
fn two_runs_diff_by_call_stack() {
    let small = "sample-snapshots/rust/dhat-rs-small.json";
    let large = "sample-snapshots/rust/dhat-rs-large.json";
    let mut h = app_with(&[small, large]);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().tabs.len(), 2);
    // Compare the large run with the small one, whichever tab is shown.
    let shown = h.state().active;
    let other = h.state().tabs[1 - shown].doc.title.clone();
    click(&mut h, "Diff");
    // The other run's title is both a tab and a choice under "Earlier run:": take the lower.
    let choice = h
        .query_all_by_label(&other)
        .max_by(|a, b| a.rect().min.y.total_cmp(&b.rect().min.y))
        .expect("the other run offered");
    choice.click();
    h.run_steps(3);
    assert!(h
        .query_all_by_label("alloc_workload::load_tensors")
        .next()
        .is_some());
    let change = if h.state().tabs[shown].doc.title.contains("large") {
        "grown"
    } else {
        "shrunk"
    };
    assert!(
        h.query_all_by_label(change).count() >= 2,
        "tensors and cycles changed: {change}"
    );
}

/// Open `path` in a running app and step until its tab is there.
fn open_and_wait(h: &mut Harness<'static, HeapsightApp>, path: &str) {
    let ctx = h.ctx.clone();
    h.state_mut().open(&ctx, path.into());
    step_until(h, "the file opened", |app| {
        !app.is_loading() && app.tabs.iter().any(|t| t.doc.path.ends_with(path))
    });
}

/// Trends over a series whose last snapshot carries allocation stacks (a heap timeline after
/// an earlier snapshot): choosing a growing class draws where its newest object was allocated.
#[test]
fn trends_view_names_where_the_newest_object_was_allocated() {
    let mut h = app_with(&["sample-snapshots/node-leak/baseline.heapsnapshot"]);
    open_and_wait(&mut h, "sample-snapshots/node-timeline/alloc.heaptimeline");
    let last = h
        .state()
        .tabs
        .iter()
        .position(|t| t.doc.path.ends_with("alloc.heaptimeline"))
        .expect("the timeline is open");
    h.state_mut().active = last;
    h.run_steps(2);
    click(&mut h, "Trends");
    step_until(&mut h, "the trend is computed", |app| {
        app.tabs[last]
            .view::<TrendsView>()
            .is_some_and(|v| v.trend().is_some())
    });
    assert!(h.query_by_label_contains("Newest allocated at").is_none());
    let rows: Vec<_> = h.query_all_by_label("Order").collect();
    rows.last().expect("Order is a row").click();
    h.run_steps(2);
    let line = "Newest allocated at: allocateOrders (";
    assert!(h.query_by_label_contains(line).is_some(), "no {line:?}");
    // `function allocateOrders` is on line 23; frames are joined with an ASCII arrow (the
    // default fonts have no arrow glyph).
    let line = "allocateOrders (make-timeline.js:23:24) <- ";
    assert!(h.query_by_label_contains(line).is_some(), "no {line:?}");
}

/// Leaks: baseline and target are picked, then a tab opened before them is closed. Picks made by
/// position (as the view once stored them) would then point one tab off: the target at the
/// final, and past the end of the list, so "Find leaks" panicked. Picks are document ids now:
/// the search runs on the snapshots that were picked.
#[test]
fn leak_picks_survive_closing_another_tab() {
    let dir = "sample-snapshots/node-leak";
    let mut h = app_with(&["sample-snapshots/node-noleak/baseline.heapsnapshot"]);
    for name in ["baseline", "target", "final"] {
        open_and_wait(&mut h, &format!("{dir}/{name}.heapsnapshot"));
    }
    let ids: Vec<_> = h.state().tabs.iter().map(|t| t.doc.id).collect();
    assert_eq!(ids.len(), 4);
    {
        let app = h.state_mut();
        app.active = 3;
        let tab = &mut app.tabs[3];
        assert!(tab.show::<LeaksView>());
        tab.view_mut::<LeaksView>()
            .unwrap()
            .pick(Some(ids[1]), Some(ids[2]));
    }
    h.run_steps(2);
    // The unrelated snapshot's tab closes; the final stays shown.
    h.state_mut().close_tab(0);
    h.run_steps(2);
    assert_eq!(h.state().active, 2);
    assert!(h.state().tabs[2].shows::<LeaksView>());
    h.get_by_label("Find leaks").click();
    step_until(&mut h, "the leak search finished", |app| {
        app.tabs[2].view::<LeaksView>().unwrap().report().is_some()
    });
    let report = h.state().tabs[2]
        .view::<LeaksView>()
        .unwrap()
        .report()
        .unwrap();
    let classes: Vec<&str> = report.clusters.iter().map(|c| c.class.as_str()).collect();
    assert!(
        classes.contains(&"RequestContext"),
        "the node-leak trio leaks RequestContext: {classes:?}"
    );
    // Closing the baseline's tab un-picks it: nothing to search with, and no panic.
    h.state_mut().close_tab(0);
    h.run_steps(2);
    let app = h.state();
    let tab = app.tabs.iter().find(|t| t.doc.id == ids[3]).unwrap();
    assert!(tab.shows::<LeaksView>());
}

/// With a trio open, the final's Comparison compares with the target and its Leaks view has the
/// baseline and target pre-selected, whatever order the files were opened in.
#[test]
fn comparison_and_leaks_preselect_by_the_order_snapshots_were_taken() {
    let dir = "sample-snapshots/node-leak";
    let mut h = app_with(&[&format!("{dir}/final.heapsnapshot")]);
    for name in ["baseline", "target"] {
        open_and_wait(&mut h, &format!("{dir}/{name}.heapsnapshot"));
    }
    let id_of = |app: &HeapsightApp, name: &str| {
        app.tabs
            .iter()
            .find(|t| t.doc.title == format!("{name}.heapsnapshot"))
            .map(|t| t.doc.id)
            .unwrap()
    };
    let (b, t, f) = {
        let app = h.state();
        (
            id_of(app, "baseline"),
            id_of(app, "target"),
            id_of(app, "final"),
        )
    };
    let final_tab = h.state().tabs.iter().position(|x| x.doc.id == f).unwrap();
    h.state_mut().active = final_tab;
    show_comparison(&mut h, final_tab);
    let view = h.state().tabs[final_tab].view::<ComparisonView>().unwrap();
    assert_eq!(view.base(), Some(t));
    h.state_mut().tabs[final_tab].show::<LeaksView>();
    h.run_steps(2);
    let picks = h.state().tabs[final_tab]
        .view::<LeaksView>()
        .unwrap()
        .picks();
    assert_eq!(picks, (Some(b), Some(t)));
    h.get_by_label("Find leaks").click();
    step_until(&mut h, "the leak search finished", |app| {
        app.tabs[final_tab]
            .view::<LeaksView>()
            .unwrap()
            .report()
            .is_some()
    });
}

/// Show tab `tab`'s Comparison view and wait for its comparison (with the snapshot before).
fn show_comparison(h: &mut Harness<'static, HeapsightApp>, tab: usize) {
    h.state_mut().tabs[tab].show::<ComparisonView>();
    step_until(h, "the comparison with the target", |app| {
        app.tabs[tab]
            .view::<ComparisonView>()
            .unwrap()
            .diff()
            .is_some()
    });
}

/// Opens `dir`'s baseline, target and final (`{name}.{ext}`), runs the Leaks view's search on
/// the last tab and hands back the app and the report.
fn leaks_view_report(dir: &str, ext: &str) -> (Harness<'static, HeapsightApp>, LeakReport) {
    let mut h = app_with(&[&format!("{dir}/baseline.{ext}")]);
    for name in ["target", "final"] {
        open_and_wait(&mut h, &format!("{dir}/{name}.{ext}"));
    }
    let last = h.state().tabs.len() - 1;
    assert_eq!(h.state().tabs[last].doc.title, format!("final.{ext}"));
    h.state_mut().active = last;
    h.state_mut().tabs[last].show::<LeaksView>();
    h.run_steps(2);
    h.get_by_label("Find leaks").click();
    step_until(&mut h, "the leak search finished", |app| {
        app.tabs[last]
            .view::<LeaksView>()
            .unwrap()
            .report()
            .is_some()
    });
    let report = h.state().tabs[last]
        .view::<LeaksView>()
        .unwrap()
        .report()
        .unwrap()
        .clone();
    (h, report)
}

/// A clean run: the Leaks view finds no cluster and lists the runtime's one-time allocations
/// apart, under their own heading.
#[test]
fn leaks_view_lists_one_time_allocations_apart() {
    let (h, report) = leaks_view_report("sample-snapshots/node-lazy-clean", "heapsnapshot");
    assert!(report.clusters.is_empty());
    let groups = report.one_time_allocations.len();
    assert!(groups > 0);
    h.get_by_label(&format!(
        "One-time allocations (not counted): {groups} group(s)"
    ));
}

/// Bun's trio (objects numbered afresh in every snapshot): the Leaks view says leaks cannot be
/// detected instead of "No leaks found.", and the Comparison view warns about its counts.
#[test]
fn leaks_and_comparison_views_say_bun_snapshots_cannot_be_matched() {
    let (mut h, report) = leaks_view_report("sample-snapshots/bun-leak", "heapsnapshot.gz");
    assert!(!report.ids_kept);
    h.run_steps(2);
    h.get_by_label(&heapsight::report::leaks::headline(&report));
    assert!(h.query_by_label("No leaks found.").is_none());
    let last = h.state().tabs.len() - 1;
    show_comparison(&mut h, last);
    h.run_steps(2);
    let warning = heapsight::analysis::diff::ids_not_kept_message(&[
        "target.heapsnapshot.gz",
        "final.heapsnapshot.gz",
    ]);
    h.get_by_label(&warning);
}

/// An HTTP service measured right after its last request: no cluster, and the last request's
/// leftovers listed apart as replaced values.
#[test]
fn leaks_view_lists_replaced_values_apart() {
    let (h, report) = leaks_view_report("sample-snapshots/node-http-clean", "heapsnapshot.gz");
    assert!(report.clusters.is_empty());
    let groups = report.replaced_values.len();
    assert!(groups > 0);
    h.get_by_label(&format!("Replaced values (not counted): {groups} group(s)"));
}

/// The Memory view on the WASM training sample: the parts add up to the total, the WebAssembly
/// memory is 5 pages, and clicking the biggest buffer holder selects it for the Retainers panel.
#[test]
fn memory_view_maps_wasm_and_selects_a_buffer_holder() {
    let mut h = app_with(&["sample-snapshots/node-wasm/step3.heapsnapshot"]);
    h.get_by_label("Memory").click();
    step_until(&mut h, "the memory map", |app| {
        app.tabs[0]
            .view::<MemoryView>()
            .is_some_and(|v| v.map().is_some())
    });
    let (total, wasm, holder) = {
        let map = h.state().tabs[0]
            .view::<MemoryView>()
            .unwrap()
            .map()
            .unwrap();
        let sum: u64 = map.parts.iter().map(|p| p.bytes).sum();
        assert_eq!(sum, map.total);
        assert_eq!(map.total, h.state().tabs[0].doc.total_size());
        let holder = &map.buffer_holders[0];
        (
            map.total,
            map.wasm_memories[0].bytes,
            (format!("{} @{}", holder.class, holder.id), holder.node),
        )
    };
    // The row names where the holder sits too: the Map under ActivationCache.entries.
    let label = format!("{}  (ActivationCache.entries)", holder.0);
    let holder = (label, holder.1);
    assert!(total > 0);
    assert_eq!(wasm, 5 * 65_536);
    h.get_by_label(&holder.0).click();
    h.run_steps(2);
    assert_eq!(h.state().tabs[0].selection.node, Some(holder.1));

    // The pool shows as a pool, the wrappers by class with live and freed.
    h.get_by_label_contains("pool of 3 × 128 KiB");
    h.get_by_label("WasmTensor × 30 (__wbg_ptr): 24 live, 6 freed, 0 unknown");
    let registry = {
        let map = h.state().tabs[0]
            .view::<MemoryView>()
            .unwrap()
            .map()
            .unwrap();
        let w = &map.wasm_wrappers.classes[0].holders[0];
        (
            format!("30 held by {} @{} .registry", w.class, w.id),
            w.node,
        )
    };
    h.get_by_label(&registry.0).click();
    h.run_steps(2);
    assert_eq!(h.state().tabs[0].selection.node, Some(registry.1));

    // The table sorts by buffer count when its header is clicked (the cache's 12 first).
    h.get_by_label("Buffers").click();
    h.run_steps(2);
    let view = h.state().tabs[0].view::<MemoryView>().unwrap();
    assert_eq!(view.holder_sort(), HolderSort::Count);
    let map = h.state().tabs[0]
        .view::<MemoryView>()
        .unwrap()
        .map()
        .unwrap();
    let counts: Vec<u64> = map.buffer_holders.iter().map(|b| b.count).collect();
    assert_eq!(counts, [12, 3]);
}

/// Trends: three steps of the trend scenario open, the last one's Trends view computes the trend
/// over all three in the background; choosing the growing class lists its newest objects, and
/// clicking one selects it (the Retainers panel shows its path).
#[test]
fn trends_view_plots_three_snapshots_and_selects_a_newest_object() {
    let dir = "sample-snapshots/node-trend";
    let mut h = app_with(&[&format!("{dir}/step1.heapsnapshot.gz")]);
    for step in ["step2", "step3"] {
        open_and_wait(&mut h, &format!("{dir}/{step}.heapsnapshot.gz"));
    }
    assert_eq!(h.state().tabs.len(), 3);
    let last = h
        .state()
        .tabs
        .iter()
        .position(|t| t.doc.path.ends_with("step3.heapsnapshot.gz"))
        .expect("step 3 open");
    h.state_mut().active = last;
    h.run_steps(2);
    click(&mut h, "Trends");
    assert!(h.state().tabs[last].shows::<TrendsView>());
    step_until(&mut h, "the trend is computed", |app| {
        app.tabs[last]
            .view::<TrendsView>()
            .is_some_and(|v| v.trend().is_some())
    });
    let t = h.state().tabs[last]
        .view::<TrendsView>()
        .and_then(TrendsView::trend)
        .expect("a trend")
        .clone();
    assert_eq!(t.snapshots.len(), 3);
    assert!(h.query_by_label("Log scale").is_some());
    // The series table: the growing class is a row (the plot's legend may name it too).
    let rows: Vec<_> = h.query_all_by_label("GrowingItem").collect();
    assert!(!rows.is_empty(), "GrowingItem is listed");
    rows.last().expect("a row").click();
    h.run_steps(2);
    let newest = h
        .query_all_by_label_contains("GrowingItem @")
        .next()
        .expect("newest GrowingItems are listed")
        .accesskit_node()
        .label()
        .unwrap_or_default();
    click(&mut h, &newest);
    let tab = &h.state().tabs[last];
    let n = tab.selection.node.expect("a node is selected");
    assert_eq!(tab.doc.data.class_name(n), "GrowingItem");
    let id = tab.doc.data.graph().id(n);
    assert!(newest.contains(&format!("@{id} ")), "{newest}");
}

/// Files opened together keep the order given, whichever finishes loading first, and the last
/// one given is shown (its Trends view then covers the series): a big file first, small ones
/// after it.
#[test]
fn files_opened_together_keep_their_order_and_show_the_last() {
    let dir = "sample-snapshots/node-trend";
    let files = [
        SAMPLE.to_string(),
        format!("{dir}/step1.heapsnapshot.gz"),
        format!("{dir}/step2.heapsnapshot.gz"),
        format!("{dir}/step3.heapsnapshot.gz"),
    ];
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let h = app_with(&refs);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    let open: Vec<&std::path::Path> = h
        .state()
        .tabs
        .iter()
        .map(|t| t.doc.path.as_path())
        .collect();
    let given: Vec<&std::path::Path> = files.iter().map(std::path::Path::new).collect();
    assert_eq!(open, given);
    assert_eq!(h.state().active, 3);
}
