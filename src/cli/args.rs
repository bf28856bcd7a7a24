//! Command-line flags. Nothing else reads argv.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find what holds the memory in V8 heap snapshots.
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
    /// The app's first view: summary, dominators, containment or statistics.
    #[arg(long, value_name = "VIEW")]
    pub view: Option<String>,
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
        #[arg(long)]
        json: bool,
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
}

/// The input file and the rules to analyse it with.
#[derive(Debug, Args)]
pub struct Input {
    /// A .heapsnapshot or .heaptimeline file (gzip-compressed is fine).
    pub file: PathBuf,
    /// Whose rules decide retained sizes: DevTools (default) or memlab (for cross-checking).
    #[arg(long, value_enum, default_value_t = Rules::Devtools)]
    pub rules: Rules,
}

/// `--rules` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Rules {
    /// Chrome DevTools' heap snapshot worker.
    Devtools,
    /// memlab 2.x.
    Memlab,
}
