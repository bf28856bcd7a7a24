//! DHAT profiles (dhat-rs and valgrind) against the producers' own totals, to the byte.

use heapsight::analysis::alloc::{diff_profiles, sites, AllocSummary, SiteChange};
use heapsight::analysis::call_tree::{flatten, CallTree, Direction, ROOT};
use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot};
use heapsight::formats::LoadOptions;
use heapsight::model::alloc::{AllocProfile, Folding, Metric};
use heapsight::progress::Progress;
use serde_json::Value;

fn expected() -> Value {
    let text = std::fs::read_to_string("sample-snapshots/rust/expected.json").unwrap();
    serde_json::from_str(&text).unwrap()
}

fn profile(name: &str) -> AllocProfile {
    let snap = heapsight::formats::load(
        format!("sample-snapshots/rust/{name}").as_ref(),
        Default::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    *snap.alloc.expect("an allocation profile")
}

#[test]
fn totals_match_the_producers_summaries() {
    let e = expected();
    for name in [
        "dhat-rs-small.json",
        "dhat-rs-large.json",
        "valgrind-dhat-small.json",
        "valgrind-dhat-large.json",
    ] {
        let want = &e["files"][name];
        let t = profile(name).totals;
        let num = |k: &str| want[k].as_u64().unwrap_or_else(|| panic!("{name}: {k}"));
        assert_eq!(t.total_bytes, num("total_bytes"), "{name}");
        assert_eq!(t.total_blocks, num("total_blocks"), "{name}");
        assert_eq!(t.peak_bytes, num("gmax_bytes"), "{name}");
        assert_eq!(t.peak_blocks, num("gmax_blocks"), "{name}");
        assert_eq!(t.end_bytes, num("end_bytes"), "{name}");
        assert_eq!(t.end_blocks, num("end_blocks"), "{name}");
        if name.starts_with("valgrind") {
            assert_eq!(t.read_bytes, num("reads_bytes"), "{name}");
            assert_eq!(t.written_bytes, num("writes_bytes"), "{name}");
        }
    }
}

#[test]
fn leaked_sites_are_the_ones_the_program_leaks() {
    let e = expected();
    for name in ["dhat-rs-small.json", "valgrind-dhat-small.json"] {
        let p = profile(name);
        let s = AllocSummary::build(&p, 50);
        let leaked_in = |f: &str| -> u64 {
            s.top_by_leaked
                .iter()
                .filter(|r| {
                    r.stack
                        .iter()
                        .any(|fr| fr.contains(&format!("alloc_workload::{f}")))
                })
                .map(|r| r.metrics.end_bytes)
                .sum()
        };
        let want = &e["files"][name]["by_function"];
        assert_eq!(
            leaked_in("build_graph_cycle"),
            want["build_graph_cycle"]["eb"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            leaked_in("leak_config"),
            want["leak_config"]["eb"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            leaked_in("load_tensors"),
            0,
            "{name}: the tensors are freed before exit"
        );
        // The largest site at the peak is the tensor registry, after folding std frames.
        assert_eq!(
            s.top_by_peak[0].function, "alloc_workload::load_tensors",
            "{name}"
        );
    }
}

#[test]
fn the_call_tree_carries_peak_bytes_and_the_views_work_on_it() {
    let snap = heapsight::formats::load(
        "sample-snapshots/rust/dhat-rs-small.json".as_ref(),
        Default::default(),
    )
    .unwrap();
    let peak = snap.alloc.as_ref().unwrap().totals.peak_bytes;
    let s = AnalyzedSnapshot::new(snap, AnalysisOptions::default(), Default::default()).unwrap();
    // The root of the call tree retains everything live at the peak.
    assert_eq!(s.analysis.retained_size(s.graph().root()), peak);
    let summary = s.summary();
    assert!(summary
        .classes
        .iter()
        .any(|c| c.name.starts_with("alloc_workload::load_tensors")));
}

#[test]
fn diff_of_two_runs_by_call_stack() {
    let (a, b) = (profile("dhat-rs-small.json"), profile("dhat-rs-large.json"));
    let diff = diff_profiles(&a, &b);
    let rows: Vec<_> = diff.sites.iter().map(|d| diff.row(&a, &b, d)).collect();
    assert_eq!(rows.len(), diff.sites.len());
    let tensors = rows
        .iter()
        .find(|s| {
            s.stack
                .last()
                .is_some_and(|f| f.starts_with("alloc_workload::load_tensors"))
        })
        .expect("the tensor site");
    assert_eq!(tensors.change, SiteChange::Grown);
    assert_eq!(tensors.after.peak_bytes, 2 * tensors.before.peak_bytes);
}

#[test]
fn other_dhat_modes_are_rejected_clearly() {
    let dir = std::env::temp_dir().join(format!("heapsight-dhat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("adhoc.json");
    std::fs::write(
        &path,
        r#"{"dhatFileVersion":2,"mode":"ad-hoc","verb":"Occurred","bklt":false,"bkacc":false,"tu":"instrs","Mtu":"instr","cmd":"x","pid":1,"pps":[],"ftbl":["[root]"]}"#,
    )
    .unwrap();
    let err = heapsight::formats::load(&path, Default::default()).unwrap_err();
    assert!(err.is_bad_input());
    assert!(
        err.to_string().contains("ad-hoc") && err.to_string().contains("adhoc.json"),
        "{err}"
    );
    std::fs::write(&path, r#"{"dhatFileVersion":2,"mode":"heap","pps":[{"tb":1,"tbk":1,"fs":[7]}],"ftbl":["[root]"]}"#).unwrap();
    let err = heapsight::formats::load(&path, Default::default()).unwrap_err();
    assert!(err.to_string().contains("frame"), "{err}");
    std::fs::write(
        &path,
        r#"{"dhatFileVersion":2,"mode":"heap","pps":[{"tb":1"#,
    )
    .unwrap();
    assert!(heapsight::formats::load(&path, Default::default())
        .unwrap_err()
        .is_bad_input());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sum of `metric` over the sites whose folded stack ends in `function`.
fn allocated_by(p: &AllocProfile, function: &str, metric: Metric) -> u64 {
    p.sites
        .iter()
        .filter(|s| p.function(*p.user_stack(s).last().unwrap()) == function)
        .map(|s| s.metrics.get(metric))
        .sum()
}

#[test]
fn call_trees_carry_every_metric_both_ways() {
    for name in ["dhat-rs-small.json", "valgrind-dhat-small.json"] {
        let p = profile(name);
        for direction in [Direction::TopDown, Direction::BottomUp] {
            let t = CallTree::build(&p, direction);
            // The root holds the program totals, for every metric.
            for m in Metric::ALL {
                assert_eq!(
                    t.metrics(ROOT).get(m),
                    p.totals.get(m),
                    "{name} {direction:?} {m:?}"
                );
                // Children never hold more than their parent.
                for n in 0..t.len() as u32 {
                    let kids: u64 = t.children(n).iter().map(|&c| t.metrics(c).get(m)).sum();
                    assert!(
                        kids <= t.metrics(n).get(m),
                        "{name} {direction:?} {m:?} node {n}"
                    );
                }
            }
        }
        // Bottom-up, the root's children are the allocating functions, each holding what its
        // sites allocated; sorted by bytes leaked, the Rc cycles come first.
        let t = CallTree::build(&p, Direction::BottomUp);
        let by_leak = t.sorted_children(&p, ROOT, Metric::EndBytes);
        let first = by_leak[0];
        assert_eq!(
            t.function(&p, first),
            "alloc_workload::build_graph_cycle",
            "{name}"
        );
        let want = &expected()["files"][name]["by_function"]["build_graph_cycle"];
        assert_eq!(
            t.metrics(first).end_bytes,
            want["eb"].as_u64().unwrap(),
            "{name}"
        );
        for &c in t.children(ROOT) {
            let f = t.function(&p, c);
            for m in [Metric::TotalBytes, Metric::PeakBytes, Metric::EndBlocks] {
                assert_eq!(
                    t.metrics(c).get(m),
                    allocated_by(&p, f, m),
                    "{name} {f} {m:?}"
                );
            }
        }
        // Its caller below it is main.
        let callers = t.sorted_children(&p, first, Metric::EndBytes);
        assert_eq!(t.function(&p, callers[0]), "alloc_workload::main", "{name}");
        // Top-down, by bytes at peak, the heaviest path leads through main to load_tensors.
        let t = CallTree::build(&p, Direction::TopDown);
        let rows = flatten(&p, &t, Metric::PeakBytes, 64, usize::MAX);
        let tensors = rows
            .iter()
            .find(|r| r.function == "alloc_workload::load_tensors")
            .expect("load_tensors in the top-down tree");
        let tensor_bytes = expected()["workload"]["small"]["tensor_bytes"]
            .as_u64()
            .unwrap();
        assert!(tensors.self_metrics.peak_bytes >= tensor_bytes, "{name}");
        assert!(
            tensors.self_metrics.peak_bytes <= tensors.metrics.peak_bytes,
            "{name}"
        );
        assert!(rows.iter().any(|r| r.function == "alloc_workload::main"));
    }
}

#[test]
fn short_lived_and_never_accessed_sites_follow_dhats_rules() {
    // dhat-rs: lifetimes in µs, threshold 10 µs; the per-batch temporaries are short-lived,
    // the tensors (alive until the end of main) are not.
    let p = profile("dhat-rs-small.json");
    assert_eq!(p.short_lived_threshold, Some(10));
    let rows = sites(&p);
    let short: Vec<&str> = rows
        .iter()
        .filter(|r| r.short_lived)
        .map(|r| r.function.as_str())
        .collect();
    assert!(short.contains(&"alloc_workload::score_batch"), "{short:?}");
    assert!(
        !short.contains(&"alloc_workload::load_tensors"),
        "{short:?}"
    );
    for r in &rows {
        let avg = r.metrics.total_lifetime / r.metrics.total_blocks.max(1);
        assert_eq!(r.short_lived, avg <= 10, "{}", r.function);
        // dhat-rs records no accesses: nothing may be flagged.
        assert!(!r.never_read && !r.never_written);
    }
    let s = AllocSummary::build(&p, 100);
    assert_eq!(
        s.top_by_short_lived[0].function,
        "alloc_workload::score_batch"
    );
    assert!(s.top_never_read_or_written.is_empty());

    // valgrind: the leaked config's strings are written once and never read; the tensors are
    // read by every batch.
    let p = profile("valgrind-dhat-small.json");
    assert_eq!(p.short_lived_threshold, Some(500));
    let rows = sites(&p);
    assert!(rows
        .iter()
        .any(|r| r.function == "alloc_workload::leak_config" && r.never_read && !r.never_written));
    for r in rows
        .iter()
        .filter(|r| r.function == "alloc_workload::load_tensors")
    {
        assert!(!r.never_read && !r.never_written, "{:?}", r.stack);
    }
    for r in &rows {
        assert_eq!(
            r.never_read,
            r.metrics.total_bytes > 0 && r.metrics.read_bytes == 0
        );
        assert_eq!(
            r.never_written,
            r.metrics.total_bytes > 0 && r.metrics.written_bytes == 0
        );
    }
    let s = AllocSummary::build(&p, 100);
    assert!(s
        .top_never_read_or_written
        .iter()
        .any(|r| r.function == "alloc_workload::leak_config"));
}

#[test]
fn folding_is_a_setting() {
    let path = std::path::Path::new("sample-snapshots/rust/dhat-rs-small.json");
    let load = |folding: Folding| {
        let options = LoadOptions {
            folding,
            ..LoadOptions::default()
        };
        let snap = heapsight::formats::load_with(path, &options, Default::default()).unwrap();
        *snap.alloc.unwrap()
    };
    let folded = load(Folding::standard());
    let raw = load(Folding::none());
    // Unfolded, every stack ends in the allocator; the totals don't change.
    assert_eq!(folded.totals, raw.totals);
    let leaves = |p: &AllocProfile| -> Vec<String> {
        let t = CallTree::build(p, Direction::BottomUp);
        t.children(ROOT)
            .iter()
            .map(|&c| t.function(p, c).to_string())
            .collect()
    };
    assert!(leaves(&folded).iter().all(|f| !f.starts_with("alloc::")));
    assert!(leaves(&raw)
        .iter()
        .any(|f| f.starts_with("alloc::") || f.contains("alloc")));
    assert!(!leaves(&raw).contains(&"alloc_workload::load_tensors".to_string()));
    // An extra prefix folds the user's own wrapper: the tensors' site moves up to main.
    let extra = load(Folding::with_extra(
        true,
        ["alloc_workload::load_".to_string()],
    ));
    assert!(!leaves(&extra).contains(&"alloc_workload::load_tensors".to_string()));
    assert!(leaves(&extra).contains(&"alloc_workload::main".to_string()));
}

#[test]
fn big_dhat_files_report_progress_by_bytes_and_can_be_cancelled() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
    // ~6 MB of program points.
    let mut text = String::from(
        r#"{"dhatFileVersion":2,"mode":"rust-heap","verb":"Allocated","bklt":true,"bkacc":false,"tu":"µs","Mtu":"s","tuth":10,"cmd":"big","pid":1,"tg":1,"te":2,"pps":["#,
    );
    let n = 60_000;
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"tb":{},"tbk":1,"tl":5,"mb":1,"mbk":1,"gb":1,"gbk":1,"eb":0,"ebk":0,"fs":[{},{}]}}"#,
            i + 1,
            1 + i % 50,
            51
        ));
    }
    text.push_str(r#"],"ftbl":["[root]""#);
    for f in 0..51 {
        text.push_str(&format!(r#","0x{f:x}: big::f{f} (src/big.rs:{f}:1)""#));
    }
    text.push_str("]}");
    let dir = std::env::temp_dir().join(format!("heapsight-dhat-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.json");
    std::fs::write(&path, &text).unwrap();

    let seen = Mutex::new(Vec::new());
    let report = |phase: &str, done: u64, total: u64| {
        if phase == "reading DHAT profile" {
            seen.lock().unwrap().push((done, total));
        }
    };
    let snap = heapsight::formats::load(&path, Progress::new(Some(&report), None)).unwrap();
    assert_eq!(snap.alloc.unwrap().totals.total_blocks, n);
    let seen = seen.into_inner().unwrap();
    let distinct: std::collections::BTreeSet<u64> = seen.iter().map(|s| s.0).collect();
    assert!(distinct.len() >= 3, "progress by bytes: {seen:?}");
    assert!(seen.iter().all(|&(d, t)| d <= t && t == text.len() as u64));

    // Cancelled on the first report: a Cancelled error, not a parse error.
    let cancel = AtomicBool::new(false);
    let stop = |_: &str, done: u64, _: u64| {
        if done > 0 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let err =
        heapsight::formats::load(&path, Progress::new(Some(&stop), Some(&cancel))).unwrap_err();
    assert!(matches!(err, heapsight::Error::Cancelled), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mutated_and_truncated_dhat_files_never_panic() {
    let original = std::fs::read("sample-snapshots/rust/valgrind-dhat-small.json").unwrap();
    let dir = std::env::temp_dir().join(format!("heapsight-dhat-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mutated.json");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for round in 0..300 {
        let mut bytes = original.clone();
        match round % 4 {
            // Cut short anywhere.
            0 => bytes.truncate(next(bytes.len())),
            // A digit or structural character replaced.
            1 => {
                for _ in 0..1 + next(4) {
                    let i = next(bytes.len());
                    bytes[i] = b"0123456789-[]{},:\"e"[next(19)];
                }
            }
            // A number made huge or negative.
            2 => {
                let i = next(bytes.len());
                let insert: &[u8] = [&b"99999999999999999999"[..], b"-1", b"4294967295"][next(3)];
                bytes.splice(i..i, insert.iter().copied());
            }
            // A span deleted.
            _ => {
                let i = next(bytes.len());
                let j = (i + next(200)).min(bytes.len());
                bytes.drain(i..j);
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            match heapsight::formats::load(&path, Default::default()) {
                Ok(snap) => {
                    let p = snap.alloc.as_deref().expect("a profile");
                    for d in [Direction::TopDown, Direction::BottomUp] {
                        let t = CallTree::build(p, d);
                        flatten(p, &t, Metric::EndBytes, 64, 1000);
                    }
                    AllocSummary::build(p, 10);
                    diff_profiles(p, p);
                    AnalyzedSnapshot::new(snap, AnalysisOptions::default(), Default::default())
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
                Err(e) => {
                    assert!(e.is_bad_input(), "round {round}: {e}");
                    Err(e.to_string())
                }
            }
        });
        assert!(outcome.is_ok(), "round {round} panicked");
    }
    // Values that add up past 2^64: one clear error, not a wrapped or panicking sum.
    std::fs::write(
        &path,
        r#"{"dhatFileVersion":2,"mode":"rust-heap","pps":[
            {"tb":18446744073709551615,"tbk":1,"fs":[1]},
            {"tb":18446744073709551615,"tbk":1,"fs":[1]}],"ftbl":["[root]","0x1: f (a.rs:1:1)"]}"#,
    )
    .unwrap();
    let err = heapsight::formats::load(&path, Default::default()).unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("2^64"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
