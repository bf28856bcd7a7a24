//! Comparison and leak features of the engine: three-snapshot leak clusters, the two-snapshot
//! diff, detached DOM trees, leak suspects, duplicated strings and growing collections — on the
//! committed samples (counts from their expected.json) and on hand-made snapshots whose node
//! ids are chosen so that objects match (or not) across snapshots.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use common::{analyze_file, analyze_json, sample, without_detachedness, Heap};
use heapsight::analysis::classes::is_detached;
use heapsight::analysis::detached::{is_dom_like, DetachedDom};
use heapsight::analysis::diff::SnapshotDiff;
use heapsight::analysis::distances::is_user_root;
use heapsight::analysis::leaks::{LeakCluster, LeakReport};
use heapsight::analysis::strings::{duplicated_strings, growing_collections};
use heapsight::analysis::suspects::{find_suspects, SuspectKind, SuspectOptions};
use heapsight::analysis::{AnalyzedSnapshot, RuleSet};
use heapsight::model::{NodeIx, NodeKind};

// ---------------------------------------------------------------------------------------------
// The committed samples, each loaded and analysed once per test binary.

fn analyzed(rel: &str) -> &'static AnalyzedSnapshot {
    type Cache = Mutex<HashMap<String, &'static OnceLock<AnalyzedSnapshot>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cell = *CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(rel.to_string())
        .or_insert_with(|| Box::leak(Box::new(OnceLock::new())));
    cell.get_or_init(|| analyze_file(&sample(rel), RuleSet::DevTools))
}

/// baseline, target and final of one sample scenario.
fn scenario(dir: &str) -> [&'static AnalyzedSnapshot; 3] {
    ["baseline", "target", "final"].map(|s| analyzed(&format!("{dir}/{s}.heapsnapshot")))
}

fn sample_leaks(dir: &str) -> LeakReport {
    let [b, t, f] = scenario(dir);
    LeakReport::compute(b, t, f)
}

/// Nodes of type `object` named `name` (the rule of expected.json).
fn objects_named(s: &AnalyzedSnapshot, name: &str) -> Vec<NodeIx> {
    let g = s.graph();
    (0..g.node_count() as NodeIx)
        .filter(|&n| g.kind(n) == NodeKind::Object && g.name(n) == name)
        .collect()
}

fn cluster<'a>(r: &'a LeakReport, class: &str) -> &'a LeakCluster {
    r.clusters
        .iter()
        .find(|c| c.class == class)
        .unwrap_or_else(|| panic!("no {class} cluster in {:?}", classes_of(r)))
}

fn classes_of(r: &LeakReport) -> Vec<(String, u64)> {
    r.clusters
        .iter()
        .map(|c| (c.class.clone(), c.count))
        .collect()
}

/// Checks every cluster of every report must pass.
fn check_report_invariants(r: &LeakReport, final_: &AnalyzedSnapshot) {
    let g = final_.graph();
    assert_eq!(
        r.leaked_count,
        r.clusters.iter().map(|c| c.count).sum::<u64>()
    );
    assert_eq!(
        r.leaked_retained_size,
        r.clusters.iter().map(|c| c.retained_size).sum::<u64>()
    );
    assert_eq!(
        r.leaked_reached_size,
        r.clusters.iter().map(|c| c.reached_size).sum::<u64>()
    );
    for c in &r.clusters {
        assert!(c.reached_through > 0 || c.reached_size == 0, "{c:?}");
    }
    assert!(r.leaked_count <= r.surviving_count);
    for w in r.clusters.windows(2) {
        assert!(w[0].retained_size >= w[1].retained_size, "clusters sorted");
    }
    let mut seen = HashSet::new();
    for c in &r.clusters {
        assert_eq!(c.nodes.len() as u64, c.count, "{}", c.class);
        assert_eq!(c.example_ids.len(), c.nodes.len().min(20), "{}", c.class);
        let retained: u64 = c
            .nodes
            .iter()
            .map(|&n| final_.analysis.retained_size(n))
            .sum();
        assert_eq!(retained, c.retained_size, "{}", c.class);
        for &n in &c.nodes {
            assert_eq!(final_.class_name(n), c.class);
            assert!(seen.insert(n), "node {n} in two clusters");
        }
        // The trace is the representative's path: root first, ending at the first example.
        let last = c.trace.last().expect("a trace");
        assert_eq!(last.node_id, c.example_ids[0], "{}", c.class);
        assert_eq!(last.node_class, c.class);
        assert_eq!(g.id(c.nodes[0]), c.example_ids[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// Leak clusters on the samples.

#[test]
fn node_leak_is_one_request_context_cluster_held_by_the_contexts_map() {
    let r = sample_leaks("node-leak");
    let [_, _, f] = scenario("node-leak");
    check_report_invariants(&r, f);
    assert_eq!(classes_of(&r), vec![("RequestContext".to_string(), 1000)]);
    let c = &r.clusters[0];
    assert_eq!(r.leaked_count, 1000);
    assert_eq!(r.leaked_retained_size, c.retained_size);
    // Every RequestContext of the final snapshot (expected.json: 1000) is in the cluster.
    let all: HashSet<NodeIx> = objects_named(f, "RequestContext").into_iter().collect();
    assert_eq!(all.len(), 1000);
    assert_eq!(c.nodes.iter().copied().collect::<HashSet<_>>(), all);
    // (root) → (GC roots) → (Stack roots) → system / Context --contexts--> Map → (array) → it.
    let last = c.trace.last().unwrap();
    assert_eq!(last.node_class, "RequestContext");
    let map_step = c
        .trace
        .iter()
        .position(|s| s.edge_name == "contexts")
        .unwrap_or_else(|| panic!("no `contexts` edge in {:?}", c.trace));
    assert_eq!(c.trace[map_step].node_class, "Map");
    assert_eq!(c.trace[map_step].edge_type, "context");
    assert!(map_step < c.trace.len() - 1);
    // The Map is named by its variable (the trace shows it too, from the module's context).
    assert_eq!(c.held_as, ["closure variable contexts"]);
    let held_by = heapsight::report::leaks::held_by(c);
    assert!(
        held_by.starts_with("Map @") && held_by.ends_with(" (closure variable contexts)"),
        "{held_by}"
    );
    assert!(heapsight::report::leaks::text(&r).contains(&format!("  held by {held_by}\n")));
    // The other classes of the scenario never make a cluster of their own: LeakedPayload is held
    // by its RequestContext (and counted in its retained size), the cache was cleared, TempBuffer
    // never survived, WeakHeld and CycleNode predate the baseline.
    for class in [
        "LeakedPayload",
        "CacheEntry",
        "TempBuffer",
        "WeakHeld",
        "CycleNode",
    ] {
        assert!(
            r.clusters.iter().all(|x| x.class != class),
            "{class} reported: {:?}",
            classes_of(&r)
        );
    }
    // Each LeakedPayload hangs below a RequestContext in the dominator tree.
    let payloads = objects_named(f, "LeakedPayload");
    assert_eq!(payloads.len(), 1000);
    for p in payloads {
        let chain = f.analysis.dominators.chain(p);
        assert!(
            chain.iter().any(|d| all.contains(d)),
            "LeakedPayload {p} not under a RequestContext"
        );
    }
    // The CI gate.
    assert_eq!(r.gate(1, 0).len(), 1);
    assert_eq!(r.gate(1000, c.retained_size).len(), 1);
    assert!(r.gate(1001, 0).is_empty());
    assert!(r.gate(1, c.retained_size + 1).is_empty());
}

#[test]
fn node_noleak_has_no_clusters() {
    let r = sample_leaks("node-noleak");
    let [_, _, f] = scenario("node-noleak");
    check_report_invariants(&r, f);
    assert!(r.clusters.is_empty(), "{:?}", classes_of(&r));
    assert_eq!(r.leaked_count, 0);
    assert_eq!(r.leaked_retained_size, 0);
    assert!(r.gate(1, 0).is_empty());
}

#[test]
fn browser_detached_reports_the_detached_list_and_the_listeners() {
    let r = sample_leaks("browser-detached");
    let [_, t, f] = scenario("browser-detached");
    check_report_invariants(&r, f);
    // Exactly the two leaks of the page: the detached <ul> (its 200 <li> and their text nodes
    // are held by it, so they are in its cluster, not clusters of their own) and the array of
    // listeners.
    let mut got = classes_of(&r);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("Detached <ul>".to_string(), 1),
            ("LeakyListener".to_string(), 100)
        ]
    );
    let ul = cluster(&r, "Detached <ul>");
    let step = ul.trace.last().unwrap();
    assert_eq!(
        (step.edge_name.as_str(), step.edge_type.as_str()),
        ("leakedRows", "property")
    );
    let listeners = cluster(&r, "LeakyListener");
    assert_eq!(
        listeners.trace[listeners.trace.len() - 2].edge_name,
        "leakyListeners"
    );
    assert_eq!(listeners.held_as, ["Window.leakyListeners"]);
    // ScratchEntry lives in the target only (expected.json: 300, then 0).
    assert_eq!(objects_named(t, "ScratchEntry").len(), 300);
    assert_eq!(objects_named(f, "ScratchEntry").len(), 0);
    assert!(r.clusters.iter().all(|c| c.class != "ScratchEntry"));
}

// ---------------------------------------------------------------------------------------------
// Hand-made three-snapshot scenarios. Ids are chosen by hand: an object is "the same" in two
// snapshots when it has the same id.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Baseline,
    Target,
    Final,
}
use Stage::{Baseline, Final, Target};

/// A heap with the root (@1) and a global `Window` object (@3, a user root) in every snapshot.
struct World {
    h: Heap,
    global: NodeIx,
}

impl World {
    fn new() -> Self {
        let mut h = Heap::new();
        let root = h.node_with_id("synthetic", "", 1, 0);
        let global = h.node_with_id("object", "Window", 3, 100);
        h.edge(root, "element", "1", global);
        World { h, global }
    }

    fn obj(&mut self, name: &str, id: u32, size: u64) -> NodeIx {
        self.h.node_with_id("object", name, id, size)
    }

    /// A new object held by `global.<prop>`.
    fn global_prop(&mut self, prop: &str, name: &str, id: u32, size: u64) -> NodeIx {
        let n = self.obj(name, id, size);
        let g = self.global;
        self.h.edge(g, "property", prop, n);
        n
    }
}

/// The three snapshots `build` makes, analysed.
fn three(build: impl Fn(&mut World, Stage)) -> [AnalyzedSnapshot; 3] {
    [Baseline, Target, Final].map(|stage| {
        let mut w = World::new();
        build(&mut w, stage);
        w.h.analyze()
    })
}

fn handmade_leaks(build: impl Fn(&mut World, Stage)) -> (LeakReport, AnalyzedSnapshot) {
    let [b, t, f] = three(build);
    let r = LeakReport::compute(&b, &t, &f);
    check_report_invariants(&r, &f);
    (r, f)
}

#[test]
fn only_objects_new_in_target_and_alive_in_final_leak() {
    let (r, _) = handmade_leaks(|w, stage| {
        // In every snapshot: not new, not a leak.
        w.global_prop("old", "Old", 101, 10);
        match stage {
            Baseline => {}
            Target => {
                // Gone again in final: temporary.
                w.global_prop("temp", "Temp", 103, 20);
                w.global_prop("leak", "Leak", 107, 30);
            }
            Final => {
                w.global_prop("leak", "Leak", 107, 30);
                // New after the target: not seen in the target, so not (yet) a leak.
                w.global_prop("late", "Late", 105, 40);
            }
        }
    });
    assert_eq!(classes_of(&r), vec![("Leak".to_string(), 1)]);
    assert_eq!(r.surviving_count, 1);
    assert_eq!(r.leaked_retained_size, 30);
    let c = &r.clusters[0];
    assert_eq!(c.example_ids, vec![107]);
    let trace: Vec<(&str, &str, &str, u32)> = c
        .trace
        .iter()
        .map(|s| {
            (
                s.edge_type.as_str(),
                s.edge_name.as_str(),
                s.node_class.as_str(),
                s.node_id,
            )
        })
        .collect();
    assert_eq!(
        trace,
        vec![
            ("element", "[1]", "Window", 3),
            ("property", "leak", "Leak", 107)
        ]
    );
    assert_eq!(r.gate(1, 30).len(), 1);
    assert!(r.gate(2, 0).is_empty());
    assert!(r.gate(1, 31).is_empty());
}

#[test]
fn objects_held_by_a_leaked_object_are_reported_under_it() {
    let (r, f) = handmade_leaks(|w, stage| {
        let registry = w.global_prop("registry", "Registry", 201, 8);
        let list = w.obj("List", 203, 8);
        w.h.edge(registry, "property", "list", list);
        if stage == Baseline {
            return;
        }
        let session = w.global_prop("session", "Session", 301, 30);
        // Dominated by the session directly…
        let payload = w.obj("Payload", 303, 50);
        w.h.edge(session, "property", "payload", payload);
        // …and through its (new) internal storage, which is not a leak candidate itself.
        let storage = w.h.node_with_id("array", "", 305, 16);
        w.h.edge(session, "internal", "elements", storage);
        let item = w.obj("Item", 307, 7);
        w.h.edge(storage, "element", "0", item);
        // Reached first through the session, though the registry holds it too (farther away):
        // not dominated by the session, but its shortest path runs through the leak.
        let shared = w.obj("Shared", 309, 5);
        w.h.edge(session, "property", "shared", shared);
        w.h.edge(list, "property", "shared", shared);
    });
    assert_eq!(classes_of(&r), vec![("Session".to_string(), 1)]);
    // Session, payload, storage, item and shared survived; only the session is reported.
    assert_eq!(r.surviving_count, 5);
    let session = f.graph().node_by_id(301).unwrap();
    let shared = f.graph().node_by_id(309).unwrap();
    assert_ne!(
        f.analysis.dominator(shared),
        session,
        "the registry holds it too"
    );
    // The session retains its payload, its storage and the item (not the shared object).
    assert_eq!(r.clusters[0].retained_size, 30 + 50 + 16 + 7);
}

#[test]
fn fifty_entries_of_one_array_are_one_cluster() {
    let (r, f) = handmade_leaks(|w, stage| {
        let list = w.global_prop("items", "Array", 201, 16);
        // The backing store is reallocated as the array grows: a new id after the baseline.
        let storage =
            w.h.node_with_id("array", "", if stage == Baseline { 203 } else { 205 }, 8);
        w.h.edge(list, "internal", "elements", storage);
        if stage != Baseline {
            for i in 0..50 {
                let item = w.obj("Item", 1001 + 2 * i, 12);
                w.h.edge(storage, "element", &i.to_string(), item);
            }
        }
    });
    assert_eq!(classes_of(&r), vec![("Item".to_string(), 50)]);
    let c = &r.clusters[0];
    assert_eq!(c.retained_size, 50 * 12);
    assert_eq!(c.example_ids.len(), 20);
    let ids: HashSet<u32> = c.nodes.iter().map(|&n| f.graph().id(n)).collect();
    assert_eq!(ids, (0..50).map(|i| 1001 + 2 * i).collect());
    // The trace names one slot; the cluster key folds the index.
    let edges: Vec<&str> = c.trace.iter().map(|s| s.edge_name.as_str()).collect();
    assert_eq!(edges[..3], ["[1]", "items", "elements"]);
    assert!(edges[3].starts_with('[') && edges[3].ends_with(']'));
    assert_eq!(r.gate(50, 600).len(), 1);
    assert!(r.gate(51, 0).is_empty());
    assert!(r.gate(50, 601).is_empty());
}

/// `const kept = []` (Array @11, its store @13 of `slots` slots, returned) in `module`'s
/// variables, and a deoptimization literal of the running code on the `stack`: a snapshot
/// written near the heap limit.
fn array_kept_on_the_stack(w: &mut World, stack: NodeIx, module: NodeIx, slots: u64) -> NodeIx {
    let kept = w.obj("Array", 11, 32);
    w.h.edge(stack, "internal", "28 / deoptimization literal", kept);
    w.h.edge(module, "context", "kept", kept);
    let store = w.h.node_with_id("array", "", 13, 8 * slots);
    w.h.edge(kept, "internal", "elements", store);
    store
}

#[test]
fn a_cluster_reached_through_the_stack_is_named_by_its_variable() {
    // A snapshot written while the program runs (near the heap limit): the shortest path to
    // the growing array is the running code's deoptimization literal, not the module's
    // variable `kept`.
    let (r, _) = handmade_leaks(|w, stage| {
        // As in Node: no page global, every path from (GC roots).
        let gc_roots = w.h.node_with_id("synthetic", "(GC roots)", 15, 0);
        w.h.edge(0, "element", "2", gc_roots);
        let stack = w.h.node_with_id("synthetic", "(Stack roots)", 5, 0);
        w.h.edge(gc_roots, "element", "1", stack);
        let handles = w.h.node_with_id("synthetic", "(Global handles)", 17, 0);
        w.h.edge(gc_roots, "element", "2", handles);
        let main = w.h.node_with_id("closure", "main", 9, 32);
        let module = w.obj("system / Context", 7, 48);
        w.h.edge(handles, "element", "1", main);
        w.h.edge(main, "internal", "context", module);
        let store = array_kept_on_the_stack(w, stack, module, 64);
        let count = match stage {
            Baseline => 0,
            Target => 20,
            Final => 40,
        };
        for i in 0..count {
            let o = w.obj("Request", 100 + 2 * i, 64);
            w.h.edge(store, "element", &i.to_string(), o);
        }
    });
    assert_eq!(classes_of(&r), vec![("Request".to_string(), 20)]);
    let c = &r.clusters[0];
    let holder = &c.trace[heapsight::analysis::leaks::holder_step(&c.trace).unwrap()];
    assert_eq!((holder.node_class.as_str(), holder.node_id), ("Array", 11));
    assert_eq!(
        holder.edge_name, "28 / deoptimization literal",
        "{:?}",
        c.trace
    );
    assert_eq!(c.held_as, ["closure variable kept"]);
    assert_eq!(
        heapsight::report::leaks::held_by(c),
        "Array @11 (closure variable kept)"
    );
    assert!(
        heapsight::report::leaks::text(&r).contains("held by Array @11 (closure variable kept)")
    );
}

#[test]
fn a_chain_of_leaked_objects_shows_how_each_holds_the_one_before() {
    // The classic closure leak: each new `theThing` has a method whose closure shares a
    // context with one that read `originalThing`, the thing before it.
    let (r, _) = handmade_leaks(|w, stage| {
        let module = w.obj("system / Context", 5, 48);
        let g = w.global;
        w.h.edge(g, "internal", "context", module);
        let count = match stage {
            Baseline => 0,
            Target | Final => 30,
        };
        let mut older = None;
        for i in 0..count {
            let thing = w.obj("Thing", 100 + 8 * i, 40);
            let method = w.h.node_with_id("closure", "someMethod", 102 + 8 * i, 32);
            let scope = w.obj("system / Context", 104 + 8 * i, 24);
            w.h.edge(thing, "property", "someMethod", method);
            w.h.edge(method, "internal", "context", scope);
            if let Some(o) = older {
                w.h.edge(scope, "context", "originalThing", o);
            }
            older = Some(thing);
        }
        if let Some(newest) = older {
            w.h.edge(module, "context", "theThing", newest);
        }
    });
    assert_eq!(classes_of(&r), vec![("Thing".to_string(), 1)]);
    let c = &r.clusters[0];
    // The older things and every method (scopes are V8's own, never counted).
    assert_eq!(c.reached_through, 29 + 30);
    assert_eq!((c.chained, c.objects()), (29, 30));
    // The gate's `min-count` counts the chain's links.
    assert_eq!(r.gate(30, 0).len(), 1);
    assert!(r.gate(31, 0).is_empty());
    let links: Vec<(&str, &str)> = c
        .chain
        .iter()
        .map(|s| (s.edge_name.as_str(), s.node_class.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("someMethod", "Function"),
            ("context", "system / Context"),
            ("originalThing", "Thing")
        ]
    );
    assert_eq!(c.chain[2].node_id, 100 + 8 * 28, "the thing just before");
    let line = heapsight::report::leaks::chain_line(c).unwrap();
    assert_eq!(
        line,
        format!(
            "chained, 30 in all, each holding another: Thing @{} --property someMethod--> \
             Function @{} \
             --internal context--> system / Context @{} --context originalThing--> Thing @{}",
            100 + 8 * 29,
            102 + 8 * 29,
            104 + 8 * 29,
            100 + 8 * 28
        )
    );
    let text = heapsight::report::leaks::text(&r);
    assert!(text.contains(&line), "{text}");
    assert!(
        text.starts_with("1 leaked objects (30 with their chains' older links) in 1 cluster(s)"),
        "{text}"
    );
    // A listener whose scope keeps a state setter holds another new Function, but the setter
    // holds none the same way: not a chain, and the setters don't count toward min-count.
    let (r, _) = handmade_leaks(|w, stage| {
        let listeners = w.global_prop("listeners", "Array", 21, 16);
        let count = if stage == Baseline { 0 } else { 20 };
        for i in 0..count {
            let listener = w.h.node_with_id("closure", "onClick", 1001 + 6 * i, 32);
            let scope = w.obj("system / Context", 1003 + 6 * i, 24);
            let setter = w.h.node_with_id("closure", "setHits", 1005 + 6 * i, 32);
            w.h.edge(listeners, "element", &i.to_string(), listener);
            w.h.edge(listener, "internal", "context", scope);
            w.h.edge(scope, "context", "setHits", setter);
        }
    });
    assert_eq!(classes_of(&r), vec![("Function".to_string(), 20)]);
    let c = &r.clusters[0];
    assert_eq!(c.reached_through, 20);
    assert!(c.chain.is_empty(), "{:?}", c.chain);
    assert_eq!((c.chained, c.objects()), (0, 20));
    // Objects that hold only others of another class make no chain.
    let node_leak = sample_leaks("node-leak");
    assert!(node_leak.clusters[0].reached_through > 0);
    assert!(node_leak.clusters[0].chain.is_empty());
    assert_eq!(node_leak.clusters[0].chained, 0);
}

#[test]
fn a_ring_reached_from_both_ends_is_one_cluster() {
    // Node's timer list: a head and a doubly linked ring of timers. Five timers predate the
    // baseline; ten new ones were linked in after the head. The shortest paths reach the new
    // part from both ends: the newest through `head.next`, the oldest new one through the old
    // timers' `prev`.
    let (r, _) = handmade_leaks(|w, stage| {
        let head = w.global_prop("timers", "TimersList", 21, 40);
        let new_links = if stage == Baseline { 0 } else { 10 };
        let mut ring = Vec::new();
        for i in 0..new_links {
            ring.push(w.obj("Timeout", 1001 + 2 * i, 80));
        }
        for i in 0..5 {
            ring.push(w.obj("Timeout", 31 + 2 * i, 80));
        }
        let mut all = vec![head];
        all.extend(ring);
        for (i, &x) in all.iter().enumerate() {
            let next = all[(i + 1) % all.len()];
            w.h.edge(x, "property", "next", next);
            w.h.edge(next, "property", "prev", x);
        }
    });
    assert_eq!(classes_of(&r), vec![("Timeout".to_string(), 2)]);
    let c = &r.clusters[0];
    assert_eq!((c.count, c.chained, c.objects()), (2, 8, 10));
    assert_eq!(c.retained_size + c.reached_size, 10 * 80);
    assert_eq!(r.gate(10, 0).len(), 1);
    assert!(r.gate(11, 0).is_empty());
}

#[test]
fn objects_in_two_containers_are_two_clusters() {
    let (r, _) = handmade_leaks(|w, stage| {
        let a = w.global_prop("a", "Registry", 201, 8);
        let b = w.global_prop("b", "Registry", 203, 8);
        if stage == Baseline {
            return;
        }
        for i in 0..3 {
            let x = w.obj("Item", 301 + 2 * i, 10);
            w.h.edge(a, "element", &i.to_string(), x);
        }
        for i in 0..2 {
            let x = w.obj("Item", 401 + 2 * i, 10);
            w.h.edge(b, "element", &i.to_string(), x);
        }
    });
    // Same class, different paths (global.a vs global.b): largest first.
    assert_eq!(
        classes_of(&r),
        vec![("Item".to_string(), 3), ("Item".to_string(), 2)]
    );
    assert_eq!(r.clusters[0].trace[1].edge_name, "a");
    assert_eq!(r.clusters[1].trace[1].edge_name, "b");
    assert_eq!(r.clusters[0].retained_size, 30);
    assert_eq!(r.clusters[1].retained_size, 20);
    assert_eq!(r.gate(3, 0).len(), 1);
    assert_eq!(r.gate(2, 0).len(), 2);
}

/// A plain object used as a dictionary (`sessions["user-" + id] = new Session()`): V8 writes one
/// property edge per key, named by the key, so the 50 paths differ only in that name. Like the
/// 50 entries of an array (or of a Map, whose table edges are numbered), they are one leak.
#[test]
fn entries_of_an_object_used_as_a_dictionary_are_one_cluster() {
    let (r, _) = handmade_leaks(|w, stage| {
        let sessions = w.global_prop("sessions", "Object", 201, 16);
        if stage == Baseline {
            return;
        }
        for i in 0..50 {
            let s = w.obj("Session", 1001 + 2 * i, 20);
            w.h.edge(sessions, "property", &format!("user-{i}"), s);
        }
    });
    assert_eq!(
        classes_of(&r),
        vec![("Session".to_string(), 50)],
        "one cluster per dictionary key"
    );
    assert_eq!(r.gate(10, 0).len(), 1, "--min-count 10 must see this leak");
}

#[test]
fn weakly_held_new_objects_are_not_reported() {
    let (r, f) = handmade_leaks(|w, stage| {
        if stage == Baseline {
            return;
        }
        let weak = w.obj("Weakling", 301, 40);
        let inner = w.obj("Inner", 303, 4);
        w.h.edge(weak, "property", "inner", inner);
        let g = w.global;
        w.h.edge(g, "weak", "ref", weak);
    });
    assert!(r.clusters.is_empty(), "{:?}", classes_of(&r));
    // Unreachable without weak edges: not even a survivor.
    assert_eq!(r.surviving_count, 0);
    let weak = f.graph().node_by_id(301).unwrap();
    assert_eq!(f.analysis.distance(weak), None);
    assert!(r.gate(1, 0).is_empty());
}

#[test]
fn engine_bookkeeping_is_not_reported_but_closures_are() {
    let (r, _) = handmade_leaks(|w, stage| {
        if stage == Baseline {
            return;
        }
        let g = w.global;
        // V8 internals, strings and code: never candidates.
        let ctx = w.obj("system / Context", 301, 40);
        w.h.edge(g, "internal", "context", ctx);
        let text = w.h.node_with_id("string", "some text", 303, 24);
        w.h.edge(g, "property", "text", text);
        // Objects kept only through compiled code or engine caches.
        let code = w.h.node_with_id("code", "handler", 305, 64);
        w.h.edge(g, "internal", "code", code);
        let literal = w.obj("Boilerplate", 307, 16);
        w.h.edge(code, "internal", "literal", literal);
        let site = w.obj("AllocationSiteBoilerplate", 309, 16);
        w.h.edge(g, "internal", "transition_info", site);
        // A native object that is not detached DOM.
        let native = w.h.node_with_id("native", "<div id=\"app\">", 311, 32);
        w.h.edge(g, "internal", "wrapper", native);
        // A closure the program keeps: a leak like any object.
        let f = w.h.node_with_id("closure", "onTick", 313, 32);
        w.h.edge(g, "property", "onTick", f);
    });
    assert_eq!(classes_of(&r), vec![("Function".to_string(), 1)]);
    assert_eq!(r.clusters[0].example_ids, vec![313]);
    assert_eq!(r.surviving_count, 7);
}

// ---------------------------------------------------------------------------------------------
// Snapshot diff.

#[test]
fn diff_of_node_leak_baseline_and_target() {
    let [b, t, f] = scenario("node-leak");
    let d = SnapshotDiff::compute(b, t);
    let row = |name: &str| {
        d.classes
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no {name} row"))
    };
    let rc = row("RequestContext");
    assert_eq!(
        (rc.new_count, rc.deleted_count, rc.delta_count),
        (1000, 0, 1000)
    );
    assert!(rc.alloc_size > 0);
    assert_eq!(rc.freed_size, 0);
    assert_eq!(rc.size_delta, rc.alloc_size as i64);
    let lp = row("LeakedPayload");
    assert_eq!((lp.new_count, lp.deleted_count), (1000, 0));
    let ce = row("CacheEntry");
    assert_eq!((ce.new_count, ce.deleted_count), (300, 0));
    check_diff_totals(&d);
    // Every RequestContext of the target is new, and allocated after the baseline.
    let new_rc = d.new_objects_of(t, "RequestContext");
    assert_eq!(new_rc.len(), 1000);
    for w in new_rc.windows(2) {
        assert!(t.analysis.retained_size(w[0]) >= t.analysis.retained_size(w[1]));
    }
    let between: HashSet<NodeIx> = d.allocated_between(t).into_iter().collect();
    assert!(new_rc.iter().all(|n| between.contains(n)));
    // The largest JS object id: odd (Node's embedder objects have even ids around 2.3e9,
    // larger than any JS object id of the target).
    let base_max = (0..b.graph().node_count() as NodeIx)
        .map(|n| b.graph().id(n))
        .filter(|id| id % 2 == 1)
        .max()
        .unwrap();
    assert_eq!(d.base_max_id, base_max);
    assert!(between.iter().all(|&n| t.graph().id(n) > base_max));

    // target → final: the route cache was cleared; nothing of the leak was freed.
    let d = SnapshotDiff::compute(t, f);
    let ce = d.classes.iter().find(|r| r.name == "CacheEntry").unwrap();
    assert_eq!((ce.new_count, ce.deleted_count), (0, 300));
    assert_eq!(ce.delta_count, -300);
    assert_eq!(ce.size_delta, -(ce.freed_size as i64));
    assert!(d
        .classes
        .iter()
        .filter(|r| r.name == "RequestContext" || r.name == "LeakedPayload")
        .all(|r| r.deleted_count == 0));
    check_diff_totals(&d);
}

fn check_diff_totals(d: &SnapshotDiff) {
    assert_eq!(
        d.new_count,
        d.classes.iter().map(|r| r.new_count).sum::<u64>()
    );
    assert_eq!(
        d.deleted_count,
        d.classes.iter().map(|r| r.deleted_count).sum::<u64>()
    );
    assert_eq!(
        d.alloc_size,
        d.classes.iter().map(|r| r.alloc_size).sum::<u64>()
    );
    assert_eq!(
        d.freed_size,
        d.classes.iter().map(|r| r.freed_size).sum::<u64>()
    );
    assert_eq!(d.new_nodes.len() as u64, d.new_count);
    for r in &d.classes {
        assert_eq!(r.delta_count, r.new_count as i64 - r.deleted_count as i64);
        assert_eq!(r.size_delta, r.alloc_size as i64 - r.freed_size as i64);
        assert!(r.new_count + r.deleted_count > 0, "empty row {}", r.name);
    }
    for w in d.classes.windows(2) {
        assert!(
            w[0].size_delta >= w[1].size_delta,
            "rows sorted by size delta"
        );
    }
}

#[test]
fn diff_of_a_handmade_pair_counts_bytes_exactly() {
    let [base, target, _] = three(|w, stage| {
        w.global_prop("keep", "Keep", 5, 10);
        // Embedders give their objects even, address-like ids far above V8's odd JS object ids
        // (Node's `Node / …` objects in the samples have ids around 2.3e9).
        let binding =
            w.h.node_with_id("native", "Node / BindingData", 2_333_687_872, 8);
        let g = w.global;
        w.h.edge(g, "internal", "binding", binding);
        match stage {
            Baseline => {
                w.global_prop("b", "Gone", 7, 20);
                w.global_prop("c", "Gone", 9, 30);
            }
            _ => {
                w.global_prop("d", "Fresh", 11, 40);
                w.global_prop("e", "Fresh", 13, 50);
                // New (not in the base) but with an id below the base's largest.
                w.global_prop("f", "LowId", 6, 5);
                // Zero-sized objects don't count, as in the Summary.
                w.global_prop("g", "Empty", 15, 0);
            }
        }
    });
    let d = SnapshotDiff::compute(&base, &target);
    let rows: Vec<(&str, u64, u64, i64, u64, u64, i64)> = d
        .classes
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.new_count,
                r.deleted_count,
                r.delta_count,
                r.alloc_size,
                r.freed_size,
                r.size_delta,
            )
        })
        .collect();
    // Largest size delta first; Keep (unchanged) and Empty (size 0) have no row.
    assert_eq!(
        rows,
        vec![
            ("Fresh", 2, 0, 2, 90, 0, 90),
            ("LowId", 1, 0, 1, 5, 0, 5),
            ("Gone", 0, 2, -2, 0, 50, -50),
        ]
    );
    assert_eq!((d.new_count, d.deleted_count), (3, 2));
    assert_eq!((d.alloc_size, d.freed_size), (95, 50));
    // The largest JS (odd) id, as DevTools' maxJsNodeId: not the embedder object's.
    assert_eq!(d.base_max_id, 9);
    let ids = |v: Vec<NodeIx>| -> Vec<u32> { v.iter().map(|&n| target.graph().id(n)).collect() };
    // Largest retained first.
    assert_eq!(ids(d.new_objects_of(&target, "Fresh")), vec![13, 11]);
    let mut between = ids(d.allocated_between(&target));
    between.sort();
    assert_eq!(
        between,
        vec![11, 13],
        "ids above the base's largest (9) only"
    );
    // A snapshot compared with itself: nothing changed.
    let same = SnapshotDiff::compute(&target, &target);
    assert!(same.classes.is_empty());
    assert_eq!((same.new_count, same.deleted_count), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Detached DOM.

#[test]
fn browser_detached_target_has_one_detached_list_tree() {
    let t = analyzed("browser-detached/target.heapsnapshot");
    let d = DetachedDom::compute(t);
    assert!(d.from_detachedness_field);
    assert_eq!(d.trees.len(), 1, "{:?}", d.trees);
    let tree = &d.trees[0];
    assert_eq!(tree.root_class, "Detached <ul>");
    let g = t.graph();
    assert_eq!(g.name(tree.root), "<ul id=\"rows\">");
    assert_eq!(g.id(tree.root), tree.root_id);
    assert_eq!(tree.retained_size, t.analysis.retained_size(tree.root));
    // Count the detached DOM nodes by class with the engine's own predicates. expected.json: one
    // <ul id="rows"> and 200 <li class="row"> marked detached by Blink; their 200 Text nodes are
    // unmarked (detachedness 0) but inherit the state from their <li> as DevTools propagates it,
    // and the list's HTMLCollection (a live `children`/`getElementsBy…` collection Blink keeps on
    // the <ul>) is named like a DOM object too: 1 + 200 + 200 + 1 = 402, all in the one tree.
    let mut by_class: BTreeMap<&str, u64> = BTreeMap::new();
    for n in 0..g.node_count() as NodeIx {
        if is_detached(g, &t.analysis.detached, n) && is_dom_like(g, n) {
            *by_class.entry(t.class_name(n)).or_default() += 1;
        }
    }
    assert_eq!(by_class.get("Detached <ul>"), Some(&1));
    assert_eq!(by_class.get("Detached <li>"), Some(&200));
    assert_eq!(by_class.get("Detached Text"), Some(&200));
    assert_eq!(by_class.get("Detached HTMLCollection"), Some(&1));
    assert_eq!(by_class.values().sum::<u64>(), 402, "{by_class:?}");
    assert_eq!(d.node_count, 402);
    assert!(tree.node_count >= 201);
    assert_eq!(
        tree.node_count, d.node_count,
        "every detached node is in the tree"
    );
    // Blink's own detached helpers (blink::UniqueElementData of each element, …) are left out.
    assert!(d.other_detached_count > 0);
    // window.leakedRows holds it.
    let last = tree.retainer_path.last().unwrap();
    assert_eq!(last.edge_name, "leakedRows");
    assert_eq!(last.edge_type, "property");
    assert_eq!(last.node_id, tree.root_id);
    let holder = &tree.retainer_path[tree.retainer_path.len() - 2];
    assert!(holder.node_class.starts_with("Window"), "{holder:?}");

    // The baseline has no detached DOM.
    let base = DetachedDom::compute(analyzed("browser-detached/baseline.heapsnapshot"));
    assert!(base.trees.is_empty());
    assert_eq!(base.node_count, 0);
}

#[test]
fn node_snapshots_have_no_dom_but_detached_binding_objects() {
    let t = analyzed("node-leak/target.heapsnapshot");
    let d = DetachedDom::compute(t);
    assert!(d.trees.is_empty(), "{:?}", d.trees);
    assert_eq!(d.node_count, 0);
    // Node marks some of its own binding objects (`Node / …`) detached: not DOM.
    assert!(d.other_detached_count > 0);
    let g = t.graph();
    let marked: Vec<&str> = (0..g.node_count() as NodeIx)
        .filter(|&n| is_detached(g, &t.analysis.detached, n))
        .map(|n| g.name(n))
        .collect();
    assert_eq!(marked.len() as u64, d.other_detached_count);
    assert!(marked.iter().all(|n| n.contains(" / ")), "{marked:?}");
}

/// root → Window; a detached `<div>` tree held by `window.cached`, a one-node `<p>` tree held by
/// `window.old`, a detached binding object and an attached `<div>`.
fn dom_heap(prefixes: bool) -> Heap {
    let mut w = World::new();
    let g = w.global;
    let name = |n: &str| {
        if prefixes {
            format!("Detached {n}")
        } else {
            n.to_string()
        }
    };
    let h = &mut w.h;
    let div = h.node_with_id("native", &name("<div id=\"panel\">"), 11, 100);
    let span = h.node_with_id("native", &name("<span>"), 13, 20);
    let text = h.node_with_id("native", &name("Text"), 15, 8);
    let p = h.node_with_id("native", &name("<p class=\"note\">"), 17, 30);
    let binding = h.node_with_id("native", &name("Node / BindingData"), 19, 5);
    let live = h.node_with_id("native", "<div id=\"app\">", 21, 10);
    h.edge(g, "property", "cached", div);
    h.edge(div, "element", "0", span);
    h.edge(span, "element", "0", text);
    h.edge(span, "property", "parentNode", div);
    h.edge(text, "property", "parentNode", span);
    // A weak link does not join two trees.
    h.edge(div, "weak", "observer", p);
    h.edge(g, "property", "old", p);
    h.edge(g, "property", "binding", binding);
    h.edge(g, "property", "live", live);
    if !prefixes {
        // The detachedness field marks the tree roots; DevTools propagates it to what
        // they hold. The live <div> is marked attached.
        h.detachedness(div, 2);
        h.detachedness(p, 2);
        h.detachedness(binding, 2);
        h.detachedness(live, 1);
    }
    w.h
}

fn check_dom_heap(d: &DetachedDom) {
    assert_eq!(d.node_count, 4, "div, span, text and p");
    assert_eq!(d.other_detached_count, 1, "the binding object");
    let trees: Vec<(&str, u32, u64, u64)> = d
        .trees
        .iter()
        .map(|t| {
            (
                t.root_class.as_str(),
                t.root_id,
                t.node_count,
                t.retained_size,
            )
        })
        .collect();
    assert_eq!(
        trees,
        vec![("Detached <div>", 11, 3, 128), ("Detached <p>", 17, 1, 30)]
    );
    let path: Vec<(&str, &str, u32)> = d.trees[0]
        .retainer_path
        .iter()
        .map(|s| (s.edge_name.as_str(), s.node_class.as_str(), s.node_id))
        .collect();
    assert_eq!(
        path,
        vec![("[1]", "Window", 3), ("cached", "Detached <div>", 11)]
    );
}

#[test]
fn detached_dom_from_name_prefixes_without_the_detachedness_field() {
    let s = analyze_json(&without_detachedness(&dom_heap(true).json()));
    assert!(!s.graph().has_detachedness());
    let d = DetachedDom::compute(&s);
    assert!(!d.from_detachedness_field);
    check_dom_heap(&d);
}

#[test]
fn detached_dom_from_the_detachedness_field() {
    let s = dom_heap(false).analyze();
    let d = DetachedDom::compute(&s);
    assert!(d.from_detachedness_field);
    check_dom_heap(&d);
}

// ---------------------------------------------------------------------------------------------
// Leak suspects.

#[test]
fn node_leak_suspects_name_the_contexts_map() {
    let t = analyzed("node-leak/target.heapsnapshot");
    let g = t.graph();
    let suspects = find_suspects(t, SuspectOptions::default());
    let rc: HashSet<NodeIx> = objects_named(t, "RequestContext").into_iter().collect();
    // The Map that holds the 1000 contexts (through its table).
    let map = suspects
        .iter()
        .find(|s| {
            s.kind == SuspectKind::Accumulation && s.explanation.contains("1000 RequestContext")
        })
        .unwrap_or_else(|| {
            panic!(
                "no accumulation suspect for 1000 RequestContext: {:#?}",
                suspects.iter().map(|s| &s.explanation).collect::<Vec<_>>()
            )
        });
    assert_eq!(map.class, "Map");
    assert_eq!(g.id(map.node), map.node_id);
    assert_eq!(map.path.last().unwrap().edge_name, "contexts");
    assert_eq!(map.path.last().unwrap().node_id, map.node_id);
    let top = &map.breakdown[0];
    assert_eq!((top.class.as_str(), top.count), ("RequestContext", 1000));
    // It is the 1000 contexts' holder in the dominator tree.
    assert!(rc
        .iter()
        .all(|&n| t.analysis.dominators.chain(n).contains(&map.node)));
    assert_eq!(map.retained_size, t.analysis.retained_size(map.node));
    // The global object holds everything and is never a suspect.
    for s in &suspects {
        let global = g.retainer_nodes(s.node).any(|r| r == g.root()) && is_user_root(g, s.node);
        assert!(!global, "global object listed: {}", s.explanation);
        assert!(s.share > 0.0 && s.share <= 1.0);
    }
    // Sorted by retained size, each object listed once.
    for w in suspects.windows(2) {
        assert!(w[0].retained_size >= w[1].retained_size);
    }
    let ids: HashSet<u32> = suspects.iter().map(|s| s.node_id).collect();
    assert_eq!(ids.len(), suspects.len());
}

/// A snapshot written while the program runs (near the heap limit, or `v8.writeHeapSnapshot()`
/// from inside it) reaches a module's `const kept = []` first through the running code's
/// stack frame (a deoptimization literal): the suspect still reads by the name the program
/// gave it, `closure variable kept`, and a function's static `map` by that function's name.
#[test]
fn suspects_are_named_by_the_slots_that_hold_them_not_the_stack() {
    let mut w = World::new();
    let root = 0;
    let stack = w.h.node_with_id("synthetic", "(Stack roots)", 5, 0);
    w.h.edge(root, "element", "2", stack);
    let module = w.obj("system / Context", 7, 48);
    let main = w.h.node_with_id("closure", "main", 9, 32);
    let g = w.global;
    w.h.edge(g, "property", "main", main);
    w.h.edge(main, "internal", "context", module);
    let store = array_kept_on_the_stack(&mut w, stack, module, 200);
    for i in 0..200 {
        let o = w.obj("Request", 100 + 2 * i, 64);
        w.h.edge(store, "element", &i.to_string(), o);
    }
    let registry = w.h.node_with_id("closure", "Registry", 15, 32);
    w.h.edge(g, "property", "Registry", registry);
    let modules = w.obj("Map", 17, 32);
    w.h.edge(registry, "property", "map", modules);
    for i in 0..150 {
        let o = w.obj("Module", 1000 + 2 * i, 64);
        w.h.edge(modules, "element", &i.to_string(), o);
    }
    let s = w.h.analyze();
    let suspects = find_suspects(&s, SuspectOptions::default());
    let by_class = |class: &str| {
        suspects
            .iter()
            .find(|x| x.class == class)
            .unwrap_or_else(|| panic!("no {class}: {suspects:#?}"))
    };
    let array = by_class("Array");
    assert_eq!(array.held_as, ["closure variable kept"]);
    assert!(
        array
            .explanation
            .starts_with("Array @11 (closure variable kept) "),
        "{}",
        array.explanation
    );
    let map = by_class("Map");
    assert_eq!(map.held_as, ["Registry.map"]);
    assert!(
        map.explanation.starts_with("Map @17 (Registry.map) "),
        "{}",
        map.explanation
    );
}

// ---------------------------------------------------------------------------------------------
// Duplicated strings and growing collections.

#[test]
fn duplicated_strings_count_copies_and_wasted_bytes() {
    let mut w = World::new();
    let g = w.global;
    for (i, size) in [10, 10, 12].into_iter().enumerate() {
        let s = w.h.node_with_id("string", "hello", 11 + 2 * i as u32, size);
        w.h.edge(g, "property", &format!("s{i}"), s);
    }
    let solo = w.h.node_with_id("string", "solo", 21, 40);
    w.h.edge(g, "property", "solo", solo);
    // An object named like the strings is not a string.
    let o = w.obj("hello", 23, 16);
    w.h.edge(g, "property", "o", o);
    // V8 names every concatenated (and sliced) string by a placeholder, not by its text: equal
    // names say nothing about equal content.
    for i in 0..3u32 {
        let c = w.h.node_with_id(
            "concatenated string",
            "(concatenated string)",
            31 + 2 * i,
            32,
        );
        w.h.edge(g, "property", &format!("c{i}"), c);
        let sl =
            w.h.node_with_id("sliced string", "(sliced string)", 41 + 2 * i, 20);
        w.h.edge(g, "property", &format!("sl{i}"), sl);
    }
    let s = w.h.analyze();
    let dups = duplicated_strings(&s, 20);
    assert_eq!(dups.len(), 1, "{dups:?}");
    let d = &dups[0];
    assert_eq!(d.content, "hello");
    assert_eq!((d.count, d.total_size, d.wasted_size), (3, 32, 22));
    assert!(duplicated_strings(&s, 0).is_empty());
}

#[test]
fn growing_collections_grow_in_every_snapshot() {
    /// A collection `name` @id held by `global.<prop>` whose table holds `n` entries, laid
    /// out as V8 does: a `Map`'s entry takes three slots (key, value, chain; the keys here are
    /// small integers, so only the values are edges), a `Set`'s two (key, chain).
    fn collection(w: &mut World, prop: &str, name: &str, id: u32, n: u32) {
        let c = w.global_prop(prop, name, id, 24);
        let table = w.h.node_with_id("array", "", id + 1, 16);
        w.h.edge(c, "internal", "table", table);
        let stride = if name == "Map" { 3 } else { 2 };
        for i in 0..n {
            let e = w.obj("Entry", id * 100 + 2 * i + 1, 8);
            w.h.edge(table, "element", &(5 + stride * i).to_string(), e);
        }
    }
    let snaps = three(|w, stage| {
        let k = match stage {
            Baseline => 0,
            Target => 1,
            Final => 2,
        };
        collection(w, "grows", "Map", 51, [1, 3, 5][k]);
        collection(w, "shrinks", "Map", 61, [5, 3, 1][k]);
        collection(w, "stalls", "Set", 71, [2, 4, 4][k]);
        if stage != Baseline {
            // Not in every snapshot.
            collection(w, "young", "Map", 81, [0, 1, 3][k]);
        }
    });
    let refs: Vec<&AnalyzedSnapshot> = snaps.iter().collect();
    let grown = growing_collections(&refs, 1);
    assert_eq!(grown.len(), 1, "{grown:?}");
    let c = &grown[0];
    assert_eq!((c.node_id, c.class.as_str()), (51, "Map"));
    assert_eq!(c.entries, vec![1, 3, 5]);
    let map = snaps[2].graph().node_by_id(51).unwrap();
    assert_eq!(c.retained_size, snaps[2].analysis.retained_size(map));
    assert_eq!(c.retained_size, 24 + 16 + 5 * 8);
    // Growth 4: reported from a minimum of 4, not 5.
    assert_eq!(growing_collections(&refs, 4).len(), 1);
    assert!(growing_collections(&refs, 5).is_empty());
    // Two snapshots are enough; one is not.
    let last_two = growing_collections(&refs[1..], 1);
    let mut ids: Vec<u32> = last_two.iter().map(|c| c.node_id).collect();
    ids.sort();
    assert_eq!(ids, vec![51, 81]);
    assert!(growing_collections(&refs[2..], 0).is_empty());
}

#[test]
fn duplicated_strings_of_the_node_leak_target() {
    let t = analyzed("node-leak/target.heapsnapshot");
    let g = t.graph();
    let dups = duplicated_strings(t, 20);
    assert_eq!(dups.len(), 20);
    // Flat strings with the same text, counted as the snapshot has them.
    let mut flat: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    for n in 0..g.node_count() as NodeIx {
        if g.kind(n) == NodeKind::String {
            let e = flat.entry(g.name(n)).or_insert((0, 0, u64::MAX));
            let size = t.analysis.shallow_size(n);
            e.0 += 1;
            e.1 += size;
            e.2 = e.2.min(size);
        }
    }
    for d in &dups {
        assert_ne!(
            d.content, "(concatenated string)",
            "a placeholder name, not a text"
        );
        assert_ne!(d.content, "(sliced string)");
        let Some(&(count, total, min)) = flat.get(d.content.as_str()) else {
            // A text cut to 200 characters.
            assert_eq!(d.content.chars().count(), 200);
            continue;
        };
        assert_eq!(
            (d.count, d.total_size, d.wasted_size),
            (count, total, total - min)
        );
        assert!(d.count >= 2);
    }
    for w in dups.windows(2) {
        assert!(w[0].wasted_size >= w[1].wasted_size);
    }
    // Nothing left out wastes more than the last one listed.
    let last = dups.last().unwrap().wasted_size;
    let listed: HashSet<&str> = dups.iter().map(|d| d.content.as_str()).collect();
    for (name, (count, total, min)) in &flat {
        if *count > 1 && !listed.contains(name) && name.chars().count() <= 200 {
            assert!(total - min <= last, "{name:?} wastes {} bytes", total - min);
        }
    }
}

/// `scripts/make-browser-snapshot.js --tree`: JS holds two detached trees by their leaves only
/// (rows and button handlers of a `<ul class="leaky-list">`; one `<li>` deep in
/// `<div> > <section> > <ul>`). Each tree is named by its topmost node and sized as a whole.
#[test]
fn detached_trees_are_named_by_their_topmost_node() {
    let t = analyzed("browser-detached-tree/tree.heapsnapshot");
    let g = t.graph();
    let d = DetachedDom::compute(t);
    assert_eq!(d.trees.len(), 2, "{:?}", d.trees);
    let list = &d.trees[0];
    assert_eq!(list.root_class, "Detached <ul>");
    assert_eq!(g.name(list.root), "<ul class=\"leaky-list\">");
    let count = |tree: &heapsight::analysis::detached::DetachedTree, class: &str| {
        tree.by_class
            .iter()
            .find(|c| c.class == class)
            .map_or(0, |c| c.count)
    };
    assert_eq!(count(list, "Detached <li>"), 500);
    assert_eq!(count(list, "Detached <button>"), 500);
    assert_eq!(count(list, "Detached Text"), 1000);
    assert_eq!(count(list, "Detached <ul>"), 1);
    // The whole tree's bytes: far more than any one member retains (no member holds the rest).
    let biggest_member = (0..g.node_count() as NodeIx)
        .filter(|&n| is_detached(g, &t.analysis.detached, n) && is_dom_like(g, n))
        .map(|n| t.analysis.retained_size(n))
        .max()
        .unwrap();
    assert!(
        list.retained_size > 10 * biggest_member,
        "{} vs {biggest_member}",
        list.retained_size
    );
    let path: Vec<&str> = list
        .retainer_path
        .iter()
        .map(|s| s.node_class.as_str())
        .collect();
    assert!(path.contains(&"LeakyCache"), "{path:?}");
    // Both ways JS holds it: the rows array and the buttons' click handlers, 500 members each.
    let ways: Vec<(&str, u64)> = list
        .held_through
        .iter()
        .map(|h| (h.via.as_str(), h.count))
        .collect();
    assert_eq!(
        ways,
        vec![("LeakyCache.handlers", 500), ("LeakyCache.rows", 500)]
    );
    // Only children all the way down: the <div> is the top, not the <ul> with the items.
    let panel = &d.trees[1];
    assert_eq!(panel.root_class, "Detached <div>");
    assert_eq!(g.name(panel.root), "<div class=\"panel\">");
    assert_eq!(count(panel, "Detached <section>"), 1);
    assert_eq!(count(panel, "Detached <li>"), 20);
}

#[test]
fn leaks_under_a_deep_list_cost_one_walk_of_it_and_show_its_ends() {
    // `global.head` → 20,000 old links (in every snapshot), each of which gained a `Payload`
    // after the baseline. Walking every payload's path to the root took 20,000² steps and kept
    // every path; now each link's path is summed up once. The trace keeps its first 10 and last
    // 20 steps, and says how many were left out.
    const LINKS: u32 = 20_000;
    let (r, _) = handmade_leaks(|w, stage| {
        let mut prev = w.global;
        let mut edge = "head";
        for i in 0..LINKS {
            let link = w.obj("Link", 1_000 + 2 * i, 32);
            w.h.edge(prev, "property", edge, link);
            if stage != Baseline {
                let payload = w.obj("Payload", 1_000_000 + 2 * i, 48);
                w.h.edge(link, "property", "payload", payload);
            }
            prev = link;
            edge = "next";
        }
    });
    // The 28 payloads 30 steps from the root or nearer have whole paths, each its own shape;
    // the rest share one shape: the head, a gap, and the last 20 steps.
    assert_eq!(r.clusters.len(), 29);
    let deep = &r.clusters[0];
    assert_eq!(deep.count, u64::from(LINKS) - 28);
    assert_eq!(deep.trace.len(), 30);
    let gaps: Vec<usize> = deep.trace.iter().map(|s| s.left_out_before).collect();
    assert!(
        gaps.iter().enumerate().all(|(i, &n)| (i == 10) == (n > 0)),
        "{gaps:?}"
    );
    assert_eq!(
        deep.trace.last().map(|s| s.node_class.as_str()),
        Some("Payload")
    );
    let text = heapsight::analysis::leak_gate::trace_text(&deep.trace);
    assert!(text.contains("Link → … → ….next → Link.next"), "{text}");
    let lines = heapsight::report::leaks::trace_lines(&deep.trace);
    assert_eq!(lines.len(), 32, "the root, 30 steps and the gap");
}

/// A log built by `log += line` in a module's scope adds no object of the program's: the trio
/// counts nothing for it, and lists the scope among the objects that grew without new objects
/// (not counted). The array holding leaked objects grew too, but those are counted, so it is
/// not listed; nor is growth under 16 KiB.
#[test]
fn a_scope_that_grew_without_new_objects_is_listed_not_counted() {
    let (r, _) = handmade_leaks(|w, stage| {
        let scope = w.global_prop("scope", "system / Context", 5, 40);
        let (log_id, log_size) = match stage {
            Baseline => (201, 8000),
            Target | Final => (203, 40000),
        };
        let log =
            w.h.node_with_id("concatenated string", "GET /", log_id, log_size);
        w.h.edge(scope, "context", "log", log);
        let kept = w.global_prop("kept", "Array", 7, 32);
        let small = w.global_prop("small", "Array", 9, 32);
        let store = w.h.node_with_id(
            "array",
            "",
            if stage == Baseline { 401 } else { 403 },
            if stage == Baseline { 8000 } else { 10000 },
        );
        w.h.edge(small, "internal", "elements", store);
        if stage != Baseline {
            for i in 0..20 {
                let leak = w.obj("Leak", 301 + 2 * i, 1000);
                w.h.edge(kept, "element", &i.to_string(), leak);
            }
        }
    });
    assert_eq!(classes_of(&r), vec![("Leak".to_string(), 20)]);
    let grown: Vec<(String, u64, u64, u64)> = r
        .grown_holders
        .iter()
        .map(|h| (h.label(), h.baseline_bytes, h.target_bytes, h.final_bytes))
        .collect();
    assert_eq!(
        grown,
        vec![(
            "system / Context @5 (closure variable log)".to_string(),
            8040,
            40040,
            40040
        )]
    );
    assert_eq!(r.grown_holders[0].grown_by(), 32000);
    let text = heapsight::report::leaks::not_counted_text(&r);
    assert!(
        text.contains("grew without new objects (not counted): 1 object(s)"),
        "{text}"
    );
}
