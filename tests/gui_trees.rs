//! The tree views driven like a user drives them (egui_kittest): the dominator tree, containment
//! and the retainers panel, by clicks and keys; plus the shared tree's paging and edge names.
#![cfg(feature = "gui")]

mod gui_common;

use std::sync::Arc;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use gui_common::{app_with, step_until, SAMPLE};
use heapsight::gui::views::containment::ContainmentSource;
use heapsight::gui::views::containment::ContainmentView;
use heapsight::gui::views::dominators::DominatorsView;
use heapsight::gui::views::retainers::RetainerSource;
use heapsight::gui::views::tree::{self, Child, Children, TreeSource, TreeTable, PAGE};
use heapsight::gui::{egui, HeapsightApp};
use heapsight::model::{EdgeKind, GraphBuilder, NodeIx, NodeKind};
use heapsight::store::Document;

fn snap(h: &Harness<'static, HeapsightApp>) -> Arc<Document> {
    h.state().tabs[0].doc.clone()
}

/// Open the sample on the dominator tree, ready to use.
fn dominator_view() -> Harness<'static, HeapsightApp> {
    let mut h = app_with(&[SAMPLE]);
    h.get_by_label("Dominators").click();
    h.run_steps(2);
    assert!(h.state().tabs[0].shows::<DominatorsView>());
    step_until(&mut h, "the dominator tree shows", |app| {
        !app.tabs[0]
            .view::<DominatorsView>()
            .unwrap()
            .tree()
            .rows()
            .is_empty()
    });
    h
}

/// The dominated child of the root whose class is `global`.
fn global(snap: &Document) -> NodeIx {
    let root = snap.data.graph().root();
    snap.data
        .analysis
        .dominators
        .sorted_children(root)
        .into_iter()
        .find(|&n| snap.data.class_name(n) == "global")
        .expect("the root dominates global")
}

/// The first `RequestContext` object (one of the 1000 leaked).
fn request_context(snap: &Document) -> NodeIx {
    let g = snap.data.graph();
    (0..g.node_count() as NodeIx)
        .find(|&n| g.kind(n) == NodeKind::Object && snap.data.class_name(n) == "RequestContext")
        .expect("a RequestContext")
}

#[test]
fn dominator_tree_expands_by_clicking_toggles() {
    let mut h = dominator_view();
    let s = snap(&h);
    let root = s.data.graph().root();
    let global = global(&s);
    let rows = h.state().tabs[0]
        .view::<DominatorsView>()
        .unwrap()
        .tree()
        .rows();
    assert_eq!(rows[0].child.node, root);
    assert!(rows[0].expanded, "the root starts expanded");
    assert_eq!(
        rows[1].child.node, global,
        "global retains most and comes first"
    );

    // The root's children are drawn; global's toggle expands it.
    let global_text = tree::row_text(&s, &Child::node(global), "");
    h.get_by_label(&global_text);
    h.get_by_label(&format!("Expand {global_text}")).click();
    h.run_steps(2);
    let kids = s.data.analysis.dominators.sorted_children(global);
    let first = tree::row_text(&s, &Child::node(kids[0]), "");
    h.get_by_label(&first);
    let rows = h.state().tabs[0]
        .view::<DominatorsView>()
        .unwrap()
        .tree()
        .rows();
    assert!(rows[1].expanded);
    assert_eq!(rows[2].child.node, kids[0]);
    assert_eq!(rows[2].depth, 2);

    // Collapsing removes them again.
    h.get_by_label(&format!("Collapse {global_text}")).click();
    h.run_steps(2);
    assert!(h.query_by_label(&first).is_none());
    assert!(
        !h.state().tabs[0]
            .view::<DominatorsView>()
            .unwrap()
            .tree()
            .rows()[1]
            .expanded
    );
}

#[test]
fn dominator_tree_keyboard_moves_selection_and_expands() {
    let mut h = dominator_view();
    let s = snap(&h);
    let root = s.data.graph().root();
    let global = global(&s);
    let first_of_global = s.data.analysis.dominators.sorted_children(global)[0];

    h.get_by_label(&tree::row_text(&s, &Child::node(root), ""))
        .click();
    h.run_steps(2);
    assert_eq!(h.state().tabs[0].selection.node, Some(root));

    let press = |h: &mut Harness<'static, HeapsightApp>, key| {
        h.key_press(key);
        h.run_steps(2);
    };
    press(&mut h, egui::Key::ArrowDown);
    assert_eq!(h.state().tabs[0].selection.node, Some(global));
    press(&mut h, egui::Key::ArrowRight);
    assert!(
        h.state().tabs[0]
            .view::<DominatorsView>()
            .unwrap()
            .tree()
            .rows()[1]
            .expanded
    );
    assert_eq!(h.state().tabs[0].selection.node, Some(global));
    press(&mut h, egui::Key::ArrowRight);
    assert_eq!(h.state().tabs[0].selection.node, Some(first_of_global));
    press(&mut h, egui::Key::ArrowLeft);
    assert_eq!(h.state().tabs[0].selection.node, Some(global));
    press(&mut h, egui::Key::ArrowLeft);
    assert!(
        !h.state().tabs[0]
            .view::<DominatorsView>()
            .unwrap()
            .tree()
            .rows()[1]
            .expanded
    );
    press(&mut h, egui::Key::ArrowUp);
    assert_eq!(h.state().tabs[0].selection.node, Some(root));
}

#[test]
fn retainers_panel_shows_the_path_to_the_gc_roots() {
    let mut h = app_with(&[SAMPLE]);
    h.get_by_label("Select an object to see what keeps it alive");
    let s = snap(&h);
    let g = s.data.graph();
    let n = request_context(&s);
    h.state_mut().tabs[0].selection.node = Some(n);
    step_until(&mut h, "the paths are found", |app| {
        let panel = &app.tabs[0].retainers;
        panel.target() == Some(n) && !panel.busy()
    });

    let panel = &h.state().tabs[0].retainers;
    assert_eq!(panel.target(), Some(n));
    let rows = panel.tree().rows();
    // The shortest path is expanded: it goes through the Map up to (GC roots).
    let map_row = rows
        .iter()
        .position(|r| s.data.class_name(r.child.node) == "Map")
        .expect("a Map on the path");
    let roots_row = rows
        .iter()
        .position(|r| g.name(r.child.node) == "(GC roots)")
        .expect("the path reaches (GC roots)");
    assert!(map_row < roots_row);
    assert!(rows[..roots_row].iter().all(|r| r.expanded));
    let path = &panel.paths()[0];
    assert_eq!(path.steps[0].edge.from, g.root());
    assert_eq!(path.steps.last().map(|st| st.edge.to), Some(n));

    // And it is drawn: retainer rows read "edge in Class @id".
    let map_text = tree::row_text(&s, &rows[map_row].child, " in ");
    let roots_text = tree::row_text(&s, &rows[roots_row].child, " in ");
    assert!(map_text.contains(" in Map @"), "{map_text}");
    h.get_by_label(&map_text);
    h.get_by_label(&roots_text);
    // The paths list names the nodes on the way.
    assert!(h.query_all_by_label("(GC roots)").next().is_some());
    assert!(h.query_all_by_label("Paths to GC roots").next().is_some());
}

#[test]
fn clicking_a_retainer_selects_it_without_re_rooting_the_panel() {
    let mut h = app_with(&[SAMPLE]);
    let s = snap(&h);
    let n = request_context(&s);
    h.state_mut().tabs[0].selection.node = Some(n);
    step_until(&mut h, "the paths are found", |app| {
        let panel = &app.tabs[0].retainers;
        panel.target() == Some(n) && !panel.busy()
    });
    let first = h.state().tabs[0].retainers.tree().rows()[0].child;
    h.get_by_label(&tree::row_text(&s, &first, " in ")).click();
    h.run_steps(2);
    assert_eq!(h.state().tabs[0].selection.node, Some(first.node));
    assert_eq!(h.state().tabs[0].retainers.target(), Some(n));
    // The arrow keys now go to the panel's tree.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    let second = h.state().tabs[0].retainers.tree().rows()[1].child;
    assert_eq!(h.state().tabs[0].selection.node, Some(second.node));
    assert_eq!(h.state().tabs[0].retainers.target(), Some(n));
}

#[test]
fn keys_go_back_to_the_main_view_after_a_click_there() {
    let mut h = dominator_view();
    let s = snap(&h);
    let root = s.data.graph().root();
    let n = request_context(&s);
    h.state_mut().tabs[0].selection.node = Some(n);
    step_until(&mut h, "the paths are found", |app| {
        !app.tabs[0].retainers.busy()
    });
    let first = h.state().tabs[0].retainers.tree().rows()[0].child;
    h.get_by_label(&tree::row_text(&s, &first, " in ")).click();
    h.run_steps(2);
    h.get_by_label(&tree::row_text(&s, &Child::node(root), ""))
        .click();
    h.run_steps(2);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    let second = h.state().tabs[0]
        .view::<DominatorsView>()
        .unwrap()
        .tree()
        .rows()[1]
        .child
        .node;
    assert_eq!(h.state().tabs[0].selection.node, Some(second));
}

#[test]
fn dominator_tree_reveals_a_node_selected_elsewhere() {
    let mut h = dominator_view();
    let s = snap(&h);
    let n = request_context(&s);
    h.state_mut().tabs[0].selection.node = Some(n);
    h.run_steps(3);
    let rows = h.state().tabs[0]
        .view::<DominatorsView>()
        .unwrap()
        .tree()
        .rows();
    let i = rows
        .iter()
        .position(|r| r.child.node == n)
        .expect("the node's row");
    // Its dominator chain is expanded above it.
    let chain = s.data.analysis.dominators.chain(n);
    assert_eq!(rows[i].depth as usize, chain.len());
    // Drawn in the main view (the retainers panel's header names it too, further down).
    let panel_top = h.get_by_label("Retainers of").rect().top();
    let text = tree::row_text(&s, &Child::node(n), "");
    assert!(h
        .query_all_by_label(&text)
        .any(|node| node.rect().bottom() < panel_top));
}

#[test]
fn containment_shows_the_roots_edges() {
    let mut h = app_with(&[SAMPLE]);
    h.get_by_label("Containment").click();
    h.run_steps(3);
    let s = snap(&h);
    let g = s.data.graph();
    let root = g.root();
    let rows = h.state().tabs[0]
        .view::<ContainmentView>()
        .unwrap()
        .tree()
        .rows();
    assert_eq!(rows[0].child.node, root);
    assert!(rows[0].expanded);
    let edges: Vec<_> = g.edges(root).collect();
    assert_eq!(
        rows.len(),
        1 + edges.len().min(PAGE) + usize::from(edges.len() > PAGE)
    );
    for (row, e) in rows[1..].iter().zip(&edges) {
        assert_eq!(row.child.edge, Some(*e));
    }
    let first = tree::row_text(
        &s,
        &Child {
            node: edges[0].to,
            edge: Some(edges[0]),
        },
        " :: ",
    );
    h.get_by_label(&first);
}

#[test]
fn long_child_lists_come_a_page_at_a_time() {
    let h = app_with(&[SAMPLE]);
    let s = snap(&h);
    let g = s.data.graph();
    let big = (0..g.node_count() as NodeIx)
        .max_by_key(|&n| g.edge_range(n).len())
        .unwrap();
    let total = g.edge_range(big).len();
    assert!(total > 2 * PAGE, "the sample has a node with many edges");

    let mut t = TreeTable::default();
    t.set_roots(&s, ContainmentSource, Children::Nodes(vec![big]));
    t.expand(0, &s, ContainmentSource, None);
    assert_eq!(t.rows().len(), 1 + PAGE + 1);
    let more = &t.rows()[PAGE + 1];
    assert!(more.is_more());
    assert_eq!(more.more, total - PAGE);
    // Expanding a child in the first page keeps the "more" row attached to the parent.
    let child = (1..=PAGE).find(|&i| t.rows()[i].has_children).unwrap();
    t.expand(child, &s, ContainmentSource, None);
    let more_at = t.rows().len() - 1;
    assert!(t.rows()[more_at].is_more());
    assert_eq!(t.parent_of(more_at), Some(0));
    t.load_more(more_at, &s, ContainmentSource);
    let shown = t
        .rows()
        .iter()
        .filter(|r| r.depth == 1 && !r.is_more())
        .count();
    assert_eq!(shown, (2 * PAGE).min(total));
    t.collapse(0);
    assert_eq!(t.rows().len(), 1);
}

#[test]
fn edges_are_named_as_devtools_names_them() {
    let mut b = GraphBuilder::new();
    let root = b.node(NodeKind::Synthetic, "", 1, 0);
    let o = b.node(NodeKind::Object, "Thing", 3, 16);
    b.edge(root, EdgeKind::Element, "1", o);
    for (kind, name) in [
        (EdgeKind::Property, "plain"),
        (EdgeKind::Property, "with space"),
        (EdgeKind::Element, "7"),
        (EdgeKind::Context, "ctx"),
        (EdgeKind::Weak, "held"),
        (EdgeKind::Internal, "map"),
        (EdgeKind::Hidden, "2"),
        (EdgeKind::Shortcut, "alias"),
        (EdgeKind::Shortcut, "42"),
    ] {
        b.edge(o, kind, name, root);
    }
    let g = b.finish().unwrap();
    let names: Vec<String> = g.edges(o).map(|e| tree::edge_text(&g, &e)).collect();
    assert_eq!(
        names,
        [
            ".plain",
            "[\"with space\"]",
            "[7]",
            "->ctx",
            "[[held]]",
            "{map}",
            "{2}",
            ".alias",
            "[42]"
        ]
    );
}

#[test]
fn weak_retainers_come_last_and_are_marked() {
    let h = app_with(&[SAMPLE]);
    let s = snap(&h);
    let g = s.data.graph();
    // A node some WeakFixedArray holds weakly (and others strongly).
    let n = (0..g.node_count() as NodeIx)
        .find(|&n| {
            let r = g.retainer_edges(n);
            r.iter().any(|e| e.kind == EdgeKind::Weak)
                && r.iter()
                    .any(|e| e.kind != EdgeKind::Weak && e.from != g.root())
        })
        .expect("a node with weak and strong retainers");
    let Children::List(kids) = RetainerSource.children(&s, n) else {
        panic!("retainers come as a list");
    };
    let first_weak = kids.iter().position(Child::weak).expect("a weak retainer");
    assert!(first_weak > 0);
    assert!(kids[first_weak..].iter().all(Child::weak));
    let text = tree::row_text(&s, &kids[first_weak], " in ");
    assert!(text.starts_with("[["), "{text}");
    assert!(text.ends_with(" weak"), "{text}");
}
