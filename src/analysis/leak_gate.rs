//! The leak gate a team checks in: an ignore file (class names, retainer-path patterns,
//! per-class thresholds) and the verdict it gives over a [`LeakReport`] together with the global
//! `--min-count` / `--min-bytes`.
//!
//! Ignore-file syntax, one rule per line (blank lines and lines starting with `#` are skipped):
//!
//! ```text
//! # a class name, matched exactly (the whole line, spaces included)
//! RequestContext
//! # the same, explicit (for a class name that looks like a directive)
//! class: Detached <ul>
//! # a retainer-path pattern: `*` matches any text, `?` one character; it matches anywhere in
//! # the cluster's trace rendered as `(root).[1] → (GC roots).[7] → … → Map.table → (array).627 → RequestContext`
//! # (`->` may be written for `→`)
//! path: Map.table -> (array).* -> RequestContext
//! # per-class thresholds for the gate, replacing --min-count / --min-bytes for that class
//! threshold: CacheEntry min-count=100 min-bytes=1MiB
//! ```
//!
//! Any other `word:` line is an error (a typo such as `paht:` must not silently become a class
//! name); errors name the file and the line.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::leaks::{LeakCluster, LeakReport, TraceStep};
use crate::error::{Error, Result};

/// The file looked for next to the snapshots and in the working directory.
pub const IGNORE_FILE_NAME: &str = ".heapsight-ignore";

/// What an ignore rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreMatch {
    /// A class name, exactly.
    Class(String),
    /// A glob (`*`, `?`) matched anywhere in the rendered trace (see [`trace_text`]).
    Path(String),
}

/// One ignore rule and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// 1-based line in the ignore file.
    pub line: usize,
    /// The line as written (trimmed), for reports.
    pub text: String,
    /// What it matches.
    pub matches: IgnoreMatch,
}

/// Gate limits for one class, replacing the global ones where given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassThreshold {
    /// 1-based line in the ignore file.
    pub line: usize,
    /// The class, matched exactly.
    pub class: String,
    /// Objects a cluster of this class needs to trip the gate.
    pub min_count: Option<u64>,
    /// Bytes a cluster of this class must retain to trip the gate.
    pub min_bytes: Option<u64>,
}

/// A parsed ignore file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    /// Where the rules came from (shown in every output).
    pub source: Option<PathBuf>,
    /// Ignore rules, in file order (the first that matches is reported).
    pub rules: Vec<IgnoreRule>,
    /// Per-class thresholds.
    pub thresholds: Vec<ClassThreshold>,
}

/// The global gate limits (`--min-count`, `--min-bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Objects a cluster needs to trip the gate.
    pub min_count: u64,
    /// Bytes a cluster must retain to trip the gate.
    pub min_bytes: u64,
}

/// What the gate decided for one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ClusterStatus {
    /// An ignore rule matched: never trips the gate.
    Ignored {
        /// The rule's line in the ignore file.
        line: usize,
        /// The rule as written.
        rule: String,
    },
    /// At or above the limits that apply to it.
    Tripped {
        /// The limits applied (global, or the class's threshold).
        #[serde(flatten)]
        limits: Limits,
    },
    /// Below the limits that apply to it.
    Passed {
        /// The limits applied (global, or the class's threshold).
        #[serde(flatten)]
        limits: Limits,
    },
}

/// The gate's decision over a whole report: one status per cluster, in the report's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateVerdict {
    /// `statuses[i]` is the decision for `report.clusters[i]`.
    pub statuses: Vec<ClusterStatus>,
    /// The global limits.
    pub limits: Limits,
}

/// A cluster's trace as one line, `Holder.edge → Holder.edge → … → LeakedClass`, starting at
/// `(root)`: what `path:` patterns are matched against. Where a long path's middle was left
/// out, `Holder → … → ….edge`: the steps between and the next holder are not known.
pub fn trace_text(trace: &[TraceStep]) -> String {
    let mut out = String::new();
    let mut holder = "(root)";
    for s in trace {
        if s.left_out_before > 0 {
            out.push_str(holder);
            out.push_str(" → … → ");
            holder = "…";
        }
        out.push_str(holder);
        out.push('.');
        out.push_str(&s.edge_name);
        out.push_str(" → ");
        holder = &s.node_class;
    }
    out.push_str(holder);
    out
}

/// Does `pattern` (`*` any text, `?` one character) match the whole of `text`?
fn glob_match(pattern: &[char], text: &[char]) -> bool {
    // Iterative matching with one backtrack point: linear-ish, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Does the `path:` pattern match anywhere in `trace`?
pub fn path_matches(pattern: &str, trace: &str) -> bool {
    let p: Vec<char> = format!("*{}*", pattern.replace("->", "→"))
        .chars()
        .collect();
    let t: Vec<char> = trace.chars().collect();
    glob_match(&p, &t)
}

/// Parse a size: digits with an optional unit `B`, `KB`/`KiB`/`K`, `MB`/`MiB`/`M`,
/// `GB`/`GiB`/`G` (all powers of 1024, as heapsight prints them).
fn parse_size(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// `CLASS key=value …` after `threshold:`.
fn parse_threshold(rest: &str, line: usize) -> std::result::Result<ClassThreshold, String> {
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    let mut t = ClassThreshold {
        line,
        class: String::new(),
        min_count: None,
        min_bytes: None,
    };
    // Options are the trailing `key=value` words; the rest is the class name (it may hold spaces).
    while let Some((key, value)) = words.last().and_then(|w| w.split_once('=')) {
        match key {
            "min-count" | "min_count" => {
                t.min_count = Some(
                    value
                        .parse()
                        .map_err(|_| format!("min-count wants a whole number, not {value:?}"))?,
                )
            }
            "min-bytes" | "min_bytes" => {
                t.min_bytes = Some(parse_size(value).ok_or_else(|| {
                    format!("min-bytes wants a size such as 4096, 64KiB or 1MiB, not {value:?}")
                })?)
            }
            _ => {
                return Err(format!(
                    "unknown threshold {key:?} (min-count or min-bytes)"
                ))
            }
        }
        words.pop();
    }
    t.class = words.join(" ");
    if t.class.is_empty() {
        return Err(
            "threshold needs a class name: `threshold: CLASS min-count=N min-bytes=SIZE`".into(),
        );
    }
    if t.min_count.is_none() && t.min_bytes.is_none() {
        return Err(format!(
            "threshold for {} sets nothing: add min-count=N and/or min-bytes=SIZE",
            t.class
        ));
    }
    Ok(t)
}

impl IgnoreRules {
    /// Parse ignore-file text; `source` names the file in errors and reports.
    pub fn parse(text: &str, source: &Path) -> Result<Self> {
        let mut rules = Self {
            source: Some(source.to_path_buf()),
            ..Self::default()
        };
        // Editors on Windows may start the file with a byte-order mark.
        let (text, mut offset) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (rest, 3u64),
            None => (text, 0u64),
        };
        for (i, raw) in text.split('\n').enumerate() {
            let line_no = i + 1;
            let at = offset;
            offset += raw.len() as u64 + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |what: String| Error::format(source, format!("line {line_no}: {what}"), at);
            let directive = line.split_once(':').filter(|(word, rest)| {
                !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    && (rest.is_empty() || rest.starts_with(char::is_whitespace))
            });
            let matches = match directive {
                None => IgnoreMatch::Class(line.to_string()),
                Some((word, rest)) => {
                    let rest = rest.trim();
                    match word {
                        "class" | "path" if rest.is_empty() => {
                            return Err(fail(format!("`{word}:` needs something to match")))
                        }
                        "class" => IgnoreMatch::Class(rest.to_string()),
                        "path" => IgnoreMatch::Path(rest.to_string()),
                        "threshold" => {
                            let t = parse_threshold(rest, line_no).map_err(fail)?;
                            if let Some(first) =
                                rules.thresholds.iter().find(|x| x.class == t.class)
                            {
                                return Err(fail(format!(
                                    "second threshold for {} (the first is on line {})",
                                    t.class, first.line
                                )));
                            }
                            rules.thresholds.push(t);
                            continue;
                        }
                        _ => {
                            return Err(fail(format!(
                                "unknown rule `{word}:` (expected a class name, `class: NAME`, \
                                 `path: PATTERN` or `threshold: CLASS min-count=N min-bytes=SIZE`)"
                            )))
                        }
                    }
                }
            };
            rules.rules.push(IgnoreRule {
                line: line_no,
                text: line.to_string(),
                matches,
            });
        }
        Ok(rules)
    }

    /// Read and parse an ignore file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The rules a leak or trend run uses: `explicit` (`--ignore FILE`), else (unless
    /// `no_discovery`) the first [`IGNORE_FILE_NAME`] next to `last` (the final snapshot), next to
    /// `first` (the baseline), or in the working directory; else none.
    pub fn discover(
        explicit: Option<&Path>,
        no_discovery: bool,
        last: &Path,
        first: &Path,
    ) -> Result<Self> {
        if let Some(p) = explicit {
            return Self::load(p);
        }
        if no_discovery {
            return Ok(Self::default());
        }
        let dir_of = |p: &Path| -> PathBuf {
            match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let dirs = [dir_of(last), dir_of(first), cwd];
        match find_ignore_file(dirs.iter().map(PathBuf::as_path)) {
            Some(p) => Self::load(&p),
            None => Ok(Self::default()),
        }
    }

    /// The first rule that ignores `c`.
    pub fn ignoring(&self, c: &LeakCluster) -> Option<&IgnoreRule> {
        let mut trace: Option<String> = None;
        self.rules.iter().find(|r| match &r.matches {
            IgnoreMatch::Class(name) => *name == c.class,
            IgnoreMatch::Path(p) => {
                path_matches(p, trace.get_or_insert_with(|| trace_text(&c.trace)))
            }
        })
    }

    /// The limits that apply to a cluster of `class`.
    pub fn limits_for(&self, class: &str, global: Limits) -> Limits {
        match self.thresholds.iter().find(|t| t.class == class) {
            None => global,
            Some(t) => Limits {
                min_count: t.min_count.unwrap_or(global.min_count),
                min_bytes: t.min_bytes.unwrap_or(global.min_bytes),
            },
        }
    }
}

/// The ignore file to use: the first of `dirs` (in order) holding a [`IGNORE_FILE_NAME`].
pub fn find_ignore_file<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Option<PathBuf> {
    dirs.into_iter()
        .map(|d| d.join(IGNORE_FILE_NAME))
        .find(|p| p.is_file())
}

impl GateVerdict {
    /// Decide every cluster of `report` under `rules` and the global `limits`.
    pub fn compute(report: &LeakReport, rules: &IgnoreRules, limits: Limits) -> Self {
        let statuses = report
            .clusters
            .iter()
            .map(|c| {
                if let Some(r) = rules.ignoring(c) {
                    return ClusterStatus::Ignored {
                        line: r.line,
                        rule: r.text.clone(),
                    };
                }
                let l = rules.limits_for(&c.class, limits);
                if c.objects() >= l.min_count && c.held_size() >= l.min_bytes {
                    ClusterStatus::Tripped { limits: l }
                } else {
                    ClusterStatus::Passed { limits: l }
                }
            })
            .collect();
        Self { statuses, limits }
    }

    /// Clusters of `report` that trip the gate, largest first.
    pub fn tripped<'a>(&self, report: &'a LeakReport) -> Vec<&'a LeakCluster> {
        self.with_status(report, |s| matches!(s, ClusterStatus::Tripped { .. }))
    }

    /// Clusters of `report` an ignore rule matched, with their status.
    pub fn ignored<'a>(&self, report: &'a LeakReport) -> Vec<(&'a LeakCluster, &ClusterStatus)> {
        report
            .clusters
            .iter()
            .zip(&self.statuses)
            .filter(|(_, s)| matches!(s, ClusterStatus::Ignored { .. }))
            .collect()
    }

    /// Did any cluster trip the gate?
    pub fn failed(&self) -> bool {
        self.statuses
            .iter()
            .any(|s| matches!(s, ClusterStatus::Tripped { .. }))
    }

    /// How many clusters were ignored.
    pub fn ignored_count(&self) -> usize {
        self.statuses
            .iter()
            .filter(|s| matches!(s, ClusterStatus::Ignored { .. }))
            .count()
    }

    /// `report` without the ignored clusters (totals recomputed; `surviving_count` kept): what
    /// the usual writers show as the counted leaks.
    pub fn counted(&self, report: &LeakReport) -> LeakReport {
        let clusters: Vec<LeakCluster> = report
            .clusters
            .iter()
            .zip(&self.statuses)
            .filter(|(_, s)| !matches!(s, ClusterStatus::Ignored { .. }))
            .map(|(c, _)| c.clone())
            .collect();
        LeakReport {
            leaked_count: clusters.iter().map(|c| c.count).sum(),
            leaked_retained_size: clusters.iter().map(|c| c.retained_size).sum(),
            leaked_reached_size: clusters.iter().map(|c| c.reached_size).sum(),
            surviving_count: report.surviving_count,
            clusters,
            ids_kept: report.ids_kept,
            one_time_allocations: report.one_time_allocations.clone(),
            replaced_values: report.replaced_values.clone(),
            wasm_growth: report.wasm_growth.clone(),
            grown_holders: report.grown_holders.clone(),
        }
    }

    fn with_status<'a>(
        &self,
        report: &'a LeakReport,
        keep: impl Fn(&ClusterStatus) -> bool,
    ) -> Vec<&'a LeakCluster> {
        report
            .clusters
            .iter()
            .zip(&self.statuses)
            .filter(|(_, s)| keep(s))
            .map(|(c, _)| c)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IgnoreRules> {
        IgnoreRules::parse(text, Path::new("team/.heapsight-ignore"))
    }

    fn step(edge: &str, class: &str) -> TraceStep {
        TraceStep {
            node_class: class.into(),
            node_id: 1,
            edge_name: edge.into(),
            edge_type: "property".into(),
            left_out_before: 0,
        }
    }

    fn cluster(class: &str, count: u64, bytes: u64) -> LeakCluster {
        LeakCluster {
            class: class.into(),
            count,
            retained_size: bytes,
            reached_through: 0,
            reached_size: 0,
            trace: vec![
                step("[1]", "(GC roots)"),
                step("contexts", "Map"),
                step("table", "(array)"),
                step("627", class),
            ],
            example_ids: vec![],
            held_as: vec![],
            chain: vec![],
            chained: 0,
            nodes: vec![],
        }
    }

    fn report(clusters: Vec<LeakCluster>) -> LeakReport {
        LeakReport {
            leaked_count: clusters.iter().map(|c| c.count).sum(),
            leaked_retained_size: clusters.iter().map(|c| c.retained_size).sum(),
            surviving_count: 0,
            clusters,
            ids_kept: true,
            ..LeakReport::default()
        }
    }

    const ALL: Limits = Limits {
        min_count: 1,
        min_bytes: 0,
    };

    #[test]
    fn parses_classes_paths_thresholds_comments() {
        let r = parse(
            "# team rules\n\nRequestContext\n  class: Detached <ul>  \r\npath: Map.table -> *\n\
             threshold: system / Context min-count=10 min-bytes=1MiB\nthreshold: A min_bytes=64k\n",
        )
        .unwrap();
        assert_eq!(
            r.rules,
            vec![
                IgnoreRule {
                    line: 3,
                    text: "RequestContext".into(),
                    matches: IgnoreMatch::Class("RequestContext".into())
                },
                IgnoreRule {
                    line: 4,
                    text: "class: Detached <ul>".into(),
                    matches: IgnoreMatch::Class("Detached <ul>".into())
                },
                IgnoreRule {
                    line: 5,
                    text: "path: Map.table -> *".into(),
                    matches: IgnoreMatch::Path("Map.table -> *".into())
                },
            ]
        );
        assert_eq!(r.thresholds[0].class, "system / Context");
        assert_eq!(r.thresholds[0].min_count, Some(10));
        assert_eq!(r.thresholds[0].min_bytes, Some(1 << 20));
        assert_eq!(r.thresholds[1].min_count, None);
        assert_eq!(r.thresholds[1].min_bytes, Some(64 << 10));
        // A colon inside a class name is not a directive.
        let r = parse("Foo: bar\nhttp:Agent\n").unwrap();
        assert_eq!(r.rules[0].matches, IgnoreMatch::Class("Foo: bar".into()));
        assert_eq!(r.rules[1].matches, IgnoreMatch::Class("http:Agent".into()));
        assert_eq!(parse("").unwrap().rules, vec![]);
        let bom = parse("\u{feff}RequestContext\r\n").unwrap();
        assert_eq!(
            bom.rules[0].matches,
            IgnoreMatch::Class("RequestContext".into())
        );
    }

    #[test]
    fn errors_name_the_file_and_the_line() {
        for (text, line, says) in [
            ("# ok\npaht: x\n", 2, "unknown rule `paht:`"),
            ("a\nb\npath:\n", 3, "needs something"),
            ("threshold: A\n", 1, "sets nothing"),
            ("threshold: min-count=3\n", 1, "needs a class"),
            ("threshold: A min-count=lots\n", 1, "whole number"),
            ("threshold: A min-bytes=3XB\n", 1, "min-bytes"),
            ("threshold: A max=3\n", 1, "unknown threshold"),
            (
                "threshold: A min-count=1\nthreshold: A min-count=2\n",
                2,
                "line 1",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.is_bad_input(), "{text:?}");
            let msg = e.to_string();
            assert!(msg.starts_with("team/.heapsight-ignore: "), "{msg}");
            assert!(msg.contains(&format!("line {line}: ")), "{text:?}: {msg}");
            assert!(msg.contains(says), "{text:?}: {msg}");
        }
    }

    #[test]
    fn traces_render_and_patterns_match_anywhere() {
        let c = cluster("RequestContext", 1, 1);
        let t = trace_text(&c.trace);
        assert_eq!(
            t,
            "(root).[1] → (GC roots).contexts → Map.table → (array).627 → RequestContext"
        );
        for (p, yes) in [
            ("Map.table", true),
            ("Map.table -> (array).* -> RequestContext", true),
            ("Map.table → (array).6?7", true),
            ("(root).*RequestContext", true),
            ("Set.table", false),
            ("Map.table -> RequestContext", false),
        ] {
            assert_eq!(path_matches(p, &t), yes, "{p}");
        }
        assert!(trace_text(&[]) == "(root)");
    }

    #[test]
    fn verdict_ignores_applies_thresholds_and_trips() {
        let r = report(vec![
            cluster("A", 1000, 4 << 20),
            cluster("B", 50, 1000),
            cluster("C", 5, 10),
        ]);
        let rules = parse("B\nthreshold: A min-count=1001\nthreshold: C min-bytes=10\n").unwrap();
        let v = GateVerdict::compute(&r, &rules, ALL);
        assert!(
            matches!(v.statuses[0], ClusterStatus::Passed { limits } if limits.min_count == 1001)
        );
        assert_eq!(
            v.statuses[1],
            ClusterStatus::Ignored {
                line: 1,
                rule: "B".into()
            }
        );
        assert!(matches!(v.statuses[2], ClusterStatus::Tripped { .. }));
        assert!(v.failed());
        assert_eq!(v.tripped(&r).len(), 1);
        assert_eq!(v.ignored_count(), 1);
        let counted = v.counted(&r);
        assert_eq!(counted.clusters.len(), 2);
        assert_eq!(counted.leaked_count, 1005);
        // No rules: the same as LeakReport::gate.
        let none = GateVerdict::compute(
            &r,
            &IgnoreRules::default(),
            Limits {
                min_count: 50,
                min_bytes: 0,
            },
        );
        assert_eq!(none.tripped(&r).len(), r.gate(50, 0).len());
        assert_eq!(none.counted(&r).leaked_count, r.leaked_count);
        // A path rule.
        let v = GateVerdict::compute(&r, &parse("path: contexts*table").unwrap(), ALL);
        assert_eq!(v.ignored_count(), 3);
        assert!(!v.failed());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("2KiB"), Some(2048));
        assert_eq!(parse_size("1mb"), Some(1 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("MiB"), None);
        assert_eq!(parse_size("1.5MiB"), None);
    }
}
