//! `heapsight anonymize`: which strings are kept and replaced (on a hand-made snapshot), that
//! heapsight's numbers are the same on the copy as on every V8 sample, and bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{analyze_file, fresh_dir, heapsight, sample, Heap};
use heapsight::analysis::strings::duplicated_strings;
use heapsight::analysis::{AnalyzedSnapshot, RuleSet};
use heapsight::anonymize::{anonymize_file, names_content, AnonymizeOptions};
use heapsight::model::NodeIx;
use serde_json::Value;

/// The `strings` table of a (small, uncompressed) snapshot file.
fn strings_of(path: &Path) -> Vec<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    serde_json::from_value(v["strings"].clone()).unwrap()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A heap with one of everything: a class with a secret-valued property, a property name that
/// is also a string value, a regexp, a heap number, a concatenated string, a closure and code.
fn handmade() -> Heap {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let obj = h.node("object", "Account", 40);
    let secret = h.node("string", "hunter2-é😀", 24);
    let same_text = h.node("string", "token", 20);
    let regexp = h.node("regexp", "^secret-[0-9]+$", 32);
    let number = h.node("number", "heap number", 16);
    let cons = h.node("concatenated string", "(concatenated string)", 32);
    let left = h.node("string", "card-4111", 20);
    let closure = h.node("closure", "checkPassword", 32);
    let code = h.node("code", "(code for checkPassword)", 64);
    let twin = h.node("string", "hunter2-é😀", 24);
    h.edge(root, "shortcut", "global", obj);
    h.edge(obj, "property", "password", secret);
    h.edge(obj, "property", "token", same_text);
    h.edge(obj, "property", "pattern", regexp);
    h.edge(obj, "property", "balance", number);
    h.edge(obj, "property", "note", cons);
    h.edge(cons, "internal", "first", left);
    h.edge(cons, "internal", "second", same_text);
    h.edge(obj, "property", "check", closure);
    h.edge(closure, "internal", "code", code);
    h.edge(obj, "element", "0", twin);
    h.string_index("never-used-secret");
    h
}

#[test]
fn names_are_kept_and_contents_replaced_with_the_same_lengths() {
    let dir = fresh_dir("anonymize-roles");
    let input = dir.join("in.heapsnapshot");
    std::fs::write(&input, handmade().json()).unwrap();
    let output = dir.join("out.heapsnapshot");
    let report = anonymize_file(&input, &output, &AnonymizeOptions::default()).unwrap();
    let before = strings_of(&input);
    let after = strings_of(&output);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(utf16_len(b), utf16_len(a), "{b:?} became {a:?}");
    }
    let kept = [
        "",
        "Account",
        "password",
        "token",
        "checkPassword",
        "(code for checkPassword)",
        "(concatenated string)",
        "heap number",
        "global",
        "first",
    ];
    for text in kept {
        assert!(after.iter().any(|s| s == text), "{text:?} was not kept");
    }
    for secret in [
        "hunter2-é😀",
        "^secret-[0-9]+$",
        "card-4111",
        "never-used-secret",
    ] {
        assert!(!after.iter().any(|s| s == secret), "{secret:?} survived");
    }
    let i = before
        .iter()
        .position(|s| s == "never-used-secret")
        .unwrap();
    assert_eq!(after[i], "a".repeat(17), "the first numeral of its length");
    assert_eq!(report.strings, before.len() as u64);
    assert_eq!(report.replaced, 4);
    assert_eq!(report.unreferenced, 1);
    assert_eq!(report.kept_by_request, 0);
    assert!(report.bytes_written > 0);

    // The two nodes with equal text still have equal names, different from everything kept.
    let out = analyze_file(&output, RuleSet::DevTools);
    let g = out.graph();
    assert_eq!(g.name(10), g.name(2));
    assert_eq!(g.name(2).chars().count(), "hunter2-é😀".chars().count() + 1);

    // Asked-for texts are kept, wherever they occur.
    let mut options = AnonymizeOptions {
        keep: vec!["card-4111".into()],
    };
    let list = dir.join("keep.txt");
    std::fs::write(&list, "^secret-[0-9]+$\r\nnot-in-the-heap\n").unwrap();
    options.keep_lines_of(&list).unwrap();
    let report = anonymize_file(&input, &output, &options).unwrap();
    let after = strings_of(&output);
    assert!(after.iter().any(|s| s == "card-4111"));
    assert!(after.iter().any(|s| s == "^secret-[0-9]+$"));
    assert!(!after.iter().any(|s| s == "hunter2-é😀"));
    assert_eq!(report.kept_by_request, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn content_kinds_are_the_string_like_ones() {
    use heapsight::model::NodeKind;
    for kind in [
        NodeKind::String,
        NodeKind::ConsString,
        NodeKind::SlicedString,
        NodeKind::RegExp,
        NodeKind::Number,
    ] {
        assert!(names_content(kind), "{kind:?}");
    }
    for kind in [
        NodeKind::Object,
        NodeKind::Closure,
        NodeKind::Native,
        NodeKind::Hidden,
        NodeKind::Code,
        NodeKind::Array,
        NodeKind::Synthetic,
        NodeKind::Symbol,
        NodeKind::ObjectShape,
        NodeKind::Other,
    ] {
        assert!(!names_content(kind), "{kind:?}");
    }
}

/// Everything heapsight's `summary --json` and `nodes --tsv` say about a snapshot, with the
/// names of content nodes reduced to their length.
fn numbers(s: &AnalyzedSnapshot) -> (Value, Vec<String>) {
    let summary = serde_json::json!({
        "summary": s.summary(),
        "statistics": s.statistics(),
        "duplicated": duplicated_strings(s, usize::MAX)
            .iter()
            .map(|d| (d.count, d.total_size, d.wasted_size))
            .collect::<Vec<_>>(),
    });
    let g = s.graph();
    let a = &s.analysis;
    let rows = (0..g.node_count() as NodeIx)
        .map(|n| {
            let name = if names_content(g.kind(n)) {
                utf16_len(g.name(n)).to_string()
            } else {
                g.name(n).to_string()
            };
            format!(
                "{} {} {name} {} {} {} {:?} {}",
                g.id(n),
                g.type_name(n),
                a.shallow_size(n),
                a.retained_size(n),
                g.id(a.dominator(n)),
                a.distance(n),
                s.class_name(n)
            )
        })
        .collect();
    (summary, rows)
}

/// Anonymise `rel` and check heapsight's numbers on the copy against the original's.
fn same_numbers(rel: &str, secrets: &[&str]) {
    let input = sample(rel);
    let dir = fresh_dir(&format!("anonymize-{}", rel.replace('/', "-")));
    let output: PathBuf = dir.join("out.heapsnapshot");
    anonymize_file(&input, &output, &AnonymizeOptions::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    let (before, after) = (
        analyze_file(&input, RuleSet::DevTools),
        analyze_file(&output, RuleSet::DevTools),
    );
    let (summary_in, rows_in) = numbers(&before);
    let (summary_out, rows_out) = numbers(&after);
    assert_eq!(summary_in, summary_out, "{rel}: the summary changed");
    assert_eq!(rows_in.len(), rows_out.len());
    if let Some(i) = (0..rows_in.len()).find(|&i| rows_in[i] != rows_out[i]) {
        panic!("{rel}: node row {i}: {} became {}", rows_in[i], rows_out[i]);
    }
    let strings = strings_of(&output);
    for secret in secrets {
        assert!(
            before.graph().strings().iter().any(|(_, s)| s == *secret),
            "{rel}: {secret:?} is not in the sample"
        );
        assert!(
            !strings.iter().any(|s| s.contains(secret)),
            "{rel}: {secret:?} survived"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// The samples are split over three tests so they run in parallel; every other V8 sample was
// checked by hand the same way (and with the DevTools oracle) when this was written.

#[test]
fn node_samples_keep_their_numbers() {
    [
        "node-leak/baseline.heapsnapshot",
        "node-leak/target.heapsnapshot",
        "node-leak/final.heapsnapshot",
        "node-noleak/target.heapsnapshot",
        "node-lazy-clean/target.heapsnapshot",
        "node-server-clean/target.heapsnapshot",
    ]
    .iter()
    .for_each(|rel| same_numbers(rel, &[]));
    same_numbers(
        "node-server-leak/final.heapsnapshot",
        &["session-739", "/api/r14"],
    );
}

#[test]
fn timeline_compressed_and_wasm_samples_keep_their_numbers() {
    [
        "node-timeline/alloc.heaptimeline",
        "node-trend/step1.heapsnapshot.gz",
        "node-wasm/step3.heapsnapshot",
    ]
    .iter()
    .for_each(|rel| same_numbers(rel, &[]));
}

#[test]
fn browser_samples_keep_their_numbers() {
    [
        "browser-detached/target.heapsnapshot",
        "browser-detached-tree/tree.heapsnapshot",
        "browser-wasm/step3.heapsnapshot",
    ]
    .iter()
    .for_each(|rel| same_numbers(rel, &[]));
}

#[test]
fn the_cli_writes_compressed_copies_and_reports_as_json() {
    let dir = fresh_dir("anonymize-cli");
    let input = dir.join("in.heapsnapshot");
    std::fs::write(&input, handmade().json()).unwrap();
    let list = dir.join("keep.txt");
    std::fs::write(&list, "card-4111\n").unwrap();
    for name in ["out.heapsnapshot.gz", "out.heapsnapshot.zst"] {
        let output = dir.join(name);
        let run = heapsight(&[
            "anonymize",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
            "--keep",
            "^secret-[0-9]+$",
            "--keep-file",
            list.to_str().unwrap(),
            "--json",
        ]);
        assert!(run.status.success(), "{run:?}");
        let report: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(report["kept_by_request"], 2, "{report}");
        let loaded = heapsight::formats::load(&output, Default::default()).unwrap();
        let texts: Vec<&str> = loaded.graph.strings().iter().map(|(_, s)| s).collect();
        assert!(texts.contains(&"card-4111") && texts.contains(&"^secret-[0-9]+$"));
        assert!(!texts.contains(&"hunter2-é😀"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_one_clear_error_and_leaves_nothing_behind() {
    let dir = fresh_dir("anonymize-bad");
    let output = dir.join("out.heapsnapshot");
    let options = AnonymizeOptions::default();
    let good = handmade().json();
    let input = dir.join("in.heapsnapshot");
    let cases: [(&str, String, &str); 5] = [
        ("truncated", good[..good.len() / 2].to_string(), "file ends"),
        ("not JSON", "hello".into(), "not a JSON object"),
        (
            "no strings",
            good[..good.find("\"strings\"").unwrap()]
                .trim_end()
                .trim_end_matches(',')
                .to_string()
                + "}",
            "no \"strings\"",
        ),
        (
            "string index past the table",
            good.replacen("\"nodes\":[9,0,", "\"nodes\":[9,999,", 1),
            "names string 999",
        ),
        (
            "edge counts",
            good.replacen("\"nodes\":[9,0,1,0,1,", "\"nodes\":[9,0,1,0,2,", 1),
            "edge_count",
        ),
    ];
    for (what, text, expected) in cases {
        assert_ne!(text, good, "{what}: the case did not change the file");
        std::fs::write(&input, text).unwrap();
        let err = anonymize_file(&input, &output, &options)
            .expect_err(what)
            .to_string();
        assert!(err.contains(expected), "{what}: {err}");
        assert!(err.contains("in.heapsnapshot"), "{what}: {err}");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["in.heapsnapshot"], "{what}");
    }
    let dhat = sample("rust/dhat-rs-small.json");
    let err = anonymize_file(&dhat, &output, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("DHAT"), "{err}");
    std::fs::write(&input, &good).unwrap();
    let err = anonymize_file(&input, &input, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("overwrite the input"), "{err}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), good);
    let run = heapsight(&[
        "anonymize",
        input.to_str().unwrap(),
        "/nonexistent-dir/x.heapsnapshot",
    ]);
    assert!(!run.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
