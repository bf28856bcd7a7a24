//! The app driven like a user drives it (egui_kittest): open a sample, switch views, select.
#![cfg(feature = "gui")]

mod gui_common;

use egui_kittest::kittest::Queryable;
use gui_common::{app_with, SAMPLE};
use heapsight::gui::ViewKind;

#[test]
fn opens_a_sample_and_switches_views() {
    let mut h = app_with(&[SAMPLE]);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().tabs.len(), 1);
    for v in ViewKind::for_file(false) {
        h.get_by_label(v.label()).click();
        h.run_steps(2);
        assert_eq!(h.state().tabs[0].view, v);
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
    assert_eq!(h.state().tabs[0].view, ViewKind::Allocations);
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
}
