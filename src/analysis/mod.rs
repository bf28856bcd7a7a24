//! Analyses over a [`HeapGraph`], each in its own module, with DevTools' rules
//! (see `docs/devtools-rules.md`).

pub mod alloc;
pub mod allocation_stacks;
pub mod big_objects;
pub mod buffer_holders;
pub mod call_tree;
pub mod classes;
pub mod detached;
pub mod diff;
pub mod distances;
pub mod dominators;
pub mod leak_gate;
pub mod leak_paths;
pub mod leaks;
pub mod memory_map;
pub mod retainers;
pub mod shallow;
pub mod strings;
pub mod summary;
pub mod suspects;
pub mod trend;
pub mod wasm_wrappers;

pub use classes::ClassIndex;
pub use dominators::{DominatorTree, RetentionRules, RuleSet, UnsizedDominators};
pub use summary::{ClassRow, Statistics, Summary};

use crate::error::Result;
use crate::model::{Column, HeapGraph, NodeIx, SizeColumn, Snapshot};
use crate::progress::Progress;

/// Options for [`Analysis::run`].
#[derive(Debug, Clone, Copy)]
pub struct AnalysisOptions {
    /// Whose rules to follow (DevTools unless cross-checking with memlab).
    pub rules: RuleSet,
    /// Compute [`Analysis::distances`] (the default). Off for a pass that reads class totals
    /// and nothing else, such as a trend over many snapshots, where the breadth-first search
    /// is about a tenth of the work: `distances` is then empty, [`Analysis::distance`] and the
    /// Summary's distance column say `None`, and such an analysis must not be handed to the
    /// views and reports that follow distances (retainer paths, leaks, detached trees).
    pub distances: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            rules: RuleSet::default(),
            distances: true,
        }
    }
}

/// Per-node results every view needs: shallow sizes, dominators, retained sizes, distances.
///
/// Memory: 4 bytes a node for shallow sizes (none when they are the file's self sizes, as in
/// Node heaps: the column then shares the graph's array), 4 for dominators, 8 for retained sizes, 4 for
/// distances, 1 for detached state when the snapshot has it.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The rules used.
    pub rules: RuleSet,
    /// Shallow size of each node as DevTools shows it (storage re-attributed to owners).
    pub shallow: SizeColumn,
    /// Dominator tree and retained sizes.
    pub dominators: DominatorTree,
    /// Distance from the roots; [`distances::NO_DISTANCE`] for unreachable nodes.
    pub distances: Column<u32>,
    /// Propagated detachedness (empty when the snapshot has none).
    pub detached: Column<u8>,
    /// Parent edges of the distance search: kept from it by [`AnalyzedSnapshot::new`], read
    /// from an index, or else computed on first use.
    parents: std::sync::OnceLock<Column<u32>>,
}

impl Analysis {
    /// Run the per-node analyses.
    pub fn run(g: &HeapGraph, opts: AnalysisOptions, progress: Progress<'_>) -> Result<Self> {
        let (shallow, dominators) = Self::sizes_and_dominators(g, opts.rules, progress)?;
        let distances = if opts.distances {
            progress.step("distances", 0, 1)?;
            distances::compute(g, progress)?
        } else {
            Vec::new()
        };
        progress.step("detachedness", 0, 1)?;
        let detached = classes::propagate_detachedness(g);
        Ok(Self {
            rules: opts.rules,
            shallow,
            dominators,
            distances: distances.into(),
            detached: detached.into(),
            parents: std::sync::OnceLock::new(),
        })
    }

    /// The shallow sizes and the dominator tree (with retained sizes) under `rules`: the part
    /// of [`Analysis::run`] that the others wait for, so a caller with other work to do (a
    /// trend's per-snapshot tables) can run it beside that work.
    pub fn sizes_and_dominators(
        g: &HeapGraph,
        rules: RuleSet,
        progress: Progress<'_>,
    ) -> Result<(SizeColumn, DominatorTree)> {
        progress.step("shallow sizes", 0, 1)?;
        let shallow = Self::shallow_sizes(g, rules, progress)?;
        progress.step("retention rules", 0, 1)?;
        let retention = RetentionRules::for_graph(g, rules);
        let dominators = DominatorTree::compute(g, &retention, |v| shallow.get(v), progress)?;
        Ok((shallow, dominators))
    }

    /// Shallow sizes under `rules` (DevTools moves some self sizes; memlab keeps them).
    fn shallow_sizes(g: &HeapGraph, rules: RuleSet, progress: Progress<'_>) -> Result<SizeColumn> {
        Ok(match rules {
            RuleSet::DevTools => shallow::devtools_sizes(g, progress)?,
            RuleSet::Memlab => g.self_sizes(),
        })
    }

    /// Results from their parts (as read back from an index file); `parents` are the
    /// [`Analysis::parent_edges`] when known.
    pub fn from_parts(
        rules: RuleSet,
        shallow: SizeColumn,
        dominators: DominatorTree,
        distances: Column<u32>,
        detached: Column<u8>,
        parents: Option<Column<u32>>,
    ) -> Self {
        let cell = std::sync::OnceLock::new();
        if let Some(p) = parents {
            let _ = cell.set(p);
        }
        Self {
            rules,
            shallow,
            dominators,
            distances,
            detached,
            parents: cell,
        }
    }

    /// The parent edges if already computed.
    pub fn parent_edges_if_built(&self) -> Option<&[u32]> {
        self.parents.get().map(|c| &c[..])
    }

    /// Shallow size of `n`.
    #[inline]
    pub fn shallow_size(&self, n: NodeIx) -> u64 {
        self.shallow.get(n)
    }

    /// Retained size of `n`.
    #[inline]
    pub fn retained_size(&self, n: NodeIx) -> u64 {
        self.dominators.retained[n as usize]
    }

    /// Immediate dominator of `n` (the root's is itself).
    #[inline]
    pub fn dominator(&self, n: NodeIx) -> NodeIx {
        self.dominators.idom[n as usize]
    }

    /// The edge by which the distance search first reached each node (see
    /// [`distances::parent_edges`]); computed on first use unless already known.
    pub fn parent_edges(&self, g: &HeapGraph) -> &[u32] {
        self.parents.get_or_init(|| {
            distances::parent_edges(g, Progress::default())
                .unwrap_or_default()
                .into()
        })
    }

    /// Distance of `n`, `None` when unreachable.
    pub fn distance(&self, n: NodeIx) -> Option<u32> {
        let d = *self.distances.get(n as usize)?;
        (d != distances::NO_DISTANCE).then_some(d)
    }
}

/// A snapshot with its analyses and class index: what the CLI and GUI work from.
pub struct AnalyzedSnapshot {
    /// The loaded snapshot.
    pub snapshot: Snapshot,
    /// Per-node results.
    pub analysis: Analysis,
    /// Class of each node.
    pub classes: ClassIndex,
    /// The whole-heap Summary and Statistics once worked out (or read from the index cache).
    pub totals: Totals,
}

/// Whole-heap results that take a pass over every node and never change: computed once, kept
/// (a few KiB), and stored in the index cache so that a reopened snapshot prints its Summary
/// without touching its per-node arrays.
#[derive(Debug, Default)]
pub struct Totals {
    summary: std::sync::OnceLock<Summary>,
    statistics: std::sync::OnceLock<Statistics>,
}

impl Totals {
    /// Totals known in advance (from an index).
    pub fn known(summary: Summary, statistics: Statistics) -> Self {
        Self {
            summary: summary.into(),
            statistics: statistics.into(),
        }
    }
}

impl AnalyzedSnapshot {
    /// Analyse a loaded snapshot.
    pub fn new(snapshot: Snapshot, opts: AnalysisOptions, progress: Progress<'_>) -> Result<Self> {
        let g = &snapshot.graph;
        let extra_native = snapshot.info.extra_native_bytes.unwrap_or(0);
        // A big heap's edge arrays and node names and ids are in files (see `model::spill`),
        // and each pass hands back the pages it is done with. First the retention rules (which
        // read WeakMap tables' edge names), on both cores; then the dominator search, the long
        // pole, on this one, beside the passes that need no dominators, one after the other on
        // the other core alone (a third thread would slow the search): detachedness, the
        // classes (which name plain objects by their properties; the edge and node names are
        // handed back after them), the distances and then the shallow sizes, which the two
        // threads share once each is free (see `SharedShallow`); then, beside the
        // semidominator pass, the statistics' sizes by kind and the class counts, which need
        // no dominators. The search waits for the side thread's shallow sizes when it is
        // over, before it hands back the forward edges (which the side passes read too); the
        // retainers go after the semidominators. The distance
        // search also keeps the edge it reached each node by: retainer paths and the index
        // need them, and the search is done before the dominators' anyway, where a search of
        // their own would come later.
        // The side thread reports nothing (the phases shown are this thread's) but stops on
        // cancellation.
        progress.step("retention rules", 0, 1)?;
        let rules = RetentionRules::for_graph(g, opts.rules);
        let side_progress = || {
            if crate::parallel::two_threads() {
                progress.without_reports()
            } else {
                progress
            }
        };
        // The shallow sizes are shared: each thread takes pieces of them once it is free, the
        // side thread after the distances, this one after the search. The sizes by kind are
        // the side thread's alone, after that.
        let shallow_work = shallow::SharedShallow::new(g, opts.rules, extra_native);
        let (side_done, side_is_done) = std::sync::mpsc::channel();
        let (side, main) = crate::parallel::beside(
            || -> Result<_> {
                let side = side_progress();
                crate::parallel::alone(|| {
                    side.step("classes", 0, 1)?;
                    let detached = classes::propagate_detachedness(g);
                    let classes = ClassIndex::build(g, &detached, &snapshot.traces.locations);
                    g.release_edge_names();
                    g.release_node_labels();
                    side.step("distances", 0, 1)?;
                    let found = if opts.distances {
                        let (d, parents) = distances::with_parent_edges(g, side)?;
                        (d, Some(parents.into()))
                    } else {
                        (Vec::new(), None)
                    };
                    let shallow = shallow_work.help_sizes(side);
                    // A send fails only once the main thread has stopped, on its own error.
                    let _ = side_done.send(());
                    // The sizes by kind and the class counts need no dominators: made here,
                    // beside the semidominator pass (whose helper thread waits on it at
                    // times), not before or after it.
                    shallow_work.help(side);
                    let counts = summary::class_counts(g, shallow, &found.0, &classes, |_| true);
                    Ok((found, detached, classes, counts))
                })
            },
            || -> Result<_> {
                // The search waits for the side thread's passes before it hands back the
                // forward edges that they read too.
                let (tree, side_ok) = DominatorTree::compute_unsized_then(
                    g,
                    &rules,
                    || {
                        progress.step("shallow sizes", 0, 1)?;
                        shallow_work.help_sizes(progress);
                        // Nothing comes only when the side thread stopped, with an error of
                        // its own.
                        Ok::<_, crate::error::Error>(side_is_done.recv().is_ok())
                    },
                    progress,
                )?;
                Ok(side_ok?.then_some(tree))
            },
        );
        let ((distances, parents), detached, classes, counts) = side?;
        let tree = main?.ok_or(crate::error::Error::Cancelled)?;
        let (shallow, by_kind) = shallow_work.finish()?;
        // The retained sizes add up in an order of their own, at random; meanwhile the other
        // core makes the dominator tree's child lists, which the class summary needs besides.
        let (dominators, children) = tree.with_sizes_and_children(|v| shallow.get(v), progress)?;
        let totals = Totals::default();
        let total = dominators.retained[g.root() as usize] + extra_native;
        let _ = totals.statistics.set(by_kind.with_total(total));
        let analysis = Analysis::from_parts(
            opts.rules,
            shallow,
            dominators,
            distances.into(),
            detached.into(),
            parents,
        );
        // The class summary, which every face shows first; the child lists go after it
        // (8 bytes a node, made again by a view that walks the tree).
        progress.step("summary", 0, 1)?;
        let summary = Summary::from_counts(
            g,
            &analysis,
            &classes,
            &children,
            counts,
            extra_native,
            |_| true,
        );
        drop(children);
        let _ = totals.summary.set(summary);
        Ok(Self {
            snapshot,
            analysis,
            classes,
            totals,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &HeapGraph {
        &self.snapshot.graph
    }

    /// The class summary.
    pub fn summary(&self) -> Summary {
        self.summary_ref().clone()
    }

    /// The class summary, worked out once (or read from the index) and kept.
    pub fn summary_ref(&self) -> &Summary {
        self.totals.summary.get_or_init(|| {
            Summary::build(
                self.graph(),
                &self.analysis,
                &self.classes,
                self.snapshot.info.extra_native_bytes.unwrap_or(0),
            )
        })
    }

    /// The class summary of the nodes `keep` says yes to (see [`Summary::build_where`]).
    pub fn summary_where(&self, keep: impl Fn(NodeIx) -> bool + Sync) -> Summary {
        Summary::build_where(
            self.graph(),
            &self.analysis,
            &self.classes,
            self.snapshot.info.extra_native_bytes.unwrap_or(0),
            keep,
        )
    }

    /// The class summary of the objects allocated in `range` of the samples timeline
    /// (DevTools' Allocation timeline Summary).
    pub fn summary_allocated_in(&self, range: &allocation_stacks::TimeRange) -> Summary {
        let g = self.graph();
        self.summary_where(|n| range.contains(g, n))
    }

    /// Make the summary and the statistics, for a face about to show both. [`Self::new`]
    /// makes both, and an index holds both; when neither is made (a trend's snapshots are
    /// analysed another way), one on each core: they read different things, the dominator
    /// tree and the nodes in order.
    pub fn prepare_totals(&self) {
        if self.totals.summary.get().is_none() && self.totals.statistics.get().is_none() {
            crate::parallel::beside(
                || {
                    self.statistics_ref();
                },
                || {
                    self.summary_ref();
                },
            );
        }
        self.statistics_ref();
        self.summary_ref();
    }

    /// The statistics.
    pub fn statistics(&self) -> Statistics {
        self.statistics_ref().clone()
    }

    /// Statistics by category, worked out once (or read from the index) and kept.
    pub fn statistics_ref(&self) -> &Statistics {
        self.totals.statistics.get_or_init(|| {
            Statistics::build(
                self.graph(),
                &self.analysis,
                self.snapshot.info.extra_native_bytes.unwrap_or(0),
            )
        })
    }

    /// Class name of `n`.
    pub fn class_name(&self, n: NodeIx) -> &str {
        self.classes.name_of(n)
    }

    /// What to call `n` in a retainer path: its class, or its own name for the synthetic
    /// roots (`(GC roots)`, `(Stack roots)`, …) whose class, `(synthetic)`, says nothing.
    pub fn path_label(&self, n: NodeIx) -> &str {
        let g = self.graph();
        if g.kind(n) == crate::model::NodeKind::Synthetic && !g.name(n).is_empty() {
            g.name(n)
        } else {
            self.class_name(n)
        }
    }
}
