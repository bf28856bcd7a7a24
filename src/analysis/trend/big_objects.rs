//! Objects whose retained size keeps growing: where the memory a program adds piles up when
//! it adds no objects a class or collection series can see. A string built by `log += line`
//! is a new string each time (strings are V8's own class, which never trips the gate), and an
//! array of numbers or a `Set` of small numbers grows by replacing its element store; the
//! object that holds them is old, and its retained size grows in every step.
//!
//! **Recorded per snapshot** (about [`MAX_HOLDERS`] × 16 bytes): the objects (and closure
//! scopes) that retain at least [`MIN_RETAINED`], the biggest first, each with the id of its
//! nearest recorded dominator.
//!
//! **Reported** ([`holder_series`]): an object of the last snapshot that was in every one
//! (matched by id), whose retained size grew in a run of steps, and whose growth is not mostly
//! that of one recorded object it dominates (that one is reported instead, nearer to where the
//! memory is added): the Map whose entries each grow, not the scope that holds the Map.

use std::sync::Arc;

use super::extract::SnapshotPart;
use super::{Series, SeriesKind};
use crate::analysis::retainers::slot_names_unsorted;
use crate::analysis::AnalyzedSnapshot;
use crate::model::v8_rules::{is_system_name, CONTEXT};
use crate::model::{FxHashMap, FxHashSet, NodeIx, NodeKind};

/// Objects retaining less than this are not recorded (in that snapshot the series reads this
/// value: what it retained is known to be no more).
pub const MIN_RETAINED: u64 = 4096;

/// The most objects recorded per snapshot, the biggest first.
pub const MAX_HOLDERS: usize = 100_000;

/// Recorded objects retaining at least this get their names (what holds them) too.
const NAMED_FROM: u64 = 16 * 1024;

/// How many dominators up a recorded object's parent is looked for.
const PARENT_STEPS: usize = 4096;

/// One recorded object in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HeldBytes {
    /// Its id.
    pub id: u32,
    /// The id of its nearest dominator that is recorded too (0: none).
    pub parent: u32,
    /// Its retained size.
    pub retained: u64,
}

/// The objects one snapshot records ([`HeldBytes`]), sorted by id.
#[derive(Debug, Clone, Default)]
pub(super) struct BigObjects {
    rows: Vec<HeldBytes>,
    /// What an object of the snapshot that is not recorded retains at most.
    floor: u64,
    /// Class of each row (same order as `rows`).
    classes: Vec<Arc<str>>,
    /// What the program calls the biggest rows (see [`names_of`]), by id; sorted by id.
    names: Vec<(u32, Vec<String>)>,
}

/// Can `n` be where a program's memory piles up: one of its objects or functions, or a
/// closure's scope (its variables)?
fn is_holder_kind(s: &AnalyzedSnapshot, n: NodeIx) -> bool {
    let g = s.graph();
    let name = g.name(n);
    match g.kind(n) {
        // V8 writes closure scopes as objects or as hidden nodes, by version.
        NodeKind::Object | NodeKind::Closure => !is_system_name(name) || name == CONTEXT,
        NodeKind::Hidden => name == CONTEXT,
        _ => false,
    }
}

/// What the program calls `n`. A closure's scope is named by the variable in it that retains
/// the most (`closure variable log`); anything else by the slots that hold it.
fn names_of(s: &AnalyzedSnapshot, n: NodeIx) -> Vec<String> {
    let g = s.graph();
    let a = &s.analysis;
    if g.name(n) == CONTEXT {
        let biggest = g
            .edges(n)
            .filter(|e| e.kind == crate::model::EdgeKind::Context && a.dominator(e.to) == n)
            .max_by_key(|e| a.retained_size(e.to));
        return biggest.map_or_else(Vec::new, |e| slot_names_unsorted(s, e.to, 1));
    }
    slot_names_unsorted(s, n, super::extract::COLLECTION_NAMES)
}

/// The recorded nodes and their dominator tree: each one's nearest recorded dominator.
struct RecordedTree {
    /// Row of each recorded node.
    row_of: FxHashMap<NodeIx, u32>,
    /// Per row, the row of its nearest recorded dominator ([`NONE`] when there is none within
    /// [`PARENT_STEPS`]).
    up: Vec<u32>,
}

/// No row.
const NONE: u32 = u32::MAX;

impl RecordedTree {
    fn new(s: &AnalyzedSnapshot, nodes: &[NodeIx]) -> Self {
        let row_of: FxHashMap<NodeIx, u32> = nodes
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i as u32))
            .collect();
        let mut t = Self {
            row_of,
            up: Vec::new(),
        };
        t.up = nodes.iter().map(|&n| t.nearest(s, n)).collect();
        t
    }

    /// The row of `n`'s nearest recorded dominator (not `n` itself).
    fn nearest(&self, s: &AnalyzedSnapshot, n: NodeIx) -> u32 {
        let (a, root) = (&s.analysis, s.graph().root());
        let mut d = n;
        for _ in 0..PARENT_STEPS {
            let up = a.dominator(d);
            if up == d || up == root {
                return NONE;
            }
            if let Some(&row) = self.row_of.get(&up) {
                return row;
            }
            d = up;
        }
        NONE
    }

    /// Per row, the bytes of V8's compiled code and shapes among what it retains. Functions
    /// are compiled lazily and optimised as they get hot, and the code hangs under the
    /// closures and scopes that hold them, so a clean program's module scope grows for a
    /// while with nothing of the program's in it: the growth followed is of the rest. Each
    /// such node's size goes to its nearest recorded dominator, and each row's sum then to
    /// the rows above it, the deepest first.
    fn engine_bytes(&self, s: &AnalyzedSnapshot) -> Vec<u64> {
        let (g, a) = (s.graph(), &s.analysis);
        let mut total = vec![0u64; self.up.len()];
        for n in 0..g.node_count() as NodeIx {
            if matches!(g.kind(n), NodeKind::Code | NodeKind::ObjectShape) {
                let size = a.shallow_size(n);
                let row = if size > 0 { self.nearest(s, n) } else { NONE };
                if row != NONE {
                    total[row as usize] += size;
                }
            }
        }
        let depth = self.depths();
        let mut deepest_first: Vec<u32> = (0..self.up.len() as u32).collect();
        deepest_first.sort_unstable_by_key(|&r| std::cmp::Reverse(depth[r as usize]));
        for r in deepest_first {
            let up = self.up[r as usize];
            if up != NONE {
                total[up as usize] += total[r as usize];
            }
        }
        total
    }

    /// Per row, how many recorded dominators are above it.
    fn depths(&self) -> Vec<u32> {
        let mut depth = vec![NONE; self.up.len()];
        let mut path = Vec::new();
        for r in 0..self.up.len() {
            let mut x = r as u32;
            while x != NONE && depth[x as usize] == NONE {
                path.push(x);
                x = self.up[x as usize];
            }
            let mut d = if x == NONE { 0 } else { depth[x as usize] + 1 };
            while let Some(y) = path.pop() {
                depth[y as usize] = d;
                d += 1;
            }
        }
        depth
    }
}

impl BigObjects {
    /// Record the snapshot's biggest holders.
    pub(super) fn record(s: &AnalyzedSnapshot, class_name: impl Fn(NodeIx) -> Arc<str>) -> Self {
        let g = s.graph();
        let a = &s.analysis;
        let root = g.root();
        let mut big: Vec<(u64, NodeIx)> = (0..g.node_count() as NodeIx)
            .filter(|&n| n != root && a.retained_size(n) >= MIN_RETAINED && is_holder_kind(s, n))
            .map(|n| (a.retained_size(n), n))
            .collect();
        let mut floor = MIN_RETAINED;
        if big.len() > MAX_HOLDERS {
            big.select_nth_unstable_by(MAX_HOLDERS - 1, |x, y| y.0.cmp(&x.0));
            big.truncate(MAX_HOLDERS);
            floor = big.iter().map(|b| b.0).min().unwrap_or(MIN_RETAINED);
        }
        let nodes: Vec<NodeIx> = big.iter().map(|b| b.1).collect();
        let tree = RecordedTree::new(s, &nodes);
        let engine = tree.engine_bytes(s);
        let mut rows: Vec<(HeldBytes, NodeIx)> = big
            .iter()
            .enumerate()
            .map(|(i, &(retained, n))| {
                let up = tree.up[i];
                let row = HeldBytes {
                    id: g.id(n),
                    parent: if up == NONE {
                        0
                    } else {
                        g.id(nodes[up as usize])
                    },
                    retained: retained.saturating_sub(engine[i]),
                };
                (row, n)
            })
            .collect();
        rows.sort_by_key(|r| r.0.id);
        rows.dedup_by_key(|r| r.0.id);
        let names = rows
            .iter()
            .filter(|r| r.0.retained >= NAMED_FROM)
            .map(|&(r, n)| (r.id, names_of(s, n)))
            .filter(|x| !x.1.is_empty())
            .collect();
        Self {
            classes: rows.iter().map(|&(_, n)| class_name(n)).collect(),
            rows: rows.into_iter().map(|r| r.0).collect(),
            floor,
            names,
        }
    }

    /// What object `id` retained in this snapshot: its row's figure, or the floor when it is
    /// not recorded (it retained no more than that).
    fn retained(&self, id: u32) -> u64 {
        self.row(id).map_or(self.floor, |i| self.rows[i].retained)
    }

    fn row(&self, id: u32) -> Option<usize> {
        self.rows.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// Its class names, shared with the trend's other names.
    pub(super) fn share_names(&mut self, share: &mut impl FnMut(&mut Arc<str>)) {
        self.classes.iter_mut().for_each(share);
    }

    /// Drop the names (kept only for the snapshot the trend ends with).
    pub(super) fn forget_names(&mut self) {
        self.names = Vec::new();
    }
}

/// The series of the objects whose retained size grew (see the module docs). `born` is, per
/// id of the last snapshot (in id order), the step its presence began (0: in every snapshot);
/// `followed` the ids that have a series already (collections, buffer holders); only growth of
/// at least `min_bytes` is listed.
pub(super) fn holder_series(
    parts: &[SnapshotPart],
    born: &[u16],
    followed: &FxHashSet<u32>,
    min_bytes: u64,
) -> Vec<Series> {
    let last = &parts[parts.len() - 1];
    let rows = &last.big_objects.rows;
    // Which rows of the last snapshot were in every snapshot (both lists are in id order).
    let mut in_all = vec![false; rows.len()];
    let mut ids = last.ids.iter().zip(born).peekable();
    for (i, r) in rows.iter().enumerate() {
        while ids.next_if(|&(id, _)| id < r.id).is_some() {}
        in_all[i] = ids.peek().is_some_and(|&(id, &b)| id == r.id && b == 0);
    }
    let series: Vec<Option<Series>> = rows
        .iter()
        .zip(&in_all)
        .map(|(r, &old)| {
            old.then(|| {
                let bytes: Vec<u64> = parts.iter().map(|p| p.big_objects.retained(r.id)).collect();
                Series::new(
                    SeriesKind::Holder,
                    String::new(),
                    Some(r.id),
                    bytes.clone(),
                    bytes,
                )
            })
        })
        .collect();
    // The most any recorded object directly below each one grew.
    let mut below: FxHashMap<u32, i64> = FxHashMap::default();
    for (r, s) in rows.iter().zip(&series) {
        if let (Some(s), true) = (s, r.parent != 0) {
            let m = below.entry(r.parent).or_insert(0);
            *m = (*m).max(s.bytes_added);
        }
    }
    let mut out = Vec::new();
    for ((i, r), s) in rows.iter().enumerate().zip(series) {
        let Some(mut s) = s else { continue };
        let grew = s.bytes_added;
        let mostly_below = below.get(&r.id).is_some_and(|&b| 2 * b >= grew);
        let climbs = s.verdict.is_growth()
            || super::verdict::most_growth_in_staircase(&s.bytes, parts.len() - 1) > 0;
        if !climbs || grew < min_bytes as i64 || mostly_below || followed.contains(&r.id) {
            continue;
        }
        s.class = last.big_objects.classes[i].to_string();
        s.held_as = last
            .big_objects
            .names
            .binary_search_by_key(&r.id, |x| x.0)
            .map(|j| last.big_objects.names[j].1.clone())
            .unwrap_or_default();
        out.push(s);
    }
    out
}
