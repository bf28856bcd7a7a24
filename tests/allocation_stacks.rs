//! Live objects by allocation stack: hand-made traces with known answers, the real Node heap
//! timeline (`scripts/make-timeline.js`), and `heapsight allocations`.

mod common;

use common::{heapsight, sample, Heap};
use heapsight::analysis::allocation_stacks::{
    classes_in_range, stack_of, AllocationStacks, Timeline, TraceIndex,
};
use heapsight::analysis::call_tree::{CallTree, Direction, ROOT};
use heapsight::analysis::AnalyzedSnapshot;
use heapsight::model::alloc::{AllocProfile, Metric};
use heapsight::model::NodeKind;

fn stacks_of(s: &AnalyzedSnapshot) -> (TraceIndex, AllocationStacks) {
    let snap = &s.snapshot;
    let index = TraceIndex::build(&snap.traces);
    let stacks = AllocationStacks::build(&snap.graph, &snap.traces, &index, |_| true);
    (index, stacks)
}

/// Children of `n` as (function, live size, live count), largest first.
fn kids(p: &AllocProfile, t: &CallTree, n: u32) -> Vec<(String, u64, u64)> {
    t.sorted_children(p, n, Metric::PeakBytes)
        .into_iter()
        .map(|c| {
            (
                t.function(p, c).to_string(),
                t.value(c, Metric::PeakBytes),
                t.value(c, Metric::PeakBlocks),
            )
        })
        .collect()
}

fn child(p: &AllocProfile, t: &CallTree, n: u32, name: &str) -> u32 {
    *t.children(n)
        .iter()
        .find(|&&c| t.function(p, c) == name)
        .unwrap_or_else(|| panic!("no {name} below {}", t.function(p, n)))
}

fn owned(v: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    v.iter().map(|(f, b, c)| (f.to_string(), *b, *c)).collect()
}

/// (root) → main → makeA; main → makeB → makeA. Objects: two A (10 bytes each) from
/// main → makeA, one B (7) from makeB, one A (20) from makeB → makeA, one M (1) from main,
/// one X naming a trace node the tree lacks, one object without a trace.
fn hand_made() -> AnalyzedSnapshot {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let objects = [
        ("A", 15, 10, 3),
        ("A", 25, 10, 3),
        ("B", 27, 7, 4),
        ("A", 35, 20, 5),
        ("M", 5, 1, 2),
        ("X", 37, 5, 99),
        ("Plain", 39, 3, 0),
    ];
    for (name, id, size, trace) in objects {
        let n = h.node_with_id("object", name, id, size);
        h.trace_node_id(n, trace);
        h.edge(root, "property", name, n);
    }
    let s = |h: &mut Heap, x: &str| h.string_index(x);
    let (root_fn, main, make_a, make_b) = (
        s(&mut h, "(root)"),
        s(&mut h, "main"),
        s(&mut h, "makeA"),
        s(&mut h, "makeB"),
    );
    let (app, lib) = (s(&mut h, "app.js"), s(&mut h, "lib.js"));
    let infos = format!(
        "[0,{root_fn},0,0,0,0, 1,{main},{app},1,1,1, 2,{make_a},{app},1,10,3, 3,{make_b},{lib},2,5,0]"
    );
    let tree = "[1,0,0,0,[2,1,1,1,[3,2,2,20,[],4,3,1,7,[5,2,1,20,[]]]]]";
    let samples = "[0,10,100,20,200,40]";
    h.traces(&infos, tree, samples);
    h.analyze()
}

#[test]
fn hand_made_live_objects_per_stack() {
    let s = hand_made();
    let (index, stacks) = stacks_of(&s);
    let p = &stacks.profile;
    assert_eq!(stacks.objects, 5);
    assert_eq!(stacks.unknown_trace, 1);
    assert_eq!((p.totals.peak_bytes, p.totals.peak_blocks), (48, 5));
    let top = CallTree::build(p, Direction::TopDown);
    // `(root)` is the call tree's own root, not a frame.
    assert_eq!(kids(p, &top, ROOT), owned(&[("main", 48, 5)]));
    let main = child(p, &top, ROOT, "main");
    assert_eq!(
        kids(p, &top, main),
        owned(&[("makeB", 27, 2), ("makeA", 20, 2)])
    );
    assert_eq!(top.self_value(main, Metric::PeakBlocks), 1);
    let make_b = child(p, &top, main, "makeB");
    assert_eq!(kids(p, &top, make_b), owned(&[("makeA", 20, 1)]));
    let bottom = CallTree::build(p, Direction::BottomUp);
    assert_eq!(
        kids(p, &bottom, ROOT),
        owned(&[("makeA", 40, 3), ("makeB", 7, 1), ("main", 1, 1)])
    );
    let a = child(p, &bottom, ROOT, "makeA");
    assert_eq!(
        kids(p, &bottom, a),
        owned(&[("main", 20, 2), ("makeB", 20, 1)])
    );
    // One object's stack, innermost first, with one-based lines and columns (0: unknown).
    let g = s.graph();
    let a3 = g.node_by_id(35).unwrap();
    let frames: Vec<String> = stack_of(g, &s.snapshot.traces, &index, a3)
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        frames,
        [
            "makeA (app.js:10:3)",
            "makeB (lib.js:5)",
            "main (app.js:1:1)",
            "(root)"
        ]
    );
    assert!(stack_of(g, &s.snapshot.traces, &index, g.node_by_id(39).unwrap()).is_empty());
    assert!(stack_of(g, &s.snapshot.traces, &index, g.node_by_id(37).unwrap()).is_empty());
}

#[test]
fn hand_made_time_ranges() {
    let s = hand_made();
    let t = Timeline::of(s.graph(), &s.snapshot.traces);
    assert_eq!(t.timestamps_us, [0, 100, 200]);
    assert_eq!(t.last_ids, [10, 20, 40]);
    // Interval 0 starts at the first traced object (M, id 5).
    assert_eq!(t.first_id, 5);
    assert_eq!(t.id_range(0, 0), Some(5..=10));
    assert_eq!(t.id_range(1, 1), Some(11..=20));
    assert_eq!(t.id_range(2, 2), Some(21..=40));
    assert_eq!(t.id_range(0, 2), Some(5..=40));
    assert_eq!(t.interval_of(3), None);
    assert_eq!(t.interval_of(27), Some(2));
    assert_eq!(t.interval_of(41), None);
    assert_eq!(t.id_range(2, 1), None);
    assert_eq!(t.id_range(1, 3), None);
    let c = &s.classes;
    let rows = |r| {
        classes_in_range(s.graph(), &c.class_of, &c.names, r)
            .into_iter()
            .map(|r| (r.name, r.count, r.self_size))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(5..=10), [("M".to_string(), 1, 1)]);
    assert_eq!(rows(11..=20), [("A".to_string(), 1, 10)]);
    assert_eq!(
        rows(21..=40),
        [
            ("A".to_string(), 2, 30),
            ("B".to_string(), 1, 7),
            ("X".to_string(), 1, 5),
            ("Plain".to_string(), 1, 3)
        ]
    );
    // The same range, counted by stack: only the traced objects allocated then.
    let snap = &s.snapshot;
    let index = TraceIndex::build(&snap.traces);
    let g = &snap.graph;
    let ids = t.id_range(2, 2).unwrap();
    let ranged = AllocationStacks::build(g, &snap.traces, &index, |n| ids.contains(&g.id(n)));
    assert_eq!(
        (
            ranged.profile.totals.peak_bytes,
            ranged.profile.totals.peak_blocks
        ),
        (37, 3)
    );
}

const TIMELINE: &str = "node-timeline/alloc.heaptimeline";

/// `scripts/make-timeline.js` runs 8 rounds of `allocateOrders(500)` (an `Order` each, with a
/// `lines` array), `buildIndex` (a Map keyed by `order-<id>` strings) and `renderReport`
/// (garbage); the indexes of the even rounds are kept. The timeline is taken when tracking
/// stops, so what is live then counts: the 4 kept rounds and the last round, whose `orders`
/// array `(Stack roots)` still held when the timeline was written (`heapsight retainers` on
/// one of its Orders shows it): 2500 Orders and 2500 keys. V8
/// inlines `Order`'s body into `allocateOrders` once optimised, so some `lines` arrays are
/// allocated in `Order` and the rest in `allocateOrders`.
#[test]
fn the_node_timeline_live_objects_by_allocating_function() {
    let s = common::analyze_file(&sample(TIMELINE), Default::default());
    let (index, stacks) = stacks_of(&s);
    let p = &stacks.profile;
    assert_eq!(stacks.unknown_trace, 0);
    assert_eq!(
        (p.totals.peak_blocks, p.totals.peak_bytes),
        (10_357, 465_480)
    );
    let bottom = CallTree::build(p, Direction::BottomUp);
    let top3: Vec<(String, u64, u64)> = kids(p, &bottom, ROOT).into_iter().take(3).collect();
    assert_eq!(
        top3,
        owned(&[
            ("allocateOrders", 180_696, 4530),
            ("Order", 108_536, 3009),
            ("buildIndex", 83_568, 2535)
        ])
    );
    // Every live Order was allocated in allocateOrders; every `order-<id>` key in buildIndex.
    let g = s.graph();
    let traces = &s.snapshot.traces;
    let allocating = |n| {
        stack_of(g, traces, &index, n)
            .first()
            .map(|f| f.function.clone())
    };
    let orders: Vec<u32> = (0..g.node_count() as u32)
        .filter(|&n| s.class_name(n) == "Order")
        .collect();
    assert_eq!(orders.len(), 2500);
    assert!(orders
        .iter()
        .all(|&n| allocating(n).as_deref() == Some("allocateOrders")));
    let keys = (0..g.node_count() as u32)
        .filter(|&n| g.name(n).starts_with("order-") && g.kind(n).is_string())
        .filter(|&n| allocating(n).as_deref() == Some("buildIndex"))
        .count();
    assert_eq!(keys, 2500);
    let frame = &stack_of(g, traces, &index, orders[0])[0];
    assert!(frame.script.ends_with("make-timeline.js"), "{frame:?}");
    // `function allocateOrders` is on line 23 of the script.
    assert_eq!(frame.line, 23);
}

/// The samples bracket the ids: every live Order falls in an interval, the first round's
/// before the first sample (V8 takes it a little after tracking starts).
#[test]
fn the_node_timeline_samples_bracket_the_traced_objects() {
    let s = common::analyze_file(&sample(TIMELINE), Default::default());
    let t = Timeline::of(s.graph(), &s.snapshot.traces);
    assert_eq!(t.len(), 11);
    assert_eq!(t.first_id, 78_835);
    let all = t.id_range(0, t.len() - 1).unwrap();
    assert_eq!(all, 78_835..=111_917);
    let g = s.graph();
    let mut orders_by_interval = vec![0; t.len()];
    for n in 0..g.node_count() as u32 {
        if s.class_name(n) == "Order" {
            orders_by_interval[t.interval_of(g.id(n)).unwrap()] += 1;
        }
    }
    // Rounds 0, 2, 4, 6 kept, 7 still held: in the intervals they ran in.
    assert_eq!(
        orders_by_interval,
        [500, 0, 0, 500, 0, 500, 0, 0, 500, 500, 0]
    );
    let snap = &s.snapshot;
    let index = TraceIndex::build(&snap.traces);
    let g = &snap.graph;
    let ranged = AllocationStacks::build(g, &snap.traces, &index, |n| all.contains(&g.id(n)));
    let (_, every) = stacks_of(&s);
    // Two objects were allocated after the last sample: outside every range.
    assert_eq!(ranged.objects, every.objects - 2);
    let c = &s.classes;
    let orders: u64 = classes_in_range(g, &c.class_of, &c.names, all)
        .iter()
        .filter(|r| r.name == "Order")
        .map(|r| r.count)
        .sum();
    assert_eq!(orders, 2500);
}

/// The Summary of a time range (DevTools' Allocation timeline Summary) counts exactly the
/// objects whose id falls in the range, checked against a brute-force count per class over
/// every node; the whole timeline gives the whole Summary.
#[test]
fn the_node_timeline_summary_of_a_time_range_is_exact() {
    let s = common::analyze_file(&sample(TIMELINE), Default::default());
    let g = s.graph();
    let t = Timeline::of(g, &s.snapshot.traces);
    let last = t.len() - 1;
    let full = s.summary();
    let whole = t.time_range(0, last).unwrap();
    assert!(whole.whole);
    let all = s.summary_allocated_in(&whole);
    assert_eq!(all.classes, full.classes);
    assert_eq!(all.total_size, full.total_size);
    assert_eq!(t.time_range(3, 2), None);
    assert_eq!(t.time_range(0, t.len()), None);
    for (first, end) in [(3, 3), (0, 0), (1, 5), (0, 4), (6, last), (last, last)] {
        let range = t.time_range(first, end).unwrap();
        // The bounds from the samples as DevTools reads them: after the last id handed out by
        // the sample before the range, up to the range's last sample's (open at either end).
        let low = if first == 0 {
            0
        } else {
            t.last_ids[first - 1] + 1
        };
        let high = if end == last {
            u32::MAX
        } else {
            t.last_ids[end]
        };
        assert_eq!((range.low_id, range.high_id), (low, high));
        let mut brute: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
        for n in 0..g.node_count() as u32 {
            let id = g.id(n);
            let size = s.analysis.shallow_size(n);
            let timed = !matches!(g.kind(n), NodeKind::Native | NodeKind::Synthetic);
            if size > 0 && timed && id >= low && id <= high {
                let e = brute.entry(s.classes.class_of[n as usize]).or_default();
                e.0 += 1;
                e.1 += size;
            }
        }
        let ranged = s.summary_allocated_in(&range);
        let got: std::collections::BTreeMap<u32, (u64, u64)> = ranged
            .classes
            .iter()
            .map(|r| (r.class_id, (r.count, r.shallow_size)))
            .collect();
        assert_eq!(got, brute, "intervals {first}..={end}");
        assert!(ranged.classes.len() < full.classes.len());
        for r in &ranged.classes {
            let f = full
                .classes
                .iter()
                .find(|f| f.class_id == r.class_id)
                .unwrap();
            assert!(r.retained_size <= f.retained_size, "{}", r.name);
            assert!(r.retained_size >= r.shallow_size, "{}", r.name);
        }
    }
    // Round 2's 500 Orders, and what they retain: no Order holds another, so the class
    // retains the sum of its instances' retained sizes.
    let range = t.time_range(3, 3).unwrap();
    let ranged = s.summary_allocated_in(&range);
    let order = ranged.classes.iter().find(|r| r.name == "Order").unwrap();
    assert_eq!(order.count, 500);
    let retained: u64 = (0..g.node_count() as u32)
        .filter(|&n| s.class_name(n) == "Order" && range.contains(g, n))
        .map(|n| s.analysis.retained_size(n))
        .sum();
    assert_eq!(order.retained_size, retained);
}

#[test]
fn the_cli_prints_the_live_call_tree() {
    let file = sample(TIMELINE);
    let file = file.to_str().unwrap();
    let out = heapsight(&["allocations", file, "--bottom-up", "--json", "--top", "5"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["live_objects"], 10_357);
    assert_eq!(v["live_size"], 465_480);
    assert_eq!(v["direction"], "bottom_up");
    assert_eq!(v["rows"][0]["function"], "allocateOrders");
    assert_eq!(v["rows"][0]["live_count"], 4530);
    assert_eq!(v["rows"].as_array().unwrap().len(), 5);
    let out = heapsight(&["allocations", file]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10357 objects, 465480 bytes"), "{text}");
    assert!(text.contains("allocateOrders"), "{text}");
    // A snapshot taken without allocation tracking: a clear message, not an empty tree.
    let plain = sample("node-leak/target.heapsnapshot");
    let out = heapsight(&["allocations", plain.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no allocation stacks"), "{err}");
}
