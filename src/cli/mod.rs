//! The command-line face: parse flags, load, analyse, print. All the work is in the library.

mod alloc;
pub mod args;
mod compare;

pub use compare::summary_csv;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis::retainers::{retainer_paths, sorted_retainers};
use crate::analysis::{AnalysisOptions, AnalyzedSnapshot, RuleSet};
use crate::error::{Error, Result};
use crate::model::NodeIx;
use crate::progress::Progress;
use crate::report::json::{DominatorJson, EdgeJson, NodeJson, PathJson, SummaryJson};
use crate::report::{one_line, text};
use args::{Cli, Command, Input, Rules};

/// Files smaller than this load too fast to need a progress bar.
const PROGRESS_BAR_MIN_BYTES: u64 = 4 << 20;

/// Run the CLI with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("heapsight: {e}");
            if e.is_bad_input() {
                2
            } else {
                1
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let Some(command) = cli.command else {
        return run_app(cli.files, cli.view);
    };
    let mut out = String::new();
    match command {
        Command::Summary {
            input,
            top,
            json,
            csv,
        } => {
            let s = open(&input)?;
            if let Some(profile) = s.snapshot.alloc.as_deref() {
                let top = if top == 0 { usize::MAX } else { top };
                let summary = crate::analysis::alloc::AllocSummary::build(profile, top);
                out = if json {
                    to_json(&summary)?
                } else {
                    alloc::summary_text(&input.file, &summary)
                };
                return print(&out);
            }
            let summary = s.summary();
            let stats = s.statistics();
            let n = if top == 0 {
                summary.classes.len()
            } else {
                top.min(summary.classes.len())
            };
            let file = input.file.display().to_string();
            if csv {
                out = compare::summary_csv(&summary.classes[..n]);
            } else if json {
                out = to_json(&SummaryJson {
                    file,
                    node_count: summary.node_count,
                    edge_count: summary.edge_count,
                    total_size: summary.total_size,
                    statistics: &stats,
                    classes: &summary.classes[..n],
                    class_count: summary.classes.len(),
                })?;
            } else {
                text::summary(
                    &mut out,
                    &file,
                    &s,
                    summary.total_size,
                    &summary.classes[..n],
                    summary.classes.len(),
                    &stats,
                );
            }
        }
        Command::Dominators {
            input,
            depth,
            top,
            json,
        } => {
            let s = open(&input)?;
            let total = s.summary_total();
            if json {
                out = to_json(&dominator_json(&s, s.graph().root(), total, depth, top))?;
            } else {
                text::dominators(&mut out, &s, total, depth, top);
            }
        }
        Command::Node {
            input,
            id,
            limit,
            json,
        } => {
            let s = open(&input)?;
            let n = find_node(&s, &id)?;
            node_report(&mut out, &s, n, limit, json)?;
        }
        Command::Retainers {
            input,
            id,
            paths,
            json,
        } => {
            let s = open(&input)?;
            let n = find_node(&s, &id)?;
            let found = retainer_paths(s.graph(), &s.analysis, n, paths);
            if json {
                #[derive(serde::Serialize)]
                struct Out {
                    node: NodeJson,
                    paths: Vec<PathJson>,
                }
                out = to_json(&Out {
                    node: NodeJson::new(&s, n),
                    paths: found.iter().map(|p| PathJson::new(&s, p)).collect(),
                })?;
            } else {
                out.push_str(&text::node_line(&s, n));
                out.push('\n');
                if found.is_empty() {
                    out.push_str("no retainer path: the node is not reachable from the GC roots without weak edges\n");
                }
                text::paths(&mut out, &s, &found);
            }
        }
        Command::Diff {
            before,
            after,
            top,
            json,
            csv,
            rules,
            fold,
        } => out = compare::diff(&before, &after, top, json, csv, rules, &fold.options())?,
        Command::Calltree {
            input,
            bottom_up,
            sort,
            depth,
            limit,
            json,
        } => {
            let s = open(&input)?;
            let Some(profile) = s.snapshot.alloc.as_deref() else {
                return Err(Error::Request(
                    "calltree needs an allocation profile (DHAT, heaptrack or pprof); \
                     for heap snapshots see `heapsight dominators`"
                        .into(),
                ));
            };
            let limit = if limit == 0 { usize::MAX } else { limit };
            out = alloc::calltree(&input.file, profile, bottom_up, sort, depth, limit, json)?;
        }
        Command::Leaks {
            baseline,
            target,
            final_,
            json,
            md,
            html,
            output,
            fail_on_leak,
            min_count,
            min_bytes,
        } => {
            let format = if json {
                compare::Format::Json
            } else if md {
                compare::Format::Md
            } else if html {
                compare::Format::Html
            } else {
                compare::Format::Text
            };
            let gate = fail_on_leak.then_some((min_count, min_bytes));
            return compare::leaks(
                [&baseline, &target, &final_],
                format,
                output.as_deref(),
                gate,
            );
        }
        Command::Detached { input, json } => out = compare::detached(&input, json)?,
        Command::Report {
            files,
            format,
            output,
            threshold,
            min_instances,
        } => {
            return compare::report(&files, format, output.as_deref(), threshold, min_instances);
        }
        Command::Nodes { input, tsv: _ } => {
            let s = open(&input)?;
            return write_tsv(&s);
        }
    }
    print(&out)
}

#[cfg(feature = "gui")]
fn run_app(files: Vec<std::path::PathBuf>, view: Option<String>) -> Result<()> {
    let view = match view.as_deref() {
        None => None,
        Some(name) => Some(crate::gui::ViewKind::from_name(name).ok_or_else(|| {
            Error::Request(format!(
                "unknown view '{name}' (summary, dominators, containment or statistics)"
            ))
        })?),
    };
    crate::gui::run(files, view).map_err(Error::Request)
}

#[cfg(not(feature = "gui"))]
fn run_app(_files: Vec<std::path::PathBuf>, _view: Option<String>) -> Result<()> {
    Err(Error::Request(
        "this heapsight was built without the desktop app (feature `gui`); \
         use a command such as `heapsight summary FILE` (see `heapsight --help`)"
            .into(),
    ))
}

/// Print to stdout, or write atomically to `output`.
fn emit(s: &str, output: Option<&std::path::Path>) -> Result<()> {
    match output {
        None => print(s),
        Some(p) => crate::report::write_atomically(p, s.as_bytes()).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        }),
    }
}

fn print(s: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()) {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Request(format!("cannot write output: {e}"))),
        Ok(()) => Ok(()),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::Request(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

impl AnalyzedSnapshot {
    fn summary_total(&self) -> u64 {
        self.analysis.retained_size(self.graph().root())
            + self.snapshot.info.extra_native_bytes.unwrap_or(0)
    }
}

/// Load and analyse, with a progress bar on a terminal for files of a few MB or more.
fn open(input: &Input) -> Result<AnalyzedSnapshot> {
    open_path(&input.file, input.rules, &input.fold.options())
}

/// Load and analyse `path` under `rules`.
fn open_path(
    path: &std::path::Path,
    rules: Rules,
    options: &crate::formats::LoadOptions,
) -> Result<AnalyzedSnapshot> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = (std::io::stderr().is_terminal() && size >= PROGRESS_BAR_MIN_BYTES).then(|| {
        let b = ProgressBar::new(size);
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg:<24} [{bar:30}] {percent:>3}% {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        b
    });
    let report = |phase: &str, done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total.max(1));
            b.set_position(done.min(total));
            b.set_message(phase.to_string());
        }
    };
    let progress = Progress::new(Some(&report), None);
    let result = crate::formats::load_with(path, options, progress).and_then(|snap| {
        let rules = match rules {
            Rules::Devtools => RuleSet::DevTools,
            Rules::Memlab => RuleSet::Memlab,
        };
        AnalyzedSnapshot::new(snap, AnalysisOptions { rules }, progress)
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

/// Accept `@123`, `123`.
fn find_node(s: &AnalyzedSnapshot, text: &str) -> Result<NodeIx> {
    let digits = text.trim().trim_start_matches('@');
    let id: u32 = digits.parse().map_err(|_| {
        Error::Request(format!(
            "'{text}' is not a node id (expected something like @12345)"
        ))
    })?;
    s.graph()
        .node_by_id(id)
        .ok_or_else(|| Error::Request(format!("no node with id @{id} in this snapshot")))
}

fn dominator_json(
    s: &AnalyzedSnapshot,
    n: NodeIx,
    total: u64,
    depth: usize,
    top: usize,
) -> DominatorJson {
    let kids = s.analysis.dominators.sorted_children(n);
    DominatorJson {
        node: NodeJson::new(s, n),
        share: if total == 0 {
            0.0
        } else {
            s.analysis.retained_size(n) as f64 / total as f64
        },
        child_count: kids.len(),
        children: if depth == 0 {
            Vec::new()
        } else {
            kids.iter()
                .take(top)
                .map(|&c| dominator_json(s, c, total, depth - 1, top))
                .collect()
        },
    }
}

fn node_report(
    out: &mut String,
    s: &AnalyzedSnapshot,
    n: NodeIx,
    limit: usize,
    json: bool,
) -> Result<()> {
    let g = s.graph();
    let edges: Vec<_> = g.edges(n).take(limit).collect();
    let retainers: Vec<_> = sorted_retainers(g, &s.analysis, n)
        .into_iter()
        .take(limit)
        .collect();
    let chain = s.analysis.dominators.chain(n);
    if json {
        #[derive(serde::Serialize)]
        struct Out {
            node: NodeJson,
            edge_count: usize,
            edges: Vec<EdgeJson>,
            retainer_count: usize,
            retainers: Vec<EdgeJson>,
            dominator_chain: Vec<NodeJson>,
        }
        let edge_json = |e: &crate::model::EdgeRef, other: NodeIx| EdgeJson {
            edge_type: g.edge_type_name(e.index as usize).to_string(),
            edge_name: g.edge_label(e.index as usize),
            node: NodeJson::new(s, other),
        };
        *out = to_json(&Out {
            node: NodeJson::new(s, n),
            edge_count: g.edge_range(n).len(),
            edges: edges.iter().map(|e| edge_json(e, e.to)).collect(),
            retainer_count: g.retainer_count(n),
            retainers: retainers.iter().map(|e| edge_json(e, e.from)).collect(),
            dominator_chain: chain.iter().map(|&d| NodeJson::new(s, d)).collect(),
        })?;
        return Ok(());
    }
    use std::fmt::Write as _;
    let _ = writeln!(out, "{}", text::node_line(s, n));
    let _ = writeln!(
        out,
        "type {}, name {:?}",
        g.type_name(n),
        one_line(g.name(n), 200)
    );
    let _ = writeln!(out, "\nedges ({} in all):", g.edge_range(n).len());
    for e in &edges {
        let i = e.index as usize;
        let _ = writeln!(
            out,
            "  --{} {}--> {}",
            g.edge_type_name(i),
            one_line(&g.edge_label(i), 50),
            text::node_line(s, e.to)
        );
    }
    let _ = writeln!(
        out,
        "\nretainers ({} in all; weak and root edges not listed):",
        g.retainer_count(n)
    );
    for e in &retainers {
        let i = e.index as usize;
        let _ = writeln!(
            out,
            "  {} --{} {}-->",
            text::node_line(s, e.from),
            g.edge_type_name(i),
            one_line(&g.edge_label(i), 50)
        );
    }
    let _ = writeln!(out, "\ndominator chain:");
    for d in chain {
        let _ = writeln!(out, "  {}", text::node_line(s, d));
    }
    Ok(())
}

/// `nodes --tsv`: one row per node, streamed so millions of rows don't pile up in memory.
fn write_tsv(s: &AnalyzedSnapshot) -> Result<()> {
    let g = s.graph();
    let a = &s.analysis;
    let stdout = std::io::stdout().lock();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout);
    let mut line = String::new();
    let res = (|| -> std::io::Result<()> {
        writeln!(
            w,
            "id\ttype\tname\tself_size\tretained_size\tdominator_id\tdistance"
        )?;
        for n in 0..g.node_count() as NodeIx {
            use std::fmt::Write as _;
            line.clear();
            let name = one_line(g.name(n), 80);
            let _ = write!(
                line,
                "{}\t{}\t{}\t{}\t{}\t{}\t",
                g.id(n),
                g.type_name(n),
                name,
                a.shallow_size(n),
                a.retained_size(n),
                g.id(a.dominator(n))
            );
            if let Some(d) = a.distance(n) {
                let _ = write!(line, "{d}");
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        w.flush()
    })();
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Request(format!("cannot write output: {e}"))),
        Ok(()) => Ok(()),
    }
}
