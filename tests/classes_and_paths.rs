//! Class names (DevTools' Summary), the Summary's counting rules, and retainer paths, on
//! hand-made snapshots.

mod common;

use common::Heap;
use heapsight::analysis::retainers::{retainer_paths, shortest_path, ShownPaths};
use heapsight::analysis::{AnalyzedSnapshot, ClassRow};
use heapsight::model::NodeIx;

fn rows_named(s: &AnalyzedSnapshot, name: &str) -> Vec<ClassRow> {
    s.summary()
        .classes
        .into_iter()
        .filter(|r| r.name == name)
        .collect()
}

fn row(s: &AnalyzedSnapshot, name: &str) -> ClassRow {
    let rows = rows_named(s, name);
    assert_eq!(rows.len(), 1, "exactly one Summary row named {name:?}");
    rows[0].clone()
}

#[test]
fn class_names_by_node_type() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let cases = [
        ("closure", "handleRequest", "Function"),
        ("string", "hello", "(string)"),
        ("concatenated string", "ab", "(concatenated string)"),
        ("sliced string", "b", "(sliced string)"),
        ("hidden", "system / Context", "(system)"),
        ("code", "(baseline code)", "(compiled code)"),
        ("regexp", "a+b", "RegExp"),
        ("number", "heap number", "(number)"),
        ("array", "(object elements)", "(array)"),
        ("symbol", "Symbol(x)", "(symbol)"),
        ("bigint", "bigint", "(bigint)"),
        ("object shape", "system / Map", "(object shape)"),
        ("object", "RequestContext", "RequestContext"),
        ("object", "system / Context", "system / Context"),
        (
            "object",
            "Window / https://example.com",
            "Window / https://example.com",
        ),
        ("native", "<div id=x>", "<div>"),
        ("native", "<div id=\"a\" class=\"b\">", "<div>"),
        ("native", "<br>", "<br>"),
        ("native", "Detached <li class=x>", "Detached <li>"),
        ("object", "<Foo bar>", "<Foo>"),
    ];
    let mut nodes = Vec::new();
    for (i, (kind, name, _)) in cases.iter().enumerate() {
        let n = h.node(kind, name, 8);
        h.edge(root, "element", &(i + 1).to_string(), n);
        nodes.push(n);
    }
    let s = h.analyze();
    for (n, (kind, name, class)) in nodes.iter().zip(cases) {
        assert_eq!(s.class_name(*n), class, "{kind} named {name:?}");
    }
    assert_eq!(s.class_name(root), "(synthetic)");
}

#[test]
fn detached_native_nodes_get_the_prefix_and_pass_it_on() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let div = h.node("native", "<div id=y class=z>", 10);
    let span = h.node("native", "<span>", 10);
    let p = h.node("native", "<p id=q>", 10);
    let js = h.node("object", "Listener", 10);
    let js_child = h.node("native", "<b>", 10);
    let attached = h.node("native", "<div id=live>", 10);
    let hidden_child = h.node("native", "<i>", 10);
    h.edge(root, "element", "1", div);
    h.edge(root, "element", "2", span);
    h.edge(root, "element", "3", attached);
    h.edge(div, "element", "1", p);
    h.edge(div, "property", "listener", js);
    h.edge(js, "property", "b", js_child);
    h.edge(div, "hidden", "2", hidden_child);
    h.detachedness(div, 2);
    h.detachedness(span, 2);
    h.detachedness(attached, 1);
    let s = h.analyze();
    assert_eq!(s.class_name(div), "Detached <div>");
    assert_eq!(s.class_name(span), "Detached <span>");
    // Detachedness flows to native children (not through hidden edges, not through JS objects).
    assert_eq!(s.class_name(p), "Detached <p>");
    assert_eq!(s.class_name(js), "Listener");
    assert_eq!(s.class_name(js_child), "<b>");
    assert_eq!(s.class_name(hidden_child), "<i>");
    assert_eq!(s.class_name(attached), "<div>");
    assert_eq!(row(&s, "Detached <div>").count, 1);
    assert_eq!(row(&s, "<div>").count, 1);
}

#[test]
fn summary_counts_skip_zero_size_nodes_and_nested_instances() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let foo1 = h.node("object", "Foo", 10);
    let foo2 = h.node("object", "Foo", 10);
    let bar = h.node("object", "Bar", 5);
    let foo3 = h.node("object", "Foo", 7);
    let foo0 = h.node("object", "Foo", 0);
    let zero = h.node("object", "Zero", 0);
    h.edge(root, "element", "1", foo1);
    h.edge(root, "element", "2", foo3);
    h.edge(root, "element", "3", foo0);
    h.edge(root, "element", "4", zero);
    h.edge(foo1, "property", "inner", foo2);
    h.edge(foo2, "property", "bar", bar);
    let s = h.analyze();
    // Foo1 → Foo2 → Bar: Foo1 retains 25, Foo2 15, Foo3 7. The class retains 25 + 7 = 32:
    // Foo2 is inside Foo1's dominator subtree and is not added again. Foo0 has size 0: not
    // counted (count 3, not 4).
    let foo = row(&s, "Foo");
    assert_eq!(foo.count, 3);
    assert_eq!(foo.shallow_size, 27);
    assert_eq!(foo.retained_size, 32);
    assert_eq!(foo.distance, Some(1));
    let bar_row = row(&s, "Bar");
    assert_eq!((bar_row.count, bar_row.retained_size), (1, 5));
    assert_eq!(bar_row.distance, Some(3));
    // A class whose instances are all zero-size has no row.
    assert!(rows_named(&s, "Zero").is_empty());
    let summary = s.summary();
    assert_eq!(summary.total_size, 32);
    assert_eq!(summary.node_count, 7);
    assert_eq!(summary.edge_count, 6);
    // Rows come largest retained size first.
    assert!(summary
        .classes
        .windows(2)
        .all(|w| w[0].retained_size >= w[1].retained_size));
}

#[test]
fn unreachable_instance_makes_the_class_distance_none() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "Foo", 10);
    let b = h.node("object", "Foo", 10);
    h.edge(root, "element", "1", a);
    h.edge(a, "weak", "w", b);
    let s = h.analyze();
    let foo = row(&s, "Foo");
    assert_eq!(foo.count, 2);
    assert_eq!(foo.distance, None);
    // b is an orphan under the root: Foo retains 10 + 10.
    assert_eq!(foo.retained_size, 20);
}

#[test]
fn objects_with_source_locations_are_separate_rows() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "Foo", 10);
    let b = h.node("object", "Foo", 20);
    let c = h.node("object", "Foo", 30);
    h.edge(root, "element", "1", a);
    h.edge(root, "element", "2", b);
    h.edge(root, "element", "3", c);
    // locations: object_index (a node index), script_id, line, column. a and b share a place.
    let f = common::NODE20_FIELDS as u32;
    h.top_level(&format!(
        "\"locations\":[{},7,10,2,{},7,10,2,{},8,1,1]",
        a * f,
        b * f,
        c * f
    ));
    let s = h.analyze();
    let mut counts: Vec<u64> = rows_named(&s, "Foo").iter().map(|r| r.count).collect();
    counts.sort();
    assert_eq!(counts, vec![1, 2]);
}

#[test]
fn plain_objects_named_by_recurring_shape() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    for i in 0..3 {
        let o = h.node("object", "Object", 16);
        h.edge(root, "element", &i.to_string(), o);
        h.edge(o, "property", "id", root);
        h.edge(o, "property", "name", root);
        h.edge(o, "property", "__proto__", root);
    }
    let lone = h.node("object", "Object", 16);
    h.edge(root, "element", "9", lone);
    h.edge(lone, "property", "unique", root);
    let s = h.analyze();
    // {id, name} occurs 3 times (≥ 2): a class; {unique} once: stays Object.
    assert_eq!(row(&s, "{id, name}").count, 3);
    assert_eq!(row(&s, "Object").count, 1);
}

/// root → A → B → C → T, plus A -weak-> T, U → T with U unreachable, A -weak-> W.
fn path_heap() -> (Heap, [NodeIx; 7]) {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let b = h.node("object", "B", 10);
    let c = h.node("object", "C", 10);
    let t = h.node("object", "T", 10);
    let u = h.node("object", "U", 10);
    let w = h.node("object", "W", 10);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "b", b);
    h.edge(a, "weak", "t", t);
    h.edge(a, "weak", "w", w);
    h.edge(b, "property", "c", c);
    h.edge(c, "property", "t", t);
    h.edge(u, "property", "t", t);
    (h, [root, a, b, c, t, u, w])
}

#[test]
fn retainer_path_is_the_shortest_strong_path() {
    let (h, [root, a, b, c, t, u, w]) = path_heap();
    let s = h.analyze();
    let g = s.graph();
    let paths = retainer_paths(g, &s.analysis, t, 5);
    // The weak edge A → T is not a path; U is unreachable: one path, root → A → B → C → T.
    assert_eq!(paths.len(), 1);
    let nodes: Vec<(NodeIx, NodeIx)> = paths[0]
        .steps
        .iter()
        .map(|st| (st.edge.from, st.edge.to))
        .collect();
    assert_eq!(nodes, vec![(root, a), (a, b), (b, c), (c, t)]);
    let labels: Vec<String> = paths[0]
        .steps
        .iter()
        .map(|st| g.edge_label(st.edge.index as usize))
        .collect();
    assert_eq!(labels, ["[1]", "b", "c", "t"]);
    // Nothing but weak edges, or no retainer reachable from the roots: no path.
    assert!(retainer_paths(g, &s.analysis, w, 3).is_empty());
    assert!(retainer_paths(g, &s.analysis, u, 3).is_empty());
    assert!(retainer_paths(g, &s.analysis, root, 3).is_empty());
}

#[test]
fn retainer_paths_through_each_close_retainer_shortest_first() {
    // Diamond: root → A → {B, C} → D, and a longer path A → X → Y → D.
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 1);
    let b = h.node("object", "B", 1);
    let c = h.node("object", "C", 1);
    let x = h.node("object", "X", 1);
    let y = h.node("object", "Y", 1);
    let d = h.node("object", "D", 1);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "x", x);
    h.edge(a, "property", "c", c);
    h.edge(a, "property", "b", b);
    h.edge(x, "property", "y", y);
    h.edge(y, "property", "d", d);
    h.edge(c, "property", "d", d);
    h.edge(b, "property", "d", d);
    let s = h.analyze();
    let g = s.graph();
    let via = |k: usize| -> Vec<Vec<NodeIx>> {
        retainer_paths(g, &s.analysis, d, k)
            .iter()
            .map(|p| p.steps.iter().map(|st| st.edge.to).collect())
            .collect()
    };
    // Retainers of D: B and C (distance 2), Y (distance 3). Ties go by name: B before C.
    assert_eq!(via(1), vec![vec![a, b, d]]);
    assert_eq!(via(2), vec![vec![a, b, d], vec![a, c, d]]);
    assert_eq!(via(9), vec![vec![a, b, d], vec![a, c, d], vec![a, x, y, d]]);
}

#[test]
fn statistics_by_category() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let g = h.node("object", "global", 10);
    let arr = h.node("object", "Array", 16);
    let elems = h.node("array", "", 40);
    let sys = h.node("hidden", "system / Foo", 8);
    let code = h.node("code", "f", 30);
    let s_ = h.node("string", "s", 20);
    let buf = h.node("native", "system / JSArrayBufferData", 64);
    let div = h.node("native", "<div>", 6);
    h.edge(root, "shortcut", "global", g);
    h.edge(root, "element", "1", div);
    h.edge(g, "property", "a", arr);
    h.edge(arr, "internal", "elements", elems);
    h.edge(g, "internal", "sys", sys);
    h.edge(arr, "internal", "sys", sys);
    h.edge(g, "internal", "code", code);
    h.edge(g, "property", "s", s_);
    h.edge(g, "internal", "buf", buf);
    h.snapshot_field("\"extra_native_bytes\":1000");
    let s = h.analyze();
    // The elements store (40) is owned by the Array alone: it moves there (Array shows 56).
    // The hidden node has two owners (global and the Array): it keeps its 8 bytes.
    assert_eq!(s.analysis.shallow_size(arr), 56);
    assert_eq!(s.analysis.shallow_size(sys), 8);
    let st = s.statistics();
    // total = 10 + 16 + 40 + 8 + 30 + 20 + 64 + 6 = 194, plus 1000 extra native bytes.
    assert_eq!(st.total, 1194);
    assert_eq!(st.native, 1000 + 64 + 6);
    assert_eq!(st.typed_arrays, 64);
    assert_eq!(st.code, 30);
    assert_eq!(st.strings, 20);
    assert_eq!(st.system, 8);
    // The Array's own (adjusted) 56; its elements store now counts 0.
    assert_eq!(st.js_arrays, 56);
    // What is left is global's 10 bytes.
    assert_eq!(st.other, 10);
}

#[test]
fn attached_state_wins_over_detached_and_names_are_not_prefixed_twice() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let live = h.node("native", "<body>", 10);
    let dead = h.node("native", "<div>", 10);
    let shared = h.node("native", "<span>", 10);
    let old_style = h.node("native", "Detached <ul id=u>", 10);
    h.edge(root, "element", "1", live);
    h.edge(root, "element", "2", dead);
    h.edge(root, "element", "3", old_style);
    h.edge(dead, "element", "1", shared);
    h.edge(live, "element", "1", shared);
    h.detachedness(live, 1);
    h.detachedness(dead, 2);
    h.detachedness(old_style, 2);
    let s = h.analyze();
    // Attached state spreads first, so `shared` (held by both) is attached.
    assert_eq!(s.class_name(shared), "<span>");
    assert_eq!(s.class_name(dead), "Detached <div>");
    assert_eq!(s.class_name(old_style), "Detached <ul>");
}

/// What each class retains, the slow way: a node with a self size adds its retained size to
/// its class unless one of its dominators, with a self size, is of the same class.
fn class_retained_by_idom_chains(s: &AnalyzedSnapshot) -> std::collections::BTreeMap<u32, u64> {
    let (g, a) = (s.graph(), &s.analysis);
    let class = |v: NodeIx| s.classes.class_of[v as usize];
    let mut out = std::collections::BTreeMap::new();
    for v in 0..g.node_count() as NodeIx {
        if a.shallow_size(v) == 0 {
            continue;
        }
        let mut d = v;
        let mut nested = false;
        while a.dominator(d) != d {
            d = a.dominator(d);
            nested |= class(d) == class(v) && a.shallow_size(d) != 0;
        }
        let total = out.entry(class(v)).or_insert(0);
        if !nested {
            *total += a.retained_size(v);
        }
    }
    out
}

fn check_class_retained(s: &AnalyzedSnapshot, what: &str) {
    let want = class_retained_by_idom_chains(s);
    let got: std::collections::BTreeMap<u32, u64> = s
        .summary()
        .classes
        .into_iter()
        .map(|r| (r.class_id, r.retained_size))
        .collect();
    assert_eq!(got, want, "{what}: each class's retained size");
}

/// The Summary walks the dominator tree in pieces on two threads, with the pieces' ancestors
/// counted first: nested instances of a class must still count once, wherever the cut falls.
#[test]
fn class_retained_sizes_equal_a_count_over_dominator_chains() {
    let mut rng = common::Rng::new(7);
    for round in 0..40 {
        let n = 2 + rng.below(if round < 30 { 60 } else { 3000 }) as usize;
        let mut h = Heap::new();
        let root = h.node("synthetic", "", 0);
        // Few class names, so instances nest; a few nodes hold most of the bytes, so the cut
        // goes deep.
        for v in 1..n {
            let name = ["A", "B", "C"][rng.below(3) as usize];
            let size = if rng.below(10) == 0 {
                10_000
            } else {
                rng.below(4) * 10
            };
            let node = h.node("object", name, size);
            let from = rng.below(v as u64) as NodeIx;
            h.edge(from, "property", "p", node);
        }
        for _ in 0..n / 2 {
            let (from, to) = (rng.below(n as u64) as NodeIx, rng.below(n as u64) as NodeIx);
            if to != root {
                h.edge(from, "property", "q", to);
            }
        }
        check_class_retained(&h.analyze(), &format!("random heap {round} ({n} nodes)"));
    }
    for rel in [
        "node-leak/target.heapsnapshot",
        "browser-detached/final.heapsnapshot",
    ] {
        let s = common::analyze_file(&common::sample(rel), heapsight::analysis::RuleSet::DevTools);
        check_class_retained(&s, rel);
    }
}

/// Paths asked about one after another share what the earlier ones found out (the leaks, the
/// memory map and the detached trees list thousands under one deep list): each must still be
/// the node's own shortest path, cut as a whole path is, whatever order they are asked in.
#[test]
fn shown_paths_asked_in_any_order_equal_each_whole_path() {
    let mut rng = common::Rng::new(11);
    for round in 0..12 {
        let mut h = Heap::new();
        let root = h.node("synthetic", "", 0);
        // A list 0–200 links deep, then a random tree hung from its links, then cross edges.
        let depth = rng.below(if round < 6 { 40 } else { 200 }) as usize;
        let mut nodes = vec![root];
        for _ in 0..depth {
            let link = h.node("object", "Link", 16);
            h.edge(*nodes.last().unwrap(), "property", "next", link);
            nodes.push(link);
        }
        for _ in 0..300 {
            let from = nodes[rng.below(nodes.len() as u64) as usize];
            let n = h.node("object", "Leaf", 8);
            h.edge(from, "property", "x", n);
            nodes.push(n);
        }
        for _ in 0..100 {
            let from = nodes[rng.below(nodes.len() as u64) as usize];
            let to = nodes[1 + rng.below(nodes.len() as u64 - 1) as usize];
            h.edge(from, "property", "y", to);
        }
        h.node("object", "Unreachable", 8);
        let s = h.analyze();
        let (g, a) = (s.graph(), &s.analysis);
        let mut memo = ShownPaths::new(g, a);
        let mut order: Vec<NodeIx> = (0..g.node_count() as NodeIx).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for n in order {
            let whole = shortest_path(g, a, n)
                .filter(|p| !p.steps.is_empty())
                .map(|p| p.shown().map(|(k, st)| (k, *st)).collect::<Vec<_>>());
            assert_eq!(memo.shown(n), whole, "round {round}, node {n}");
        }
    }
}

/// A heap of a page: the root and its `Window`.
/// A native node of `class` that Blink marked detached.
fn detached(h: &mut Heap, class: &str, size: u64) -> NodeIx {
    let n = h.node("native", class, size);
    h.detachedness(n, 2);
    n
}

fn page_heap() -> (Heap, NodeIx) {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let window = h.node("object", "Window", 64);
    h.edge(root, "shortcut", "1", window);
    (h, window)
}

/// Removed rows kept one by one are as many detached trees, alike: one group, its counts summed;
/// a tree of another shape or held another way is a group of its own.
#[test]
fn alike_detached_trees_make_one_group() {
    let (mut h, window) = page_heap();
    let kept = h.node("object", "Array", 16);
    h.edge(window, "property", "keptRows", kept);
    let row = |h: &mut Heap, size: u64| {
        let li = h.node("native", "Detached <li>", size);
        let text = h.node("native", "Detached Text", 8);
        h.edge(li, "element", "1", text);
        h.edge(text, "element", "1", li);
        h.detachedness(li, 2);
        h.detachedness(text, 2);
        li
    };
    for i in 0..3 {
        let li = row(&mut h, 100 + i);
        h.edge(kept, "element", &i.to_string(), li);
    }
    let other = row(&mut h, 500);
    h.edge(window, "property", "lastRow", other);
    let s = h.analyze();
    let d = heapsight::analysis::detached::DetachedDom::compute(&s);
    assert_eq!(d.trees.len(), 4);
    let groups = d.groups();
    let shape: Vec<(u64, u64, u64)> = groups
        .iter()
        .map(|g| (g.trees, g.total.node_count, g.total.retained_size))
        .collect();
    assert_eq!(shape, vec![(1, 2, 508), (3, 6, 100 + 101 + 102 + 3 * 8)]);
    let rows = &groups[1].total;
    assert_eq!(
        rows.by_class.iter().map(|c| c.count).collect::<Vec<_>>(),
        [3, 3]
    );
    assert_eq!(rows.held_through.len(), 1);
    assert_eq!(
        (
            rows.held_through[0].via.as_str(),
            rows.held_through[0].count
        ),
        ("Window.keptRows", 3)
    );
    let text = heapsight::report::text::detached(&d);
    assert!(text.contains(" and 2 trees alike: 6 node(s)"), "{text}");
    assert!(
        text.contains("held through Window.keptRows (3 members)"),
        "{text}"
    );
}

/// A list of removed rows kept in a closure's variable (`let lastSeenRows = []` in the module
/// that also exports `app.run`) is named by that variable, not by the property above it; a
/// handler's own variable holding its button says less than the handlers' list above it; a
/// module's variable holding a tooltip, reached through the module's `show`, is named with it.
#[test]
fn detached_trees_are_held_through_the_nearest_named_slot() {
    let (mut h, window) = page_heap();
    let app = h.node("object", "Object", 16);
    h.edge(window, "property", "app", app);
    // `holder --slot--> closure --context--> scope --variable--> value`.
    let closure_variable = |h: &mut Heap, holder, kind, slot, name, variable, value| {
        let f = h.node("closure", name, 32);
        h.edge(holder, kind, slot, f);
        let scope = h.node("object", "system / Context", 32);
        h.edge(f, "internal", "context", scope);
        h.edge(scope, "context", variable, value);
    };
    let rows = h.node("object", "Array", 16);
    closure_variable(&mut h, app, "property", "run", "run", "lastSeenRows", rows);
    let li = detached(&mut h, "Detached <li>", 100);
    h.edge(rows, "element", "0", li);
    let cache = h.node("object", "Cache", 16);
    h.edge(window, "property", "cache", cache);
    let handlers = h.node("object", "Array", 16);
    h.edge(cache, "property", "handlers", handlers);
    let button = detached(&mut h, "Detached <button>", 80);
    closure_variable(
        &mut h, handlers, "element", "0", "onClick", "button", button,
    );
    let tooltips = h.node("object", "Object", 16);
    h.edge(window, "property", "tooltips", tooltips);
    let tooltip = detached(&mut h, "Detached <div>", 60);
    closure_variable(
        &mut h,
        tooltips,
        "property",
        "show",
        "show",
        "currentTooltip",
        tooltip,
    );
    let s = h.analyze();
    let d = heapsight::analysis::detached::DetachedDom::compute(&s);
    let mut vias: Vec<&str> = d
        .trees
        .iter()
        .map(|t| t.held_through[0].via.as_str())
        .collect();
    vias.sort();
    assert_eq!(
        vias,
        [
            "Cache.handlers",
            "closure variable currentTooltip (in Object.show)",
            "closure variable lastSeenRows"
        ]
    );
}

/// A removed iframe's window that a script keeps is a detached DOM tree topped by the window,
/// held through the script's list only: the frame's own global object names its window
/// `globalThis`, but lives only because the window does. The window is what the leak search
/// counts, not the frame's globals and builtins below it.
#[test]
fn a_kept_frame_window_is_one_detached_tree_held_by_the_script() {
    let (mut h, window) = page_heap();
    let frames = h.node("object", "Array", 16);
    h.edge(window, "property", "closedFrames", frames);
    let frame = detached(&mut h, "Detached Window", 900);
    h.edge(frames, "element", "0", frame);
    let global = h.node("object", "Window", 4000);
    let proxy = h.node("object", "Window", 32);
    h.edge(frame, "internal", "proxy", proxy);
    h.edge(proxy, "internal", "global", global);
    h.edge(global, "property", "globalThis", frame);
    let document = detached(&mut h, "Detached HTMLDocument", 3000);
    h.edge(frame, "element", "5", document);
    h.edge(document, "element", "1", frame);
    let body = detached(&mut h, "Detached <body>", 100);
    h.edge(document, "element", "2", body);
    h.edge(body, "element", "1", document);
    let s = h.analyze();
    let d = heapsight::analysis::detached::DetachedDom::compute(&s);
    assert_eq!(d.trees.len(), 1);
    let tree = &d.trees[0];
    assert_eq!(tree.root_class, "Detached Window");
    assert_eq!(tree.node_count, 3);
    let vias: Vec<(&str, u64)> = tree
        .held_through
        .iter()
        .map(|w| (w.via.as_str(), w.count))
        .collect();
    assert_eq!(vias, [("Window.closedFrames", 1)]);
    assert!(heapsight::analysis::leaks::is_leak_candidate(&s, tree.root));
}
