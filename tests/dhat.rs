//! DHAT profiles (dhat-rs and valgrind) against the producers' own totals, to the byte.

use heapsight::analysis::alloc::{diff_profiles, AllocSummary, SiteChange};
use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot};
use heapsight::model::alloc::AllocProfile;
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
    let d = diff_profiles(
        &profile("dhat-rs-small.json"),
        &profile("dhat-rs-large.json"),
    );
    let tensors = d
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
