//! The `heapsight` binary, run as a user would: outputs, exit codes and error messages.
//!
//! Exit codes: 0 success; 2 the input file is not a valid heap file (bad input); 1 anything
//! else — including a file that can't be opened (an I/O error) and an unknown node id. Usage
//! errors are clap's: exit 2.

mod common;

use std::path::Path;

use common::{gzip, heapsight, heapsight_command, sample, temp_file};
use serde_json::Value;

const TARGET: &str = "node-leak/target.heapsnapshot";

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout_ok(args: &[&str]) -> String {
    let out = heapsight(args);
    assert!(
        out.status.success(),
        "heapsight {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json_ok(args: &[&str]) -> Value {
    let text = stdout_ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

/// The id of some RequestContext node, read from the TSV output.
fn request_context_id(tsv: &str) -> String {
    tsv.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|c| c[1] == "object" && c[2] == "RequestContext")
        .expect("a RequestContext row")[0]
        .to_string()
}

#[test]
fn summary_json() {
    let file = sample(TARGET);
    let v = json_ok(&["summary", path_str(&file), "--json", "--top", "0"]);
    assert_eq!(v["node_count"], 46724);
    assert_eq!(v["edge_count"], 200916);
    let total = v["total_size"].as_u64().unwrap();
    assert!(total > 0);
    assert_eq!(v["statistics"]["total"].as_u64(), Some(total));
    let classes = v["classes"].as_array().unwrap();
    assert_eq!(v["class_count"].as_u64(), Some(classes.len() as u64));
    for c in classes {
        for key in ["name", "count", "shallow_size", "retained_size", "distance"] {
            assert!(c.get(key).is_some(), "class row without {key}: {c}");
        }
        assert!(c["count"].as_u64().unwrap() > 0);
        assert!(c["retained_size"].as_u64().unwrap() <= total);
    }
    let count = |name: &str| -> u64 {
        classes
            .iter()
            .filter(|c| c["name"] == name)
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(count("RequestContext"), 1000);
    assert_eq!(count("LeakedPayload"), 1000);
    assert_eq!(count("CacheEntry"), 300);
    // Largest retained size first; --top cuts the list but not class_count.
    let top = json_ok(&["summary", path_str(&file), "--json", "--top", "3"]);
    assert_eq!(top["classes"].as_array().unwrap().len(), 3);
    assert_eq!(top["class_count"], v["class_count"]);
    assert_eq!(top["classes"][0], classes[0]);
    assert!(classes[0]["retained_size"].as_u64() >= classes[1]["retained_size"].as_u64());
}

#[test]
fn summary_text_and_memlab_rules_and_gzip() {
    let file = sample("node-leak/baseline.heapsnapshot");
    let text = stdout_ok(&["summary", path_str(&file), "--top", "5"]);
    assert!(text.contains("nodes"), "{text}");
    assert!(text.contains("Constructor"), "{text}");
    let memlab = json_ok(&["summary", path_str(&file), "--json", "--rules", "memlab"]);
    let devtools = json_ok(&["summary", path_str(&file), "--json"]);
    // Same heap, same total (only how it is split differs).
    assert_eq!(memlab["total_size"], devtools["total_size"]);
    let gz = temp_file(
        "baseline.heapsnapshot.gz",
        &gzip(&std::fs::read(&file).unwrap()),
    );
    let from_gz = json_ok(&["summary", path_str(&gz), "--json"]);
    assert_eq!(from_gz["total_size"], devtools["total_size"]);
    assert_eq!(from_gz["classes"], devtools["classes"]);
}

#[test]
fn nodes_tsv_node_and_retainers() {
    let file = sample(TARGET);
    let f = path_str(&file);
    let tsv = stdout_ok(&["nodes", f, "--tsv"]);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(
        lines[0],
        "id\ttype\tname\tself_size\tretained_size\tdominator_id\tdistance"
    );
    assert_eq!(lines.len(), 46724 + 1);
    for l in &lines[1..] {
        assert_eq!(l.split('\t').count(), 7, "row {l:?}");
    }
    // The root comes first and is its own dominator; it retains the total.
    let root: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(root[5], root[0]);
    assert_eq!(root[1], "synthetic");
    let summary = json_ok(&["summary", f, "--json"]);
    assert_eq!(root[4].parse::<u64>().ok(), summary["total_size"].as_u64());

    let id = request_context_id(&tsv);
    let at_id = format!("@{id}");
    // node: text and JSON.
    let text = stdout_ok(&["node", f, &at_id]);
    assert!(text.contains(&at_id), "{text}");
    assert!(text.contains("dominator chain"), "{text}");
    let node = json_ok(&["node", f, &at_id, "--json"]);
    assert_eq!(node["node"]["id"].to_string(), id);
    assert_eq!(node["node"]["class"], "RequestContext");
    assert_eq!(node["node"]["type"], "object");
    let chain = node["dominator_chain"].as_array().unwrap();
    assert_eq!(chain.last().unwrap()["id"].to_string(), root[0]);
    assert!(node["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["class"] == "LeakedPayload"));
    // The bare number works too.
    let same = json_ok(&["node", f, &id, "--json"]);
    assert_eq!(same["node"], node["node"]);

    // retainers: up to 2 paths, root first, ending at the node.
    let text = stdout_ok(&["retainers", f, &at_id, "--paths", "2"]);
    assert!(text.contains(&at_id), "{text}");
    let r = json_ok(&["retainers", f, &at_id, "--paths", "2", "--json"]);
    let paths = r["paths"].as_array().unwrap();
    assert!(!paths.is_empty() && paths.len() <= 2);
    for p in paths {
        let steps = p["steps"].as_array().unwrap();
        assert_eq!(steps.last().unwrap()["node"]["id"].to_string(), id);
    }
}

#[test]
fn dominators_json() {
    let file = sample("node-leak/baseline.heapsnapshot");
    let v = json_ok(&[
        "dominators",
        path_str(&file),
        "--json",
        "--depth",
        "2",
        "--top",
        "3",
    ]);
    assert_eq!(v["share"], 1.0);
    assert_eq!(v["id"], v["dominator_id"]);
    let kids = v["children"].as_array().unwrap();
    assert!(!kids.is_empty() && kids.len() <= 3);
    assert!(v["child_count"].as_u64().unwrap() >= kids.len() as u64);
    let mut last = u64::MAX;
    for k in kids {
        // Children are dominated by the root, largest first, one level deeper at most.
        assert_eq!(k["dominator_id"], v["id"]);
        let r = k["retained_size"].as_u64().unwrap();
        assert!(r <= last);
        last = r;
        for g in k["children"].as_array().unwrap() {
            assert_eq!(g["dominator_id"], k["id"]);
            assert!(g["children"].as_array().unwrap().is_empty());
        }
    }
    let text = stdout_ok(&["dominators", path_str(&file)]);
    assert!(!text.is_empty());
}

#[test]
fn bad_file_exits_2_with_one_line_naming_the_file() {
    let bad = temp_file("broken.heapsnapshot", b"{\"snapshot\":{\"meta\":");
    for cmd in ["summary", "nodes", "dominators"] {
        let mut args = vec![cmd, path_str(&bad)];
        if cmd == "nodes" {
            args.push("--tsv");
        }
        let out = heapsight(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{cmd}: {err}");
        assert!(err.contains(path_str(&bad)), "{cmd}: {err}");
        assert!(err.starts_with("heapsight: "), "{cmd}: {err}");
        assert!(out.stdout.is_empty(), "{cmd}: wrote to stdout");
    }
}

#[test]
fn missing_file_exits_1() {
    // An I/O error, not bad input: exit code 1.
    let out = heapsight(&["summary", "/nonexistent/dir/none.heapsnapshot"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("none.heapsnapshot"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn unknown_or_malformed_node_id_exits_1() {
    let file = sample("node-leak/baseline.heapsnapshot");
    for (id, says) in [("@4294967295", "no node"), ("@abc", "not a node id")] {
        for cmd in ["node", "retainers"] {
            let out = heapsight(&[cmd, path_str(&file), id]);
            assert_eq!(out.status.code(), Some(1), "{cmd} {id}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert!(err.contains(says), "{cmd} {id}: {err}");
        }
    }
}

#[test]
fn help_for_every_subcommand() {
    let top = stdout_ok(&["--help"]);
    for cmd in ["summary", "dominators", "node", "retainers", "nodes"] {
        assert!(top.contains(cmd), "top-level help lists {cmd}");
        let help = stdout_ok(&[cmd, "--help"]);
        assert!(help.contains("Usage: heapsight"), "{cmd} --help: {help}");
        assert!(help.contains("--rules"), "{cmd} --help: {help}");
        let help = stdout_ok(&["help", cmd]);
        assert!(help.contains("Usage: heapsight"), "help {cmd}: {help}");
    }
    assert!(stdout_ok(&["--version"]).starts_with("heapsight "));
}

/// With no command the app opens; without a display it says so in one line instead of panicking.
#[test]
fn no_command_without_display_explains_and_points_to_the_cli() {
    let out = heapsight_command()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run heapsight");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("display") || err.contains("desktop app"),
        "{err}"
    );
    assert!(
        err.contains("heapsight summary") || err.contains("--help"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["summary"],
        vec!["summary", "x.heapsnapshot", "--no-such-flag"],
        vec!["nodes", "x.heapsnapshot"],
        vec!["summary", "x.heapsnapshot", "--rules", "chrome"],
    ] {
        let out = heapsight(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The leak gate a team checks in: ignore files, per-class thresholds, JUnit XML.

/// The three node-leak snapshots, as strings for argv.
fn node_leak_files() -> [String; 3] {
    ["baseline", "target", "final"]
        .map(|s| path_str(&sample(&format!("node-leak/{s}.heapsnapshot"))).to_string())
}

/// `leaks` on node-leak (its one cluster: 1000 × RequestContext), then `extra`, run in `cwd`
/// (the repository when `None`).
fn gate_run(files: &[String; 3], extra: &[&str], cwd: Option<&Path>) -> std::process::Output {
    let mut cmd = heapsight_command();
    cmd.args(["leaks", "--baseline", &files[0], "--target", &files[1]])
        .args(["--final", &files[2]])
        .args(extra);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.output().expect("run heapsight")
}

fn gate(extra: &[&str]) -> std::process::Output {
    gate_run(&node_leak_files(), extra, None)
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An empty folder of its own under Cargo's temp dir, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("heapsight-tests")
            .join(format!("{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn ignore_file_naming_the_class_passes_the_gate_and_lists_it_as_ignored() {
    let rules = temp_file(
        "ignore-class",
        b"# known: fixed upstream\n\nRequestContext\n",
    );
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&rules)]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text_of(&out.stderr));
    let text = text_of(&out.stdout);
    assert!(
        text.starts_with("0 leaked objects in 0 cluster(s)"),
        "{text}"
    );
    assert!(
        text.contains(path_str(&rules)),
        "names the ignore file: {text}"
    );
    assert!(
        text.contains("ignored: 1000 × RequestContext") && text.contains("line 3: RequestContext"),
        "{text}"
    );

    // JSON: the counted clusters, the ignored ones with their rule, the gate.
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&rules), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["clusters"].as_array().unwrap().len(), 0);
    assert_eq!(v["leaked_count"], 0);
    assert_eq!(v["ignore_file"], path_str(&rules));
    assert_eq!(v["ignored"][0]["class"], "RequestContext");
    assert_eq!(v["ignored"][0]["count"], 1000);
    assert_eq!(v["ignored"][0]["line"], 3);
    assert_eq!(v["ignored"][0]["rule"], "RequestContext");
    assert_eq!(v["gate"]["passed"], true);
    assert_eq!(v["gate"]["tripped_count"], 0);

    // Markdown for a CI job summary: the verdict first, the ignored cluster in its own table.
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&rules), "--md"]);
    assert_eq!(out.status.code(), Some(0));
    let md = text_of(&out.stdout);
    assert!(md.starts_with("✅ Leak gate passed"), "{md}");
    assert!(md.contains("1 cluster(s) ignored"), "{md}");
    assert!(
        md.contains("| Ignored class | Count | Retained | Rule |"),
        "{md}"
    );
    assert!(md.contains("| RequestContext | 1000 | "), "{md}");

    // HTML too.
    let out = gate(&["--ignore", path_str(&rules), "--html"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text_of(&out.stdout);
    assert!(page.contains("Ignored clusters") && page.contains("line 3: RequestContext"));
}

#[test]
fn a_path_pattern_matching_the_trace_ignores_the_cluster() {
    let rules = temp_file(
        "ignore-path",
        "path: system / Context.contexts -> Map.table → (array).*RequestContext\n".as_bytes(),
    );
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&rules)]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out.stderr));
    assert!(text_of(&out.stdout).contains("ignored: 1000 × RequestContext"));
    // A pattern that matches nothing ignores nothing: the gate trips as before.
    let rules = temp_file("ignore-other-path", b"path: Set.table\n");
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&rules)]);
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out.stderr));
    let text = text_of(&out.stdout);
    assert!(text.contains("0 cluster(s) ignored"), "{text}");
    assert!(text.contains("#1 1000 × RequestContext"), "{text}");
}

#[test]
fn per_class_thresholds_replace_the_global_limits() {
    let above = temp_file(
        "threshold-above",
        b"threshold: RequestContext min-count=1001\n",
    );
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&above)]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out.stderr));
    let below = temp_file(
        "threshold-below",
        b"threshold: RequestContext min-count=500 min-bytes=100KiB\n",
    );
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&below)]);
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out.stderr));
    let err = text_of(&out.stderr);
    assert!(
        err.contains("leak gate tripped") && err.contains("1 class threshold"),
        "{err}"
    );
    // The class threshold wins over a global limit the cluster would pass.
    let out = gate(&[
        "--fail-on-leak",
        "--min-count",
        "5000",
        "--ignore",
        path_str(&below),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["gate"]["passed"], false);
    assert_eq!(v["gate"]["min_count"], 5000);
    assert_eq!(v["gate"]["clusters"][0]["status"], "tripped");
    assert_eq!(v["gate"]["clusters"][0]["min_count"], 500);
    assert_eq!(v["gate"]["clusters"][0]["min_bytes"], 100 * 1024);
}

#[cfg(unix)]
#[test]
fn heapsight_ignore_is_found_next_to_the_snapshots_then_in_the_working_directory() {
    let snaps = TempDir::new("discovery-snaps");
    let files = node_leak_files().map(|f| {
        let name = Path::new(&f).file_name().unwrap().to_owned();
        let link = snaps.0.join(name);
        std::os::unix::fs::symlink(&f, &link).unwrap();
        path_str(&link).to_string()
    });
    let work = TempDir::new("discovery-cwd");
    // Nothing to find: the gate trips.
    let out = gate_run(&files, &["--fail-on-leak"], Some(&work.0));
    assert_eq!(out.status.code(), Some(1));
    // In the working directory.
    std::fs::write(work.0.join(".heapsight-ignore"), "RequestContext\n").unwrap();
    let out = gate_run(&files, &["--fail-on-leak"], Some(&work.0));
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out.stderr));
    assert!(text_of(&out.stdout).contains(".heapsight-ignore"));
    // --no-ignore-file turns discovery off.
    let out = gate_run(
        &files,
        &["--fail-on-leak", "--no-ignore-file"],
        Some(&work.0),
    );
    assert_eq!(out.status.code(), Some(1));
    // Next to the snapshots wins over the working directory.
    std::fs::write(snaps.0.join(".heapsight-ignore"), "# nothing ignored\n").unwrap();
    let out = gate_run(&files, &["--fail-on-leak"], Some(&work.0));
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out.stdout));
    let text = text_of(&out.stdout);
    let used = path_str(&snaps.0.join(".heapsight-ignore")).to_string();
    assert!(text.contains(&format!("Ignore file {used} ")), "{text}");
}

/// A minimal XML check: tags balance, attributes are quoted, `&` starts an entity; returns the
/// names of the elements in document order.
fn xml_elements(xml: &str) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        for (i, _) in text.match_indices('&') {
            let ent = &text[i..];
            assert!(
                ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "bare & in {text:?}"
            );
        }
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "< inside a tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
            seen.push(name.to_string());
            if !tag.ends_with('/') {
                open.push(name.to_string());
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    assert!(rest.trim().is_empty());
    seen
}

#[test]
fn junit_xml_has_one_failing_test_case_per_tripping_cluster() {
    let dir = TempDir::new("junit");
    let junit = dir.0.join("leaks.xml");
    let out = gate(&["--fail-on-leak", "--junit", path_str(&junit)]);
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out.stderr));
    // The normal output is still printed.
    assert!(text_of(&out.stdout).contains("1000 × RequestContext"));
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    let elements = xml_elements(&xml);
    let count = |name: &str| elements.iter().filter(|e| *e == name).count();
    assert_eq!(count("testsuites"), 1);
    assert_eq!(count("testsuite"), 1);
    assert_eq!(count("testcase"), 1);
    assert_eq!(count("failure"), 1);
    assert_eq!(count("skipped"), 0);
    assert!(xml.contains("<testsuite name=\"heapsight leaks\" tests=\"1\" failures=\"1\""));
    assert!(xml.contains("name=\"RequestContext\""), "{xml}");
    // The failure carries the retainer trace (escaped).
    assert!(xml.contains("--context contexts--&gt; Map @"), "{xml}");
    // And the holder's name.
    assert!(xml.contains(" (closure variable contexts)\n"), "{xml}");
    // Written atomically: nothing else left in the folder.
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["leaks.xml"]);

    // Ignored: a skipped test case, and the gate passes.
    let rules = temp_file("junit-ignore", b"RequestContext\n");
    let out = gate(&[
        "--fail-on-leak",
        "--ignore",
        path_str(&rules),
        "--junit",
        path_str(&junit),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out.stderr));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let elements = xml_elements(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "skipped").count(), 1);
    assert_eq!(elements.iter().filter(|e| *e == "failure").count(), 0);
    assert!(xml.contains("ignore_file"), "{xml}");

    // Under its threshold: a passing test case; no --fail-on-leak: exit 0 whatever the verdict.
    let rules = temp_file(
        "junit-threshold",
        b"threshold: RequestContext min-count=2000\n",
    );
    let out = gate(&["--ignore", path_str(&rules), "--junit", path_str(&junit)]);
    assert_eq!(out.status.code(), Some(0));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let elements = xml_elements(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), 1);
    assert_eq!(
        elements.len(),
        5,
        "testsuites, testsuite, properties, property, testcase: {xml}"
    );
}

#[test]
fn a_malformed_ignore_file_exits_2_naming_file_and_line() {
    let rules = temp_file(
        "ignore-bad",
        b"# ok\nRequestContext\nthreshold: Foo min-count=many\n",
    );
    let out = gate(&["--fail-on-leak", "--ignore", path_str(&rules)]);
    assert_eq!(out.status.code(), Some(2));
    let err = text_of(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("heapsight: "), "{err}");
    assert!(err.contains(path_str(&rules)), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(out.stdout.is_empty());
    // A typo in a directive is not taken for a class name.
    let rules = temp_file("ignore-typo", b"paht: Map.table\n");
    let out = gate(&["--ignore", path_str(&rules)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text_of(&out.stderr).contains("line 1: unknown rule `paht:`"));
}

#[test]
fn without_an_ignore_file_the_gate_output_is_unchanged() {
    // Text and the gate message are as before; --no-ignore-file changes nothing here.
    let plain = gate(&["--fail-on-leak"]);
    let off = gate(&["--fail-on-leak", "--no-ignore-file"]);
    assert_eq!(plain.stdout, off.stdout);
    assert_eq!(plain.stderr, off.stderr);
    assert_eq!(
        text_of(&plain.stderr).trim_end(),
        "heapsight: leak gate tripped: 1 cluster(s) with at least 1 object(s) and 0 B held \
         (largest: 1000 × RequestContext)"
    );
    let text = text_of(&plain.stdout);
    assert!(!text.contains("gnore"), "{text}");
    // Markdown with the gate: the verdict first.
    let md = text_of(&gate(&["--fail-on-leak", "--md"]).stdout);
    assert!(
        md.starts_with("❌ Leak gate failed: 1 leak cluster(s)"),
        "{md}"
    );
    assert!(md.contains("| 1 | RequestContext | 1000 | "), "{md}");
}
