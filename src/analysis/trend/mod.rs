//! Growth trends across N ≥ 2 snapshots of one process: which classes, collections and buffers
//! grow step after step, which of their objects are new in each step and never freed, and a
//! gate for CI.
//!
//! **Order.** Snapshots are put in the order they were taken by their own clock, the highest
//! V8 object id ([`crate::store::Document::taken_order`]: V8 numbers objects in allocation
//! order and never reuses an id), when every snapshot has one; else in the order given.
//! [`Trend::order`] says which.
//!
//! **Series.** One per class (the Summary's class names: objects, shallow and retained bytes),
//! one per collection alive in the last snapshot (matched by node id; entries by the rule of
//! its [`CollectionKind`], bytes = its retained size; absent from a snapshot = 0 entries), one
//! for all `ArrayBuffer` backing stores, one per holder of backing stores (see
//! [`crate::analysis::memory_map`], matched by the holder's id) and one per
//! `WebAssembly.Memory` (bytes; pages as its count). Each gets a [`Verdict`] on its main metric
//! (objects, entries, or bytes for buffers and memories), slopes per step, and what it added
//! from the first snapshot to the last; series are ranked by bytes added.
//!
//! **Survivors, exactly.** An object is *new in step k* (k = 1 … N−1, snapshot k counted from
//! 0) when its id is in snapshot k but not in snapshot k−1, and *alive at the end* when its id
//! is in every snapshot from k to the last. For each class and step, [`Series::new_alive`]
//! counts the objects of the last snapshot that are new in that step and alive at the end;
//! "new in every step and never freed" is then every entry of it being non-zero, not a
//! difference of counts. [`Series::newest_ids`] lists the newest of them (new in the last
//! step), highest id first, for the app to select and show a retainer path.
//!
//! **Memory.** Snapshots are read one at a time and dropped ([`TrendBuilder`]): per snapshot
//! the trend keeps its class totals (one row per class), 16 bytes per collection, the memory
//! map's figures, and its node ids (sorted and gap-encoded: about 1 byte a node, V8 numbering
//! objects 2 apart); the snapshot that ends the trend keeps each node's class too (4 bytes a
//! node). Counting survivors walks the sorted id lists pairwise into the step each node of the
//! last snapshot appeared in, 2 bytes a node. No graph is kept. (10 snapshots of ~200 MB keep
//! ~25 MB between them; the peak is one open snapshot's.)

mod extract;
mod holders;
pub mod verdict;

pub use extract::{
    ClassTotals, CollectionKind, CollectionSize, PendingPart, SnapshotPart, MANY_ENTRIES,
    MIN_RECORDED_OBJECT_ENTRIES, NEWEST_STACK_FRAMES,
};
pub use verdict::Verdict;

use std::sync::Arc;

use serde::Serialize;

use super::allocation_stacks::StackFrame;
use super::leak_gate::{IgnoreMatch, IgnoreRules, Limits};
use crate::model::v8_rules::is_engine_class_name;
use crate::model::FxHashSet;
use crate::store::Document;
use extract::UNCOUNTED;

/// Default for [`TrendOptions::min_bytes`]: a series must have added 16 KiB from the first
/// snapshot to the last to trip the gate. A leak that grows in every step adds at least that
/// over a few steps (400 objects of 40 bytes); what a clean Node process adds in every step is
/// far less (the `node-noleak` trio: 88 bytes, one plain `Object` a step; V8's own classes,
/// such as compiled code, never trip the gate).
pub const DEFAULT_MIN_BYTES: u64 = 16 * 1024;

/// Newest objects listed per series.
pub const NEWEST_IDS: usize = 50;

/// The gate's limits and what to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendOptions {
    /// Consecutive growing steps a series needs to trip the gate; `None`: every step.
    pub min_steps: Option<usize>,
    /// Bytes a series must have added, first snapshot to last, to trip the gate.
    pub min_bytes: u64,
}

impl Default for TrendOptions {
    fn default() -> Self {
        Self {
            min_steps: None,
            min_bytes: DEFAULT_MIN_BYTES,
        }
    }
}

/// How the snapshots were put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    /// By each snapshot's highest V8 object id.
    SnapshotClock,
    /// As given (some snapshot had no clock).
    Given,
}

/// What a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// All objects of a class.
    Class,
    /// One collection, matched by node id.
    Collection(CollectionKind),
    /// All `ArrayBuffer` backing stores (not WebAssembly memory).
    ArrayBuffers,
    /// The backing stores one object holds, matched by its id.
    BufferHolder,
    /// One `WebAssembly.Memory`, matched by id; its count is pages.
    WasmMemory,
    /// One object whose retained size grew, matched by id (see [`crate::analysis::big_objects`]); its count
    /// is that size too.
    Holder,
}

impl SeriesKind {
    /// What the count of this series counts.
    pub fn count_unit(self) -> &'static str {
        match self {
            SeriesKind::Class => "objects",
            SeriesKind::Collection(_) => "entries",
            SeriesKind::ArrayBuffers | SeriesKind::BufferHolder => "buffers",
            SeriesKind::WasmMemory => "pages",
            SeriesKind::Holder => "retained bytes",
        }
    }

    /// Is the verdict judged on bytes (else on the count)?
    pub fn judged_on_bytes(self) -> bool {
        matches!(
            self,
            SeriesKind::ArrayBuffers
                | SeriesKind::BufferHolder
                | SeriesKind::WasmMemory
                | SeriesKind::Holder
        )
    }
}

/// What the gate decided for one series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SeriesGate {
    /// Grew in at least `min_steps` consecutive steps and added at least the bytes.
    Tripped,
    /// Below the limits.
    Passed,
    /// V8's own classes (`(string)`, `(compiled code)`, `system / …`) never trip the gate:
    /// they grow with whatever holds them, which has a series of its own.
    Engine,
    /// An ignore rule names its class.
    Ignored {
        /// The rule's line.
        line: usize,
        /// The rule as written.
        rule: String,
    },
}

/// One series over the snapshots, in trend order.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// What it is.
    pub kind: SeriesKind,
    /// Its class (in the last snapshot it is in).
    pub class: String,
    /// The node id of a collection, holder or memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// A collection's names in the last snapshot: the named slots that hold it (`closure
    /// variable sessions`, `Cache.items`; see
    /// [`slot_names`](crate::analysis::retainers::slot_names)), for one of at least
    /// [`MANY_ENTRIES`](extract::MANY_ENTRIES) entries there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_as: Vec<String>,
    /// Objects, entries, buffers or pages per snapshot ([`SeriesKind::count_unit`]).
    pub counts: Vec<u64>,
    /// Bytes per snapshot: shallow for classes, retained for collections, backing store bytes
    /// for buffers and memories.
    pub bytes: Vec<u64>,
    /// Classes: retained bytes per snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retained: Option<Vec<u64>>,
    /// The verdict on its main metric.
    pub verdict: Verdict,
    /// The longest run of consecutive steps in which the main metric grew.
    pub growing_steps: usize,
    /// Count added, last snapshot minus first.
    pub count_added: i64,
    /// Bytes added, last snapshot minus first.
    pub bytes_added: i64,
    /// Count added per step.
    pub count_per_step: f64,
    /// Bytes added per step.
    pub bytes_per_step: f64,
    /// Classes: `new_alive[k-1]` is how many objects of the class in the last snapshot are new
    /// in step k and alive at the end (see the module docs), for k = 1 … N−1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_alive: Option<Vec<u64>>,
    /// Classes: ids of up to [`NEWEST_IDS`] objects new in the last step, highest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub newest_ids: Vec<u32>,
    /// Growing classes, when the last snapshot carries allocation stacks: the stack of the
    /// class's newest object that has one (highest id), innermost frame first, at most
    /// [`NEWEST_STACK_FRAMES`] frames.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub newest_stack: Vec<StackFrame>,
    /// The gate's decision.
    pub gate: SeriesGate,
}

impl Series {
    /// A name for tables: the class, with the id of a collection, holder or memory.
    pub fn label(&self) -> String {
        match (self.kind, self.id) {
            (SeriesKind::ArrayBuffers, _) => "ArrayBuffer backing stores".to_string(),
            (SeriesKind::BufferHolder, Some(id)) => {
                format!("buffers held by {} @{id}", self.class)
            }
            (SeriesKind::WasmMemory, Some(id)) => format!("WebAssembly.Memory @{id}"),
            (_, Some(id)) if !self.held_as.is_empty() => {
                format!("{} @{id} ({})", self.class, self.held_as.join(", "))
            }
            (_, Some(id)) => format!("{} @{id}", self.class),
            (_, None) => self.class.clone(),
        }
    }

    /// Did it trip the gate?
    pub fn tripped(&self) -> bool {
        self.gate == SeriesGate::Tripped
    }

    /// The metric the verdict is judged on.
    pub fn judged(&self) -> &[u64] {
        if self.kind.judged_on_bytes() {
            &self.bytes
        } else {
            &self.counts
        }
    }

    fn new(
        kind: SeriesKind,
        class: String,
        id: Option<u32>,
        counts: Vec<u64>,
        bytes: Vec<u64>,
    ) -> Self {
        let judged = if kind.judged_on_bytes() {
            &bytes
        } else {
            &counts
        };
        Self {
            verdict: verdict::verdict(judged),
            growing_steps: verdict::longest_growth(judged),
            count_added: verdict::added(&counts),
            bytes_added: verdict::added(&bytes),
            count_per_step: verdict::slope(&counts),
            bytes_per_step: verdict::slope(&bytes),
            kind,
            class,
            id,
            held_as: Vec::new(),
            counts,
            bytes,
            retained: None,
            new_alive: None,
            newest_ids: Vec::new(),
            newest_stack: Vec::new(),
            gate: SeriesGate::Passed,
        }
    }
}

/// One snapshot of the trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendSnapshot {
    /// Its name (the file name).
    pub title: String,
    /// Its clock (highest V8 object id; 0 when none).
    pub clock: u32,
    /// Its position among the inputs as given (0-based).
    pub given_index: usize,
    /// Nodes.
    pub node_count: u64,
    /// The Summary's total.
    pub total_size: u64,
}

/// Growth trends over N snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    /// The snapshots in trend order.
    pub snapshots: Vec<TrendSnapshot>,
    /// How that order was found.
    pub order: OrderSource,
    /// True when it differs from the order given.
    pub reordered: bool,
    /// Steps between snapshots (N − 1).
    pub steps: usize,
    /// Consecutive growing steps the gate asked for.
    pub min_steps: usize,
    /// Bytes added the gate asked for.
    pub min_bytes: u64,
    /// Every series, most bytes added first.
    pub series: Vec<Series>,
    /// Whether each snapshot numbers its objects as the one before it does
    /// ([`crate::analysis::diff::ids_kept`]). When false (Bun renumbers every snapshot), the
    /// series matched by id (collections, memories, buffer holders) and the survivors per step
    /// are left out: only class and `ArrayBuffer` totals are compared.
    pub ids_kept: bool,
}

/// Collects snapshot parts one at a time, keeping only what the trend needs (see the module
/// docs for the bytes a node).
#[derive(Default)]
pub struct TrendBuilder {
    parts: Vec<SnapshotPart>,
    /// Class and holder names, one allocation each across all parts.
    names: FxHashSet<Arc<str>>,
    /// The part that will end the trend so far (keeps its node classes).
    last: Option<usize>,
}

impl TrendBuilder {
    /// Add the next snapshot's part (in the order given).
    pub fn push(&mut self, mut part: SnapshotPart) {
        part.share_names(&mut self.names);
        self.parts.push(part);
        let by_clock = self.parts.iter().all(|p| p.clock > 0);
        let new = self.parts.len() - 1;
        let last = match self.last {
            // Ties keep the order given, so the later one ends the trend.
            Some(i) if by_clock && self.parts[i].clock > self.parts[new].clock => i,
            _ => new,
        };
        for (i, p) in self.parts.iter_mut().enumerate() {
            if i != last {
                p.forget_classes();
            }
        }
        self.last = Some(last);
    }

    /// Order the parts and compute the trend. `rules` is the leak ignore file: its class names
    /// keep series out of the gate and its `threshold:` lines replace the limits for a class
    /// (`min-bytes` as bytes added, `min-count` as objects added); `path:` rules match retainer
    /// paths, which a trend does not have, and are not used.
    pub fn finish(self, rules: &IgnoreRules, opts: TrendOptions) -> crate::Result<Trend> {
        if self.parts.len() < 2 {
            return Err(crate::Error::Request(format!(
                "a trend needs at least 2 snapshots, not {}",
                self.parts.len()
            )));
        }
        Ok(compute(self.parts, rules, opts))
    }
}

impl Trend {
    /// The trend over open documents (the app's entry point; nothing is dropped).
    pub fn from_documents(
        docs: &[&Document],
        rules: &IgnoreRules,
        opts: TrendOptions,
    ) -> crate::Result<Self> {
        let mut b = TrendBuilder::default();
        for d in docs {
            b.push(SnapshotPart::from_document(d));
        }
        b.finish(rules, opts)
    }

    /// Series that trip the gate, most bytes added first.
    pub fn tripped(&self) -> Vec<&Series> {
        self.series.iter().filter(|s| s.tripped()).collect()
    }

    /// Did any series trip the gate?
    pub fn failed(&self) -> bool {
        self.series.iter().any(Series::tripped)
    }
}

/// Per node of the last snapshot, the step its current run of presence began (0: in every
/// snapshot), aligned with the last part's sorted ids; and per step, how many ids the two
/// snapshots share (for [`crate::analysis::diff::ids_kept`]).
fn birth_steps(parts: &[SnapshotPart]) -> (Vec<u16>, Vec<u64>) {
    let mut born: Vec<u16> = Vec::new();
    let mut shared = Vec::with_capacity(parts.len().saturating_sub(1));
    for (k, p) in parts.iter().enumerate() {
        let mut in_both = 0u64;
        let mut next = Vec::with_capacity(p.ids.len());
        // The previous snapshot's ids, walked along with this one's (both sorted).
        let mut alive = match k {
            0 => None,
            _ => Some(parts[k - 1].ids.iter()),
        }
        .into_iter()
        .flatten()
        .zip(&born)
        .peekable();
        for id in p.ids.iter() {
            while alive.next_if(|&(a, _)| a < id).is_some() {}
            let b = match alive.peek() {
                Some(&(a, &b)) if a == id => {
                    in_both += 1;
                    b
                }
                _ => k.min(u16::MAX as usize) as u16,
            };
            next.push(b);
        }
        if k > 0 {
            shared.push(in_both);
        }
        born = next;
    }
    (born, shared)
}

/// The series that follow one object by its id from snapshot to snapshot: each collection
/// alive in the last snapshot, each `WebAssembly.Memory` and each holder of backing stores.
fn series_matched_by_id(parts: &[SnapshotPart]) -> Vec<Series> {
    let n = parts.len();
    let last = &parts[n - 1];
    let mut series = Vec::new();
    // Collections alive at the end.
    for (i, c) in last.collections.iter().enumerate() {
        let kind = last.collection_kinds[i];
        if kind == CollectionKind::Object && c.entries < MANY_ENTRIES {
            continue;
        }
        let (mut counts, mut bytes) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for p in parts {
            let (e, r) = p
                .collection(c.id)
                .map_or((0, 0), |(x, _)| (x.entries as u64, x.retained));
            counts.push(e);
            bytes.push(r);
        }
        let class = match kind {
            CollectionKind::Map => "Map",
            CollectionKind::Set => "Set",
            CollectionKind::Array => "Array",
            CollectionKind::Object => "Object",
        };
        let mut s = Series::new(
            SeriesKind::Collection(kind),
            class.to_string(),
            Some(c.id),
            counts,
            bytes,
        );
        // Unchanged collections say nothing about growth; there are thousands of them.
        if s.verdict != Verdict::Stable {
            s.held_as = last.collection_names(c.id);
            series.push(s);
        }
    }
    for &(id, _, _) in &last.wasm {
        let at = |p: &SnapshotPart| {
            p.wasm
                .binary_search_by_key(&id, |w| w.0)
                .ok()
                .map(|i| p.wasm[i])
        };
        series.push(Series::new(
            SeriesKind::WasmMemory,
            "Memory".to_string(),
            Some(id),
            parts.iter().map(|p| at(p).map_or(0, |w| w.2)).collect(),
            parts.iter().map(|p| at(p).map_or(0, |w| w.1)).collect(),
        ));
    }
    for (id, class, _, _) in &last.holders {
        let at = |p: &SnapshotPart| {
            p.holders
                .binary_search_by_key(id, |h| h.0)
                .ok()
                .map(|i| (p.holders[i].2, p.holders[i].3))
        };
        series.push(Series::new(
            SeriesKind::BufferHolder,
            class.to_string(),
            Some(*id),
            parts.iter().map(|p| at(p).map_or(0, |h| h.0)).collect(),
            parts.iter().map(|p| at(p).map_or(0, |h| h.1)).collect(),
        ));
    }
    series
}

fn compute(parts: Vec<SnapshotPart>, rules: &IgnoreRules, opts: TrendOptions) -> Trend {
    let given = parts.len();
    let by_clock = parts.iter().all(|p| p.clock > 0);
    let mut order: Vec<usize> = (0..given).collect();
    if by_clock {
        order.sort_by_key(|&i| parts[i].clock);
    }
    let reordered = order.iter().enumerate().any(|(k, &i)| k != i);
    let mut slots: Vec<Option<SnapshotPart>> = parts.into_iter().map(Some).collect();
    let parts: Vec<SnapshotPart> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let n = parts.len();
    let steps = n - 1;
    let last = &parts[n - 1];
    let (born, shared) = birth_steps(&parts);
    let ids_kept = parts.windows(2).zip(&shared).all(|(w, &shared)| {
        crate::analysis::diff::ids_kept(shared, w[0].ids.len(), w[1].ids.len())
    });

    // Classes: every name in any snapshot.
    let mut names: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.classes.iter().map(|c| &*c.name))
        .collect();
    names.sort_unstable();
    names.dedup();
    // Per class of the last snapshot: survivors per step, and the newest ids.
    let mut new_alive: Vec<Vec<u64>> = vec![vec![0; steps]; last.classes.len()];
    let mut newest: Vec<Vec<u32>> = vec![Vec::new(); last.classes.len()];
    for (i, (id, &c)) in last.ids.iter().zip(&last.id_classes).enumerate() {
        let b = born[i] as usize;
        if c == UNCOUNTED || b == 0 {
            continue;
        }
        new_alive[c as usize][b - 1] += 1;
        if b == steps {
            newest[c as usize].push(id);
        }
    }
    let mut series: Vec<Series> = Vec::new();
    for name in names {
        let rows: Vec<Option<&ClassTotals>> = parts.iter().map(|p| p.class(name)).collect();
        let get = |f: fn(&ClassTotals) -> u64| -> Vec<u64> {
            rows.iter().map(|r| r.map_or(0, f)).collect()
        };
        let mut s = Series::new(
            SeriesKind::Class,
            name.to_string(),
            None,
            get(|c| c.count),
            get(|c| c.shallow),
        );
        s.retained = Some(get(|c| c.retained));
        if !ids_kept {
            series.push(s);
            continue;
        }
        let li = last.classes.binary_search_by(|c| (*c.name).cmp(name));
        s.new_alive = Some(match li {
            Ok(i) => new_alive[i].clone(),
            Err(_) => vec![0; steps],
        });
        if let Ok(i) = li {
            let ids = &mut newest[i];
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids.truncate(NEWEST_IDS);
            s.newest_ids = std::mem::take(ids);
            if s.verdict.is_growth() {
                s.newest_stack = last.newest_stack(i as u32);
            }
        }
        series.push(s);
    }
    series.push(Series::new(
        SeriesKind::ArrayBuffers,
        "ArrayBuffer".to_string(),
        None,
        parts.iter().map(|p| p.array_buffers.1).collect(),
        parts.iter().map(|p| p.array_buffers.0).collect(),
    ));
    // Only where the objects keep their ids from one snapshot to the next.
    if ids_kept {
        series.extend(series_matched_by_id(&parts));
        let followed: FxHashSet<u32> = series.iter().filter_map(|s| s.id).collect();
        series.extend(holders::holder_series(
            &parts,
            &born,
            &followed,
            opts.min_bytes,
        ));
    }

    let min_steps = opts.min_steps.unwrap_or(steps).clamp(1, steps);
    let global = Limits {
        min_count: 0,
        min_bytes: opts.min_bytes,
    };
    for s in &mut series {
        s.gate = gate(s, rules, global, min_steps);
    }
    series.sort_by(|a, b| {
        b.bytes_added
            .cmp(&a.bytes_added)
            .then(b.count_added.cmp(&a.count_added))
            .then(a.class.cmp(&b.class))
            .then(a.id.cmp(&b.id))
    });
    Trend {
        snapshots: order
            .iter()
            .zip(&parts)
            .map(|(&given_index, p)| TrendSnapshot {
                title: p.title.clone(),
                clock: p.clock,
                given_index,
                node_count: p.node_count,
                total_size: p.total_size,
            })
            .collect(),
        order: if by_clock {
            OrderSource::SnapshotClock
        } else {
            OrderSource::Given
        },
        reordered,
        steps,
        min_steps,
        min_bytes: opts.min_bytes,
        series,
        ids_kept,
    }
}

/// The gate's decision for `s`: ignored by class name, V8's own class, or tripped when its
/// main metric grew in `min_steps` consecutive steps (a WebAssembly memory: in all but one in
/// four of them, [`verdict::memory_steps_needed`]; an object's retained size: as many, and
/// never shrinking in between) and it added at least the limits.
fn gate(s: &Series, rules: &IgnoreRules, global: Limits, min_steps: usize) -> SeriesGate {
    if let Some(r) = rules
        .rules
        .iter()
        .find(|r| matches!(&r.matches, IgnoreMatch::Class(c) if *c == s.class))
    {
        return SeriesGate::Ignored {
            line: r.line,
            rule: r.text.clone(),
        };
    }
    if s.kind == SeriesKind::Class && is_engine_class_name(&s.class) {
        return SeriesGate::Engine;
    }
    let l = rules.limits_for(&s.class, global);
    let grew_enough = match s.kind {
        SeriesKind::WasmMemory => {
            verdict::most_growth_in_window(s.judged(), min_steps)
                >= verdict::memory_steps_needed(min_steps)
        }
        SeriesKind::Holder => {
            verdict::most_growth_in_staircase(s.judged(), min_steps)
                >= verdict::memory_steps_needed(min_steps)
        }
        _ => s.growing_steps >= min_steps,
    };
    let enough = grew_enough
        && s.bytes_added > 0
        && s.bytes_added as u64 >= l.min_bytes
        && s.count_added.max(0) as u64 >= l.min_count;
    if enough {
        SeriesGate::Tripped
    } else {
        SeriesGate::Passed
    }
}

#[cfg(test)]
mod tests;
