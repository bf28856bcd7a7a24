//! What every fuzz target shares: feeding bytes to a loader the way the CLI does, and running
//! on whatever loads the analyses and tables the CLI and the app build on it, so that weird
//! but valid inputs that make an analysis panic are found too.
//!
//! A loader may reject anything, but only with a bad-input error; a panic, a hang (libFuzzer's
//! `-timeout`) or an allocation over the bound (`-malloc_limit_mb`) is a finding.

use std::path::Path;

use heapsight::analysis::alloc::AllocSummary;
use heapsight::analysis::allocation_stacks::{has_stacks, AllocationStacks, Timeline, TraceIndex};
use heapsight::analysis::call_tree::{CallTree, Direction};
use heapsight::analysis::retainers::retainer_paths;
use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot};
use heapsight::formats::{Format, Input, LoadOptions};
use heapsight::model::Snapshot;

/// The name inputs go by in error messages.
pub const NAME: &str = "fuzz-input";

/// Load `data` with `format`'s loader directly (gzip or zstd undone first, as for a file), so
/// that inputs whose mutations no longer pass the format's sniff still reach its parser; then
/// exercise the result.
pub fn load_as(format: &Format, data: &[u8]) {
    let path = Path::new(NAME);
    let Ok(input) = Input::from_bytes(path, data.to_vec()) else {
        return;
    };
    let loaded = (format.load)(path, input, &LoadOptions::default(), Default::default());
    check_loaded(loaded);
}

/// Load `data` as the CLI does a file: detection from the content, then that format's loader.
pub fn load_detected(data: &[u8]) {
    let loaded = heapsight::formats::load_bytes(
        Path::new(NAME),
        data.to_vec(),
        &LoadOptions::default(),
        Default::default(),
    );
    check_loaded(loaded);
}

/// A loader's result: errors must be bad-input errors; snapshots are analysed.
fn check_loaded(loaded: heapsight::Result<Snapshot>) {
    match loaded {
        Ok(snapshot) => analyse(snapshot),
        Err(e) => assert!(e.is_bad_input(), "not a bad-input error: {e}"),
    }
}

/// Run on a loaded snapshot what opening a document runs (analyses, class index) and what the
/// first views read (summary, statistics, retainer paths, allocation tables and stacks).
pub fn analyse(snapshot: Snapshot) {
    let data = AnalyzedSnapshot::new(snapshot, AnalysisOptions::default(), Default::default())
        .expect("analysis without a cancel flag cannot fail");
    exercise(&data);
}

/// The views' reads on an analysed snapshot (also on one mapped from an index).
pub fn exercise(data: &AnalyzedSnapshot) {
    let _ = data.summary();
    let _ = data.statistics();
    let g = data.graph();
    let parents = data.analysis.parent_edges(g);
    assert_eq!(parents.len(), g.node_count());
    let n = g.node_count() as u32;
    // A few nodes spread over the graph: the root, the last, and some between.
    for node in [0, n / 3, n / 2, n.saturating_sub(1)] {
        let _ = retainer_paths(g, &data.analysis, node, 3);
        let _ = data.path_label(node);
        let _ = data.analysis.retained_size(node);
    }
    let snap = &data.snapshot;
    if let Some(p) = snap.alloc.as_deref() {
        let _ = CallTree::build(p, Direction::TopDown);
        let _ = CallTree::build(p, Direction::BottomUp);
        let _ = AllocSummary::build(p, 20);
    } else if has_stacks(&snap.graph, &snap.traces) {
        let index = TraceIndex::build(&snap.traces);
        let stacks = AllocationStacks::build(&snap.graph, &snap.traces, &index, |_| true);
        let _ = CallTree::build(&stacks.profile, Direction::TopDown);
        let _ = CallTree::build(&stacks.profile, Direction::BottomUp);
        let _ = Timeline::of(&snap.graph, &snap.traces);
    }
}

/// Write `index` to this process's scratch file and read it back with the index-cache reader
/// (every check but the key's, which no fuzzed input could match); exercise what it maps.
/// The reader maps a file, so the bytes go through one (in the temp folder, reused each run).
pub fn read_index(index: &[u8]) {
    use std::sync::OnceLock;
    static SCRATCH: OnceLock<std::path::PathBuf> = OnceLock::new();
    let path = SCRATCH.get_or_init(|| {
        std::env::temp_dir().join(format!("heapsight-fuzz-{}.hsidx", std::process::id()))
    });
    // Replaced by rename, never rewritten in place: the previous run's mapping is gone by now,
    // but the reader's contract (indexes change only by rename) is kept all the same.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, index).expect("write the scratch index");
    std::fs::rename(&tmp, path).expect("rename the scratch index");
    if let Ok(data) = heapsight::store::index_cache::read_unkeyed(path) {
        exercise(&data);
    }
}
