//! Hand-made snapshots of one "process": a root holding `Leak` objects (more every step), a
//! `Pool` whose objects are replaced (same count, new ids), a `Map` that grows, and objects
//! that go away.

use super::*;
use crate::analysis::{AnalysisOptions, AnalyzedSnapshot};
use crate::model::{EdgeKind, GraphBuilder, NodeKind, Snapshot};
use crate::progress::Progress;

/// One snapshot: `leaks` and `pool` are the ids of the `Leak` and `Pool` objects (16 and 8
/// bytes), `map_entries` the ids of the values in a `Map` (id 5; the first entry's key is a
/// string, the others' small integers, which have no node), `gone` ids of `Temp` objects.
fn snapshot(leaks: &[u32], pool: &[u32], map_entries: &[u32], gone: &[u32]) -> AnalyzedSnapshot {
    let mut b = GraphBuilder::new();
    let root = b.node(NodeKind::Synthetic, "", 1, 0);
    let holder = b.node(NodeKind::Object, "Holder", 3, 32);
    b.edge(root, EdgeKind::Element, "1", holder);
    let map = b.node(NodeKind::Object, "Map", 5, 24);
    let table = b.node(NodeKind::Array, "", 7, 100);
    b.edge(holder, EdgeKind::Property, "map", map);
    b.edge(map, EdgeKind::Internal, "table", table);
    for (i, &id) in map_entries.iter().enumerate() {
        if i == 0 {
            let key = b.node(NodeKind::String, "k", id + 1_000_000, 16);
            b.edge(table, EdgeKind::Internal, &(10 + 3 * i).to_string(), key);
        }
        let v = b.node(NodeKind::Object, "Value", id, 12);
        b.edge(table, EdgeKind::Internal, &(11 + 3 * i).to_string(), v);
    }
    for (name, ids, size) in [("Leak", leaks, 16), ("Pool", pool, 8), ("Temp", gone, 4)] {
        for (i, &id) in ids.iter().enumerate() {
            let n = b.node(NodeKind::Object, name, id, size);
            b.edge(holder, EdgeKind::Element, &i.to_string(), n);
        }
    }
    analysed(b)
}

/// The graph `b` built, analysed.
fn analysed(b: GraphBuilder) -> AnalyzedSnapshot {
    let snapshot = Snapshot {
        graph: b.finish().expect("a valid graph"),
        ..Snapshot::default()
    };
    AnalyzedSnapshot::new(snapshot, AnalysisOptions::default(), Progress::default())
        .expect("analysed")
}

fn part(s: &AnalyzedSnapshot, title: &str) -> SnapshotPart {
    let clock = (0..s.graph().node_count() as u32)
        .map(|n| s.graph().id(n))
        .filter(|&id| id < 1_000_000)
        .max()
        .unwrap_or(0);
    SnapshotPart::extract(s, &s.summary(), clock, title.to_string())
}

fn trend(snaps: &[AnalyzedSnapshot], order: &[usize], opts: TrendOptions) -> Trend {
    let mut b = TrendBuilder::default();
    for &i in order {
        b.push(part(&snaps[i], &format!("s{i}")));
    }
    b.finish(&IgnoreRules::default(), opts).expect("a trend")
}

fn three() -> Vec<AnalyzedSnapshot> {
    vec![
        snapshot(&[101, 103], &[201, 203], &[301], &[401, 403, 405]),
        snapshot(&[101, 103, 501, 503], &[505, 203], &[301, 507], &[401]),
        snapshot(
            &[101, 103, 501, 503, 601],
            &[505, 603],
            &[301, 507, 605],
            &[],
        ),
    ]
}

fn class<'a>(t: &'a Trend, name: &str) -> &'a Series {
    t.series
        .iter()
        .find(|s| s.kind == SeriesKind::Class && s.class == name)
        .unwrap_or_else(|| panic!("no series for {name}"))
}

#[test]
fn classes_verdicts_survivors_and_newest() {
    let t = trend(&three(), &[0, 1, 2], TrendOptions::default());
    assert_eq!(t.order, OrderSource::SnapshotClock);
    assert!(!t.reordered);
    assert_eq!(t.steps, 2);
    let leak = class(&t, "Leak");
    assert_eq!(leak.counts, vec![2, 4, 5]);
    assert_eq!(leak.bytes, vec![32, 64, 80]);
    assert_eq!(leak.verdict, Verdict::Grows);
    assert_eq!(leak.growing_steps, 2);
    assert_eq!(leak.bytes_added, 48);
    assert_eq!(leak.count_per_step, 1.5);
    // 501 and 503 are new in step 1, 601 in step 2; all alive at the end.
    assert_eq!(leak.new_alive, Some(vec![2, 1]));
    assert_eq!(leak.newest_ids, vec![601]);
    // The pool: same count, but 505 is new in step 1 and 603 in step 2 (201, 203 freed).
    let pool = class(&t, "Pool");
    assert_eq!(pool.counts, vec![2, 2, 2]);
    assert_eq!(pool.verdict, Verdict::Stable);
    assert_eq!(pool.new_alive, Some(vec![1, 1]));
    let temp = class(&t, "Temp");
    assert_eq!(temp.counts, vec![3, 1, 0]);
    assert_eq!(temp.verdict, Verdict::Shrinks);
    assert_eq!(temp.new_alive, Some(vec![0, 0]));
    let value = class(&t, "Value");
    assert_eq!(value.counts, vec![1, 2, 3]);
    // Below 16 KiB nothing trips by default; with no byte limit Leak and Value do.
    assert!(!t.failed());
    let t = trend(
        &three(),
        &[0, 1, 2],
        TrendOptions {
            min_steps: None,
            min_bytes: 1,
        },
    );
    let tripped: Vec<String> = t.tripped().iter().map(|s| s.label()).collect();
    assert!(tripped.contains(&"Leak".to_string()), "{tripped:?}");
    assert!(tripped.contains(&"Value".to_string()), "{tripped:?}");
    assert!(!tripped.contains(&"Pool".to_string()), "{tripped:?}");
    // `(string)` (the Map's keys) grows too but is V8's own class.
    assert_eq!(class(&t, "(string)").gate, SeriesGate::Engine);
}

#[test]
fn the_map_is_matched_by_id_and_counted_by_entries() {
    let t = trend(&three(), &[0, 1, 2], TrendOptions::default());
    let map = t
        .series
        .iter()
        .find(|s| s.kind == SeriesKind::Collection(CollectionKind::Map))
        .expect("the map");
    assert_eq!(map.id, Some(5));
    assert_eq!(map.counts, vec![1, 2, 3]);
    assert_eq!(map.verdict, Verdict::Grows);
    assert_eq!(map.label(), "Map @5");
    // Retained: the map, its table, 28 bytes for the first entry (key + value) and 12 for
    // each other (value; its key is a small integer).
    assert_eq!(map.bytes, vec![24 + 100 + 28, 24 + 100 + 40, 24 + 100 + 52]);
}

#[test]
fn a_memory_trips_on_a_staircase_of_growth_and_passes_once_grown() {
    const PAGE: u64 = 65_536;
    let series = |kind: SeriesKind, pages: &[u64]| {
        let bytes = pages.iter().map(|p| p * PAGE).collect();
        Series::new(kind, "Memory".into(), Some(9), pages.to_vec(), bytes)
    };
    let memory = |pages: &[u64]| series(SeriesKind::WasmMemory, pages);
    let rules = IgnoreRules::default();
    let limits = Limits {
        min_count: 0,
        min_bytes: DEFAULT_MIN_BYTES,
    };
    // ONNX Runtime Web opening sessions it never releases: its allocator grew the memory by a
    // fifth or more each time, so the leak's last step fitted in what was left.
    let leak = [533, 768, 922, 1107, 1107];
    assert_eq!(gate(&memory(&leak), &rules, limits, 4), SeriesGate::Tripped);
    // A memory that grew in warm-up and stopped is its high-water mark.
    for clean in [[256, 308, 308, 308, 308], [256, 308, 370, 370, 370]] {
        assert_eq!(gate(&memory(&clean), &rules, limits, 4), SeriesGate::Passed);
    }
    // Other series grow in every step to trip, and so does a memory over fewer steps.
    let counts = series(SeriesKind::Collection(CollectionKind::Array), &leak);
    assert_eq!(gate(&counts, &rules, limits, 4), SeriesGate::Passed);
    assert_eq!(
        gate(&memory(&[256, 308, 308]), &rules, limits, 2),
        SeriesGate::Passed
    );
    assert_eq!(
        gate(&memory(&[256, 308, 370]), &rules, limits, 2),
        SeriesGate::Tripped
    );
}

#[test]
fn the_snapshot_clock_orders_and_the_gate_counts_steps() {
    let snaps = three();
    let t = trend(&snaps, &[2, 0, 1], TrendOptions::default());
    assert_eq!(t.order, OrderSource::SnapshotClock);
    assert!(t.reordered);
    let titles: Vec<&str> = t.snapshots.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["s0", "s1", "s2"]);
    assert_eq!(t.snapshots[0].given_index, 1);
    assert_eq!(class(&t, "Leak").new_alive, Some(vec![2, 1]));
    // Growth in one step of two: only with --min-steps 1.
    let plateau = vec![
        snapshot(&[101], &[], &[], &[]),
        snapshot(&[101, 201], &[], &[], &[]),
        snapshot(&[101, 201], &[], &[], &[]),
    ];
    let opts = |k| TrendOptions {
        min_steps: k,
        min_bytes: 1,
    };
    let t = trend(&plateau, &[0, 1, 2], opts(None));
    assert_eq!(class(&t, "Leak").verdict, Verdict::GrowsThenPlateaus);
    assert_eq!(class(&t, "Leak").gate, SeriesGate::Passed);
    let t = trend(&plateau, &[0, 1, 2], opts(Some(1)));
    assert_eq!(class(&t, "Leak").gate, SeriesGate::Tripped);
}

#[test]
fn ignore_rules_and_thresholds_apply_to_class_names() {
    let rules = IgnoreRules::parse(
        "Leak\nthreshold: Value min-count=3\n",
        std::path::Path::new(".heapsight-ignore"),
    )
    .expect("rules");
    let mut b = TrendBuilder::default();
    for (i, s) in three().iter().enumerate() {
        b.push(part(s, &format!("s{i}")));
    }
    let t = b
        .finish(
            &rules,
            TrendOptions {
                min_steps: None,
                min_bytes: 1,
            },
        )
        .expect("a trend");
    assert!(matches!(
        class(&t, "Leak").gate,
        SeriesGate::Ignored { line: 1, .. }
    ));
    // Value added 2 objects, its threshold asks for 3.
    assert_eq!(class(&t, "Value").gate, SeriesGate::Passed);
}

#[test]
fn one_snapshot_is_not_a_trend() {
    let mut b = TrendBuilder::default();
    b.push(part(&three()[0], "s0"));
    assert!(b
        .finish(&IgnoreRules::default(), TrendOptions::default())
        .is_err());
}

#[test]
fn sorted_ids_round_trip_gaps_of_every_width() {
    use super::extract::SortedIds;
    let ids: Vec<u32> = vec![0, 1, 3, 130, 131, 20_000, 2_000_000, u32::MAX - 1, u32::MAX];
    let s = SortedIds::from_sorted(ids.iter().copied());
    assert_eq!(s.len(), ids.len());
    assert_eq!(s.iter().collect::<Vec<_>>(), ids);
    let empty = SortedIds::from_sorted(std::iter::empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.iter().count(), 0);
    // V8's usual gap of 2 takes one byte an id.
    let v8: Vec<u32> = (1..=1000).map(|i| i * 2 + 1).collect();
    assert_eq!(
        SortedIds::from_sorted(v8.iter().copied())
            .iter()
            .collect::<Vec<_>>(),
        v8
    );
}

/// A module's `const kept = []` that grows (64, 100, 150 entries), held by its scope and, like
/// a snapshot written while the program runs, by a stack slot V8 names by a number: the series
/// reads by the name the program gave it, from the snapshot the trend ends with (given last
/// here or not); a collection below [`extract::MANY_ENTRIES`] entries there is not named.
#[test]
fn a_growing_collection_is_named_by_the_slot_that_holds_it() {
    let snapshot = |entries: u32| {
        let mut b = GraphBuilder::new();
        let root = b.node(NodeKind::Synthetic, "", 1, 0);
        let stack = b.node(NodeKind::Synthetic, "(Stack roots)", 3, 0);
        b.edge(root, EdgeKind::Element, "1", stack);
        let scope = b.node(NodeKind::Object, "system / Context", 5, 40);
        b.edge(stack, EdgeKind::Internal, "7", scope);
        let kept = b.node(NodeKind::Object, "Array", 7, 32);
        b.edge(
            stack,
            EdgeKind::Internal,
            "28 / deoptimization literal",
            kept,
        );
        b.edge(scope, EdgeKind::Context, "kept", kept);
        let store = b.node(NodeKind::Array, "", 9, 8 * u64::from(entries));
        b.edge(kept, EdgeKind::Internal, "elements", store);
        for i in 0..entries {
            let v = b.node(NodeKind::Object, "Item", 101 + 2 * i, 16);
            b.edge(kept, EdgeKind::Element, &i.to_string(), v);
        }
        analysed(b)
    };
    let series = |t: &Trend| {
        t.series
            .iter()
            .find(|s| s.kind == SeriesKind::Collection(CollectionKind::Array))
            .expect("the array")
            .clone()
    };
    let snaps = vec![snapshot(64), snapshot(100), snapshot(150)];
    for order in [[0, 1, 2], [2, 0, 1]] {
        let s = series(&trend(&snaps, &order, TrendOptions::default()));
        assert_eq!(s.held_as, ["closure variable kept"], "order {order:?}");
        assert_eq!(s.label(), "Array @7 (closure variable kept)");
    }
    let small = vec![snapshot(10), snapshot(30), snapshot(63)];
    let s = series(&trend(&small, &[0, 1, 2], TrendOptions::default()));
    assert!(s.held_as.is_empty(), "{:?}", s.held_as);
    assert_eq!(s.label(), "Array @7");
}

/// Five snapshots of a module whose scope builds `log += line` (a new string each step) and
/// keeps `latencies` (an array of numbers: its element store replaced by a bigger one, a half
/// more each time it fills), beside a clean scope whose function's compiled code grows and an
/// array trimmed once. Neither leak adds an object a class or collection series sees.
#[test]
fn objects_whose_retained_size_grows_are_followed() {
    let logs = [8000, 16000, 24000, 32000, 40000];
    let store = [8000, 12000, 18000, 18000, 27000];
    let trimmed = [8000, 16000, 8000, 16000, 24000];
    let snapshot = |k: usize| {
        let mut b = GraphBuilder::new();
        let root = b.node(NodeKind::Synthetic, "", 1, 0);
        let module = b.node(NodeKind::Object, "Module", 3, 64);
        b.edge(root, EdgeKind::Element, "1", module);
        let scope = b.node(NodeKind::Object, "system / Context", 5, 40);
        b.edge(module, EdgeKind::Property, "scope", scope);
        let log = b.node(NodeKind::ConsString, "GET /", 1001 + 2 * k as u32, logs[k]);
        b.edge(scope, EdgeKind::Context, "log", log);
        let handler = b.node(NodeKind::Closure, "handler", 7, 32);
        b.edge(scope, EdgeKind::Context, "handler", handler);
        let code = b.node(NodeKind::Code, "(code)", 9, 8192 * k as u64);
        b.edge(handler, EdgeKind::Internal, "code", code);
        let latencies = b.node(NodeKind::Object, "Array", 11, 32);
        b.edge(module, EdgeKind::Property, "latencies", latencies);
        let elements = b.node(NodeKind::Array, "", 2001 + 2 * k as u32, store[k]);
        b.edge(latencies, EdgeKind::Internal, "elements", elements);
        // The clean scope: only its function's code grows.
        let clean = b.node(NodeKind::Object, "system / Context", 13, 40);
        b.edge(root, EdgeKind::Element, "2", clean);
        let f = b.node(NodeKind::Closure, "f", 15, 32);
        b.edge(clean, EdgeKind::Context, "f", f);
        let f_code = b.node(NodeKind::Code, "(code)", 17, 8192 * (k as u64 + 1));
        b.edge(f, EdgeKind::Internal, "code", f_code);
        // An array trimmed once: it fell, so it is no staircase.
        let recent = b.node(NodeKind::Object, "Array", 19, 32);
        b.edge(root, EdgeKind::Element, "3", recent);
        let recent_store = b.node(NodeKind::Array, "", 3001 + 2 * k as u32, trimmed[k]);
        b.edge(recent, EdgeKind::Internal, "elements", recent_store);
        analysed(b)
    };
    let snaps: Vec<AnalyzedSnapshot> = (0..5).map(snapshot).collect();
    let t = trend(&snaps, &[0, 1, 2, 3, 4], TrendOptions::default());
    let holder = |id: u32| {
        t.series
            .iter()
            .find(|s| s.kind == SeriesKind::Holder && s.id == Some(id))
    };
    let scope = holder(5).expect("the scope of `log`");
    assert_eq!(scope.label(), "system / Context @5 (closure variable log)");
    // The scope's own 40 bytes and the closure's 32, not the closure's code.
    let want: Vec<u64> = logs.iter().map(|l| l + 72).collect();
    assert_eq!(scope.bytes, want);
    assert_eq!(scope.verdict, Verdict::Grows);
    assert!(scope.tripped());
    let array = holder(11).expect("the array of numbers");
    assert_eq!(array.bytes, store.map(|s| s + 32));
    assert_eq!(array.verdict, Verdict::GrowsInSteps);
    assert!(array.tripped(), "3 of 4 steps, never falling");
    // The module grew by both, but mostly by its scope: that is listed, not the module.
    assert!(holder(3).is_none());
    // Compiled code is not the program's growth; a store that fell is not a staircase.
    assert!(holder(13).is_none());
    assert!(holder(19).is_none_or(|s| !s.tripped()));
    assert!(t.failed());
}
