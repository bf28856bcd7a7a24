//! heaptrack data files: the committed real samples against heaptrack_print's own numbers, and
//! hand-written files whose accounting is worked out by hand, plus broken files.

mod common;

use common::{gzip, temp_file};
use heapsight::analysis::alloc::AllocSummary;
use heapsight::model::alloc::{AllocProfile, AllocSite, TimePoint};
use serde_json::Value;

fn expected() -> Value {
    let text = std::fs::read_to_string("sample-snapshots/rust/expected.json").unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load(path: &std::path::Path) -> heapsight::error::Result<AllocProfile> {
    let snap = heapsight::formats::load(path, Default::default())?;
    Ok(*snap.alloc.expect("an allocation profile"))
}

fn sample(name: &str) -> AllocProfile {
    load(format!("sample-snapshots/rust/{name}").as_ref()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text_profile(text: &str) -> AllocProfile {
    let path = temp_file("heaptrack.test", text.as_bytes());
    load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn text_error(text: &[u8]) -> String {
    let path = temp_file("heaptrack.bad", text);
    match load(&path) {
        Ok(_) => panic!("loaded: {}", String::from_utf8_lossy(text)),
        Err(e) => {
            assert!(e.is_bad_input(), "{e}");
            e.to_string()
        }
    }
}

/// Function names of a site's stack, outermost first.
fn stack(p: &AllocProfile, s: &AllocSite) -> Vec<String> {
    p.stack(s)
        .iter()
        .map(|&f| p.function(f).to_string())
        .collect()
}

/// The site whose allocating (innermost) function is `f`.
fn site<'a>(p: &'a AllocProfile, f: &str) -> &'a AllocSite {
    let found: Vec<_> = p
        .sites
        .iter()
        .filter(|s| p.stack(s).last().map(|&x| p.function(x)) == Some(f))
        .collect();
    assert_eq!(found.len(), 1, "sites allocating in {f}");
    found[0]
}

/// heaptrack_print's `formatBytes` text (`402.84K`: powers of 1000, two decimals) as
/// (approximate bytes, half the last digit).
fn printed_bytes(text: &str) -> (f64, f64) {
    let (num, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let scale = match unit {
        "" | "B" => 1.0,
        "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        other => panic!("unit {other}"),
    };
    let decimals = num.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    (
        num.parse::<f64>().unwrap() * scale,
        0.5 * 10f64.powi(-decimals) * scale,
    )
}

/// The value of a heaptrack_print summary line (`peak heap memory consumption: 402.84K`).
fn summary_value<'a>(lines: &'a Value, key: &str) -> &'a str {
    lines
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str()?.strip_prefix(key)?.strip_prefix(": "))
        .next()
        .unwrap_or_else(|| panic!("no {key:?} line"))
}

#[test]
fn totals_match_heaptrack_print() {
    let e = expected();
    for name in ["heaptrack-small.zst", "heaptrack-large.zst"] {
        let want = &e["files"][name];
        let lines = &want["summary_lines"];
        let p = sample(name);
        let t = p.totals;
        assert_eq!(p.format, "heaptrack");
        assert_eq!(p.producer, "heaptrack 1.4.0", "{name}");
        assert!(p.command.contains("alloc-workload"), "{}", p.command);

        // Counts are printed exactly: `6865 (10496/s)`.
        let count = |key: &str| -> u64 {
            summary_value(lines, key)
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(
            t.total_blocks,
            count("calls to allocation functions"),
            "{name}"
        );
        assert_eq!(
            t.temporary_blocks,
            count("temporary memory allocations"),
            "{name}"
        );

        // Bytes are printed rounded (`402.84K`): within the rounding of the printed text...
        for (got, key) in [
            (t.peak_bytes, "peak heap memory consumption"),
            (t.end_bytes, "total memory leaked"),
        ] {
            let (approx, half) = printed_bytes(summary_value(lines, key));
            assert!(
                (got as f64 - approx).abs() <= half + 1e-9,
                "{name}: {key}: {got} vs printed {approx}"
            );
        }
        // ...and to the byte against the exact values replayed with heaptrack's rules.
        let replay = &want["replay"];
        let num = |v: &Value| v.as_u64().unwrap();
        assert_eq!(t.total_blocks, num(&replay["allocations"]), "{name}");
        assert_eq!(
            t.temporary_blocks,
            num(&replay["temporary_allocations"]),
            "{name}"
        );
        assert_eq!(t.total_bytes, num(&replay["allocated_bytes"]), "{name}");
        assert_eq!(t.peak_bytes, num(&replay["peak_heap_bytes"]), "{name}");
        assert_eq!(t.end_bytes, num(&replay["leaked_bytes"]), "{name}");
        // One site per trace that allocated, as heaptrack counts them.
        assert!(p.sites.len() as u64 <= num(&replay["traces"]), "{name}");

        // The totals are the sums over sites.
        assert_eq!(t, p.site_totals(), "{name}");
        // Blocks agree with heaptrack_interpret's own stats (leaked allocations by pointer).
        assert_eq!(
            t.end_blocks,
            num(&want["interpret_stats"]["leaked_allocations"]),
            "{name}"
        );
    }
}

/// Sorted per-trace values from `heaptrack_print --flamegraph-cost-type <cost> -F stacks.txt`
/// (one line per trace, exact numbers), heaptrack 1.4.0 on the committed samples.
const SMALL_PEAK: [u64; 37] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5, 8, 8, 8, 19, 19, 19, 19, 19, 19, 48, 48, 48, 56, 56, 56,
    384, 544, 1024, 1584, 6400, 6400, 25600, 25600, 72704, 262144,
];
const SMALL_LEAKED: [u64; 37] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 19, 19, 19, 19, 19, 19, 48, 48, 48,
    56, 56, 56, 544, 6400, 6400, 25600, 25600,
];
const SMALL_ALLOCATIONS: [u64; 37] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 16, 16,
    100, 100, 100, 100, 3200, 3200,
];
const LARGE_PEAK: [u64; 37] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5, 8, 8, 8, 19, 19, 19, 19, 19, 19, 48, 48, 48, 56, 56, 56,
    544, 768, 1024, 3152, 12800, 12800, 51200, 51200, 72704, 524288,
];
const LARGE_LEAKED: [u64; 37] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 19, 19, 19, 19, 19, 19, 48, 48, 48,
    56, 56, 56, 544, 12800, 12800, 51200, 51200,
];
const LARGE_ALLOCATIONS: [u64; 37] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 5, 32, 32,
    200, 200, 200, 200, 6400, 6400,
];

#[test]
fn per_site_values_match_heaptrack_print() {
    for (name, peak, leaked, allocations, temporary) in [
        (
            "heaptrack-small.zst",
            &SMALL_PEAK,
            &SMALL_LEAKED,
            &SMALL_ALLOCATIONS,
            3200,
        ),
        (
            "heaptrack-large.zst",
            &LARGE_PEAK,
            &LARGE_LEAKED,
            &LARGE_ALLOCATIONS,
            6400,
        ),
    ] {
        let p = sample(name);
        let sorted = |f: fn(&AllocSite) -> u64| {
            let mut v: Vec<u64> = p.sites.iter().map(f).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(|s| s.metrics.peak_bytes), peak, "{name}");
        assert_eq!(sorted(|s| s.metrics.end_bytes), leaked, "{name}");
        assert_eq!(sorted(|s| s.metrics.total_blocks), allocations, "{name}");
        // Temporaries: two sites of `temporary` each, and two with one (see the next test).
        let mut temp = sorted(|s| s.metrics.temporary_blocks);
        temp.retain(|&t| t > 0);
        assert_eq!(temp, [1, 1, temporary, temporary], "{name}");
    }
}

#[test]
fn leaked_and_temporary_sites_are_the_workloads() {
    let e = expected();
    for name in ["heaptrack-small.zst", "heaptrack-large.zst"] {
        let p = sample(name);
        let want = &e["files"][name]["by_function"];
        let workload = &e["workload"][e["files"][name]["workload"].as_str().unwrap()];
        let in_fn = |f: &str| -> Vec<&AllocSite> {
            let full = format!("alloc_workload::{f}");
            p.sites
                .iter()
                .filter(|s| stack(&p, s).contains(&full))
                .collect()
        };
        let sum =
            |f: &str, m: fn(&AllocSite) -> u64| -> u64 { in_fn(f).iter().map(|s| m(s)).sum() };
        for f in [
            "load_tensors",
            "build_graph_cycle",
            "leak_config",
            "score_batch",
        ] {
            let w = &want[f];
            assert_eq!(
                sum(f, |s| s.metrics.total_blocks),
                w["allocations"].as_u64().unwrap(),
                "{name} {f}"
            );
            assert_eq!(
                sum(f, |s| s.metrics.total_bytes),
                w["bytes"].as_u64().unwrap(),
                "{name} {f}"
            );
            assert_eq!(
                sum(f, |s| s.metrics.end_bytes),
                w["leaked"].as_u64().unwrap(),
                "{name} {f}"
            );
            assert_eq!(
                sum(f, |s| s.metrics.temporary_blocks),
                w["temporary"].as_u64().unwrap(),
                "{name} {f}"
            );
        }
        // What the workload says it leaked, block for block.
        assert_eq!(
            sum("build_graph_cycle", |s| s.metrics.end_bytes),
            workload["cycle_leak_bytes"].as_u64().unwrap()
        );
        assert_eq!(
            sum("build_graph_cycle", |s| s.metrics.end_blocks),
            workload["cycle_leak_blocks"].as_u64().unwrap()
        );
        assert_eq!(
            sum("leak_config", |s| s.metrics.end_blocks),
            workload["config_leak_blocks"].as_u64().unwrap()
        );
        assert_eq!(
            sum("load_tensors", |s| s.metrics.end_bytes),
            0,
            "freed before exit"
        );
        // The tensors are the bulk of the peak.
        assert!(sum("load_tensors", |s| s.metrics.peak_bytes) * 2 > p.totals.peak_bytes);

        // The summary's leak list, folded to the user's code, names the leaking functions.
        let s = AllocSummary::build(&p, 50);
        let leaking: Vec<&str> = s
            .top_by_leaked
            .iter()
            .map(|r| r.function.as_str())
            .collect();
        assert!(
            leaking.contains(&"alloc_workload::build_graph_cycle"),
            "{leaking:?}"
        );
        assert!(
            leaking.contains(&"alloc_workload::leak_config"),
            "{leaking:?}"
        );
        assert_eq!(
            s.top_by_temporary[0].function,
            "alloc_workload::score_batch"
        );
        // Rust v0 names are demangled, inlined frames kept (`main.rs` lines of the workload).
        assert!(s.top_by_peak[0].function == "alloc_workload::load_tensors");
        assert!(s.top_by_peak[0].location.starts_with("src/main.rs:"));

        // The extra temporaries (heaptrack's rule, see the loader's docs): libc's stdio buffer,
        // freed right after it was allocated, and info 0, freed right after another free.
        let ones: Vec<&AllocSite> = p
            .sites
            .iter()
            .filter(|s| s.metrics.temporary_blocks == 1)
            .collect();
        assert_eq!(ones.len(), 2);
    }
}

#[test]
fn timeline_of_the_samples() {
    for name in ["heaptrack-small.zst", "heaptrack-large.zst"] {
        let p = sample(name);
        let tl = &p.timeline;
        assert!(tl.len() >= 2 && tl.len() <= 10_000, "{name}: {}", tl.len());
        assert!(
            tl.windows(2).all(|w| w[0].time < w[1].time),
            "{name}: {tl:?}"
        );
        assert_eq!(
            tl.iter().map(|p| p.bytes).max(),
            Some(p.totals.peak_bytes),
            "{name}"
        );
        assert_eq!(tl.last().unwrap().bytes, p.totals.end_bytes, "{name}");
        assert_eq!(p.time_unit, "ms");
        // heaptrack_print's "total runtime" is the last timestamp + 1 ms.
        let e = expected();
        let runtime = e["files"][name]["total_runtime_s"].as_f64().unwrap();
        let end = p.end_time.unwrap() as f64 / 1000.0;
        assert!((end - runtime).abs() <= 0.005, "{name}: {end} vs {runtime}");
        let peak_at = p.peak_time.unwrap();
        assert!(tl
            .iter()
            .any(|x| x.time == peak_at && x.bytes == p.totals.peak_bytes));
    }
}

/// A small program: `main` calls `work` (100-byte blocks) and `leak` (16-byte blocks), and
/// allocates 32 bytes itself.
const HAND: &str = "\
v 10400 3
X ./app --flag
I 1000 100
# a comment
s 3 app
s 4 main
s 6 main.c
s 4 work
s 4 leak
i 1000 1 2 3 a
t 1 0
i 1010 1 4 3 14
t 2 1
i 1020 1 5 3 1e
t 3 1
a 64 2
+ 0
- 0
+ 0
a 10 3
+ 1
a 20 1
+ 2
c a
- 0
+ 1
- 2
+ 0
c 14
+ 0
- 0
- 0
c 1e
R 123

";

#[test]
fn hand_written_accounting() {
    for bytes in [HAND.as_bytes().to_vec(), gzip(HAND.as_bytes())] {
        let path = temp_file("heaptrack.app.1.gz", &bytes);
        let p = load(&path).unwrap();
        assert_eq!(p.producer, "heaptrack 1.4.0");
        assert_eq!(p.command, "./app --flag");
        let t = p.totals;
        assert_eq!(t.total_blocks, 7);
        assert_eq!(t.total_bytes, 4 * 100 + 2 * 16 + 32);
        // The peak: the second `+ 0` after `c 14`, 232 bytes, at 20 ms.
        assert_eq!(t.peak_bytes, 232);
        assert_eq!(t.peak_blocks, 4);
        assert_eq!(p.peak_time, Some(0x14));
        assert_eq!(t.end_bytes, 32);
        assert_eq!(t.end_blocks, 2);
        // `- 0` right after `+ 0` (twice), and the last `- 0`, right after a free.
        assert_eq!(t.temporary_blocks, 3);
        assert_eq!(p.end_time, Some(0x1f));

        let work = site(&p, "work");
        assert_eq!(stack(&p, work), ["main", "work"]);
        assert_eq!(p.location(p.stack(work)[0]), "main.c:10");
        assert_eq!(p.location(p.stack(work)[1]), "main.c:20");
        assert_eq!(work.metrics.total_blocks, 4);
        assert_eq!(work.metrics.total_bytes, 400);
        assert_eq!(
            (work.metrics.peak_bytes, work.metrics.peak_blocks),
            (200, 2)
        );
        assert_eq!((work.metrics.end_bytes, work.metrics.end_blocks), (0, 0));
        assert_eq!(work.metrics.temporary_blocks, 3);

        let leak = site(&p, "leak");
        assert_eq!((leak.metrics.peak_bytes, leak.metrics.peak_blocks), (32, 2));
        assert_eq!((leak.metrics.end_bytes, leak.metrics.end_blocks), (32, 2));
        assert_eq!(leak.metrics.temporary_blocks, 0);

        // `main`'s own 32 bytes were freed before the peak.
        let main = site(&p, "main");
        assert_eq!(stack(&p, main), ["main"]);
        assert_eq!(main.metrics.total_bytes, 32);
        assert_eq!(main.metrics.peak_bytes, 0);

        // Each point: the most bytes live from its time to the next; the last: at exit.
        let tp = |time, bytes| TimePoint { time, bytes };
        assert_eq!(
            p.timeline,
            [tp(0, 148), tp(10, 148), tp(20, 232), tp(30, 32), tp(31, 32)]
        );
    }
}

#[test]
fn a_snapshot_with_a_call_tree() {
    let path = temp_file("heaptrack.app.2", HAND.as_bytes());
    let snap = heapsight::formats::load(&path, Default::default()).unwrap();
    // Root, main, main>work, main>leak.
    assert_eq!(snap.graph.node_count(), 4);
    assert!(snap.info.title.unwrap().contains("./app --flag"));
}

#[test]
fn inlined_frames_and_names() {
    let mut text = String::from("v 10400 3\n");
    for name in [
        "main",
        "inner",
        "outer",
        "a.rs",
        "_ZN6my_app4Node3new17h0123456789abcdefE",
        "_$LT$my_app..Thing$u20$as$u20$core..fmt..Debug$GT$::fmt::h0123456789abcdef",
        "/usr/lib/libx.so",
    ] {
        text.push_str(&format!("s {:x} {name}\n", name.len()));
    }
    text.push_str(
        "\
i 1 0 1 4 1
t 1 0
i 2 0 2 4 2 3 4 3
t 2 1
a 8 2
+ 0
i 3 0 5 4 5
t 3 1
a 8 3
+ 1
i 4 0 6
t 4 1
a 8 4
+ 2
i 5 7
t 5 1
a 8 5
+ 3
",
    );
    let p = text_profile(&text);
    // `i` lists the innermost (inlined) function first, its callers after it.
    let s = site(&p, "inner");
    assert_eq!(stack(&p, s), ["main", "outer", "inner"]);
    assert_eq!(p.location(p.stack(s)[1]), "a.rs:3");
    assert_eq!(p.location(p.stack(s)[2]), "a.rs:2");
    assert_eq!(
        stack(&p, site(&p, "my_app::Node::new")),
        ["main", "my_app::Node::new"]
    );
    // heaptrack_interpret half-demangles legacy Rust names; the hash and escapes go.
    let debug = site(&p, "<my_app::Thing as core::fmt::Debug>::fmt");
    assert_eq!(p.location(*p.stack(debug).last().unwrap()), "");
    // An address without symbols: `??` in its module.
    let unknown = site(&p, "??");
    assert_eq!(
        p.location(*p.stack(unknown).last().unwrap()),
        "/usr/lib/libx.so"
    );
}

#[test]
fn leak_suppressions_like_heaptrack_print() {
    let p = text_profile(
        "\
v 10400 3
S leak:^mine$
s 4 main
s c __new_exitfn
s 4 mine
s 5 other
i 1 0 1
t 1 0
i 2 0 2
t 2 1
i 3 0 3
t 3 1
i 4 0 4
t 4 3
i 5 0 4
t 5 1
a 8 2
a 10 4
a 20 5
+ 0
+ 1
+ 2
",
    );
    // The built-in `__new_exitfn` and the embedded `^mine$` (also matching its callee `other`)
    // are not leaks; `main > other` is.
    assert_eq!(p.totals.total_bytes, 8 + 16 + 32);
    assert_eq!(p.totals.peak_bytes, 56);
    assert_eq!(p.totals.end_bytes, 32);
    assert_eq!(p.totals.end_blocks, 1);
}

#[test]
fn format_2_strings_and_format_0_pointers() {
    // Format 2: a string is the rest of the line, spaces and all.
    let p = text_profile(
        "\
v 10400 2
s my function (with spaces)
i 1 0 1
t 1 0
a 8 1
+ 0
",
    );
    assert_eq!(stack(&p, &p.sites[0]), ["my function (with spaces)"]);
    assert_eq!(p.totals.end_bytes, 8);

    // Format 0 (no `v` record): `+ size trace pointer`, `- pointer`.
    let p = text_profile(
        "\
X ./old
s main
i 1 0 1
t 1 0
+ 10 1 abc
- abc
+ 10 1 abc
+ 20 1 def
- abc
- 999
",
    );
    assert_eq!(p.producer, "heaptrack");
    let t = p.totals;
    assert_eq!((t.total_blocks, t.total_bytes), (3, 64));
    assert_eq!(t.temporary_blocks, 1);
    assert_eq!(t.peak_bytes, 48);
    assert_eq!((t.end_bytes, t.end_blocks), (32, 1));
}

#[test]
fn an_empty_run() {
    let p = text_profile("v 10400 3\nX ./nothing\n");
    assert_eq!(p.totals, Default::default());
    assert!(p.sites.is_empty());
}

#[test]
fn bad_input_gives_one_clear_error() {
    const HEAD: &str = "v 10400 3\ns 4 main\ni 1 0 1\nt 1 0\n";
    let with_head = |rest: &str| format!("{HEAD}{rest}").into_bytes();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"v 10400 3\na 10\n".to_vec(), "line 2: trace is missing"),
        (with_head("a 10 5\n"), "line 5: allocation names trace 0x5"),
        (
            b"v 10400 3\n+ 0\n".to_vec(),
            "'+' names allocation info 0x0, but only 0x0 are defined",
        ),
        (
            with_head("a 10 1\n+ 0\n+ 1\n"),
            "line 7: '+' names allocation info 0x1",
        ),
        (
            with_head("a 10 1\n- 0\n"),
            "line 6: free of allocation info 0x0",
        ),
        (
            b"v 10400 3\nt 1 0\n".to_vec(),
            "instruction pointer 0x1, but only 0x0",
        ),
        (
            b"v 10400 3\ns 4 main\ni 1 0 1\nt 1 3\n".to_vec(),
            "parent trace 0x3",
        ),
        (
            b"v 10400 3\nhello world\n".to_vec(),
            "line 2: not a heaptrack record: \"hello world\"",
        ),
        (
            b"v 10400 3\n+ zz\n".to_vec(),
            "allocation info \"zz\" is not a 64-bit hexadecimal number",
        ),
        (
            with_head("a 10 1\n+ 0"),
            "line 6: the file ends in the middle of a line",
        ),
        (
            b"v 10400 3\ns ff abc\n".to_vec(),
            "the string is 255 bytes long",
        ),
        (b"v 10400 9\n".to_vec(), "file format version 9"),
        (
            b"v 10400 3\nx /bin/app\nm 1 x 0\n".to_vec(),
            "heaptrack's raw trace",
        ),
        (b"v 10400 3\ni 1 5\n".to_vec(), "module names string 0x5"),
        (b"v 10400 3\nX a\nX b\n".to_vec(), "a second command line"),
        (
            b"v 10400 3\ns 4 main\ni 1 0 1 0\n".to_vec(),
            "line is missing",
        ),
        (
            b"v 10400 3\n\x00\x01\x02\xff\xfe garbage\n".to_vec(),
            "not a heaptrack record",
        ),
        (
            b"v 10400 3\nc 1ffffffffffffffff\n".to_vec(),
            "is not a 64-bit hexadecimal number",
        ),
        (
            with_head("a ffffffffffffffff 1\n+ 0\n+ 0\n"),
            "line 7: the byte counts overflow",
        ),
    ];
    for (text, want) in cases {
        let msg = text_error(&text);
        assert!(msg.contains(want), "{msg:?} should say {want:?}");
        assert!(msg.contains("(at byte"), "{msg}");
    }
    // A line without end.
    let mut long = b"v 10400 3\ns 4 main\nX ".to_vec();
    long.resize(17 << 20, b'a');
    long.push(b'\n');
    let msg = text_error(&long);
    assert!(msg.contains("longer than 16 MiB"), "{msg}");
}

#[test]
fn truncated_compressed_files() {
    let real = std::fs::read("sample-snapshots/rust/heaptrack-small.zst").unwrap();
    for cut in [real.len() / 2, real.len() - 3] {
        let msg = text_error(&real[..cut]);
        assert!(
            msg.contains("decompress")
                || msg.contains("cut short")
                || msg.contains("middle of a line"),
            "{msg}"
        );
    }
    let gz = gzip(HAND.as_bytes());
    let msg = text_error(&gz[..gz.len() - 10]);
    assert!(
        msg.contains("decompress") || msg.contains("middle of a line"),
        "{msg}"
    );
}

#[test]
fn corrupted_bytes_never_panic() {
    let real = std::fs::read("sample-snapshots/rust/heaptrack-small.zst").unwrap();
    let text = zstd::stream::decode_all(&real[..]).unwrap();
    let mut rng = common::Rng::new(7);
    let mut loaded = 0;
    for _ in 0..60 {
        let mut bytes = text.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] = b"0123456789abcdef +-ast\n\x00"[rng.below(24) as usize];
        }
        let path = temp_file("heaptrack.fuzz", &bytes);
        match load(&path) {
            Ok(p) => {
                loaded += 1;
                assert_eq!(p.totals, p.site_totals());
            }
            Err(e) => assert!(e.is_bad_input(), "{e}"),
        }
    }
    assert!(loaded > 0);
}

#[test]
fn loading_can_be_cancelled() {
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let progress = heapsight::progress::Progress::new(None, Some(&cancel));
    let path = std::path::Path::new("sample-snapshots/rust/heaptrack-small.zst");
    match heapsight::formats::load(path, progress) {
        Err(heapsight::error::Error::Cancelled) => {}
        other => panic!("expected cancellation, got {:?}", other.map(|_| ())),
    }
}
