//! The analysis on one thread (`HEAPSIGHT_THREADS=1`, set before anything asks): the work
//! that two threads share out is then done in a fixed order, which makes sure the paths that
//! depend on which thread is free first are run. Its own test binary, as the thread count is
//! read once a process.

mod common;

use common::{analyze_file, sample};
use heapsight::analysis::{RuleSet, Statistics, Summary};

/// On one thread the side work (classes, distances, then shallow sizes and the statistics'
/// sizes by kind) runs before the dominator search: the statistics come from the analysis
/// itself, and must equal the ones worked out afterwards from its results. So must the class
/// summary, which the analysis works out from class counts made beside the retained sizes.
#[test]
fn totals_worked_out_with_the_dominators_equal_those_after() {
    std::env::set_var("HEAPSIGHT_THREADS", "1");
    assert!(!heapsight::parallel::two_threads());
    for rel in [
        "node-leak/target.heapsnapshot",
        "node-timeline/alloc.heaptimeline",
    ] {
        for rules in [RuleSet::DevTools, RuleSet::Memlab] {
            let s = analyze_file(&sample(rel), rules);
            let extra = s.snapshot.info.extra_native_bytes.unwrap_or(0);
            let after = Statistics::build(s.graph(), &s.analysis, extra);
            assert!(after.total > 0 && after.strings > 0, "{rel}");
            assert_eq!(s.statistics(), after, "{rel} {rules:?}");
            let summary = Summary::build(s.graph(), &s.analysis, &s.classes, extra);
            let early = s.summary();
            assert!(summary.classes.len() > 10, "{rel}");
            assert_eq!(early.classes, summary.classes, "{rel} {rules:?}");
            assert_eq!(
                (early.node_count, early.edge_count, early.total_size),
                (summary.node_count, summary.edge_count, summary.total_size)
            );
        }
    }
}
