//! Snapshots whose writer numbers the objects afresh in each one: Bun 1.4 (JavaScriptCore
//! writing V8's format), `sample-snapshots/bun-leak/` (the leak scenario:
//! 1000 `RequestContext` kept from target to final). No object keeps its id, so nothing can be
//! matched by id: leak detection must refuse rather than report "no leak", the comparison
//! must say that only its deltas hold, and the trend must compare class totals only. The
//! same checks on Node's trio must not fire (no false alarm).

mod common;

use common::{fresh_dir, heapsight, open_sample, sample};
use heapsight::analysis::diff::SnapshotDiff;
use heapsight::analysis::leak_gate::{IgnoreRules, Limits};
use heapsight::analysis::leaks::LeakReport;
use heapsight::analysis::trend::{SeriesKind, Trend, TrendOptions};
use heapsight::report::command::LeakRun;
use heapsight::store::Document;
use heapsight::Error;

const STEPS: [&str; 3] = ["baseline", "target", "final"];

/// `dir`'s baseline, target and final, as documents.
fn trio(dir: &str, ext: &str) -> Vec<Document> {
    STEPS
        .iter()
        .map(|s| open_sample(&format!("{dir}/{s}.{ext}")))
        .collect()
}

fn bun() -> Vec<Document> {
    trio("bun-leak", "heapsnapshot.gz")
}

fn node() -> Vec<Document> {
    trio("node-leak", "heapsnapshot")
}

fn count(d: &Document, class: &str) -> i64 {
    d.data
        .summary()
        .classes
        .iter()
        .filter(|r| r.name == class)
        .map(|r| r.count as i64)
        .sum()
}

#[test]
fn bun_snapshots_share_no_ids_so_the_comparison_says_only_its_deltas_hold() {
    let docs = bun();
    let d = SnapshotDiff::compute(&docs[0].data, &docs[1].data);
    assert!(!d.ids_kept);
    // Every object counts as new or deleted, but the deltas are the count differences.
    let row = d
        .classes
        .iter()
        .find(|r| r.name == "RequestContext")
        .expect("a RequestContext row");
    assert_eq!(row.delta_count, 1000);
    assert_eq!(
        row.delta_count,
        count(&docs[1], "RequestContext") - count(&docs[0], "RequestContext")
    );
    let (a, b) = (
        sample("bun-leak/baseline.heapsnapshot.gz"),
        sample("bun-leak/target.heapsnapshot.gz"),
    );
    let out = heapsight(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("warning: "), "{text}");
    assert!(text.contains("share almost no object ids"), "{text}");
}

#[test]
fn leak_detection_refuses_on_bun_snapshots_instead_of_passing() {
    let docs = bun();
    let r = LeakReport::compute(&docs[0].data, &docs[1].data, &docs[2].data);
    assert!(!r.ids_kept);
    assert!(r.clusters.is_empty());
    let limits = Limits {
        min_count: 1,
        min_bytes: 0,
    };
    let run = LeakRun::compute(
        &docs[0],
        &docs[1],
        &docs[2],
        &IgnoreRules::default(),
        limits,
    );
    assert!(
        matches!(&run, Err(Error::CannotCompare(why)) if why.contains("cannot detect leaks")),
        "{:?}",
        run.err()
    );
    // The CI gate fails with exit code 2, never 0, on the leaky trio.
    let p = |s: &str| sample(&format!("bun-leak/{s}.heapsnapshot.gz"));
    let (b, t, f) = (p("baseline"), p("target"), p("final"));
    let junit = fresh_dir("renumbered-ids").join("leaks.xml");
    let out = heapsight(&[
        "leaks",
        "--baseline",
        b.to_str().unwrap(),
        "--target",
        t.to_str().unwrap(),
        "--final",
        f.to_str().unwrap(),
        "--fail-on-leak",
        "--no-ignore-file",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("share almost no object ids"), "{err}");
    // The JUnit file a CI job reads says so too: one test case in error.
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    assert!(xml.contains("errors=\"1\""), "{xml}");
    assert!(
        xml.contains("<error message=\"cannot detect leaks: "),
        "{xml}"
    );
}

#[test]
fn the_trend_over_bun_snapshots_compares_class_totals_only() {
    let docs = bun();
    let refs: Vec<&Document> = docs.iter().collect();
    let t = Trend::from_documents(&refs, &IgnoreRules::default(), TrendOptions::default())
        .expect("a trend");
    assert!(!t.ids_kept);
    // Bun's ids grow from snapshot to snapshot: the order is still found.
    let titles: Vec<&str> = t.snapshots.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "baseline.heapsnapshot.gz",
            "target.heapsnapshot.gz",
            "final.heapsnapshot.gz"
        ]
    );
    assert!(t
        .series
        .iter()
        .all(|s| matches!(s.kind, SeriesKind::Class | SeriesKind::ArrayBuffers)));
    let rc = t
        .series
        .iter()
        .find(|s| s.kind == SeriesKind::Class && s.class == "RequestContext")
        .expect("a RequestContext series");
    assert_eq!(rc.counts, [0, 1000, 1000]);
    assert_eq!(rc.new_alive, None);
    assert!(heapsight::report::trend::ids_note(&t).is_some());
}

#[test]
fn node_snapshots_keep_their_ids_so_nothing_is_refused() {
    let docs = node();
    assert!(SnapshotDiff::compute(&docs[0].data, &docs[1].data).ids_kept);
    let r = LeakReport::compute(&docs[0].data, &docs[1].data, &docs[2].data);
    assert!(r.ids_kept);
    assert!(r.leaked_count >= 1000, "{}", r.leaked_count);
    let refs: Vec<&Document> = docs.iter().collect();
    let t = Trend::from_documents(&refs, &IgnoreRules::default(), TrendOptions::default())
        .expect("a trend");
    assert!(t.ids_kept);
    assert!(heapsight::report::trend::ids_note(&t).is_none());
}
