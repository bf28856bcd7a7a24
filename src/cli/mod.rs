//! The command-line face: parse flags, open documents through the store, run the library's
//! analyses, pick a writer from `report/`, print. Nothing here formats output.

pub mod args;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis::leak_gate::{IgnoreRules, Limits};
use crate::analysis::retainers::retainer_paths;
use crate::analysis::suspects::SuspectOptions;
use crate::analysis::trend::{SnapshotPart, TrendBuilder, TrendOptions};
use crate::analysis::{AnalysisOptions, RuleSet};
use crate::anonymize::{anonymize_file, AnonymizeOptions};
use crate::capture::{capture, CaptureKind, CaptureOptions};
use crate::error::{Error, Result};
use crate::formats::LoadOptions;
use crate::progress::Progress;
use crate::report::capture as report_capture;
use crate::report::command::{self, Format, LeakRun};
use crate::report::document::{to_html, to_markdown};
use crate::report::json::to_json;
use crate::report::junit::to_junit;
use crate::report::leak_gate::{self, GatedLeaks};
use crate::report::leak_report::LeakSuspectsReport;
use crate::report::{node, text, trend, tsv};
use crate::store::Document;
use crate::store::{title_of, DocumentId, IndexCache};
use args::{CacheAction, CaptureArgs, CaptureKindArg, Cli, Command, Input, ReportFormat, Rules};

/// Files smaller than this load too fast to need a progress bar.
const PROGRESS_BAR_MIN_BYTES: u64 = 4 << 20;

/// Run the CLI with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    crate::process_memory::return_freed_blocks_to_os();
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("heapsight: {e}");
            if e.is_bad_input() {
                2
            } else {
                1
            }
        }
    };
    finish_index_writes();
    code
}

/// The index cache the commands open through; `None` with `--no-cache`. Set once in [`run`].
static CACHE: std::sync::OnceLock<Option<IndexCache>> = std::sync::OnceLock::new();

fn run(cli: Cli) -> Result<()> {
    if cli.no_cache {
        // Before any thread starts: the app's loader threads read it too.
        std::env::set_var("HEAPSIGHT_NO_CACHE", "1");
    }
    let _ = CACHE.set(IndexCache::from_env());
    let Some(command) = cli.command else {
        return run_app(cli.files, cli.view);
    };
    let out = match command {
        Command::Summary {
            input,
            top,
            json,
            csv: as_csv,
        } => {
            let doc = open(&input)?;
            command::summary(&doc, top, format(json, as_csv))?
        }
        Command::Dominators {
            input,
            depth,
            top,
            json,
        } => command::dominators(&*open(&input)?, depth, top, json)?,
        Command::Node {
            input,
            id,
            limit,
            json,
        } => {
            let doc = open(&input)?;
            let n = doc.find_node(&id)?;
            node::node(&doc.data, n, limit, json)?
        }
        Command::Retainers {
            input,
            id,
            paths,
            json,
        } => {
            let doc = open(&input)?;
            let n = doc.find_node(&id)?;
            let found = retainer_paths(doc.data.graph(), &doc.data.analysis, n, paths);
            node::retainers(&doc.data, n, &found, json)?
        }
        Command::Diff {
            before,
            after,
            top,
            json,
            csv: as_csv,
            rules,
            fold,
        } => {
            let options = fold.options();
            let a = open_path(&before, rules, &options)?;
            let b = open_path(&after, rules, &options)?;
            command::compare(&a, &b, top, format(json, as_csv))?
        }
        Command::Calltree {
            input,
            bottom_up,
            sort,
            depth,
            limit,
            json,
        } => command::calltree(&*open(&input)?, bottom_up, sort, depth, limit, json)?,
        Command::Allocations {
            input,
            bottom_up,
            top,
            json,
        } => command::allocations(&*open(&input)?, bottom_up, top, json)?,
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
            ignore,
            no_ignore_file,
            junit,
        } => {
            let rules =
                IgnoreRules::discover(ignore.as_deref(), no_ignore_file, &final_, &baseline)?;
            let files = [&baseline, &target, &final_];
            let [b, t, f] = files.map(|p| open_path(p, Rules::Devtools, &LoadOptions::default()));
            let (b, t, f) = (b?, t?, f?);
            let limits = Limits {
                min_count,
                min_bytes,
            };
            let LeakRun { report, verdict } = match LeakRun::compute(&b, &t, &f, &rules, limits) {
                Err(Error::CannotCompare(why)) => {
                    if let Some(path) = &junit {
                        write_file(path, &crate::report::junit::error_junit(&why))?;
                    }
                    return Err(Error::CannotCompare(why));
                }
                run => run?,
            };
            let gated = GatedLeaks {
                report: &report,
                rules: &rules,
                verdict: &verdict,
                gated: fail_on_leak || junit.is_some(),
            };
            let names = [&b.title, &t.title, &f.title].map(String::as_str);
            let out = if json {
                leak_gate::json(files.map(PathBuf::as_path), &gated)?
            } else if md {
                to_markdown(&leak_gate::blocks(&gated, names))
            } else if html {
                to_html("heapsight leaks", &leak_gate::blocks(&gated, names))
            } else {
                leak_gate::text(&gated)
            };
            emit(&out, output.as_deref())?;
            if let Some(path) = &junit {
                write_file(path, &to_junit(&gated))?;
            }
            if fail_on_leak && verdict.failed() {
                return Err(Error::Gate(leak_gate::gate_message(&gated)));
            }
            return Ok(());
        }
        Command::Trend {
            files,
            json,
            md,
            fail_on_growth,
            min_steps,
            min_bytes,
            ignore,
            no_ignore_file,
            top,
        } => {
            let (first, last) = (&files[0], &files[files.len() - 1]);
            let rules = IgnoreRules::discover(ignore.as_deref(), no_ignore_file, last, first)?;
            // One snapshot at a time: each is dropped once its part is taken. A trend reads no
            // distances, so they are not computed.
            let builder = trend_of_files(&files)?;
            let opts = TrendOptions {
                min_steps: min_steps.map(|k| k as usize),
                min_bytes,
            };
            let t = builder.finish(&rules, opts)?;
            let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
            let out = if json {
                trend::json(&names, &rules, fail_on_growth, &t)?
            } else if md {
                to_markdown(&trend::blocks(&t, fail_on_growth, top))
            } else {
                trend::text(&t, &rules, fail_on_growth, top)
            };
            print(&out)?;
            if fail_on_growth && t.failed() {
                return Err(Error::Gate(trend::gate_message(&t)));
            }
            return Ok(());
        }
        Command::Detached { input, json } => command::detached(&*open(&input)?, json)?,
        Command::Memory {
            input,
            json,
            min_buffer,
        } => command::memory(&*open(&input)?, min_buffer, json)?,
        Command::Report {
            files,
            format,
            output,
            threshold,
            min_instances,
        } => {
            if !(0.0..=1.0).contains(&threshold) {
                return Err(Error::Request(format!(
                    "--threshold must be between 0 and 1, not {threshold}"
                )));
            }
            let docs = files
                .iter()
                .map(|p| open_path(p, Rules::Devtools, &LoadOptions::default()))
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&Document> = docs.iter().map(|d| &**d).collect();
            let r = LeakSuspectsReport::build(
                &refs,
                SuspectOptions {
                    threshold,
                    min_instances,
                },
            );
            let out = match format {
                ReportFormat::Json => to_json(&r)?,
                ReportFormat::Md => to_markdown(&r.blocks()),
                ReportFormat::Html => to_html("heapsight leak suspects", &r.blocks()),
            };
            return emit(&out, output.as_deref());
        }
        Command::Capture(args) => return run_capture(args),
        #[cfg(feature = "mcp")]
        Command::Mcp => return crate::mcp::serve(),
        Command::Cache { action } => {
            let cache = IndexCache::from_env().ok_or_else(|| {
                Error::Request(
                    "no cache folder (or HEAPSIGHT_NO_CACHE is set): set HEAPSIGHT_CACHE_DIR"
                        .into(),
                )
            })?;
            match action {
                CacheAction::Info => text::cache_info(&cache),
                CacheAction::Clear => {
                    let freed = cache.clear()?;
                    format!(
                        "removed {freed} bytes of indexes from {}\n",
                        cache.dir().display()
                    )
                }
            }
        }
        Command::Anonymize {
            input,
            output,
            keep,
            keep_file,
            json,
        } => {
            let mut options = AnonymizeOptions { keep };
            for file in &keep_file {
                options.keep_lines_of(file)?;
            }
            let report = anonymize_file(&input, &output, &options)?;
            if json {
                to_json(&report)?
            } else {
                text::anonymize_report(&output, &report)
            }
        }
        Command::Nodes { input, tsv: _ } => {
            let doc = open(&input)?;
            let stdout = std::io::stdout().lock();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout);
            return output_result(tsv::nodes(&doc.data, &mut w));
        }
    };
    print(&out)
}

/// The output format the flags ask for.
fn format(json: bool, as_csv: bool) -> Format {
    if json {
        Format::Json
    } else if as_csv {
        Format::Csv
    } else {
        Format::Text
    }
}

#[cfg(feature = "gui")]
fn run_app(files: Vec<PathBuf>, view: Option<String>) -> Result<()> {
    if let Some(name) = view.as_deref() {
        let titles = crate::gui::views::titles();
        if !titles
            .iter()
            .any(|t| crate::gui::views::title_matches(t, name))
        {
            return Err(Error::Request(format!(
                "unknown view '{name}' (one of: {})",
                titles.join(", ")
            )));
        }
    }
    crate::gui::run(files, view).map_err(Error::Request)
}

#[cfg(not(feature = "gui"))]
fn run_app(_files: Vec<PathBuf>, _view: Option<String>) -> Result<()> {
    Err(Error::Request(
        "this heapsight was built without the desktop app (feature `gui`); \
         use a command such as `heapsight summary FILE` (see `heapsight --help`)"
            .into(),
    ))
}

/// `heapsight capture`: save snapshots or profiles from a running process, with a progress bar
/// on a terminal; Ctrl-C stops cleanly (no partial file is left).
fn run_capture(args: CaptureArgs) -> Result<()> {
    static STOP: AtomicBool = AtomicBool::new(false);
    let kind = match args.kind {
        CaptureKindArg::Snapshot => CaptureKind::Snapshot,
        CaptureKindArg::Timeline => CaptureKind::Timeline,
        CaptureKindArg::Sampling => CaptureKind::Sampling,
    };
    let options = CaptureOptions {
        endpoint: args.inspect,
        allow_remote: args.allow_remote,
        target: args.target,
        kind,
        count: args.count,
        every: args.every,
        out_dir: args.out,
        prefix: args.prefix,
        collect_garbage: !args.no_gc,
        sampling_interval: args.sampling_interval,
        track_allocations: args.track_allocations,
    };
    // Without a handler Ctrl-C still ends the process, only less tidily.
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<32} [{bar:30}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let report = |phase: &str, done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done.min(total));
        bar.set_message(phase.to_string());
    };
    let result = capture(&options, Progress::new(Some(&report), Some(&STOP)));
    bar.finish_and_clear();
    let outcome = result.map_err(|e| Error::Request(report_capture::nothing_saved(&e)))?;
    print(&report_capture::saved_files(&outcome))?;
    eprint!("{}", report_capture::notes(&outcome, kind));
    match report_capture::failure(&outcome) {
        Some(message) => Err(Error::Request(message)),
        None => Ok(()),
    }
}

/// Print to stdout, or write atomically to `output`.
fn emit(s: &str, output: Option<&Path>) -> Result<()> {
    match output {
        None => print(s),
        Some(p) => write_file(p, s),
    }
}

/// Write `s` to `path` atomically.
fn write_file(path: &Path, s: &str) -> Result<()> {
    crate::report::write_atomically(path, s.as_bytes()).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn print(s: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    output_result(stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()))
}

fn output_result(r: std::io::Result<()>) -> Result<()> {
    match r {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Request(format!("cannot write output: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Open `input` with its rules and folding.
fn open(input: &Input) -> Result<Arc<Document>> {
    open_path(&input.file, input.rules, &input.fold.options())
}

/// Open `path` under `rules` through the index cache, with a progress bar on a terminal for
/// files of a few MB or more.
/// A file loaded without a valid index gets one written on a thread of its own while the
/// command runs; the process waits for it after printing (see [`finish_index_writes`]).
fn open_path(path: &Path, rules: Rules, options: &LoadOptions) -> Result<Arc<Document>> {
    let rules = match rules {
        Rules::Devtools => RuleSet::DevTools,
        Rules::Memlab => RuleSet::Memlab,
    };
    let cache = CACHE.get().and_then(|c| c.as_ref());
    let doc = Arc::new(with_progress_bar(path, |progress| {
        Document::open_cached_index_later(
            DocumentId::next(),
            path,
            options,
            AnalysisOptions {
                rules,
                distances: true,
            },
            cache,
            progress,
        )
    })?);
    // A cache problem never fails a command: the outcome is not looked at.
    if let Some(h) =
        cache.and_then(|c| Document::write_index_in_background(&doc, c.clone(), |_, _| {}))
    {
        INDEX_WRITES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
    }
    Ok(doc)
}

/// Index writes started by [`open_path`] and not yet finished.
static INDEX_WRITES: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Wait for the index writes this run started: the output is out by then, so a first open's
/// result is not held back by the seconds a big index takes to write.
fn finish_index_writes() {
    let writes = std::mem::take(&mut *INDEX_WRITES.lock().unwrap_or_else(|e| e.into_inner()));
    for h in writes {
        let _ = h.join();
    }
}

/// The trend of `files`. A snapshot's part is finished (summary and tables, then the
/// snapshot is dropped: [`crate::analysis::trend::PendingPart::finish`]) on a second thread while the next file is
/// read; the next snapshot's analysis waits for it, so at most one snapshot is analysed, or
/// held whole, beside the one being read.
fn trend_of_files(files: &[PathBuf]) -> Result<TrendBuilder> {
    let mut builder = TrendBuilder::default();
    let join = |h: std::thread::ScopedJoinHandle<'_, SnapshotPart>| {
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    };
    std::thread::scope(|scope| {
        let mut finishing = None;
        for path in files {
            let pending = with_progress_bar(path, |progress| {
                let options = LoadOptions {
                    beside_other_work: true,
                    ..LoadOptions::default()
                };
                let snapshot = crate::formats::load_with(path, &options, progress)?;
                if snapshot.alloc.is_some() {
                    return Err(Error::Request(format!(
                        "{}: trend needs V8 heap snapshots, not allocation profiles",
                        path.display()
                    )));
                }
                if let Some(h) = finishing.take() {
                    builder.push(join(h));
                }
                SnapshotPart::analyse(snapshot, RuleSet::DevTools, title_of(path), progress)
            })?;
            finishing = Some(scope.spawn(move || pending.finish()));
        }
        if let Some(h) = finishing.take() {
            builder.push(join(h));
        }
        Ok(builder)
    })
}

/// Run `work` with a progress bar on a terminal for files of a few MB or more.
fn with_progress_bar<T>(path: &Path, work: impl FnOnce(Progress<'_>) -> Result<T>) -> Result<T> {
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
    let result = work(Progress::new(Some(&report), None));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}
