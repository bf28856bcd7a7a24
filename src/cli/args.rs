//! Command-line flags. Nothing else reads argv.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::alloc::Metric;

/// Find what holds the memory in V8 heap snapshots and Rust allocation dumps (DHAT, heaptrack,
/// pprof).
///
/// With no command, opens the desktop app (with FILEs open, if given).
#[derive(Debug, Parser)]
#[command(
    name = "heapsight",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; none opens the app.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Snapshots to open in the app.
    pub files: Vec<PathBuf>,
    /// The app's first view (its title or the title's first word, in any case).
    #[arg(long, value_name = "VIEW", help = view_help())]
    pub view: Option<String>,
    /// Neither read nor write the index cache (see `heapsight cache info`).
    #[arg(long, global = true)]
    pub no_cache: bool,
}

/// `--view`'s help: the views the app has, from its registry.
fn view_help() -> String {
    #[cfg(feature = "gui")]
    let views = crate::gui::views::titles().join(", ");
    #[cfg(not(feature = "gui"))]
    let views = "none: this build has no desktop app";
    format!("The app's first view: {views}")
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Totals and the class table (DevTools' Summary view).
    Summary {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// Show the N largest classes by retained size (0 = all).
        #[arg(long, default_value_t = 25)]
        top: usize,
        /// Print JSON (schema in docs/json-schema.md).
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print the class table as CSV.
        #[arg(long)]
        csv: bool,
    },
    /// The dominator tree, largest retained size first.
    Dominators {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// How many levels below the root to show.
        #[arg(long, default_value_t = 3)]
        depth: usize,
        /// Children shown per node.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One node: its edges, retainers and dominator chain.
    Node {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// Node id as DevTools shows it, e.g. @12345.
        id: String,
        /// Edges and retainers listed at most.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The shortest retainer paths from the GC roots to a node.
    Retainers {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// Node id, e.g. @12345.
        id: String,
        /// How many paths.
        #[arg(long, default_value_t = 3)]
        paths: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two snapshots: per class, new and deleted objects (matched by id) and bytes.
    Diff {
        /// The earlier snapshot.
        before: PathBuf,
        /// The later snapshot.
        after: PathBuf,
        /// Classes shown (0 = all).
        #[arg(long, default_value_t = 25)]
        top: usize,
        /// Print JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
        /// Whose rules decide sizes.
        #[arg(long, value_enum, default_value_t = Rules::Devtools)]
        rules: Rules,
        /// Stack folding of allocation profiles.
        #[command(flatten)]
        fold: FoldArgs,
    },
    /// The call tree of an allocation profile (DHAT, heaptrack, pprof, V8 .heapprofile),
    /// top-down or bottom-up, with every metric per function, largest first by the chosen one.
    Calltree {
        /// The file and folding.
        #[command(flatten)]
        input: Input,
        /// Allocating functions first, their callers below (default: main first).
        #[arg(long)]
        bottom_up: bool,
        /// Sort siblings by: peak_bytes, peak_blocks, end_bytes, end_blocks, total_bytes,
        /// total_blocks, temporary_blocks, read_bytes, written_bytes.
        #[arg(long, default_value = "peak_bytes", value_parser = parse_metric)]
        sort: Metric,
        /// Levels shown below the root.
        #[arg(long, default_value_t = 6)]
        depth: u32,
        /// Rows shown at most (0 = all).
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// Print JSON (schema in docs/json-schema.md).
        #[arg(long)]
        json: bool,
    },
    /// Live objects by allocation stack, from a heap timeline or a snapshot taken with
    /// allocation tracking: the call tree by live size and count.
    Allocations {
        /// The file.
        #[command(flatten)]
        input: Input,
        /// Allocating functions first, their callers below (default: outermost first).
        #[arg(long)]
        bottom_up: bool,
        /// Rows shown at most (0 = all).
        #[arg(long, default_value_t = 50)]
        top: usize,
        /// Print JSON (schema in docs/json-schema.md).
        #[arg(long)]
        json: bool,
    },
    /// Three-snapshot leak detection: what was allocated after BASELINE, exists in TARGET and
    /// is still alive in FINAL, clustered by retainer path. Exit code 1 when --fail-on-leak trips,
    /// 2 for a malformed ignore file or for snapshots whose objects cannot be matched by id
    /// (Bun numbers them afresh in every snapshot).
    Leaks {
        /// Before the action.
        #[arg(long)]
        baseline: PathBuf,
        /// After the action.
        #[arg(long)]
        target: PathBuf,
        /// After undoing the action.
        #[arg(long = "final")]
        final_: PathBuf,
        /// Print JSON (schema in docs/json-schema.md).
        #[arg(long, group = "format")]
        json: bool,
        /// Print Markdown.
        #[arg(long, group = "format")]
        md: bool,
        /// Print a self-contained HTML page.
        #[arg(long, group = "format")]
        html: bool,
        /// Write the output to this file (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Exit with code 1 when a leak cluster passes the limits below (for CI).
        #[arg(long)]
        fail_on_leak: bool,
        /// With --fail-on-leak: objects of its class a cluster needs to count (its own, and the
        /// older links of chains under them).
        #[arg(long, default_value_t = 1, requires = "fail_on_leak")]
        min_count: u64,
        /// With --fail-on-leak: bytes a cluster must hold to count (what its objects retain,
        /// and what the new objects reached through them retain besides).
        #[arg(long, default_value_t = 0, requires = "fail_on_leak")]
        min_bytes: u64,
        /// Ignore file: class names, `path:` retainer-path patterns and `threshold:` per-class
        /// limits, one per line (see README, "Leak gates in CI"). Without it, `.heapsight-ignore`
        /// is looked for next to FINAL, then next to BASELINE, then in the working directory.
        #[arg(long, value_name = "FILE", conflicts_with = "no_ignore_file")]
        ignore: Option<PathBuf>,
        /// Do not look for a `.heapsight-ignore` file.
        #[arg(long)]
        no_ignore_file: bool,
        /// Also write the gate's verdict as JUnit XML to OUT (atomically): one test case per
        /// cluster, failed when it trips the gate, skipped when ignored.
        #[arg(long, value_name = "OUT")]
        junit: Option<PathBuf>,
    },
    /// Growth trends over N ≥ 2 snapshots of one process: per class, per collection (matched
    /// by node id) and per buffer, the verdict (grows, grows then plateaus, stable, shrinks,
    /// grows in steps, fluctuates), the slope, and the objects new in each step still alive at the end.
    /// Exit code 1 when --fail-on-growth trips, 2 for a malformed ignore file.
    Trend {
        /// The snapshots (ordered by their own clock, the highest object id; else as given).
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Print JSON (schema in docs/json-schema.md).
        #[arg(long, group = "format")]
        json: bool,
        /// Print Markdown.
        #[arg(long, group = "format")]
        md: bool,
        /// Exit with code 1 when a series grows in --min-steps consecutive steps and adds at
        /// least --min-bytes (for CI).
        #[arg(long)]
        fail_on_growth: bool,
        /// Consecutive growing steps a series needs to trip the gate (default: every step).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
        min_steps: Option<u64>,
        /// Bytes a series must add, first snapshot to last, to trip the gate.
        #[arg(long, value_name = "B", default_value_t = crate::analysis::trend::DEFAULT_MIN_BYTES)]
        min_bytes: u64,
        /// Ignore file (class names and `threshold:` lines apply; see README, "Leak gates in
        /// CI"). Without it, `.heapsight-ignore` is looked for next to the last file, then the
        /// first, then in the working directory.
        #[arg(long, value_name = "FILE", conflicts_with = "no_ignore_file")]
        ignore: Option<PathBuf>,
        /// Do not look for a `.heapsight-ignore` file.
        #[arg(long)]
        no_ignore_file: bool,
        /// Series shown in text and Markdown (0 = all that changed).
        #[arg(long, default_value_t = 25)]
        top: usize,
    },
    /// Detached DOM trees and what keeps them alive.
    Detached {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Where the memory is: JS heap, ArrayBuffer backing stores, WebAssembly memories and
    /// external bytes (adding up to the Summary's total), each WebAssembly.Memory, and the
    /// objects holding large buffers.
    Memory {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// Print JSON (schema in docs/json-schema.md).
        #[arg(long)]
        json: bool,
        /// Backing stores of this many bytes or more are grouped by holder.
        #[arg(long, value_name = "BYTES", default_value_t = crate::analysis::memory_map::DEFAULT_MIN_BUFFER)]
        min_buffer: u64,
    },
    /// A leak-suspects report over one or more snapshots (two: plus a comparison; three:
    /// baseline/target/final leak detection too).
    Report {
        /// Snapshots, oldest first.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// Write to this file (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Share of the heap (0..1) that makes an object a suspect.
        #[arg(long, default_value_t = 0.10)]
        threshold: f64,
        /// Instances of one class that make a collection an accumulation point.
        #[arg(long, default_value_t = 100)]
        min_instances: u64,
    },
    /// Capture heap snapshots, an allocation timeline or a sampling heap profile from a running
    /// Node (`node --inspect`) or Chromium (`--remote-debugging-port`) process over the DevTools
    /// protocol. Prints the saved files; exit code 0 when at least one was saved (also when the
    /// target exits or Ctrl-C stops the series early), 1 otherwise.
    Capture(CaptureArgs),
    /// The index cache: what reopens big snapshots in a moment.
    Cache {
        /// What to do with it.
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Serve the Model Context Protocol over stdin/stdout for AI agents (see docs/mcp.md):
    /// tools to open documents by path and run the analyses above on them.
    #[cfg(feature = "mcp")]
    Mcp,
    /// One row per node, for notebooks and spreadsheets.
    Nodes {
        /// The file and rules.
        #[command(flatten)]
        input: Input,
        /// Tab-separated values with the header
        /// `id type name self_size retained_size dominator_id distance`.
        #[arg(long, required = true)]
        tsv: bool,
    },
    /// Write a copy of a V8 snapshot with the text of its strings replaced (same lengths, same
    /// graph; class, property, edge, function and variable names kept), to share a leak without
    /// its data. heapsight's and DevTools' numbers are the same on the copy
    Anonymize {
        /// The V8 .heapsnapshot or .heaptimeline (gzip- or zstd-compressed is fine).
        input: PathBuf,
        /// Where to write the copy (not the input); a name ending in .gz or .zst compresses it.
        output: PathBuf,
        /// Keep this text wherever it occurs (repeatable; the whole string must match).
        #[arg(long, value_name = "TEXT")]
        keep: Vec<String>,
        /// Keep every text listed in FILE, one per line (repeatable).
        #[arg(long, value_name = "FILE")]
        keep_file: Vec<PathBuf>,
        /// Print what was kept and replaced as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `heapsight cache` actions.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// The cache folder, its indexes (least recently used first), their total and the cap.
    Info,
    /// Remove every index.
    Clear,
}

/// `heapsight capture` flags.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The DevTools endpoint, HOST:PORT (`[::1]:9229` for IPv6). Only loopback hosts
    /// (127.0.0.0/8, ::1, localhost) are accepted unless --allow-remote is given too: a heap
    /// snapshot holds everything in the process's memory.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9229")]
    pub inspect: String,
    /// Allow an --inspect host that is not loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// What to record: heap snapshots (.heapsnapshot), an allocation timeline (.heaptimeline)
    /// or a sampling heap profile (.heapprofile).
    #[arg(long, value_enum, default_value_t = CaptureKindArg::Snapshot)]
    pub kind: CaptureKindArg,
    /// How many files to save.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// Snapshots: the pause between two (default 0). Timeline and sampling: how long each
    /// records (default 10s). E.g. 500ms, 30s, 5m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub every: Option<std::time::Duration>,
    /// The folder to save into (created if missing); files are named PREFIX-NNN.EXT with the
    /// next free number, never from the target's data.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// The start of the file names.
    #[arg(long, default_value = "capture")]
    pub prefix: String,
    /// Which target of a browser: its id or a part of its URL (default: the Node target, else
    /// the first page).
    #[arg(long, value_name = "ID_OR_URL_SUBSTRING")]
    pub target: Option<String>,
    /// Do not ask for a garbage collection before each snapshot.
    #[arg(long)]
    pub no_gc: bool,
    /// Sampling: average bytes between samples.
    #[arg(long, value_name = "BYTES", default_value_t = 32768)]
    pub sampling_interval: u64,
    /// Snapshots: track allocations from before the first snapshot to the end of the series,
    /// so each snapshot carries the allocation stacks of the objects allocated since
    /// (`heapsight allocations FILE`; `heapsight trend` names the stack of each growing class's
    /// newest object). Tracking slows the target down while it lasts.
    #[arg(long)]
    pub track_allocations: bool,
}

/// `capture --kind` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CaptureKindArg {
    /// Heap snapshots.
    Snapshot,
    /// An allocation timeline (heap snapshot with allocation stacks).
    Timeline,
    /// A sampling heap profile.
    Sampling,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::capture::parse_duration(s)
}

/// The input file and the rules to analyse it with.
#[derive(Debug, Args)]
pub struct Input {
    /// A heap snapshot (.heapsnapshot, .heaptimeline) or allocation profile (V8 .heapprofile,
    /// DHAT JSON, heaptrack, pprof); gzip- or zstd-compressed is fine.
    pub file: PathBuf,
    /// Whose rules decide retained sizes: DevTools (default) or memlab (for cross-checking).
    #[arg(long, value_enum, default_value_t = Rules::Devtools)]
    pub rules: Rules,
    /// Stack folding of allocation profiles.
    #[command(flatten)]
    pub fold: FoldArgs,
}

/// Which frames of allocation profiles are folded away as allocator/std plumbing.
#[derive(Debug, Args)]
pub struct FoldArgs {
    /// Allocation profiles: keep allocator and std frames (alloc::, core::, std::, malloc, …)
    /// at the allocating end of stacks instead of folding them away.
    #[arg(long)]
    pub no_fold: bool,
    /// Allocation profiles: also fold functions starting with PREFIX (repeatable), e.g. a
    /// pool or arena crate's path `my_pool::`.
    #[arg(long, value_name = "PREFIX")]
    pub fold: Vec<String>,
}

impl FoldArgs {
    /// The load options these flags ask for.
    pub fn options(&self) -> crate::formats::LoadOptions {
        crate::formats::LoadOptions {
            folding: crate::model::alloc::Folding::with_extra(!self.no_fold, self.fold.clone()),
            ..Default::default()
        }
    }
}

/// Parse a metric name: `peak_bytes`, `peak-bytes`, … (see [`Metric::key`]).
pub fn parse_metric(s: &str) -> Result<Metric, String> {
    let key = s.replace('-', "_");
    Metric::ALL
        .into_iter()
        .find(|m| m.key() == key)
        .ok_or_else(|| {
            let names: Vec<&str> = Metric::ALL.iter().map(|m| m.key()).collect();
            format!("unknown metric {s:?}; one of: {}", names.join(", "))
        })
}

/// `report --format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// JSON (schema in docs/json-schema.md).
    Json,
    /// Markdown.
    Md,
    /// One self-contained HTML page.
    Html,
}

/// `--rules` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Rules {
    /// Chrome DevTools' heap snapshot worker.
    Devtools,
    /// memlab 2.x.
    Memlab,
}
