//! DevTools' shallow sizes: the self size of internal storage (hidden and array nodes, and
//! external string data) is moved to the one JS object that owns it, when there is exactly one.
//! So a `Map` shows the size of its backing tables as its own, as in the DevTools Summary.
//!
//! [`SharedShallow`] works them out, and the Statistics' sizes by kind after them, in pieces
//! that two threads share as each becomes free (see `AnalyzedSnapshot::new`).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use fixedbitset::FixedBitSet;

use super::dominators::RuleSet;
use super::summary::{KindNames, Statistics};
use crate::error::{Error, Result};
use crate::model::v8_rules::{is_user_root, EXTERNAL_STRING_DATA};
use crate::model::{HeapGraph, NodeIx, NodeKind, SizeColumn};
use crate::parallel::{lock, SharedPieces};
use crate::progress::Progress;

const NO_OWNER: u32 = u32::MAX;
const MANY_OWNERS: u32 = u32::MAX - 1;

/// Pieces each pass is cut into: enough that the thread that comes second still gets a share,
/// few enough that taking one costs nothing.
const PIECES: usize = 64;

/// Storage nodes whose size goes to their owner.
fn is_owned_kind(g: &HeapGraph, n: NodeIx) -> bool {
    match g.kind(n) {
        NodeKind::Hidden | NodeKind::Array => true,
        NodeKind::Native => g.name(n) == EXTERNAL_STRING_DATA,
        _ => false,
    }
}

/// Self sizes as DevTools shows them. Only snapshots with user roots are re-attributed (as in
/// DevTools); otherwise these are the file's sizes.
pub fn devtools_sizes(g: &HeapGraph, progress: Progress<'_>) -> Result<SizeColumn> {
    let work = SharedShallow::with_kind_pieces(g, RuleSet::DevTools, 0, 0);
    work.help(progress);
    Ok(work.finish()?.0)
}

/// Where the owners are: not found yet, found (`None`: nothing is moved, by memlab's rules or
/// with no user roots), or used and dropped (4 bytes a node less for the passes after).
enum OwnersState {
    NotYet,
    Found(Option<Arc<Owners>>),
    Used,
}

/// The owned nodes, and the owner each has so far: none, one (the node its walk started
/// from), or many. Atomic, as the two threads' walks meet.
struct Owners {
    owned: FixedBitSet,
    owner: Vec<AtomicU32>,
}

/// The shallow sizes (by `rules`) and the sizes by kind, as work for whichever threads
/// [`help`](Self::help): the owners' walks, from each piece of the nodes in turn; the sizes
/// moved to the owners, by the first thread done with the walks; then the sizes by kind, in
/// pieces again. The numbers do not depend on which thread does what: a node's owner is
/// the one node whose walk reaches it (through owned nodes), or "many" when two do, in
/// whatever order the walks get there.
pub(crate) struct SharedShallow<'g> {
    g: &'g HeapGraph,
    rules: RuleSet,
    extra_native: u64,
    /// The owners, found by the first thread here and dropped once the sizes are moved.
    owners: Mutex<OwnersState>,
    walks: SharedPieces,
    /// The sizes, moved by the first thread done with the walks.
    sizes: OnceLock<SizeColumn>,
    /// The names the sizes by kind need, found meanwhile by the second (if there is one).
    names: OnceLock<KindNames>,
    /// Set by the first thread to get past the walks.
    sizes_taken: AtomicBool,
    kinds: SharedPieces,
    by_kind: Mutex<Statistics>,
    /// Set when a thread was cancelled: the others skip their pieces.
    cancelled: AtomicBool,
}

impl<'g> SharedShallow<'g> {
    /// The work for `g`, not started; `extra_native` bytes go to the native sizes.
    pub fn new(g: &'g HeapGraph, rules: RuleSet, extra_native: u64) -> Self {
        Self::with_kind_pieces(g, rules, extra_native, PIECES)
    }

    /// The work, with the sizes by kind in `kind_pieces` pieces (none: not wanted).
    fn with_kind_pieces(
        g: &'g HeapGraph,
        rules: RuleSet,
        extra_native: u64,
        kind_pieces: usize,
    ) -> Self {
        Self {
            g,
            rules,
            extra_native,
            owners: Mutex::new(OwnersState::NotYet),
            walks: SharedPieces::new(PIECES),
            sizes: OnceLock::new(),
            names: OnceLock::new(),
            sizes_taken: AtomicBool::new(false),
            kinds: SharedPieces::new(kind_pieces),
            by_kind: Mutex::new(Statistics::default()),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Do pieces of the work until none is left to take (waiting where a step needs the one
    /// before it done): the sizes ([`help_sizes`](Self::help_sizes), which returns at once
    /// when they are made), then the sizes by kind. Cancellation is kept for
    /// [`finish`](Self::finish) to report.
    pub fn help(&self, progress: Progress<'_>) {
        let g = self.g;
        let sizes = self.help_sizes(progress);
        let names = self.names.get_or_init(|| KindNames::of(g));
        // Arrays' edges (with their names) and the nodes' names are read in node order:
        // spilled pages behind are handed back after each piece, with what the passes before
        // left in (a search still running brings back what it needs). Not the retainers, which
        // the semidominator pass may be reading meanwhile.
        let release = || {
            g.release_forward_edges();
            g.release_edge_names();
            g.release_node_labels();
        };
        self.kinds.work(|i| {
            if self.go_on(progress, PIECES + i) {
                let part = Statistics::by_kind_in(g, names, |v| sizes.get(v), self.piece(i));
                lock(&self.by_kind).add(&part);
            }
            release();
        });
        release();
    }

    /// Piece `i` of the nodes.
    fn piece(&self, i: usize) -> std::ops::Range<NodeIx> {
        let n = self.g.node_count();
        (n * i / PIECES) as NodeIx..(n * (i + 1) / PIECES) as NodeIx
    }

    /// Whether to do step `i` (of the walks' pieces, then the kinds'): not once cancelled.
    fn go_on(&self, progress: Progress<'_>, i: usize) -> bool {
        let ok = !self.cancelled.load(Ordering::Relaxed)
            && progress
                .step("shallow sizes", i as u64, 2 * PIECES as u64)
                .is_ok();
        if !ok {
            self.cancelled.store(true, Ordering::Relaxed);
        }
        ok
    }

    /// The part of [`help`](Self::help) the shallow sizes need (the owners' walks, then the
    /// sizes moved), waiting for the other thread's last walks; returns the sizes.
    pub fn help_sizes(&self, progress: Progress<'_>) -> &SizeColumn {
        let g = self.g;
        let owners = {
            let mut state = lock(&self.owners);
            if let OwnersState::NotYet = *state {
                *state = OwnersState::Found(self.find_owned().map(Arc::new));
            }
            match &*state {
                OwnersState::Found(owners) => owners.clone(),
                _ => None,
            }
        };
        if let Some(owners) = owners {
            let mut stack = Vec::new();
            self.walks.work(|i| {
                if self.go_on(progress, i) {
                    walk_owners(g, &owners, self.piece(i), &mut stack);
                }
            });
            self.walks.wait();
        }
        // The first thread here moves the sizes; a second one finds the names meanwhile.
        if self.sizes_taken.swap(true, Ordering::Relaxed) {
            self.names.get_or_init(|| KindNames::of(g));
        }
        self.sizes.get_or_init(|| {
            let owners = match std::mem::replace(&mut *lock(&self.owners), OwnersState::Used) {
                OwnersState::Found(owners) => owners,
                _ => None,
            };
            self.move_sizes(owners.as_deref())
        })
    }

    /// The shallow sizes and the sizes by kind, once every piece is done.
    pub fn finish(self) -> Result<(SizeColumn, Statistics)> {
        self.kinds.wait();
        if self.cancelled.into_inner() {
            return Err(Error::Cancelled);
        }
        let mut by_kind = std::mem::take(&mut *lock(&self.by_kind));
        by_kind.native += self.extra_native;
        let sizes = self.sizes.into_inner().expect("made before the last piece");
        Ok((sizes, by_kind))
    }

    /// The owned nodes, if the sizes are re-attributed at all.
    fn find_owned(&self) -> Option<Owners> {
        let g = self.g;
        if self.rules == RuleSet::Memlab || !g.edges(g.root()).any(|e| is_user_root(g, e.to)) {
            return None;
        }
        let n = g.node_count();
        let mut owned = FixedBitSet::with_capacity(n);
        for v in 0..n as NodeIx {
            if is_owned_kind(g, v) {
                owned.insert(v as usize);
            }
        }
        let owner = (0..n).map(|_| AtomicU32::new(NO_OWNER)).collect();
        Some(Owners { owned, owner })
    }

    /// The file's self sizes, with each owned node's moved to its one owner.
    fn move_sizes(&self, owners: Option<&Owners>) -> SizeColumn {
        let g = self.g;
        let mut sizes = g.self_sizes();
        let Some(owners) = owners else {
            return sizes;
        };
        let root = g.root();
        sizes.move_values(owners.owner.iter().enumerate().filter_map(|(x, o)| {
            let o = o.load(Ordering::Relaxed);
            let moved = !(o == NO_OWNER
                || o == MANY_OWNERS
                || o == root
                || g.kind(o) == NodeKind::Synthetic);
            moved.then_some((x as NodeIx, o))
        }));
        sizes
    }
}

/// Walk from each node of `starts` that is not owned through the owned nodes it reaches
/// (along edges that are not weak), marking it their owner, or "many" where another walk
/// got there first. Each owned node's owner goes none → one → many, so a node is walked
/// through at most twice: this is linear.
fn walk_owners(
    g: &HeapGraph,
    owners: &Owners,
    starts: std::ops::Range<NodeIx>,
    stack: &mut Vec<NodeIx>,
) {
    // Slices taken once, and which edge types are weak: the loop runs once an edge.
    let (edges, weak) = (g.edge_arrays(), g.weak_edge_types());
    let Owners { owned, owner } = owners;
    for s in starts {
        if owned.contains(s as usize) {
            continue;
        }
        stack.push(s);
        while let Some(v) = stack.pop() {
            for e in edges.range(v) {
                if weak[edges.types[e] as usize] {
                    continue;
                }
                let t = edges.to[e];
                if !owned.contains(t as usize) {
                    continue;
                }
                let o = &owner[t as usize];
                let mut seen = o.load(Ordering::Relaxed);
                loop {
                    let next = match seen {
                        NO_OWNER => s,
                        x if x == s || x == MANY_OWNERS => break,
                        _ => MANY_OWNERS,
                    };
                    match o.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed)
                    {
                        Ok(_) => {
                            stack.push(t);
                            break;
                        }
                        Err(now) => seen = now,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes and the sizes by kind are the same whoever works them out: one thread alone,
    /// or two at once in whatever order they take the pieces; and equal to the sizes by kind
    /// worked out in one pass.
    #[test]
    fn two_threads_sharing_the_pieces_equal_one_alone() {
        let snap = crate::formats::load_sample("node-leak/target.heapsnapshot");
        let g = &snap.graph;
        let alone = SharedShallow::new(g, RuleSet::DevTools, 5);
        alone.help(Progress::default());
        let (sizes, by_kind) = alone.finish().unwrap();
        let n = g.node_count() as NodeIx;
        let moved = (0..n).filter(|&v| sizes.get(v) != g.self_size(v)).count();
        assert!(moved > 100, "only {moved} sizes moved");
        assert_eq!(by_kind, Statistics::by_kind(g, |v| sizes.get(v), 5));
        for _ in 0..20 {
            let shared = SharedShallow::new(g, RuleSet::DevTools, 5);
            std::thread::scope(|s| {
                s.spawn(|| shared.help(Progress::default()));
                shared.help(Progress::default());
            });
            let (two, two_by_kind) = shared.finish().unwrap();
            assert!((0..n).all(|v| two.get(v) == sizes.get(v)));
            assert_eq!(two_by_kind, by_kind);
        }
        // memlab's rules move nothing.
        let memlab = SharedShallow::new(g, RuleSet::Memlab, 0);
        memlab.help(Progress::default());
        let (kept, _) = memlab.finish().unwrap();
        assert!((0..n).all(|v| kept.get(v) == g.self_size(v)));
    }

    /// A cancelled helper's work is reported as cancelled, with no wait for ever.
    #[test]
    fn cancelled_work_says_so() {
        let snap = crate::formats::load_sample("node-leak/target.heapsnapshot");
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let work = SharedShallow::new(&snap.graph, RuleSet::DevTools, 0);
        work.help(Progress::new(None, Some(&cancel)));
        assert!(matches!(work.finish(), Err(Error::Cancelled)));
    }
}
