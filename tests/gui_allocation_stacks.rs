//! The Allocation stacks view driven like a user drives it (egui_kittest): open the Node heap
//! timeline, switch to the view, look at the call tree, the flame graph and the timeline, pick
//! a time range; the Retainers panel names where a selected object was allocated.
#![cfg(feature = "gui")]

mod gui_common;

use egui_kittest::kittest::Queryable;
use gui_common::app_with;
use heapsight::gui::views::allocation_stacks::AllocationStacksView;

const TIMELINE: &str = "sample-snapshots/node-timeline/alloc.heaptimeline";

#[test]
fn the_timeline_opens_into_its_allocation_stacks() {
    let mut h = app_with(&[TIMELINE]);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(h.state().tabs[0].titles().contains(&"Allocation stacks"));
    h.get_by_label("Allocation stacks").click();
    h.run_steps(2);
    assert!(h.state().tabs[0].shows::<AllocationStacksView>());
    assert!(h
        .query_by_label_contains("10\u{2009}357 live objects with an allocation stack")
        .is_some());
    // The call tree, bottom-up by live size: allocateOrders on top.
    h.get_by_label("Bottom-up (allocating functions first)")
        .click();
    h.run_steps(2);
    assert!(h.query_by_label("allocateOrders").is_some());
    assert!(h.query_by_label("Live size").is_some());
    assert!(h.query_by_label("Live count").is_some());
    h.get_by_label("Flame graph").click();
    h.run_steps(2);
    h.get_by_label("Timeline").click();
    h.run_steps(2);
    // The whole tracked time is chosen at first: every live Order is in it.
    let classes = |h: &egui_kittest::Harness<'static, heapsight::gui::HeapsightApp>| {
        h.state().tabs[0]
            .view::<AllocationStacksView>()
            .unwrap()
            .range_classes()
            .map(|rows| rows.to_vec())
            .unwrap_or_default()
    };
    let orders = |rows: &[heapsight::analysis::allocation_stacks::RangeClassRow]| {
        rows.iter()
            .find(|r| r.name == "Order")
            .map_or(0, |r| r.count)
    };
    assert_eq!(
        h.state().tabs[0]
            .view::<AllocationStacksView>()
            .unwrap()
            .range(),
        Some((0, 10))
    );
    assert_eq!(orders(&classes(&h)), 2500);
    // One interval: fewer Orders, and the table follows.
    h.state_mut().tabs[0]
        .view_mut::<AllocationStacksView>()
        .unwrap()
        .set_range(3, 3);
    h.run_steps(2);
    // The interval round 2 ran in (see tests/allocation_stacks.rs).
    assert_eq!(orders(&classes(&h)), 500);
    assert!(h.query_by_label("Class").is_some());
}

#[test]
fn the_retainers_panel_names_where_an_object_was_allocated() {
    let mut h = app_with(&[TIMELINE]);
    let n = {
        let doc = &h.state().tabs[0].doc;
        let s = &doc.data;
        (0..s.graph().node_count() as u32)
            .find(|&n| s.class_name(n) == "Order")
            .unwrap()
    };
    h.state_mut().tabs[0].selection.node = Some(n);
    h.run_steps(3);
    assert!(h
        .query_by_label_contains("allocated in allocateOrders")
        .is_some());
}
