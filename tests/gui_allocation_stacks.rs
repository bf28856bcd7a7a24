//! The Allocation stacks view driven like a user drives it (egui_kittest): open the Node heap
//! timeline, switch to the view, look at the call tree, the flame graph and the timeline, pick
//! a time range; the Retainers panel names where a selected object was allocated.
#![cfg(feature = "gui")]

mod gui_common;

use egui_kittest::kittest::Queryable;
use gui_common::{app_with, step_until};
use heapsight::gui::views::allocation_stacks::AllocationStacksView;
use heapsight::gui::views::summary::SummaryView;
use heapsight::gui::{render_export, ExportKind, HeapsightApp};

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
    step_until(
        &mut h,
        "the classes of the whole timeline are counted",
        |app| {
            app.tabs[0]
                .view::<AllocationStacksView>()
                .is_some_and(|v| v.range_classes().is_some())
        },
    );
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
    step_until(&mut h, "the classes of interval 3 are counted", |app| {
        let v = app.tabs[0].view::<AllocationStacksView>().unwrap();
        v.range_classes()
            .is_some_and(|rows| rows.iter().any(|r| r.name == "Order" && r.count == 500))
    });
    // The interval round 2 ran in (see tests/allocation_stacks.rs), shared with the tab.
    assert_eq!(orders(&classes(&h)), 500);
    let chosen = h.state().tabs[0].selection.allocated.expect("a range");
    assert_eq!((chosen.first, chosen.last), (3, 3));
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

/// DevTools' Allocation timeline: dragging over the timeline chart chooses a time range, the
/// Summary then shows only the objects allocated in it under a banner, and Clear brings back
/// every class.
#[test]
fn a_range_dragged_on_the_timeline_filters_the_summary() {
    let mut h = app_with(&[TIMELINE]);
    h.get_by_label("Allocation stacks").click();
    h.run_steps(2);
    h.get_by_label("Timeline").click();
    h.run_steps(2);
    step_until(&mut h, "the chart is drawn", |app| {
        view(app).chart_point(0.0).is_some() && view(app).range_classes().is_some()
    });
    // Drag across the middle of interval 3 (between samples 2 and 3: round 2's Orders).
    let secs: Vec<f64> = {
        let doc = &h.state().tabs[0].doc;
        let t = &doc.allocation_stacks().unwrap().timeline;
        t.timestamps_us.iter().map(|&us| us as f64 / 1e6).collect()
    };
    let at = |f: f64| secs[2] + (secs[3] - secs[2]) * f;
    let from = view(h.state()).chart_point(at(0.2)).unwrap();
    let to = view(h.state()).chart_point(at(0.8)).unwrap();
    assert!(
        to.x - from.x > 10.0,
        "interval 3 is {} points wide",
        to.x - from.x
    );
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for k in 1..=4 {
        h.hover_at(from + (to - from) * (k as f32 / 4.0));
        h.step();
    }
    h.drop_at(to);
    h.run_steps(2);
    let chosen = h.state().tabs[0]
        .selection
        .allocated
        .expect("a range was dragged");
    assert_eq!((chosen.first, chosen.last), (3, 3));
    assert_eq!(view(h.state()).range(), Some((3, 3)));

    // The Summary follows the tab's range.
    h.get_by_label("Summary").click();
    h.run_steps(2);
    assert!(h.state().tabs[0].shows::<SummaryView>());
    step_until(&mut h, "the Summary of the range is counted", |app| {
        app.tabs[0]
            .view::<SummaryView>()
            .is_some_and(|v| v.time_range().is_some())
    });
    let all = h.state().tabs[0].doc.summary().classes.len();
    let objects: u64 = h.state().tabs[0]
        .doc
        .summary()
        .classes
        .iter()
        .map(|c| c.count)
        .sum();
    let (shown, orders, in_range) = {
        let tab = &h.state().tabs[0];
        let v = tab.view::<SummaryView>().unwrap();
        let classes = v.classes(&tab.doc);
        let orders = classes.iter().find(|c| c.name == "Order").map(|c| c.count);
        let in_range: u64 = classes.iter().map(|c| c.count).sum();
        (v.shown_classes().len(), orders, in_range)
    };
    assert!(shown < all, "{shown} of {all} classes shown");
    assert_eq!(orders, Some(500));
    let banner = format!(
        "Allocated between {:.3} s and {:.3} s \u{2014} {} objects of {}",
        secs[2],
        secs[3],
        heapsight::gui::format::group_digits(in_range),
        heapsight::gui::format::group_digits(objects)
    );
    assert!(h.query_by_label(&banner).is_some(), "no banner {banner:?}");
    assert!(h.query_by_label("Order").is_some());
    // File → Export → class table writes the table shown: the range's classes.
    let docs = vec![h.state().tabs[0].doc.clone()];
    let csv = render_export(ExportKind::SummaryCsv, &docs, 0, Some(chosen)).expect("a CSV");
    assert_eq!(
        csv.lines().count(),
        shown + 1,
        "a header and the shown rows"
    );
    assert!(csv.lines().any(|l| l.starts_with("Order,500,")), "{csv}");
    let whole = render_export(ExportKind::SummaryCsv, &docs, 0, None).expect("a CSV");
    assert_eq!(whole.lines().count(), all + 1);

    h.get_by_label("Clear").click();
    h.run_steps(2);
    assert_eq!(h.state().tabs[0].selection.allocated, None);
    assert!(h.query_by_label_contains("Allocated between").is_none());
    let v = h.state().tabs[0].view::<SummaryView>().unwrap();
    assert_eq!(v.time_range(), None);
    assert_eq!(v.shown_classes().len(), all);
    // Back on the timeline, the whole time is chosen again.
    h.get_by_label("Allocation stacks").click();
    h.run_steps(2);
    assert_eq!(view(h.state()).range(), Some((0, secs.len() - 1)));

    // Searching for a class none of whose objects was allocated in the range shows every
    // object again, with the class revealed.
    h.state_mut().tabs[0].selection.allocated = Some(chosen);
    h.get_by_label("Summary").click();
    step_until(&mut h, "the range is counted again", |app| {
        app.tabs[0]
            .view::<SummaryView>()
            .is_some_and(|v| v.time_range().is_some())
    });
    let (outside, index) = {
        let tab = &h.state().tabs[0];
        let shown = tab.view::<SummaryView>().unwrap().classes(&tab.doc);
        let all = &tab.doc.summary().classes;
        let (i, row) = all
            .iter()
            .enumerate()
            .find(|(_, c)| !shown.iter().any(|s| s.class_id == c.class_id))
            .expect("a class outside the range");
        (row.class_id, i)
    };
    h.state_mut().tabs[0]
        .view_mut::<SummaryView>()
        .unwrap()
        .reveal_class(outside);
    h.run_steps(3);
    assert_eq!(h.state().tabs[0].selection.allocated, None);
    let v = h.state().tabs[0].view::<SummaryView>().unwrap();
    assert_eq!(v.time_range(), None);
    assert!(v.is_expanded(index as u32), "the class is revealed");
}

fn view(app: &HeapsightApp) -> &AllocationStacksView {
    app.tabs[0].view::<AllocationStacksView>().unwrap()
}
