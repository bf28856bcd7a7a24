//! The comparison and report commands of the `heapsight` binary, run as a CI job or a user
//! would: `leaks` (and its `--fail-on-leak` gate), `diff`, `detached`, `report` and
//! `summary --csv`, in every output format, with their exit codes and files written with `-o`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{heapsight, sample, temp_file};
use serde_json::Value;

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_ok(args: &[&str]) -> String {
    let out = heapsight(args);
    assert!(
        out.status.success(),
        "heapsight {args:?} failed ({:?}): {}",
        out.status.code(),
        stderr(&out)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json_ok(args: &[&str]) -> Value {
    let text = stdout_ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

/// The three snapshots of a sample scenario, as strings for argv.
fn files(dir: &str) -> [String; 3] {
    ["baseline", "target", "final"]
        .map(|s| path_str(&sample(&format!("{dir}/{s}.heapsnapshot"))).to_string())
}

/// `leaks --baseline B --target T --final F` on a sample, then `extra`.
fn leaks(dir: &str, extra: &[&str]) -> Output {
    let [b, t, f] = files(dir);
    let mut args = vec!["leaks", "--baseline", &b, "--target", &t, "--final", &f];
    args.extend_from_slice(extra);
    heapsight(&args)
}

/// An empty folder of its own under Cargo's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("heapsight-tests")
            .join(format!("{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// File names in the folder, sorted.
    fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A page that needs nothing but itself: no scripts, no network, no external resources.
fn check_self_contained_html(page: &str) {
    assert!(page.starts_with("<!doctype html>"), "{}", &page[..80]);
    assert!(page.trim_end().ends_with("</html>"));
    for bad in ["http://", "https://", "<script", "src=", "<link", "@import"] {
        assert!(!page.contains(bad), "the page contains {bad:?}");
    }
}

/// Split CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks) into rows.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// leaks

#[test]
fn leaks_json_on_node_leak() {
    let [b, t, f] = files("node-leak");
    let out = leaks("node-leak", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["baseline"], b.as_str());
    assert_eq!(v["target"], t.as_str());
    assert_eq!(v["final"], f.as_str());
    let clusters = v["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    for c in clusters {
        for key in ["class", "count", "retained_size", "trace", "example_ids"] {
            assert!(c.get(key).is_some(), "cluster without {key}: {c}");
        }
        // No internal node indices in the output.
        assert!(c.get("nodes").is_none());
        for step in c["trace"].as_array().unwrap() {
            assert!(step["node_class"].is_string(), "{step}");
            assert!(step["node_id"].is_u64(), "{step}");
            assert!(step["edge_name"].is_string(), "{step}");
            assert!(step["edge_type"].is_string(), "{step}");
        }
    }
    let c = &clusters[0];
    assert_eq!(c["class"], "RequestContext");
    assert_eq!(c["count"], 1000);
    let retained = c["retained_size"].as_u64().unwrap();
    assert!(retained > 0);
    let trace = c["trace"].as_array().unwrap();
    let last = trace.last().unwrap();
    assert_eq!(last["node_class"], "RequestContext");
    assert_eq!(last["node_id"], c["example_ids"][0]);
    assert_eq!(c["example_ids"].as_array().unwrap().len(), 20);
    assert!(
        trace
            .iter()
            .any(|s| s["edge_name"] == "contexts" && s["node_class"] == "Map"),
        "{trace:#?}"
    );
    assert_eq!(v["leaked_count"], 1000);
    assert_eq!(v["leaked_retained_size"].as_u64(), Some(retained));
    assert!(v["surviving_count"].as_u64().unwrap() >= 1000);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn leaks_text_and_the_ci_gate() {
    // No gate: exit 0 even though there is a leak.
    let out = leaks("node-leak", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1000 × RequestContext"), "{text}");

    // The gate trips: the report is still printed, exit code 1, one line on stderr.
    let out = leaks("node-leak", &["--fail-on-leak"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("heapsight: "), "{err}");
    assert!(err.contains("gate"), "{err}");
    assert!(err.contains("RequestContext"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1000 × RequestContext"));

    // A cluster needs 1001 objects to count: it has 1000.
    let out = leaks("node-leak", &["--fail-on-leak", "--min-count", "1001"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let out = leaks(
        "node-leak",
        &["--fail-on-leak", "--min-count", "1000", "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON even when the gate trips");
    assert_eq!(v["clusters"][0]["count"], 1000);

    // --min-count without --fail-on-leak is a usage error.
    let out = leaks("node-leak", &["--min-count", "5"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn leaks_gate_stays_quiet_without_a_leak() {
    let out = leaks("node-noleak", &["--fail-on-leak"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("0 leaked objects in 0 cluster(s)"),
        "{text}"
    );
}

#[test]
fn leaks_markdown() {
    let out = leaks("node-leak", &["--md"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("RequestContext"), "{md}");
    assert!(
        md.contains("baseline.heapsnapshot") && md.contains("final.heapsnapshot"),
        "{md}"
    );
    let lines: Vec<&str> = md.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.starts_with("| # | Leaked class |"))
        .unwrap_or_else(|| panic!("no table: {md}"));
    assert_eq!(lines[head + 1], "| ---: | --- | ---: | ---: | ---: | --- |");
    let row = lines[head + 2];
    assert!(row.starts_with("| 1 | RequestContext | 1000 | "), "{row}");
    // "Held by" names the Map, not V8's backing array in between.
    assert!(row.contains("| Map @"), "{row}");
    assert!(md.contains("```text\n(root)"), "{md}");
    // Only one output format at a time.
    let out = leaks("node-leak", &["--md", "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Class names such as `Detached <ul>` or `<symbol Symbol.iterator>` are text: in Markdown a raw
/// `<ul>` is an HTML tag (GitHub renders it as the start of a list and the name disappears).
/// Outside code blocks, `<` must be escaped (`\<` or `&lt;`).
#[test]
fn leaks_markdown_escapes_html_in_class_names() {
    let out = leaks("browser-detached", &["--md"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = String::from_utf8(out.stdout).unwrap();
    let mut in_code = false;
    let mut prose = Vec::new();
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && !line.starts_with("    ") {
            prose.push(line);
        }
    }
    let named: Vec<&&str> = prose.iter().filter(|l| l.contains("Detached")).collect();
    assert!(
        named.len() >= 2,
        "the table row and the cluster heading: {md}"
    );
    for line in named {
        assert!(
            !line.replace("\\<", "").contains("<ul"),
            "raw HTML tag in Markdown text: {line}"
        );
    }
}

#[test]
fn leaks_html_to_a_file() {
    let dir = TempDir::new("leaks-html");
    let file = dir.join("leaks.html");
    let out = leaks("node-leak", &["--html", "-o", path_str(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "written to the file, not stdout");
    let page = std::fs::read_to_string(&file).expect("the page");
    check_self_contained_html(&page);
    assert!(page.contains("RequestContext"));
    assert!(page.contains("<table>"));
    // Written atomically: no temporary file left next to it.
    assert_eq!(dir.listing(), ["leaks.html"]);

    // An existing file is replaced; with the gate tripping the file is still written.
    std::fs::write(&file, "old").unwrap();
    let out = leaks(
        "node-leak",
        &["--json", "-o", path_str(&file), "--fail-on-leak"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["clusters"][0]["class"], "RequestContext");
    assert_eq!(dir.listing(), ["leaks.html"]);
}

// ---------------------------------------------------------------------------------------------
// diff

#[test]
fn diff_json_and_csv() {
    let [b, t, _] = files("node-leak");
    let v = json_ok(&["diff", &b, &t, "--json", "--top", "0"]);
    assert_eq!(v["before"], b.as_str());
    assert_eq!(v["after"], t.as_str());
    let classes = v["classes"].as_array().unwrap();
    let row = |name: &str| {
        classes
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no {name} row"))
    };
    let rc = row("RequestContext");
    assert_eq!(rc["new_count"], 1000);
    assert_eq!(rc["deleted_count"], 0);
    assert_eq!(rc["delta_count"], 1000);
    assert_eq!(row("LeakedPayload")["new_count"], 1000);
    let sum = |key: &str| -> u64 { classes.iter().map(|r| r[key].as_u64().unwrap()).sum() };
    for key in ["new_count", "deleted_count", "alloc_size", "freed_size"] {
        assert_eq!(v[key].as_u64(), Some(sum(key)), "{key}");
    }
    assert!(v["base_max_id"].is_u64());
    assert!(v.get("new_nodes").is_none());
    // --top cuts the rows, not the totals.
    let top = json_ok(&["diff", &b, &t, "--json", "--top", "2"]);
    assert_eq!(top["classes"].as_array().unwrap().len(), 2);
    assert_eq!(top["new_count"], v["new_count"]);

    let csv = stdout_ok(&["diff", &b, &t, "--csv", "--top", "0"]);
    assert!(csv.ends_with("\r\n"));
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[0],
        [
            "class",
            "new",
            "deleted",
            "delta",
            "alloc_size",
            "freed_size",
            "size_delta"
        ]
    );
    assert_eq!(rows.len() - 1, classes.len());
    let alloc = rc["alloc_size"].to_string();
    let line = rows
        .iter()
        .find(|r| r[0] == "RequestContext")
        .expect("a RequestContext row");
    assert_eq!(
        line,
        &["RequestContext", "1000", "0", "1000", &alloc, "0", &alloc]
    );
    // Same rows, same order as the JSON.
    for (r, j) in rows[1..].iter().zip(classes) {
        assert_eq!(r.len(), 7, "{r:?}");
        assert_eq!(r[0], j["name"].as_str().unwrap());
        assert_eq!(r[6], j["size_delta"].to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// detached

#[test]
fn detached_json_and_text_on_the_browser_sample() {
    let [_, t, _] = files("browser-detached");
    let v = json_ok(&["detached", &t, "--json"]);
    let trees = v["trees"].as_array().unwrap();
    assert_eq!(trees.len(), 1, "{trees:#?}");
    let tree = &trees[0];
    assert_eq!(tree["root_class"], "Detached <ul>");
    // The <ul>, its 200 <li> and their 200 Text nodes, and the list's HTMLCollection.
    assert_eq!(tree["node_count"], 402);
    assert_eq!(v["node_count"], 402);
    assert_eq!(v["from_detachedness_field"], true);
    assert!(v["other_detached_count"].as_u64().unwrap() > 0);
    let path = tree["retainer_path"].as_array().unwrap();
    let last = path.last().unwrap();
    assert_eq!(last["edge_name"], "leakedRows");
    assert_eq!(last["node_id"], tree["root_id"]);
    assert!(tree.get("root").is_none());

    let text = stdout_ok(&["detached", &t]);
    assert!(
        text.starts_with("402 detached DOM node(s) in 1 tree(s)"),
        "{text}"
    );
    assert!(text.contains("Detached <ul> @"), "{text}");
    assert!(text.contains("leakedRows"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// report

#[test]
fn report_json_over_three_snapshots() {
    let [b, t, f] = files("node-leak");
    let v = json_ok(&["report", &b, &t, &f, "--format", "json"]);
    assert!(v["generator"].as_str().unwrap().starts_with("heapsight "));
    let snaps = v["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 3);
    let names: Vec<&str> = snaps.iter().map(|s| s["file"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "baseline.heapsnapshot",
            "target.heapsnapshot",
            "final.heapsnapshot"
        ]
    );
    for s in snaps {
        for key in [
            "node_count",
            "edge_count",
            "total_size",
            "statistics",
            "top_classes",
            "suspects",
            "detached",
            "duplicated_strings",
        ] {
            assert!(s.get(key).is_some(), "snapshot section without {key}");
        }
    }
    // The target's suspects: the Map of 1000 contexts.
    let suspects = snaps[1]["suspects"].as_array().unwrap();
    assert!(
        suspects.iter().any(|s| s["kind"] == "accumulation"
            && s["class"] == "Map"
            && s["explanation"]
                .as_str()
                .unwrap()
                .contains("1000 RequestContext")),
        "{suspects:#?}"
    );
    // Comparison of the first two.
    let cmp = &v["comparison"];
    assert_eq!(cmp["base"], "baseline.heapsnapshot");
    assert_eq!(cmp["target"], "target.heapsnapshot");
    let rc = cmp["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "RequestContext")
        .expect("RequestContext in the comparison");
    assert_eq!(rc["new_count"], 1000);
    // Leaks over all three, as `leaks --json`.
    let l = &v["leaks"];
    assert_eq!(l["clusters"][0]["class"], "RequestContext");
    assert_eq!(l["clusters"][0]["count"], 1000);
    assert_eq!(l["leaked_count"], 1000);
    assert!(v["growing_collections"].is_array());
}

#[test]
fn report_over_one_snapshot_has_no_comparison_or_leaks() {
    let [_, t, _] = files("node-leak");
    let v = json_ok(&["report", &t, "--format", "json"]);
    assert_eq!(v["snapshots"].as_array().unwrap().len(), 1);
    assert!(v["comparison"].is_null());
    assert!(v["leaks"].is_null());
    assert_eq!(v["growing_collections"], Value::Array(Vec::new()));
    // A threshold outside 0..1 is refused before anything is loaded.
    let out = heapsight(&["report", &t, "--threshold", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--threshold"), "{}", stderr(&out));
}

#[test]
fn report_html_and_markdown() {
    let [b, t, f] = files("node-leak");
    let dir = TempDir::new("report-html");
    let file = dir.join("report.html");
    let out = heapsight(&[
        "report",
        &b,
        &t,
        &f,
        "--format",
        "html",
        "-o",
        path_str(&file),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let page = std::fs::read_to_string(&file).unwrap();
    check_self_contained_html(&page);
    assert!(page.contains("<h1>Leak suspects report</h1>"));
    assert!(page.contains("RequestContext"));
    // Bar charts are inline SVG.
    assert!(page.contains("<svg"));
    assert_eq!(dir.listing(), ["report.html"]);

    let md = stdout_ok(&["report", &b, &t, &f, "--format", "md"]);
    assert!(md.starts_with("# Leak suspects report\n"), "{md}");
    for heading in [
        "\n## Leaks (baseline → target → final)\n",
        "\n## Comparison: baseline.heapsnapshot → target.heapsnapshot\n",
        "\n## Snapshot final.heapsnapshot\n",
    ] {
        assert!(md.contains(heading), "no {heading:?} in {md}");
    }
    assert!(md.contains("| 1 | RequestContext | 1000 |"), "{md}");
    // Markdown is the default format.
    let default = stdout_ok(&["report", &b, &t, &f]);
    assert_eq!(default, md);
}

/// A clean service: no leak, and both kinds of object left out are listed, also when no
/// cluster was found.
#[test]
fn report_lists_what_it_did_not_count_on_a_clean_run() {
    let dir = "node-http-clean";
    let f = |s: &str| path_str(&sample(&format!("{dir}/{s}.heapsnapshot.gz"))).to_string();
    let md = stdout_ok(&[
        "report",
        &f("baseline"),
        &f("target"),
        &f("final"),
        "--format",
        "md",
    ]);
    assert!(md.contains("No leaks found."), "{md}");
    assert!(md.contains("\n### Replaced values (not counted)\n"), "{md}");
    assert!(md.contains("| RouteLayer.params |"), "{md}");
}

#[test]
fn summary_csv_parses() {
    let [_, t, _] = files("node-leak");
    let csv = stdout_ok(&["summary", &t, "--csv", "--top", "0"]);
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[0],
        [
            "class",
            "count",
            "shallow_size",
            "retained_size",
            "distance"
        ]
    );
    for r in &rows[1..] {
        assert_eq!(r.len(), 5, "{r:?}");
        let count: u64 = r[1].parse().unwrap_or_else(|_| panic!("{r:?}"));
        assert!(count > 0, "{r:?}");
        r[2].parse::<u64>().unwrap();
        r[3].parse::<u64>().unwrap();
        assert!(r[4].is_empty() || r[4].parse::<u32>().is_ok(), "{r:?}");
    }
    let row = |name: &str| rows.iter().find(|r| r[0] == name).cloned();
    assert_eq!(row("RequestContext").unwrap()[1], "1000");
    assert_eq!(row("CacheEntry").unwrap()[1], "300");
    // The same classes, in the same order, as the JSON.
    let v = json_ok(&["summary", &t, "--json", "--top", "0"]);
    let names: Vec<&str> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let csv_names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(csv_names, names);
    // Inferred class names such as `{a, b}` hold commas: quoted.
    if let Some(name) = names.iter().find(|n| n.contains(',')) {
        assert!(csv.contains(&format!("\"{name}\"")), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn bad_file_exits_2_naming_it() {
    let bad = temp_file("broken.heapsnapshot", b"{\"snapshot\":{\"meta\":");
    let bad = path_str(&bad);
    let [b, t, f] = files("node-leak");
    let cases: [Vec<&str>; 4] = [
        vec!["leaks", "--baseline", &b, "--target", bad, "--final", &f],
        vec!["diff", &b, bad],
        vec!["report", &b, bad, &f],
        vec!["detached", bad],
    ];
    for args in cases {
        let out = heapsight(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("heapsight: "), "{args:?}: {err}");
        assert!(err.contains(bad), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: wrote to stdout");
    }
    // A missing file is an I/O error: exit 1, naming it.
    let out = heapsight(&["diff", &t, "/nonexistent/dir/gone.heapsnapshot"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("gone.heapsnapshot"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn report_on_allocation_profiles_lists_leaks_and_compares_by_stack() {
    let small = "sample-snapshots/rust/valgrind-dhat-small.json";
    let large = "sample-snapshots/rust/valgrind-dhat-large.json";
    let md = stdout_ok(&["report", small, large, "--format", "md"]);
    assert!(
        md.contains("## Allocation profile valgrind-dhat-small.json"),
        "{md}"
    );
    assert!(md.contains("### Leaked at exit"), "{md}");
    assert!(md.contains("| alloc_workload::build_graph_cycle |"), "{md}");
    assert!(md.contains("(by call stack)"), "{md}");
    assert!(
        md.contains("| grown | alloc_workload::load_tensors"),
        "{md}"
    );
    assert!(md.contains("never read"), "{md}");
    // No JavaScript heap sections for a Rust dump.
    assert!(
        !md.contains("JS arrays") && !md.contains("Detached"),
        "{md}"
    );
    let json = json_ok(&["report", small, large, "--format", "json"]);
    let a = &json["snapshots"][0]["allocations"];
    assert_eq!(a["format"], "dhat");
    assert_eq!(
        a["top_by_leaked"][0]["function"],
        "alloc_workload::build_graph_cycle"
    );
    assert!(json["comparison"].is_null() && json["leaks"].is_null());
    assert_eq!(json["allocation_diff"]["sites"][0]["change"], "grown");
    // A heap snapshot's report has no allocation parts.
    let heap = json_ok(&[
        "report",
        "sample-snapshots/node-leak/target.heapsnapshot",
        "--format",
        "json",
    ]);
    assert!(heap["snapshots"][0]["allocations"].is_null());
    assert!(heap["allocation_diff"].is_null());
}
