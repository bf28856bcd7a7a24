//! The Summary and Statistics views driven like a user drives them (egui_kittest): the class
//! table, its sorting and filter, instance lists and the keyboard.
#![cfg(feature = "gui")]

mod gui_common;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use gui_common::{app_with, step_until, SAMPLE};
use heapsight::gui::views::statistics::StatisticsView;
use heapsight::gui::views::summary::SortColumn;
use heapsight::gui::views::summary::SummaryView;
use heapsight::gui::{egui, HeapsightApp};

/// Index of the class named `name` in the tab's summary.
fn class_index(h: &Harness<'static, HeapsightApp>, name: &str) -> u32 {
    h.state().tabs[0]
        .doc
        .summary()
        .classes
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no class {name}")) as u32
}

/// The drawn instance rows of `RequestContext` (the status bar also names the selection, so
/// match the start of the label).
fn instance_rows<'h>(
    h: &'h Harness<'static, HeapsightApp>,
) -> impl Iterator<Item = egui_kittest::Node<'h>> {
    h.get_all_by_label_contains("RequestContext @")
        .filter(|n| n.value().is_some_and(|v| v.starts_with("RequestContext @")))
}

/// The topmost label reading exactly `label` (the class table is above the retainers panel).
fn topmost<'h>(h: &'h Harness<'static, HeapsightApp>, label: &'h str) -> egui_kittest::Node<'h> {
    h.get_all_by_label(label)
        .min_by(|a, b| a.rect().center().y.total_cmp(&b.rect().center().y))
        .unwrap_or_else(|| panic!("no label {label}"))
}

/// Click the (empty) filter field and type `text`.
fn type_filter(h: &mut Harness<'static, HeapsightApp>, text: &str) {
    let field = h.get_by(|n| n.placeholder() == Some("Filter classes"));
    field.click();
    h.run_steps(1);
    h.get_by(|n| n.placeholder() == Some("Filter classes"))
        .type_text(text);
    h.run_steps(3);
}

#[test]
fn summary_shows_request_context_with_its_count() {
    let h = app_with(&[SAMPLE]);
    assert!(h.state().tabs[0].shows::<SummaryView>());
    let name = h.get_by_label("RequestContext");
    // The count cell is on the same row as the name.
    let y = name.rect().center().y;
    let count = h
        .get_all_by_label("1\u{2009}000")
        .find(|n| (n.rect().center().y - y).abs() < 2.0);
    assert!(count.is_some(), "no count 1 000 on RequestContext's row");
    let i = class_index(&h, "RequestContext");
    assert_eq!(
        h.state().tabs[0].doc.summary().classes[i as usize].count,
        1000
    );
}

#[test]
fn clicking_a_class_lists_its_instances_and_clicking_one_selects_it() {
    let mut h = app_with(&[SAMPLE]);
    let i = class_index(&h, "RequestContext");
    h.get_by_label("RequestContext").click();
    h.run_steps(1);
    assert!(h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .is_expanded(i));
    step_until(&mut h, "the instances are listed", |app| {
        app.tabs[0]
            .view::<SummaryView>()
            .unwrap()
            .instances(i)
            .is_some()
    });

    let tab = &h.state().tabs[0];
    let list = tab.view::<SummaryView>().unwrap().instances(i).unwrap();
    assert_eq!(list.total, 1000);
    assert_eq!(list.nodes.len(), 1000);
    let a = &tab.doc.data.analysis;
    assert!(list
        .nodes
        .windows(2)
        .all(|w| a.retained_size(w[0]) >= a.retained_size(w[1])));

    // Instance rows are drawn as `RequestContext @id` below the class.
    let class_y = topmost(&h, "RequestContext").rect().center().y;
    let rows: Vec<_> = instance_rows(&h).collect();
    assert!(!rows.is_empty(), "no instance rows drawn");
    assert!(rows.iter().all(|n| n.rect().center().y > class_y));
    let first = rows
        .iter()
        .min_by(|a, b| a.rect().center().y.total_cmp(&b.rect().center().y))
        .unwrap();
    let label = first.value().unwrap_or_default();
    first.click();
    h.run_steps(2);

    let tab = &h.state().tabs[0];
    let n = tab.selection.node.expect("an instance is selected");
    assert_eq!(tab.doc.data.class_name(n), "RequestContext");
    assert_eq!(
        n,
        tab.view::<SummaryView>()
            .unwrap()
            .instances(i)
            .unwrap()
            .nodes[0]
    );
    assert!(label.ends_with(&format!("@{}", tab.doc.data.graph().id(n))));

    // Clicking the class again collapses it: the next class is drawn right below it. (The
    // retainers panel below the table now names the selection too, so take the topmost label.)
    topmost(&h, "RequestContext").click();
    h.run_steps(2);
    let tab = &h.state().tabs[0];
    assert!(!tab.view::<SummaryView>().unwrap().is_expanded(i));
    let shown = tab.view::<SummaryView>().unwrap().shown_classes();
    let pos = shown.iter().position(|&c| c == i).unwrap();
    let next = tab.doc.summary().classes[shown[pos + 1] as usize]
        .name
        .clone();
    let gap =
        topmost(&h, &next).rect().center().y - topmost(&h, "RequestContext").rect().center().y;
    // One row is about 20 points; expanded, 1000 instance rows would sit in between.
    assert!(
        gap > 0.0 && gap < 40.0,
        "{next} is {gap} below RequestContext"
    );
}

#[test]
fn sorting_by_count_puts_the_highest_count_first() {
    let mut h = app_with(&[SAMPLE]);
    h.get_by_label("Count").click();
    h.run_steps(2);
    let sort = h.state().tabs[0].view::<SummaryView>().unwrap().sort();
    assert_eq!(sort.column, SortColumn::Count);
    assert!(sort.descending);
    let tab = &h.state().tabs[0];
    let classes = &tab.doc.summary().classes;
    let shown = tab.view::<SummaryView>().unwrap().shown_classes();
    let max = classes.iter().map(|c| c.count).max().unwrap();
    assert_eq!(classes[shown[0] as usize].count, max);
    assert!(shown
        .windows(2)
        .all(|w| classes[w[0] as usize].count >= classes[w[1] as usize].count));
    // The first row drawn is that class.
    let top = classes[shown[0] as usize].name.clone();
    let second = classes[shown[1] as usize].name.clone();
    assert!(
        h.get_by_label(&top).rect().center().y < h.get_by_label(&second).rect().center().y,
        "{top} is not drawn above {second}"
    );

    // A second click sorts the other way.
    h.get_by_label("Count").click();
    h.run_steps(2);
    let tab = &h.state().tabs[0];
    assert!(!tab.view::<SummaryView>().unwrap().sort().descending);
    let classes = &tab.doc.summary().classes;
    let min = classes.iter().map(|c| c.count).min().unwrap();
    assert_eq!(
        classes[tab.view::<SummaryView>().unwrap().shown_classes()[0] as usize].count,
        min
    );
}

#[test]
fn sorting_by_constructor_is_alphabetical_ignoring_case() {
    let mut h = app_with(&[SAMPLE]);
    h.get_by_label("Constructor").click();
    h.run_steps(2);
    let tab = &h.state().tabs[0];
    assert_eq!(
        tab.view::<SummaryView>().unwrap().sort().column,
        SortColumn::Constructor
    );
    assert!(!tab.view::<SummaryView>().unwrap().sort().descending);
    let names: Vec<String> = tab
        .view::<SummaryView>()
        .unwrap()
        .shown_classes()
        .iter()
        .map(|&c| tab.doc.summary().classes[c as usize].name.to_lowercase())
        .collect();
    assert_eq!(names.len(), tab.doc.summary().classes.len());
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
}

#[test]
fn filter_keeps_matching_classes() {
    let mut h = app_with(&[SAMPLE]);
    assert!(h.query_by_label("Function").is_some());
    type_filter(&mut h, "Request");
    let tab = &h.state().tabs[0];
    assert_eq!(tab.view::<SummaryView>().unwrap().filter(), "Request");
    let shown = tab.view::<SummaryView>().unwrap().shown_classes();
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|&c| tab.doc.summary().classes[c as usize]
        .name
        .to_lowercase()
        .contains("request")));
    h.get_by_label("RequestContext");
    assert!(h.query_by_label("Function").is_none());
    assert!(h.query_by_label_contains(" classes").is_some());

    // Clear, then a filter nothing matches: the table is empty and says so.
    h.get_by_label("Clear").click();
    h.run_steps(2);
    assert_eq!(
        h.state().tabs[0].view::<SummaryView>().unwrap().filter(),
        ""
    );
    assert!(h.query_by_label("Function").is_some());
    type_filter(&mut h, "zzz-no-such-class");
    assert!(h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .shown_classes()
        .is_empty());
    assert!(h
        .query_by_label_contains("No class name contains")
        .is_some());
}

#[test]
fn reveal_class_clears_a_hiding_filter_and_expands_the_class() {
    let mut h = app_with(&[SAMPLE]);
    type_filter(&mut h, "LeakedPayload");
    assert!(h.query_by_label("RequestContext").is_none());
    let i = class_index(&h, "RequestContext");
    let class_id = h.state().tabs[0].doc.summary().classes[i as usize].class_id;
    h.state_mut().tabs[0]
        .view_mut::<SummaryView>()
        .unwrap()
        .reveal_class(class_id);
    h.run_steps(2);
    assert_eq!(
        h.state().tabs[0].view::<SummaryView>().unwrap().filter(),
        ""
    );
    assert!(h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .is_expanded(i));
    h.get_by_label("RequestContext");
    step_until(&mut h, "the instances are listed", |app| {
        app.tabs[0]
            .view::<SummaryView>()
            .unwrap()
            .instances(i)
            .is_some()
    });
}

#[test]
fn reveal_scrolls_a_far_class_into_view() {
    let mut h = app_with(&[SAMPLE]);
    let tab = &h.state().tabs[0];
    let last = tab.doc.summary().classes.last().unwrap();
    let (name, class_id) = (last.name.clone(), last.class_id);
    assert!(
        h.query_by_label(&name).is_none(),
        "{name} should start off screen"
    );
    h.state_mut().tabs[0]
        .view_mut::<SummaryView>()
        .unwrap()
        .reveal_class(class_id);
    h.run_steps(4);
    h.get_by_label(&name);
}

#[test]
fn keyboard_moves_expands_and_collapses() {
    let mut h = app_with(&[SAMPLE]);
    let i = class_index(&h, "RequestContext");
    h.get_by_label("RequestContext").click();
    step_until(&mut h, "the instances are listed", |app| {
        app.tabs[0]
            .view::<SummaryView>()
            .unwrap()
            .instances(i)
            .is_some()
    });
    assert!(h.state().tabs[0].selection.node.is_none());

    // Down: onto the first instance, which becomes the selection.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    let first = h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .instances(i)
        .unwrap()
        .nodes[0];
    assert_eq!(h.state().tabs[0].selection.node, Some(first));
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    let second = h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .instances(i)
        .unwrap()
        .nodes[1];
    assert_eq!(h.state().tabs[0].selection.node, Some(second));

    // Left: back to the class; Left again: collapse; Right: expand.
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(2);
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(2);
    assert!(!h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .is_expanded(i));
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert!(h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .is_expanded(i));

    // Up from the class: the class above it.
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(1);
    h.key_press(egui::Key::ArrowUp);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    let tab = &h.state().tabs[0];
    let pos = tab
        .view::<SummaryView>()
        .unwrap()
        .shown_classes()
        .iter()
        .position(|&c| c == i)
        .unwrap();
    let above = tab.view::<SummaryView>().unwrap().shown_classes()[pos - 1];
    assert!(tab.view::<SummaryView>().unwrap().is_expanded(above));
}

#[test]
fn down_from_the_filter_moves_into_the_table() {
    let mut h = app_with(&[SAMPLE]);
    type_filter(&mut h, "RequestContext");
    let i = class_index(&h, "RequestContext");
    assert_eq!(
        h.state().tabs[0]
            .view::<SummaryView>()
            .unwrap()
            .shown_classes(),
        &[i]
    );
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert!(h.state().tabs[0]
        .view::<SummaryView>()
        .unwrap()
        .is_expanded(i));
    assert_eq!(
        h.state().tabs[0].view::<SummaryView>().unwrap().filter(),
        "RequestContext"
    );
}

#[test]
fn statistics_view_shows_categories_and_top_classes() {
    let mut h = app_with(&[SAMPLE]);
    h.get_by_label("Statistics").click();
    h.run_steps(2);
    assert!(h.state().tabs[0].shows::<StatisticsView>());
    for label in [
        "Code",
        "Strings",
        "JS arrays",
        "Typed arrays",
        "System objects",
        "Other JS objects",
        "Other native",
        "Total",
        "Largest classes by retained size",
    ] {
        assert!(h.query_by_label(label).is_some(), "no {label}");
    }
    let tab = &h.state().tabs[0];
    let top = tab.doc.summary().classes[0].name.clone();
    let total = heapsight::gui::format::human_bytes(tab.doc.statistics().total);
    h.get_by_label(&top);
    assert!(h.query_all_by_label(&total).count() >= 1);
}
