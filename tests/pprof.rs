//! pprof heap profiles: the real jemalloc_pprof samples from `fixtures/pprof-workload`
//! (`scripts/make-pprof-samples.sh`), hand-made profiles for what those don't have (Go's four
//! sample types, inlined frames, unsymbolized locations), and broken ones.

mod common;

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;

use common::{gzip, temp_file, Rng};
use heapsight::analysis::alloc::{diff_profiles, sites, AllocSummary, SiteChange};
use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot};
use heapsight::model::alloc::AllocProfile;
use prost::Message;

/// The test's own minimal view of `perftools.profiles.Profile` (field numbers from pprof's
/// profile.proto), to read the samples independently of the loader and to write hand-made
/// profiles.
mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        #[prost(int64, tag = "1")]
        pub ty: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "5")]
        pub filename: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        #[prost(uint64, tag = "3")]
        pub address: u64,
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        #[prost(int64, tag = "2")]
        pub line: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        #[prost(int64, tag = "4")]
        pub filename: i64,
    }
}

/// What `fixtures/pprof-workload` allocates (see its `main.rs`): tensors of 4096 `f32`, and
/// cycles of two `Rc` nodes (a 64-byte `RcBox` and 256 bytes of weights each).
const TENSOR_BYTES: u64 = 4096 * 4;
const CYCLE_BYTES: u64 = 2 * (64 + 256);

/// (workload, tensors, cycles) per sample file.
const SAMPLES: [(&str, u64, u64); 2] = [("small", 16, 100), ("large", 32, 200)];

fn sample_path(size: &str) -> String {
    format!("sample-snapshots/rust/pprof-{size}.pb.gz")
}

fn raw_sample(size: &str) -> Vec<u8> {
    let gz = std::fs::read(sample_path(size)).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    raw
}

fn profile(size: &str) -> AllocProfile {
    let path = sample_path(size);
    let snap = heapsight::formats::load(path.as_ref(), Default::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    *snap.alloc.expect("an allocation profile")
}

/// Bytes live at the dump in sites whose stack goes through `pprof_workload::{function}`.
fn live_under(p: &AllocProfile, function: &str) -> u64 {
    let name = format!("pprof_workload::{function}");
    p.sites
        .iter()
        .filter(|s| p.stack(s).iter().any(|&f| p.function(f) == name))
        .map(|s| s.metrics.peak_bytes)
        .sum()
}

#[test]
fn real_profiles_totals_equal_the_sum_of_their_sample_values() {
    for (size, _, _) in SAMPLES {
        let raw = pb::Profile::decode(raw_sample(size).as_slice()).unwrap();
        let name = |i: i64| raw.string_table[i as usize].as_str();
        let types: Vec<String> = raw
            .sample_type
            .iter()
            .map(|t| format!("{}/{}", name(t.ty), name(t.unit)))
            .collect();
        // jemalloc_pprof writes one sample type: bytes in use at the dump.
        assert_eq!(types, ["inuse_space/bytes"], "{size}");
        let sum: i64 = raw.sample.iter().map(|s| s.value[0]).sum();

        let p = profile(size);
        assert_eq!(p.format, "pprof");
        assert!(p.producer.starts_with("jemalloc_pprof"), "{}", p.producer);
        assert_eq!(p.totals.peak_bytes, sum as u64, "{size}");
        // Nothing else is recorded: no counts, no totals since the start, nothing "at exit".
        assert_eq!(p.totals.peak_blocks, 0);
        assert_eq!(p.totals.total_bytes, 0);
        assert_eq!(p.totals.end_bytes, 0);
        assert_eq!(p.site_totals(), p.totals);
    }
}

#[test]
fn real_profiles_show_the_workload_functions_with_their_sizes() {
    for (size, tensors, cycles) in SAMPLES {
        let p = profile(size);
        // Every allocation is sampled (lg_prof_sample:0), so the sizes are exact: each tensor
        // is one 16 KiB block, each cycle two 64-byte `RcBox`es and two 256-byte buffers.
        assert_eq!(
            live_under(&p, "load_tensors"),
            tensors * TENSOR_BYTES,
            "{size}"
        );
        assert_eq!(
            live_under(&p, "build_graph_cycle"),
            cycles * CYCLE_BYTES,
            "{size}"
        );
        assert!(live_under(&p, "leak_config") > 0, "{size}");
        // The temporaries were freed before the dump.
        assert_eq!(live_under(&p, "score_batch"), 0, "{size}");

        let s = AllocSummary::build(&p, 10);
        let top = &s.top_by_peak[0];
        assert_eq!(top.function, "pprof_workload::load_tensors", "{size}");
        assert!(
            top.location.starts_with("src/main.rs:") || top.location.contains("/src/main.rs:"),
            "{size}: {}",
            top.location
        );
        // Outermost first: main calls load_tensors.
        let main = top
            .stack
            .iter()
            .position(|f| f.starts_with("pprof_workload::main "));
        assert!(
            main.is_some_and(|m| m + 1 == top.stack.len() - 1),
            "{size}: {:?}",
            top.stack
        );
        assert!(
            top.stack.iter().all(|f| !f.starts_with("0x")),
            "{size}: {:?}",
            top.stack
        );
    }
}

#[test]
fn the_call_tree_of_a_real_profile_carries_the_live_bytes() {
    let snap = heapsight::formats::load(sample_path("small").as_ref(), Default::default()).unwrap();
    let live = snap.alloc.as_ref().unwrap().totals.peak_bytes;
    let s = AnalyzedSnapshot::new(snap, AnalysisOptions::default(), Default::default()).unwrap();
    assert_eq!(s.analysis.retained_size(s.graph().root()), live);
    assert!(s
        .summary()
        .classes
        .iter()
        .any(|c| c.name.starts_with("pprof_workload::load_tensors")));
}

#[test]
fn diff_of_the_two_real_profiles_by_call_stack() {
    let (a, b) = (profile("small"), profile("large"));
    let diff = diff_profiles(&a, &b);
    let d: Vec<_> = diff.sites.iter().map(|s| diff.row(&a, &b, s)).collect();
    let grown = |f: &str| {
        d.iter()
            .filter(|s| s.stack.last().is_some_and(|l| l.starts_with(f)))
            .map(|s| (s.change, s.before.peak_bytes, s.after.peak_bytes))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        grown("pprof_workload::load_tensors"),
        [(SiteChange::Grown, 16 * TENSOR_BYTES, 32 * TENSOR_BYTES)]
    );
    let cycles: u64 = grown("pprof_workload::build_graph_cycle")
        .iter()
        .inspect(|(c, _, _)| assert_eq!(*c, SiteChange::Grown))
        .map(|(_, _, after)| after)
        .sum();
    assert_eq!(cycles, 200 * CYCLE_BYTES);

    // And from the command line.
    let out = Command::new(env!("CARGO_BIN_EXE_heapsight"))
        .args(["diff", &sample_path("small"), &sample_path("large")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("grown") && l.contains("pprof_workload::load_tensors")),
        "{text}"
    );
}

/// String table with "" first; `s(name)` gives a string's index, adding it if new.
#[derive(Default)]
struct Strings(Vec<String>);

impl Strings {
    fn s(&mut self, text: &str) -> i64 {
        if self.0.is_empty() {
            self.0.push(String::new());
        }
        match self.0.iter().position(|t| t == text) {
            Some(i) => i as i64,
            None => {
                self.0.push(text.to_string());
                self.0.len() as i64 - 1
            }
        }
    }
}

/// A Go-style heap profile: four sample types, one location with an inlined frame, one
/// unsymbolized location, and a function known only by its mangled system name.
fn handmade() -> pb::Profile {
    let mut st = Strings::default();
    let types = [
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ];
    let sample_type = types
        .iter()
        .map(|(t, u)| pb::ValueType {
            ty: st.s(t),
            unit: st.s(u),
        })
        .collect();
    let period_type = Some(pb::ValueType {
        ty: st.s("space"),
        unit: st.s("bytes"),
    });
    let function = vec![
        pb::Function {
            id: 1,
            name: st.s("main.main"),
            system_name: st.s("main.main"),
            filename: st.s("/src/app/main.go"),
        },
        pb::Function {
            id: 2,
            name: st.s("main.loadConfig"),
            system_name: st.s("main.loadConfig"),
            filename: st.s("/src/app/config.go"),
        },
        pb::Function {
            id: 3,
            name: 0,
            system_name: st.s("_ZN4demo5parse17h0123456789abcdefE"),
            filename: st.s("src/parse.rs"),
        },
    ];
    let mapping = vec![pb::Mapping {
        id: 1,
        filename: st.s("/usr/bin/app"),
    }];
    let location = vec![
        pb::Location {
            id: 10,
            mapping_id: 1,
            address: 0x1000,
            line: vec![pb::Line {
                function_id: 1,
                line: 7,
            }],
        },
        // demo::parse inlined into main.loadConfig.
        pb::Location {
            id: 20,
            mapping_id: 1,
            address: 0x2000,
            line: vec![
                pb::Line {
                    function_id: 3,
                    line: 30,
                },
                pb::Line {
                    function_id: 2,
                    line: 12,
                },
            ],
        },
        pb::Location {
            id: 30,
            mapping_id: 1,
            address: 0xbeef,
            line: vec![],
        },
    ];
    let sample = vec![
        pb::Sample {
            location_id: vec![20, 10],
            value: vec![3, 300, 1, 100],
        },
        pb::Sample {
            location_id: vec![30, 10],
            value: vec![5, 80, 0, 0],
        },
        // Nothing to count: dropped.
        pb::Sample {
            location_id: vec![10],
            value: vec![0, 0, 0, 0],
        },
    ];
    pb::Profile {
        sample_type,
        sample,
        mapping,
        location,
        function,
        string_table: st.0,
        period_type,
    }
}

fn load_bytes(name: &str, bytes: &[u8]) -> AllocProfile {
    let path = temp_file(name, bytes);
    let snap = heapsight::formats::load(&path, Default::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    *snap.alloc.unwrap()
}

#[test]
fn go_style_sample_types_inlined_and_unsymbolized_frames() {
    let bytes = handmade().encode_to_vec();
    for p in [
        load_bytes("go.pb", &bytes),
        load_bytes("go.pb.gz", &gzip(&bytes)),
    ] {
        assert!(p.producer.starts_with("Go heap profile"), "{}", p.producer);
        assert_eq!(p.command, "/usr/bin/app");
        assert_eq!(p.totals.total_blocks, 8);
        assert_eq!(p.totals.total_bytes, 380);
        assert_eq!(p.totals.peak_blocks, 1);
        assert_eq!(p.totals.peak_bytes, 100);
        assert_eq!(p.totals.end_bytes, 0);
        assert_eq!(p.sites.len(), 2);
        let stack = |i: usize| -> Vec<String> {
            p.stack(&p.sites[i])
                .iter()
                .map(|&f| format!("{} @ {}", p.function(f), p.location(f)))
                .collect()
        };
        assert_eq!(
            stack(0),
            [
                "main.main @ /src/app/main.go:7",
                "main.loadConfig @ /src/app/config.go:12",
                "demo::parse @ src/parse.rs:30",
            ]
        );
        assert_eq!(
            stack(1),
            ["main.main @ /src/app/main.go:7", "0xbeef @ /usr/bin/app"]
        );
        let rows = sites(&p);
        assert!(rows.iter().any(|r| r.function == "demo::parse"));
    }
}

/// Load `bytes` as `name`: it must fail with a bad-input error naming the file and containing
/// `what`, without panicking.
fn expect_bad(name: &str, bytes: &[u8], what: &str) {
    let path = temp_file(name, bytes);
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    let result = catch_unwind(AssertUnwindSafe(|| {
        heapsight::formats::load(&path, Default::default())
    }));
    let err = match result {
        Err(_) => panic!("{name}: the loader panicked"),
        Ok(Ok(_)) => panic!("{name}: loaded without error"),
        Ok(Err(e)) => e,
    };
    let msg = err.to_string();
    assert!(err.is_bad_input(), "{name}: not a bad-input error: {msg}");
    assert!(msg.contains(&file_name), "{name}: {msg}");
    assert!(msg.contains(what), "{name}: expected {what:?} in: {msg}");
}

fn broken(edit: impl FnOnce(&mut pb::Profile)) -> Vec<u8> {
    let mut p = handmade();
    edit(&mut p);
    p.encode_to_vec()
}

#[test]
fn broken_profiles_are_clear_errors() {
    // Truncated protobuf, plain and gzipped (then cut inside the gzip stream too).
    let raw = raw_sample("small");
    expect_bad("cut.pb", &raw[..raw.len() / 2], "not a valid pprof profile");
    expect_bad(
        "cut.pb.gz",
        &gzip(&raw[..raw.len() - 7]),
        "not a valid pprof profile",
    );
    let gz = gzip(&raw);
    expect_bad("cut-gzip.pb.gz", &gz[..gz.len() / 2], "decompress");
    // Garbage after the gzip magic.
    let mut garbage = vec![0x1f, 0x8b];
    garbage.extend((0..500u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    expect_bad("garbage.pb.gz", &garbage, "decompress");
    // A length-delimited field claiming far more than the file holds.
    expect_bad(
        "huge.pb",
        &[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        "not a valid pprof profile",
    );

    expect_bad(
        "bad-string.pb",
        &broken(|p| p.function[1].name = 9999),
        "names string 9999",
    );
    expect_bad(
        "negative-string.pb",
        &broken(|p| p.sample_type[0].unit = -1),
        "names string -1",
    );
    expect_bad(
        "first-string.pb",
        &broken(|p| p.string_table[0] = "x".into()),
        "first entry",
    );
    expect_bad(
        "bad-location.pb",
        &broken(|p| p.sample[1].location_id.push(77)),
        "location 77",
    );
    expect_bad(
        "bad-function.pb",
        &broken(|p| p.location[0].line[0].function_id = 42),
        "function 42",
    );
    expect_bad(
        "bad-mapping.pb",
        &broken(|p| p.location[2].mapping_id = 5),
        "mapping 5",
    );
    expect_bad(
        "duplicate-id.pb",
        &broken(|p| p.location[1].id = 10),
        "id 10",
    );
    expect_bad("zero-id.pb", &broken(|p| p.function[0].id = 0), "id 0");
    expect_bad(
        "values.pb",
        &broken(|p| {
            p.sample[0].value.pop();
        }),
        "3 values",
    );
    expect_bad(
        "negative.pb",
        &broken(|p| p.sample[0].value[3] = -100),
        "negative inuse_space",
    );
    expect_bad(
        "overflow.pb",
        &broken(|p| {
            p.sample[0].value[1] = i64::MAX;
            p.sample[1].value[1] = i64::MAX;
            p.sample[2].value[1] = i64::MAX;
        }),
        "2^64",
    );
    expect_bad(
        "two-space-types.pb",
        &broken(|p| {
            let space = p.string_table.iter().position(|s| s == "space").unwrap() as i64;
            p.sample_type[1].ty = space;
        }),
        "both count bytes in use",
    );
    // A CPU profile is a valid pprof file, but not a heap profile.
    expect_bad(
        "cpu.pb",
        &broken(|p| {
            let cpu = p.string_table.len() as i64;
            p.string_table.push("cpu".into());
            p.string_table.push("nanoseconds".into());
            p.sample_type = vec![pb::ValueType {
                ty: cpu,
                unit: cpu + 1,
            }];
            for s in &mut p.sample {
                s.value = vec![10];
            }
        }),
        "not a heap profile: its sample types are cpu/nanoseconds",
    );
}

#[test]
fn mutated_real_profiles_never_panic() {
    let raw = raw_sample("small");
    let mut rng = Rng::new(7);
    let (mut loaded, mut refused) = (0, 0);
    for i in 0..300 {
        let mut bytes = raw.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] = rng.next_u64() as u8;
        }
        // Keep the first byte, so every variant is taken for pprof.
        bytes[0] = raw[0];
        let path = temp_file(&format!("mutated-{i}.pb"), &bytes);
        let result = catch_unwind(AssertUnwindSafe(|| {
            heapsight::formats::load(&path, Default::default())
        }))
        .unwrap_or_else(|_| panic!("variant {i}: the loader panicked"));
        match result {
            Ok(_) => loaded += 1,
            Err(e) => {
                assert!(e.is_bad_input(), "variant {i}: {e}");
                refused += 1;
            }
        }
    }
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}
