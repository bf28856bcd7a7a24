//! The Summary's class table equals Chrome DevTools' on every committed V8 sample.
//!
//! Next to each sample lies `<name>.devtools-classes.tsv`: DevTools' own Summary (class, count, self
//! size, retained size, distance), written by `scripts/devtools-classes.sh` with DevTools' heap
//! snapshot worker. Neither node nor npm is needed here: the tables are committed. Regenerate them
//! when a sample is regenerated.

mod common;

use std::collections::BTreeMap;

use common::{analyze_file, sample, Heap};
use heapsight::analysis::RuleSet;
use heapsight::model::NodeIx;

/// One Summary row as compared: (count, shallow size, retained size).
type Numbers = (u64, u64, u64);

/// Rows by class name; a name can have several rows (classes told apart by source location), so
/// each name keeps a sorted list.
type Table = BTreeMap<String, Vec<Numbers>>;

fn devtools_table(rel: &str) -> Table {
    // `x.heapsnapshot` and `x.heapsnapshot.gz` both have `x.devtools-classes.tsv` beside them.
    let path =
        sample(rel.strip_suffix(".gz").unwrap_or(rel)).with_extension("devtools-classes.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut table = Table::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "{}:{}: want 5 fields", path.display(), i + 1);
        let num = |s: &str| -> u64 {
            // DevTools writes sizes as JavaScript numbers; they are whole.
            s.parse::<f64>()
                .unwrap_or_else(|e| panic!("{}:{}: {s:?}: {e}", path.display(), i + 1))
                as u64
        };
        table
            .entry(f[0].to_string())
            .or_default()
            .push((num(f[1]), num(f[2]), num(f[3])));
    }
    for rows in table.values_mut() {
        rows.sort_unstable();
    }
    table
}

fn heapsight_table(rel: &str) -> Table {
    let s = analyze_file(&sample(rel), RuleSet::DevTools);
    let mut table = Table::new();
    for row in s.summary().classes {
        if row.count == 0 {
            continue; // DevTools has no row for a class whose every instance has size 0
        }
        // The dump replaces tabs and newlines in names by spaces (to keep one row per line).
        let name = row.name.replace(['\t', '\n', '\r'], " ");
        table
            .entry(name)
            .or_default()
            .push((row.count, row.shallow_size, row.retained_size));
    }
    for rows in table.values_mut() {
        rows.sort_unstable();
    }
    table
}

/// Every difference, one line each: `name: devtools [...] heapsight [...]`.
fn differences(devtools: &Table, ours: &Table) -> Vec<String> {
    let mut names: Vec<&String> = devtools.keys().chain(ours.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (d, h) = (devtools.get(name), ours.get(name));
            (d != h).then(|| format!("  {name:?}: devtools {d:?} heapsight {h:?}"))
        })
        .collect()
}

fn check(rel: &str) {
    let devtools = devtools_table(rel);
    let ours = heapsight_table(rel);
    let diff = differences(&devtools, &ours);
    assert!(
        diff.is_empty(),
        "{rel}: the class table differs from DevTools' in {} of {} names \
         ((count, shallow, retained) per row):\n{}",
        diff.len(),
        devtools.len().max(ours.len()),
        diff.join("\n")
    );
}

#[test]
fn node_leak_classes_equal_devtools() {
    for name in ["baseline", "target", "final"] {
        check(&format!("node-leak/{name}.heapsnapshot"));
    }
}

#[test]
fn node_noleak_classes_equal_devtools() {
    for name in ["baseline", "target", "final"] {
        check(&format!("node-noleak/{name}.heapsnapshot"));
    }
}

/// Heaps written by Node 18, 22, 24 and 26, by Deno 2.9 and by Bun 1.4 (`scripts/node-versions.sh
/// samples`): their formats differ (Node 18 has no `object shape` type; 24 and later drop
/// `trace_node_id` and add `extra_native_bytes`; Deno's V8 15 names scripts `system / Script /
/// URL`; Bun's JavaScriptCore writes V8's format with its own classes and roots), DevTools'
/// table and the leak scenario's counts don't.
#[test]
fn other_node_versions_and_deno_classes_equal_devtools() {
    for v in ["node18", "node22", "node24", "node26", "deno", "bun"] {
        let rel = format!("node-versions/{v}.heapsnapshot.gz");
        check(&rel);
        let classes = analyze_file(&sample(&rel), RuleSet::DevTools)
            .summary()
            .classes;
        let count = |class: &str| {
            classes
                .iter()
                .filter(|r| r.name == class)
                .map(|r| r.count)
                .sum::<u64>()
        };
        assert_eq!(count("RequestContext"), 1000, "{v}");
        assert_eq!(count("LeakedPayload"), 1000, "{v}");
        assert_eq!(count("CacheEntry"), 300, "{v}");
    }
}

#[test]
fn browser_detached_classes_equal_devtools() {
    for name in ["baseline", "target", "final"] {
        check(&format!("browser-detached/{name}.heapsnapshot"));
    }
}

/// Add `count` plain objects under the root whose properties are `props`, in that order.
fn plain_objects(h: &mut Heap, root: NodeIx, props: &[&str], count: usize) {
    for _ in 0..count {
        let o = h.node("object", "Object", 16);
        h.edge(root, "element", "0", o);
        for p in props {
            h.edge(o, "property", p, root);
        }
    }
}

fn count_named(h: &Heap, name: &str) -> u64 {
    let s = h.analyze();
    let rows: Vec<_> = s
        .summary()
        .classes
        .into_iter()
        .filter(|r| r.name == name)
        .collect();
    rows.iter().map(|r| r.count).sum()
}

/// With 2 500 plain objects DevTools wants a shape on at least 2 500 / 1000 = 2.5 objects: a
/// shape held by 2 stays `Object`, one held by 3 is a class (the threshold is not rounded down).
#[test]
fn interface_threshold_is_a_real_proportion() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    plain_objects(&mut h, root, &["row", "col"], 2400);
    plain_objects(&mut h, root, &["pair"], 2);
    plain_objects(&mut h, root, &["triple"], 3);
    plain_objects(&mut h, root, &[], 95);
    assert_eq!(count_named(&h, "{row, col}"), 2400);
    assert_eq!(count_named(&h, "{triple}"), 3);
    assert_eq!(count_named(&h, "{pair}"), 0);
    assert_eq!(count_named(&h, "Object"), 97);

    // 2 000 plain objects: the threshold is exactly 2, so a shape held by 2 is a class.
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    plain_objects(&mut h, root, &["row", "col"], 1900);
    plain_objects(&mut h, root, &["pair"], 2);
    plain_objects(&mut h, root, &[], 98);
    assert_eq!(count_named(&h, "{pair}"), 2);
}

/// The 120-character limit on interface names counts UTF-16 code units, as JavaScript's
/// `length` does, not UTF-8 bytes.
#[test]
fn interface_name_length_counts_utf16_units() {
    let wide = "\u{20ac}".repeat(60); // 60 code units, 180 bytes
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    plain_objects(&mut h, root, &["a", &wide], 2);
    assert_eq!(count_named(&h, &format!("{{a, {wide}}}")), 2);
}

/// Every V8 sample has DevTools' table beside it (a new sample can't skip the check) and equals it.
#[test]
fn every_bundled_snapshot_has_devtools_table_and_equals_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-snapshots");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy();
            if name.ends_with(".heapsnapshot") || name.ends_with(".heapsnapshot.gz") {
                let rel = file
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                check(&rel);
                checked += 1;
            }
        }
    }
    assert!(checked >= 31, "only {checked} samples found");
}
