//! Growth trends on real Node 20 snapshots: `sample-snapshots/node-trend/` (four steps of
//! `scripts/make-trend-scenario.js`, counts in its `expected.json`), and the leak and no-leak
//! trios, which must show growth and stay quiet respectively.

mod common;

use std::sync::OnceLock;

use common::{heapsight, sample};
use heapsight::analysis::leak_gate::IgnoreRules;
use heapsight::analysis::trend::{
    CollectionKind, OrderSource, Series, SeriesGate, SeriesKind, SnapshotPart, Trend, TrendBuilder,
    TrendOptions, Verdict,
};
use heapsight::store::Document;

const STEPS: [&str; 4] = [
    "node-trend/step1.heapsnapshot.gz",
    "node-trend/step2.heapsnapshot.gz",
    "node-trend/step3.heapsnapshot.gz",
    "node-trend/step4.heapsnapshot.gz",
];

fn open(rel: &str) -> Document {
    common::open_sample(rel)
}

/// The parts of the four steps, each taken from its document, which is then dropped.
fn parts() -> &'static [SnapshotPart] {
    static P: OnceLock<Vec<SnapshotPart>> = OnceLock::new();
    P.get_or_init(|| {
        STEPS
            .iter()
            .map(|f| SnapshotPart::from_document(&open(f)))
            .collect()
    })
}

fn trend_of(order: &[usize], opts: TrendOptions) -> Trend {
    let mut b = TrendBuilder::default();
    for &i in order {
        b.push(parts()[i].clone());
    }
    b.finish(&IgnoreRules::default(), opts).expect("a trend")
}

fn node_trend() -> &'static Trend {
    static T: OnceLock<Trend> = OnceLock::new();
    T.get_or_init(|| trend_of(&[0, 1, 2, 3], TrendOptions::default()))
}

fn class<'a>(t: &'a Trend, name: &str) -> &'a Series {
    t.series
        .iter()
        .find(|s| s.kind == SeriesKind::Class && s.class == name)
        .unwrap_or_else(|| panic!("no series for class {name}"))
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(sample("node-trend/expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("JSON")
}

fn numbers(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("a number"))
        .collect()
}

#[test]
fn each_class_has_its_verdict_counts_and_bytes_per_step() {
    let t = node_trend();
    assert_eq!(t.order, OrderSource::SnapshotClock);
    assert!(!t.reordered);
    assert_eq!(t.steps, 3);
    let e = expected();
    let counts = e["counts"].as_array().expect("counts");
    for (name, verdict) in [
        ("GrowingItem", Verdict::Grows),
        ("PlateauItem", Verdict::GrowsThenPlateaus),
        ("StableItem", Verdict::Stable),
        ("ShrinkingItem", Verdict::Shrinks),
        ("SessionValue", Verdict::Grows),
    ] {
        let s = class(t, name);
        let want: Vec<u64> = counts.iter().map(|c| c[name].as_u64().unwrap()).collect();
        assert_eq!(s.counts, want, "{name}");
        // Each of these objects is 40 bytes (header, map, two fields).
        assert_eq!(
            s.bytes,
            want.iter().map(|c| c * 40).collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(s.verdict, verdict, "{name}");
    }
    let g = class(t, "GrowingItem");
    assert_eq!(g.growing_steps, 3);
    assert_eq!(g.bytes_added, 24_000);
    assert_eq!(g.count_per_step, 200.0);
    assert_eq!(g.bytes_per_step, 8000.0);
    assert_eq!(class(t, "ShrinkingItem").bytes_added, -12_000);
    assert_eq!(class(t, "PlateauItem").growing_steps, 2);
    // The tensors: the cache's 4 a step plus one Node makes itself.
    let f = class(t, "Float32Array");
    assert_eq!(f.counts, vec![5, 9, 13, 17]);
    assert_eq!(f.verdict, Verdict::Grows);
}

#[test]
fn survivors_are_new_in_each_step_and_alive_at_the_end_exactly() {
    let t = node_trend();
    let e = &expected()["new_and_alive_at_end"];
    for name in [
        "GrowingItem",
        "PlateauItem",
        "StableItem",
        "ShrinkingItem",
        "SessionValue",
    ] {
        assert_eq!(
            class(t, name).new_alive.as_deref(),
            Some(&numbers(&e[name])[..]),
            "{name}"
        );
    }
    // StableItem never changes count, yet 50 of its objects are new in the last step: a count
    // difference would say 0.
    assert_eq!(class(t, "StableItem").count_added, 0);
    // The newest GrowingItems are in step 4 and not in step 3.
    let g = class(t, "GrowingItem");
    assert_eq!(g.newest_ids.len(), 50);
    assert!(
        g.newest_ids.windows(2).all(|w| w[0] > w[1]),
        "highest first"
    );
    let (s3, s4) = (open(STEPS[2]), open(STEPS[3]));
    for &id in &g.newest_ids {
        assert!(s3.data.graph().node_by_id(id).is_none(), "@{id} in step 3");
        let n = s4.data.graph().node_by_id(id).expect("in step 4");
        assert_eq!(s4.data.class_name(n), "GrowingItem");
    }
}

#[test]
fn the_sessions_map_and_the_tensor_cache_grow_by_entries_and_bytes() {
    let t = node_trend();
    let e = expected();
    let map = t
        .series
        .iter()
        .find(|s| {
            s.kind == SeriesKind::Collection(CollectionKind::Map)
                && s.counts == numbers(&e["sessions_map_entries"])
        })
        .expect("the sessions Map, 100 entries a step");
    assert_eq!(map.verdict, Verdict::Grows);
    assert!(map.bytes.windows(2).all(|w| w[1] > w[0]), "{:?}", map.bytes);
    let cache = t
        .series
        .iter()
        .find(|s| {
            s.kind == SeriesKind::Collection(CollectionKind::Array)
                && s.counts == numbers(&e["tensor_cache_entries"])
        })
        .expect("tensorCache, 4 entries a step");
    assert_eq!(cache.verdict, Verdict::Grows);
    // Each step adds four 8 KiB backing stores (and the Float32Array and ArrayBuffer objects).
    assert!(
        cache.bytes_per_step > 4.0 * 8192.0,
        "{}",
        cache.bytes_per_step
    );
    let buffers = t
        .series
        .iter()
        .find(|s| s.kind == SeriesKind::ArrayBuffers)
        .expect("ArrayBuffer backing stores");
    assert_eq!(buffers.verdict, Verdict::Grows);
    let want = numbers(&e["tensor_backing_store_bytes"]);
    for k in 1..4 {
        assert_eq!(
            buffers.bytes[k] - buffers.bytes[k - 1],
            want[k] - want[k - 1],
            "step {k}"
        );
    }
}

#[test]
fn the_order_comes_from_the_snapshots_clock() {
    let shuffled = trend_of(&[2, 0, 3, 1], TrendOptions::default());
    assert_eq!(shuffled.order, OrderSource::SnapshotClock);
    assert!(shuffled.reordered);
    let titles: Vec<&str> = shuffled
        .snapshots
        .iter()
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "step1.heapsnapshot.gz",
            "step2.heapsnapshot.gz",
            "step3.heapsnapshot.gz",
            "step4.heapsnapshot.gz"
        ]
    );
    let t = node_trend();
    for name in ["GrowingItem", "StableItem"] {
        assert_eq!(class(&shuffled, name).counts, class(t, name).counts);
        assert_eq!(class(&shuffled, name).new_alive, class(t, name).new_alive);
    }
}

#[test]
fn the_gate_trips_on_what_grows_in_every_step() {
    let t = node_trend();
    assert!(t.failed());
    let tripped: Vec<String> = t.tripped().iter().map(|s| s.label()).collect();
    assert!(tripped.contains(&"GrowingItem".to_string()), "{tripped:?}");
    for name in ["PlateauItem", "StableItem", "ShrinkingItem"] {
        assert_eq!(class(t, name).gate, SeriesGate::Passed, "{name}");
    }
    assert_eq!(class(t, "(compiled code)").gate, SeriesGate::Engine);
    // Two consecutive growing steps are enough for the plateau with --min-steps 2.
    let t2 = trend_of(
        &[0, 1, 2, 3],
        TrendOptions {
            min_steps: Some(2),
            min_bytes: 1,
        },
    );
    assert_eq!(class(&t2, "PlateauItem").gate, SeriesGate::Tripped);
    // Above 24 000 bytes GrowingItem no longer trips.
    let t3 = trend_of(
        &[0, 1, 2, 3],
        TrendOptions {
            min_steps: None,
            min_bytes: 24_001,
        },
    );
    assert_eq!(class(&t3, "GrowingItem").gate, SeriesGate::Passed);
}

#[test]
fn cli_fails_on_growth_and_names_the_series() {
    let files: Vec<String> = STEPS
        .iter()
        .map(|f| sample(f).display().to_string())
        .collect();
    let mut args = vec!["trend", "--fail-on-growth", "--no-ignore-file"];
    args.extend(files.iter().map(String::as_str));
    let out = heapsight(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("growth gate tripped"), "{err}");
    assert!(err.contains("GrowingItem"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("❌ Growth gate failed"), "{text}");
    assert!(text.contains("GrowingItem"), "{text}");
    assert!(text.contains("grows then plateaus"), "{text}");

    let mut args = vec!["trend", "--json", "--no-ignore-file"];
    args.extend(files.iter().map(String::as_str));
    let out = heapsight(&args);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["order"], "snapshot_clock");
    assert_eq!(v["steps"], 3);
    let g = v["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "class" && s["class"] == "GrowingItem")
        .expect("GrowingItem");
    assert_eq!(g["verdict"], "grows");
    assert_eq!(g["new_alive"], serde_json::json!([200, 200, 200]));
    assert_eq!(g["gate"]["status"], "tripped");
}

fn trio(dir: &str) -> Trend {
    let docs: Vec<Document> = ["baseline", "target", "final"]
        .iter()
        .map(|s| open(&format!("{dir}/{s}.heapsnapshot")))
        .collect();
    let refs: Vec<&Document> = docs.iter().collect();
    Trend::from_documents(&refs, &IgnoreRules::default(), TrendOptions::default()).expect("trend")
}

#[test]
fn the_leak_trio_shows_growth_and_the_clean_one_stays_quiet() {
    let leak = trio("node-leak");
    // The 1000 RequestContexts come in one step and stay: grows, then plateaus (the final
    // snapshot only clears a cache), the most bytes any class added.
    let rc = class(&leak, "RequestContext");
    assert_eq!(rc.counts, vec![0, 1000, 1000]);
    assert_eq!(rc.verdict, Verdict::GrowsThenPlateaus);
    assert_eq!(rc.new_alive, Some(vec![1000, 0]));
    // The contexts Map added the most bytes of all series: 0 → 1000 → 1000 entries.
    let first = &leak.series[0];
    assert_eq!(first.kind, SeriesKind::Collection(CollectionKind::Map));
    assert_eq!(first.counts, vec![0, 1000, 1000]);
    assert_eq!(first.verdict, Verdict::GrowsThenPlateaus);
    // The contexts Map: 0 → 1000 → 1000 entries.
    assert!(leak.series.iter().any(|s| {
        s.kind == SeriesKind::Collection(CollectionKind::Map) && s.counts == vec![0, 1000, 1000]
    }));
    // With one growing step asked for, the leak trips the gate.
    let docs: Vec<Document> = ["baseline", "target", "final"]
        .iter()
        .map(|s| open(&format!("node-leak/{s}.heapsnapshot")))
        .collect();
    let refs: Vec<&Document> = docs.iter().collect();
    let one_step = TrendOptions {
        min_steps: Some(1),
        ..TrendOptions::default()
    };
    let t = Trend::from_documents(&refs, &IgnoreRules::default(), one_step).expect("trend");
    assert_eq!(class(&t, "RequestContext").gate, SeriesGate::Tripped);

    // The clean trio: nothing grows in both steps by 16 KiB (the default gate).
    let clean = trio("node-noleak");
    assert!(
        !clean.failed(),
        "{:?}",
        clean
            .tripped()
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
    );
    assert_eq!(class(&clean, "CacheEntry").verdict, Verdict::Fluctuates);
}

#[test]
fn cli_stays_quiet_on_the_clean_trio_with_default_thresholds() {
    let files: Vec<String> = ["baseline", "target", "final"]
        .iter()
        .map(|s| {
            sample(&format!("node-noleak/{s}.heapsnapshot"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["trend", "--fail-on-growth", "--no-ignore-file"];
    args.extend(files.iter().map(String::as_str));
    let out = heapsight(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("✅ Growth gate passed"));
}

#[test]
fn an_ignore_file_keeps_a_class_out_of_the_gate() {
    let dir = std::env::temp_dir().join(format!("heapsight-trend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ignore = dir.join("ignore");
    // Everything that grows in every step here, by class name.
    std::fs::write(
        &ignore,
        "GrowingItem\nSessionValue\nMap\nArray\nFloat32Array\nArrayBuffer\nObject\n\
         threshold: Memory min-bytes=1GiB\n",
    )
    .unwrap();
    let t = trend_of(&[0, 1, 2, 3], TrendOptions::default());
    let rules = IgnoreRules::load(&ignore).unwrap();
    let mut b = TrendBuilder::default();
    for p in parts() {
        b.push(p.clone());
    }
    let gated = b.finish(&rules, TrendOptions::default()).unwrap();
    assert!(matches!(
        class(&gated, "GrowingItem").gate,
        SeriesGate::Ignored { line: 1, .. }
    ));
    assert!(t.tripped().len() > gated.tripped().len());
    let files: Vec<String> = STEPS
        .iter()
        .map(|f| sample(f).display().to_string())
        .collect();
    let ignore_arg = ignore.display().to_string();
    let mut args = vec!["trend", "--fail-on-growth", "--ignore", ignore_arg.as_str()];
    args.extend(files.iter().map(String::as_str));
    let out = heapsight(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ignored (line 1)"), "{text}");
    assert_eq!(
        out.status.code(),
        Some(if gated.failed() { 1 } else { 0 }),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The trend's own loader (classes and node order on a second thread, no distances) takes
/// the same part as an open document, allocation stacks included.
#[test]
fn a_part_read_for_the_trend_alone_equals_the_documents() {
    for rel in [STEPS[0], STEPS[3], "node-timeline/alloc.heaptimeline"] {
        let path = sample(rel);
        let snapshot = heapsight::formats::load(&path, Default::default()).expect("loads");
        let alone = SnapshotPart::from_snapshot(
            snapshot,
            Default::default(),
            heapsight::store::title_of(&path),
            Default::default(),
        )
        .expect("a part");
        let from_doc = SnapshotPart::from_document(&open(rel));
        assert_eq!(format!("{alone:?}"), format!("{from_doc:?}"), "{rel}");
    }
}
