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
