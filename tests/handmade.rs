//! Hand-made snapshots with dominators, retained sizes, distances and shallow sizes worked out
//! by hand from docs/devtools-rules.md. Each graph is written as a Node 20 `.heapsnapshot` and
//! goes through the real loader.
//!
//! Unless a test says otherwise, the root's children are reached by `element` edges and are
//! `object`s: they are user roots (distance 1) but do not seed the page-owned set (only
//! shortcut children do), so the page-owned rule stays out of the way.

mod common;

use common::Heap;
use heapsight::analysis::distances::{NO_DISTANCE, SYSTEM_DISTANCE};
use heapsight::analysis::{AnalyzedSnapshot, RuleSet};
use heapsight::model::NodeIx;

/// (node, expected idom, expected retained size) for each listed node.
fn check_tree(s: &AnalyzedSnapshot, expected: &[(NodeIx, NodeIx, u64)]) {
    for &(n, idom, retained) in expected {
        assert_eq!(
            s.analysis.dominator(n),
            idom,
            "idom of node {n} ({})",
            s.graph().name(n)
        );
        assert_eq!(
            s.analysis.retained_size(n),
            retained,
            "retained size of node {n} ({})",
            s.graph().name(n)
        );
    }
}

fn dist(s: &AnalyzedSnapshot, n: NodeIx) -> u32 {
    s.analysis.distances[n as usize]
}

#[test]
fn diamond_dominator_is_the_fork() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let b = h.node("object", "B", 20);
    let c = h.node("object", "C", 30);
    let d = h.node("object", "D", 40);
    let e = h.node("object", "E", 50);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "b", b);
    h.edge(a, "property", "c", c);
    h.edge(b, "property", "d", d);
    h.edge(c, "property", "d", d);
    h.edge(d, "property", "e", e);
    let s = h.analyze();
    // root → A → {B, C} → D → E. D has two paths (via B and via C) that meet at A, so
    // idom(D) = A. E = 50; D = 40 + 50 = 90; B = 20; C = 30; A = 10 + 20 + 30 + 90 = 150.
    check_tree(
        &s,
        &[
            (root, root, 150),
            (a, root, 150),
            (b, a, 20),
            (c, a, 30),
            (d, a, 90),
            (e, d, 50),
        ],
    );
    // A is a user root (non-synthetic child of the root): 1, then BFS levels. The root itself
    // gets the system base distance because user roots exist.
    assert_eq!(dist(&s, a), 1);
    assert_eq!(dist(&s, b), 2);
    assert_eq!(dist(&s, c), 2);
    assert_eq!(dist(&s, d), 3);
    assert_eq!(dist(&s, e), 4);
    assert_eq!(dist(&s, root), SYSTEM_DISTANCE);
    // The dominator tree's child lists: in node order, or largest retained size first.
    assert_eq!(s.analysis.dominators.children().of(a), &[b, c, d]);
    assert_eq!(s.analysis.dominators.sorted_children(a), vec![d, c, b]);
    assert_eq!(s.analysis.dominators.chain(e), vec![d, a, root]);
}

#[test]
fn weakly_held_node_is_an_orphan_with_normal_dominators_below_it() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let w = h.node("object", "W", 20);
    let x = h.node("object", "X", 30);
    let y = h.node("object", "Y", 40);
    let z = h.node("object", "Z", 5);
    h.edge(root, "element", "1", a);
    h.edge(a, "weak", "w", w);
    h.edge(w, "property", "x", x);
    h.edge(w, "property", "y", y);
    h.edge(x, "property", "y", y);
    h.edge(x, "property", "z", z);
    let s = h.analyze();
    // W's only retainer is weak: no essential incoming edge, so W is an orphan hanging off the
    // root, and its subgraph gets real dominators: Y is held by W and X → idom W; Z only by X.
    // Z = 5; X = 30 + 5 = 35; Y = 40; W = 20 + 35 + 40 = 95; A = 10; root = 105.
    check_tree(
        &s,
        &[
            (root, root, 105),
            (a, root, 10),
            (w, root, 95),
            (x, w, 35),
            (y, w, 40),
            (z, x, 5),
        ],
    );
    // The distance BFS never follows weak edges: W and everything below it is unreachable.
    assert_eq!(dist(&s, a), 1);
    for n in [w, x, y, z] {
        assert_eq!(dist(&s, n), NO_DISTANCE, "node {n}");
        assert_eq!(s.analysis.distance(n), None);
    }
}

#[test]
fn path_from_an_orphan_counts_for_nodes_the_root_reaches() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let b = h.node("object", "B", 20);
    let o = h.node("object", "O", 30);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "b", b);
    h.edge(a, "weak", "o", o);
    h.edge(o, "property", "b", b);
    let s = h.analyze();
    // The root reaches B through A. O is an orphan (weakly held only), attached to the root by a
    // virtual edge; O → B is a second path to B that avoids A, so idom(B) = root, not A.
    // A = 10; B = 20; O = 30; root = 60.
    check_tree(
        &s,
        &[
            (root, root, 60),
            (a, root, 10),
            (b, root, 20),
            (o, root, 30),
        ],
    );
    assert_eq!(dist(&s, b), 2);
    assert_eq!(dist(&s, o), NO_DISTANCE);
}

#[test]
fn shortcut_edges_retain_only_from_the_root() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let g = h.node("object", "global", 10);
    let a = h.node("object", "A", 20);
    let b = h.node("object", "B", 30);
    let c = h.node("object", "C", 40);
    let x = h.node("object", "X", 5);
    h.edge(root, "shortcut", "global", g);
    h.edge(g, "property", "a", a);
    h.edge(g, "property", "c", c);
    h.edge(a, "shortcut", "b", b);
    h.edge(a, "shortcut", "x", x);
    h.edge(c, "property", "b", b);
    let s = h.analyze();
    // root -shortcut-> global counts (edges from the root are essential). A -shortcut-> B does
    // not, so B's only retaining edge is C → B: idom(B) = C (it would be global otherwise).
    // X is held only through A's shortcut: an orphan under the root.
    // B = 30; C = 40 + 30 = 70; A = 20; global = 10 + 20 + 70 = 100; X = 5; root = 105.
    // (Everything here is page-owned — global is a shortcut child of the root — so the
    // page-owned rule drops nothing.)
    check_tree(
        &s,
        &[
            (root, root, 105),
            (g, root, 100),
            (a, g, 20),
            (c, g, 70),
            (b, c, 30),
            (x, root, 5),
        ],
    );
    // Distances do follow shortcut edges: X is one step below A.
    assert_eq!(dist(&s, g), 1);
    assert_eq!(dist(&s, a), 2);
    assert_eq!(dist(&s, c), 2);
    assert_eq!(dist(&s, b), 3);
    assert_eq!(dist(&s, x), 3);
}

#[test]
fn unreachable_cycle_members_each_hang_off_the_root() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let p = h.node("object", "P", 20);
    let q = h.node("object", "Q", 30);
    let r = h.node("object", "R", 40);
    h.edge(root, "element", "1", a);
    h.edge(p, "property", "q", q);
    h.edge(q, "property", "p", p);
    h.edge(p, "property", "r", r);
    let s = h.analyze();
    // P and Q hold each other and R hangs off P, but nothing reachable holds any of them. Each
    // has an essential retainer, so none is an orphan: all three are "leftovers", each with
    // idom = root and retained = its own size (even R, which P reaches).
    check_tree(
        &s,
        &[
            (root, root, 100),
            (a, root, 10),
            (p, root, 20),
            (q, root, 30),
            (r, root, 40),
        ],
    );
    for n in [p, q, r] {
        assert_eq!(dist(&s, n), NO_DISTANCE);
    }
}

#[test]
fn reachable_cycles_and_self_edges() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let b = h.node("object", "B", 20);
    let c = h.node("object", "C", 30);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "b", b);
    h.edge(b, "property", "c", c);
    h.edge(b, "property", "self", b);
    h.edge(c, "property", "a", a);
    h.edge(c, "property", "self", c);
    let s = h.analyze();
    // A → B → C → A is a cycle entered at A; self edges change nothing.
    // C = 30; B = 50; A = 60.
    check_tree(
        &s,
        &[(root, root, 60), (a, root, 60), (b, a, 50), (c, b, 30)],
    );
    assert_eq!(
        (dist(&s, a), dist(&s, b), dist(&s, c)),
        (1, 2, 3),
        "distances A, B, C"
    );
}

/// A node held only by its own self edge: DevTools ignores self edges, so it is an orphan and its
/// subgraph gets real dominators; memlab counts the self edge, so it and its child are leftovers.
#[test]
fn self_held_node_devtools_orphan_memlab_leftover() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A", 10);
    let s_ = h.node("object", "S", 7);
    let t = h.node("object", "T", 3);
    h.edge(root, "element", "1", a);
    h.edge(s_, "property", "me", s_);
    h.edge(s_, "property", "t", t);
    // DevTools: S orphan under root, T under S. S = 7 + 3 = 10; root = 20.
    let dt = h.analyze();
    check_tree(&dt, &[(root, root, 20), (s_, root, 10), (t, s_, 3)]);
    // memlab: S has a non-weak, non-shortcut retainer (itself) → not an orphan; T neither →
    // both leftovers under the root with their own sizes.
    let ml = h.analyze_with(RuleSet::Memlab);
    check_tree(&ml, &[(root, root, 20), (s_, root, 7), (t, root, 3)]);
}

/// Node-like roots: `(GC roots)` (synthetic, system) and `global` (shortcut, user root). An edge
/// from a system node into a page-owned node does not retain under DevTools' rules.
fn system_and_user_roots() -> (Heap, [NodeIx; 6]) {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let gc = h.node("synthetic", "(GC roots)", 0);
    let g = h.node("object", "global", 10);
    let obj = h.node("object", "Obj", 20);
    let sys = h.node("object", "Sys", 30);
    let sys_child = h.node("object", "SysChild", 40);
    h.edge(root, "element", "1", gc);
    h.edge(root, "shortcut", "global", g);
    h.edge(g, "property", "obj", obj);
    h.edge(gc, "element", "1", obj);
    h.edge(gc, "element", "2", sys);
    h.edge(sys, "property", "child", sys_child);
    h.edge(sys, "property", "obj", obj);
    (h, [root, gc, g, obj, sys, sys_child])
}

#[test]
fn page_owned_rule_devtools() {
    let (h, [root, gc, g, obj, sys, sys_child]) = system_and_user_roots();
    let s = h.analyze();
    // Page-owned (DevTools) = reachable from the root's shortcut children = {global, Obj}.
    // (GC roots) → Obj and Sys → Obj go from non-page-owned into page-owned: not essential.
    // So Obj's only retainer is global: idom(Obj) = global.
    // global = 10 + 20 = 30; Sys = 30 + 40 = 70; (GC roots) = 0 + 70 = 70; root = 100.
    check_tree(
        &s,
        &[
            (root, root, 100),
            (g, root, 30),
            (obj, g, 20),
            (gc, root, 70),
            (sys, gc, 70),
            (sys_child, sys, 40),
        ],
    );
    // Only global is a user root (distance 1); what only system roots reach counts from
    // 100 000 000 (the root itself), one more per step.
    assert_eq!(dist(&s, g), 1);
    assert_eq!(dist(&s, obj), 2);
    assert_eq!(dist(&s, root), SYSTEM_DISTANCE);
    assert_eq!(dist(&s, gc), SYSTEM_DISTANCE + 1);
    assert_eq!(dist(&s, sys), SYSTEM_DISTANCE + 2);
    assert_eq!(dist(&s, sys_child), SYSTEM_DISTANCE + 3);
}

#[test]
fn page_owned_rule_memlab_uses_the_other_roots() {
    let (h, [root, gc, g, obj, sys, sys_child]) = system_and_user_roots();
    let s = h.analyze_with(RuleSet::Memlab);
    // memlab seeds the page-owned set from the root's non-shortcut children: (GC roots), which
    // reaches Obj, Sys, SysChild. global is outside, so global → Obj does not retain, while
    // (GC roots) → Obj and Sys → Obj do: idom(Obj) = (GC roots).
    // global = 10; Sys = 70; (GC roots) = 20 + 70 = 90; root = 100.
    check_tree(
        &s,
        &[
            (root, root, 100),
            (g, root, 10),
            (obj, gc, 20),
            (gc, root, 90),
            (sys, gc, 70),
            (sys_child, sys, 40),
        ],
    );
}

#[test]
fn no_user_roots_distances_start_at_zero() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let gc = h.node("synthetic", "(GC roots)", 0);
    let a = h.node("object", "A", 10);
    let b = h.node("object", "B", 20);
    h.edge(root, "element", "1", gc);
    h.edge(gc, "element", "1", a);
    h.edge(a, "property", "b", b);
    let s = h.analyze();
    // Only synthetic root children ("expose internals" style): one BFS from the root at 0.
    assert_eq!(
        [root, gc, a, b].map(|n| dist(&s, n)),
        [0, 1, 2, 3],
        "distances root, (GC roots), A, B"
    );
}

#[test]
fn document_dom_trees_is_a_user_root() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let dom = h.node("synthetic", "(Document DOM trees)", 0);
    let other = h.node("synthetic", "(GC roots)", 0);
    let div = h.node("native", "<div>", 10);
    h.edge(root, "element", "1", other);
    h.edge(root, "element", "2", dom);
    h.edge(dom, "element", "1", div);
    let s = h.analyze();
    assert_eq!(dist(&s, dom), 1);
    assert_eq!(dist(&s, div), 2);
    assert_eq!(dist(&s, other), SYSTEM_DISTANCE + 1);
}

/// global owns O1 and O2; O1 owns an array `arr`, which owns a hidden node `h`; `shared` is an
/// array both O1 and O2 point to; `(GC roots)` (synthetic) points to hidden `hs`.
fn ownership_heap(user_root: bool) -> (Heap, [NodeIx; 9]) {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let gc = h.node("synthetic", "(GC roots)", 0);
    let g = h.node("object", "global", 10);
    let o1 = h.node("object", "Owner", 100);
    let arr = h.node("array", "", 16);
    let hid = h.node("hidden", "system / Foo", 8);
    let o2 = h.node("object", "Other", 50);
    let shared = h.node("array", "", 24);
    let hs = h.node("hidden", "system / Bar", 12);
    h.edge(root, "element", "1", gc);
    if user_root {
        h.edge(root, "shortcut", "global", g);
    } else {
        h.edge(gc, "element", "2", g);
    }
    h.edge(gc, "element", "1", hs);
    h.edge(g, "property", "o1", o1);
    h.edge(g, "property", "o2", o2);
    h.edge(o1, "internal", "elements", arr);
    h.edge(arr, "element", "0", hid);
    h.edge(o1, "internal", "x", shared);
    h.edge(o2, "internal", "y", shared);
    (h, [root, gc, g, o1, arr, hid, o2, shared, hs])
}

#[test]
fn shallow_sizes_move_to_the_single_owner() {
    let (h, [root, gc, g, o1, arr, hid, o2, shared, hs]) = ownership_heap(true);
    let s = h.analyze();
    let sh = |n: NodeIx| s.analysis.shallow_size(n);
    // arr (16) and, through it, hid (8) are reached only from the self-owner O1: O1 shows
    // 100 + 16 + 8 = 124 and they show 0. `shared` is reached from O1 and O2: stays 24.
    // hs is owned by (GC roots), a synthetic node: stays 12.
    assert_eq!(sh(o1), 124);
    assert_eq!(sh(arr), 0);
    assert_eq!(sh(hid), 0);
    assert_eq!(sh(shared), 24);
    assert_eq!(sh(o2), 50);
    assert_eq!(sh(hs), 12);
    assert_eq!(sh(g), 10);
    // The raw sizes are untouched in the graph (the column was copied when first changed).
    assert_eq!(s.graph().self_size(arr), 16);
    assert_ne!(
        s.analysis.shallow.raw_parts().0.as_ptr(),
        s.graph().self_sizes().raw_parts().0.as_ptr()
    );
    // Retained sizes use the adjusted sizes: arr and hid now retain 0, O1 still 124.
    // shared has two retainers (O1, O2) → idom global. global = 10 + 124 + 50 + 24 = 208;
    // (GC roots) = 12; root = 220 = the sum of the file's self sizes.
    check_tree(
        &s,
        &[
            (root, root, 220),
            (g, root, 208),
            (o1, g, 124),
            (arr, o1, 0),
            (hid, arr, 0),
            (o2, g, 50),
            (shared, g, 24),
            (gc, root, 12),
            (hs, gc, 12),
        ],
    );
    // The Summary skips zero-size nodes: (array) counts only `shared`, (system) only hs.
    let summary = s.summary();
    let row = |name: &str| summary.classes.iter().find(|r| r.name == name).cloned();
    let array = row("(array)").expect("(array) row");
    assert_eq!((array.count, array.shallow_size), (1, 24));
    let system = row("(system)").expect("(system) row");
    assert_eq!((system.count, system.shallow_size), (1, 12));
    assert_eq!(row("Owner").unwrap().shallow_size, 124);
    // Memlab rules: no re-attribution.
    let m = h.analyze_with(RuleSet::Memlab);
    assert_eq!(m.analysis.shallow_size(o1), 100);
    assert_eq!(m.analysis.shallow_size(arr), 16);
    assert_eq!(m.analysis.retained_size(o1), 124);
}

#[test]
fn shallow_sizes_stay_without_user_roots() {
    let (h, [root, _gc, g, o1, arr, hid, _o2, shared, _hs]) = ownership_heap(false);
    let s = h.analyze();
    // The root has only synthetic children: DevTools does not re-attribute anything.
    assert_eq!(s.analysis.shallow_size(o1), 100);
    assert_eq!(s.analysis.shallow_size(arr), 16);
    assert_eq!(s.analysis.shallow_size(hid), 8);
    assert_eq!(s.analysis.shallow_size(shared), 24);
    // Unchanged sizes cost no memory: the column shares the graph's array.
    let graph_sizes = s.graph().self_sizes();
    assert_eq!(
        s.analysis.shallow.raw_parts().0.as_ptr(),
        graph_sizes.raw_parts().0.as_ptr()
    );
    // O1 = 100 + 16 + 8 = 124 either way; arr = 24 now.
    check_tree(
        &s,
        &[
            (root, root, 220),
            (o1, g, 124),
            (arr, o1, 24),
            (hid, arr, 8),
        ],
    );
}

/// V8 names the two internal edges that keep a WeakMap value alive
/// `<n> / part of key (<key> @<id>) -> value (<value> @<id>) pair in WeakMap (table @<id>)`,
/// one from the table and one from the key (docs/devtools-rules.md §1.5, §2.1 rule 1).
#[test]
fn weakmap_table_edge_does_not_retain_and_value_distance_waits_for_both() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let g = h.node("object", "G", 10);
    let map = h.node("object", "WeakMap", 20);
    let table = h.node("array", "", 30);
    let key = h.node("object", "Key", 40);
    let value = h.node("object", "Val", 50);
    let pair = |n: u32, h: &Heap| {
        format!(
            "{n} / part of key (Key @{}) -> value (Val @{}) pair in WeakMap (table @{})",
            h.id(key),
            h.id(value),
            h.id(table)
        )
    };
    let from_table = pair(3, &h);
    let from_key = pair(1, &h);
    h.edge(root, "element", "1", g);
    h.edge(g, "property", "map", map);
    h.edge(g, "property", "key", key);
    h.edge(map, "internal", "table", table);
    h.edge(table, "internal", &from_table, value);
    h.edge(key, "internal", &from_key, value);
    let s = h.analyze();
    // Shallow: the table (array) is owned by the WeakMap only → WeakMap shows 20 + 30 = 50.
    assert_eq!(s.analysis.shallow_size(map), 50);
    assert_eq!(s.analysis.shallow_size(table), 0);
    // Dominators: the table → value edge is dropped (its source's id is the table id), so the
    // key alone retains the value: idom(Val) = Key. Key = 40 + 50 = 90; WeakMap = 50;
    // G = 10 + 50 + 90 = 150.
    check_tree(
        &s,
        &[
            (value, key, 50),
            (key, g, 90),
            (map, g, 50),
            (table, map, 0),
            (g, root, 150),
        ],
    );
    // Distances: G 1, WeakMap 2, Key 2, table 3. The BFS tries Key → Val first (Key is
    // dequeued before the table) and skips it; table → Val is the pair's second edge and is
    // followed: Val = 3 + 1 = 4 (not 3).
    assert_eq!(dist(&s, key), 2);
    assert_eq!(dist(&s, table), 3);
    assert_eq!(dist(&s, value), 4);
}

#[test]
fn weakmap_edge_names_drop_only_the_named_tables_own_edges() {
    // Two tables. Only an edge from the very table its name gives is dropped: table A's edge
    // named for table B, and an ordinary object's edge named for table A, both retain.
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let g = h.node("object", "G", 10);
    let table_a = h.node("array", "", 30);
    let table_b = h.node("array", "", 30);
    let holder = h.node("object", "Holder", 5);
    let dropped = h.node("object", "Dropped", 50);
    let named_for_b = h.node("object", "NamedForB", 60);
    let named_for_a = h.node("object", "NamedForA", 70);
    let name = |n: u32, value: u32, table: u32, h: &Heap| {
        format!(
            "{n} / part of key (Key @1) -> value (V @{}) pair in WeakMap (table @{})",
            h.id(value),
            h.id(table)
        )
    };
    let a_own = name(1, dropped, table_a, &h);
    let a_for_b = name(3, named_for_b, table_b, &h);
    let holder_for_a = name(5, named_for_a, table_a, &h);
    h.edge(root, "element", "1", g);
    h.edge(g, "internal", "a", table_a);
    h.edge(g, "internal", "b", table_b);
    h.edge(g, "property", "holder", holder);
    h.edge(holder, "property", "dropped", dropped);
    h.edge(table_a, "internal", &a_own, dropped);
    h.edge(table_a, "internal", &a_for_b, named_for_b);
    h.edge(holder, "internal", &holder_for_a, named_for_a);
    let s = h.analyze();
    check_tree(
        &s,
        &[
            // Held by Holder and by table A's own edge, which does not count.
            (dropped, holder, 50),
            (named_for_b, table_a, 60),
            (named_for_a, holder, 70),
            (holder, g, 5 + 50 + 70),
        ],
    );
}

#[test]
fn root_index_and_only_root() {
    // A snapshot with one node: the root retains nothing but itself.
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let s = h.analyze();
    check_tree(&s, &[(root, root, 0)]);
    assert_eq!(s.analysis.distance(root), Some(0));
    // A root given by `snapshot.root_index` (a node index): here the last node.
    let mut h = Heap::new();
    let a = h.node("object", "A", 10);
    let b = h.node("object", "B", 20);
    let r = h.node("synthetic", "", 0);
    h.edge(a, "property", "b", b);
    h.edge(r, "element", "1", a);
    h.snapshot_field(&format!("\"root_index\":{}", 2 * common::NODE20_FIELDS));
    let s = h.analyze();
    assert_eq!(s.graph().root(), r);
    check_tree(&s, &[(r, r, 30), (a, r, 30), (b, a, 20)]);
    assert_eq!(dist(&s, a), 1);
    assert_eq!(dist(&s, b), 2);
}

#[test]
fn distance_skips_sloppy_function_map_and_descriptor_values() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let g = h.node("object", "G", 10);
    let nc = h.node("hidden", "system / NativeContext", 10);
    let m1 = h.node("object", "M1", 10);
    let m2 = h.node("object", "M2", 10);
    let d = h.node("array", "(map descriptors)", 10);
    h.edge(root, "element", "1", g);
    h.edge(g, "internal", "ctx", nc);
    h.edge(g, "internal", "d", d);
    h.edge(nc, "internal", "sloppy_function_map", m1);
    h.edge(nc, "internal", "other", m2);
    let t: Vec<NodeIx> = (0..8)
        .map(|i| h.node("object", &format!("T{i}"), 1))
        .collect();
    for (i, &ti) in t.iter().enumerate() {
        h.edge(d, "element", &i.to_string(), ti);
    }
    let s = h.analyze();
    // G 1; the native context and the descriptor array 2; M2 3. M1 is only reached through
    // `sloppy_function_map`, which the BFS does not follow.
    assert_eq!([g, nc, d, m2].map(|n| dist(&s, n)), [1, 2, 2, 3]);
    assert_eq!(dist(&s, m1), NO_DISTANCE);
    // In `(map descriptors)`, slots 4, 7, 10, … (index ≥ 2 and index % 3 == 1) are skipped.
    let got: Vec<u32> = t.iter().map(|&n| dist(&s, n)).collect();
    let x = NO_DISTANCE;
    assert_eq!(got, [3, 3, 3, 3, x, 3, 3, x]);
    // Dominators don't care about the distance filter.
    assert_eq!(s.analysis.dominator(m1), nc);
    assert_eq!(s.analysis.dominator(t[4]), d);
}

#[test]
fn self_sizes_of_4_gib_and_more() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "Big", 5_000_000_000);
    let b = h.node("object", "Huge", u32::MAX as u64);
    let c = h.node("object", "Small", 7);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "b", b);
    h.edge(root, "element", "2", c);
    let s = h.analyze();
    assert_eq!(s.graph().self_size(a), 5_000_000_000);
    assert_eq!(s.graph().self_size(b), u32::MAX as u64);
    assert_eq!(s.analysis.shallow_size(a), 5_000_000_000);
    check_tree(
        &s,
        &[
            (a, root, 5_000_000_000 + u32::MAX as u64),
            (b, a, u32::MAX as u64),
            (root, root, 5_000_000_007 + u32::MAX as u64),
        ],
    );
    assert_eq!(s.summary().total_size, 5_000_000_007 + u32::MAX as u64);
}
