//! Allocation stacks of live objects, from heap timelines (`.heaptimeline`) and snapshots taken
//! with allocation tracking: each node's `trace_node_id` names a node of V8's trace tree (a
//! call stack prefix), whose function infos give function, script, line and column.
//!
//! [`AllocationStacks::build`] counts the snapshot's live objects (count and self size, as the
//! file gives it) per trace node and turns them into an [`AllocProfile`] (format `v8-live`):
//! one site per trace node with live objects, its stack the trace node's path, its *at peak*
//! metrics the live size (bytes) and count (blocks). So the call trees (top-down and
//! bottom-up), the flame graph and the call-tree writers of allocation profiles show them as
//! they are. A filter picks the objects counted: all, or those allocated in a time range
//! ([`Timeline::id_range`]).
//!
//! Memory: 12 bytes per trace node while counting, then the profile (one site per trace node
//! with live objects, its stack as u32 frame indices; one frame per function info).

use serde::Serialize;

use crate::model::alloc::{AllocMetrics, AllocProfile, Folding};
use crate::model::{AllocationTraces, FxHashMap, HeapGraph, NodeIx, NodeKind, StrId};

/// The `format` of the profiles built here.
pub const FORMAT_KEY: &str = "v8-live";

/// Stacks deeper than this keep their innermost frames (a hostile tree could make every
/// stack as long as the tree is big).
const MAX_STACK: usize = 1024;

/// Trace node id → index in [`AllocationTraces::tree`].
#[derive(Debug, Clone, Default)]
pub struct TraceIndex(FxHashMap<u32, u32>);

impl TraceIndex {
    /// Index `traces`' tree by node id (the first node wins if an id repeats).
    pub fn build(traces: &AllocationTraces) -> Self {
        let mut map = FxHashMap::default();
        for (i, t) in traces.tree.iter().enumerate() {
            map.entry(t.id).or_insert(i as u32);
        }
        Self(map)
    }

    /// The tree index of trace node `id`.
    pub fn get(&self, id: u32) -> Option<u32> {
        self.0.get(&id).copied()
    }
}

/// True when the snapshot carries allocation stacks: a trace tree and nodes that name it.
pub fn has_stacks(g: &HeapGraph, traces: &AllocationTraces) -> bool {
    !traces.tree.is_empty() && g.node_trace_id.iter().any(|&t| t != 0)
}

/// One frame of an allocation stack, spelled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackFrame {
    /// Function name (`(anonymous)` when unnamed).
    pub function: String,
    /// Script name (a URL or path), empty when unknown.
    pub script: String,
    /// One-based line, 0 when unknown.
    pub line: u32,
    /// One-based column, 0 when unknown.
    pub column: u32,
}

impl StackFrame {
    /// `script:line:column`, as much of it as is known.
    pub fn location(&self) -> String {
        match (self.script.is_empty(), self.line, self.column) {
            (true, _, _) => String::new(),
            (false, 0, _) => self.script.clone(),
            (false, l, 0) => format!("{}:{l}", self.script),
            (false, l, c) => format!("{}:{l}:{c}", self.script),
        }
    }
}

impl std::fmt::Display for StackFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loc = self.location();
        if loc.is_empty() {
            f.write_str(&self.function)
        } else {
            write!(f, "{} ({loc})", self.function)
        }
    }
}

/// The function info of row `row` of `trace_function_infos`, spelled out. V8 writes lines
/// and columns one-based, 0 when unknown; names are indices into the snapshot's strings.
pub fn function_info(g: &HeapGraph, traces: &AllocationTraces, row: u32) -> StackFrame {
    let t = &traces.function_infos;
    let string = |field: &str| -> String {
        t.get(row as usize, field)
            .and_then(|s| StrId::try_from(s).ok())
            .map(|s| g.strings().get(s).to_string())
            .unwrap_or_default()
    };
    let number = |field: &str| {
        t.get(row as usize, field)
            .map_or(0, |v| v.clamp(0, u32::MAX as i64) as u32)
    };
    let function = string("name");
    StackFrame {
        function: if function.is_empty() {
            "(anonymous)".into()
        } else {
            function
        },
        script: string("script_name"),
        line: number("line"),
        column: number("column"),
    }
}

/// The allocation stack of node `n`, innermost (the allocating function) first; empty when
/// the node has no trace or names a trace node the tree doesn't have.
pub fn stack_of(
    g: &HeapGraph,
    traces: &AllocationTraces,
    index: &TraceIndex,
    n: NodeIx,
) -> Vec<StackFrame> {
    let Some(mut at) = index.get(g.trace_node_id(n)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while out.len() < MAX_STACK {
        let t = &traces.tree[at as usize];
        out.push(function_info(g, traces, t.function_info_index));
        if t.parent == u32::MAX {
            break;
        }
        at = t.parent;
    }
    out
}

/// Live objects by allocation stack, as an allocation profile.
#[derive(Debug, Clone)]
pub struct AllocationStacks {
    /// Format `v8-live`: one site per trace node with live objects; *at peak* bytes and
    /// blocks are the live self size and count.
    pub profile: AllocProfile,
    /// Objects counted.
    pub objects: u64,
    /// Objects left out because their `trace_node_id` is not in the trace tree.
    pub unknown_trace: u64,
}

impl AllocationStacks {
    /// Count the live objects `keep` says yes to (every node with a trace) per trace node.
    pub fn build(
        g: &HeapGraph,
        traces: &AllocationTraces,
        index: &TraceIndex,
        keep: impl Fn(NodeIx) -> bool,
    ) -> Self {
        let tree = &traces.tree;
        let mut count = vec![0u32; tree.len()];
        let mut size = vec![0u64; tree.len()];
        let (mut objects, mut unknown_trace) = (0u64, 0u64);
        for (n, &t) in g.node_trace_id.iter().enumerate() {
            if t == 0 || !keep(n as NodeIx) {
                continue;
            }
            let Some(i) = index.get(t) else {
                unknown_trace += 1;
                continue;
            };
            count[i as usize] = count[i as usize].saturating_add(1);
            size[i as usize] = size[i as usize].saturating_add(g.self_size(n as NodeIx));
            objects += 1;
        }
        let mut profile = AllocProfile {
            format: FORMAT_KEY.into(),
            producer: "V8 allocation tracking (live objects)".into(),
            // JavaScript frames are never allocator plumbing.
            folding: Folding::none(),
            ..Default::default()
        };
        // A frame per function info, made when first needed.
        let mut frame_of: Vec<u32> = vec![u32::MAX; traces.function_infos.rows()];
        let mut frames = FxHashMap::default();
        let mut stack: Vec<u32> = Vec::new();
        let mut totals = AllocMetrics::default();
        for i in 0..tree.len() {
            if count[i] == 0 {
                continue;
            }
            stack.clear();
            let mut at = i as u32;
            loop {
                let t = &tree[at as usize];
                let row = t.function_info_index;
                let f = match frame_of.get(row as usize) {
                    Some(&f) if f != u32::MAX => f,
                    slot => {
                        let info = function_info(g, traces, row);
                        let f = profile.frame(&info.function, &info.location(), &mut frames);
                        if slot.is_some() {
                            frame_of[row as usize] = f;
                        }
                        f
                    }
                };
                stack.push(f);
                // V8's top trace node is `(root)`: the call tree has its own root.
                let top = t.parent == u32::MAX;
                if top && stack.len() > 1 && profile.function(f) == "(root)" {
                    stack.pop();
                }
                if top || stack.len() >= MAX_STACK {
                    break;
                }
                at = t.parent;
            }
            stack.reverse();
            let metrics = AllocMetrics {
                peak_bytes: size[i],
                peak_blocks: count[i] as u64,
                ..Default::default()
            };
            totals.add(&metrics);
            profile.push_site(&stack, metrics);
        }
        profile.totals = totals;
        profile.strings.finish();
        Self {
            profile,
            objects,
            unknown_trace,
        }
    }
}

/// The `samples` section: when each object id was handed out. Interval `i` between samples
/// holds the objects with ids after sample `i - 1`'s last id up to sample `i`'s; interval 0,
/// the ids from the first traced object's up to the first sample's (V8 takes the first sample
/// a little after tracking starts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Sample times in microseconds since tracking started, ascending.
    pub timestamps_us: Vec<u64>,
    /// The last object id assigned by each sample's time.
    pub last_ids: Vec<u32>,
    /// The smallest id of an object with an allocation trace (allocated while tracking).
    pub first_id: u32,
}

impl Timeline {
    /// Read `samples` (timestamp_us, last_assigned_id); rows out of order or negative are
    /// dropped, so the times and ids both ascend.
    pub fn of(g: &HeapGraph, traces: &AllocationTraces) -> Self {
        let s = &traces.samples;
        let mut t = Self::default();
        for row in 0..s.rows() {
            let (Some(ts), Some(id)) = (s.get(row, "timestamp_us"), s.get(row, "last_assigned_id"))
            else {
                continue;
            };
            let (Ok(ts), Ok(id)) = (u64::try_from(ts), u32::try_from(id)) else {
                continue;
            };
            let ascending = t.timestamps_us.last().is_none_or(|&p| ts >= p)
                && t.last_ids.last().is_none_or(|&p| id >= p);
            if ascending {
                t.timestamps_us.push(ts);
                t.last_ids.push(id);
            }
        }
        let traced = (0..g.node_count() as NodeIx).filter(|&n| g.trace_node_id(n) != 0);
        t.first_id = traced
            .map(|n| g.id(n))
            .min()
            .unwrap_or_else(|| t.last_ids.first().map_or(0, |&l| l.saturating_add(1)));
        t
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.timestamps_us.len()
    }

    /// True with no samples.
    pub fn is_empty(&self) -> bool {
        self.timestamps_us.is_empty()
    }

    /// Object ids allocated in intervals `from..=to` (see [`Timeline`]): ids after the last
    /// one handed out by sample `from - 1` (from the first traced object's for interval 0),
    /// up to sample `to`'s last id. `None` when the indices are out of range or reversed.
    pub fn id_range(&self, from: usize, to: usize) -> Option<std::ops::RangeInclusive<u32>> {
        if from > to || to >= self.len() {
            return None;
        }
        let low = if from == 0 {
            self.first_id
        } else {
            self.last_ids[from - 1].saturating_add(1)
        };
        Some(low..=self.last_ids[to])
    }

    /// The time range of intervals `first..=last`, as DevTools' Allocation timeline selects
    /// objects (see [`TimeRange`]). `None` when the indices are out of range or reversed.
    pub fn time_range(&self, first: usize, last: usize) -> Option<TimeRange> {
        if first > last || last >= self.len() {
            return None;
        }
        let end = self.len() - 1;
        Some(TimeRange {
            first,
            last,
            from_us: if first == 0 {
                0
            } else {
                self.timestamps_us[first - 1]
            },
            to_us: self.timestamps_us[last],
            low_id: if first == 0 {
                0
            } else {
                self.last_ids[first - 1].saturating_add(1)
            },
            high_id: if last == end {
                u32::MAX
            } else {
                self.last_ids[last]
            },
            whole: first == 0 && last == end,
        })
    }

    /// The interval object id `id` was allocated in, if any.
    pub fn interval_of(&self, id: u32) -> Option<usize> {
        if id < self.first_id {
            return None;
        }
        let i = self.last_ids.partition_point(|&l| l < id);
        (i < self.len()).then_some(i)
    }
}

/// Intervals `first..=last` of a [`Timeline`], chosen to filter the class table to the objects
/// allocated then, the way DevTools' Allocation timeline filters its Summary: an object is in
/// the range when its id is after the last id of the sample before `first` and at most the
/// last id of sample `last`. The first interval has no lower bound (what was allocated before
/// tracking started is also before the first sample) and the last no upper one (objects made
/// after the last sample, before the snapshot was written), so the whole timeline is the whole
/// snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeRange {
    /// First interval (index of the sample it ends at).
    pub first: usize,
    /// Last interval.
    pub last: usize,
    /// When the range starts, in microseconds since tracking started (0 for the first interval).
    pub from_us: u64,
    /// When it ends: sample `last`'s time.
    pub to_us: u64,
    /// Smallest object id in the range.
    pub low_id: u32,
    /// Largest object id in the range.
    pub high_id: u32,
    /// The range is the whole timeline: every object is in it.
    pub whole: bool,
}

impl TimeRange {
    /// True when node `n` was allocated in the range. Embedder (native) and synthetic nodes
    /// are only in the whole timeline: their ids come from addresses and hashes, not from
    /// V8's allocation counter, so they name no time.
    pub fn contains(&self, g: &HeapGraph, n: NodeIx) -> bool {
        self.whole
            || (self.low_id..=self.high_id).contains(&g.id(n))
                && !matches!(g.kind(n), NodeKind::Native | NodeKind::Synthetic)
    }

    /// Start of the range in seconds.
    pub fn from_secs(&self) -> f64 {
        self.from_us as f64 / 1e6
    }

    /// End of the range in seconds.
    pub fn to_secs(&self) -> f64 {
        self.to_us as f64 / 1e6
    }
}

/// One class's objects in a time range.
#[derive(Debug, Clone, Serialize)]
pub struct RangeClassRow {
    /// Class name, as the Summary names it.
    pub name: String,
    /// Live objects.
    pub count: u64,
    /// Their self sizes together.
    pub self_size: u64,
}

/// Live objects whose ids are in `ids`, by class (`class_of` and `names` from the class
/// index), most bytes first. Embedder (native) and synthetic nodes are left out: their ids
/// come from addresses, not from V8's allocation counter.
pub fn classes_in_range(
    g: &HeapGraph,
    class_of: &[u32],
    names: &[String],
    ids: std::ops::RangeInclusive<u32>,
) -> Vec<RangeClassRow> {
    classes_where(g, class_of, names, |n| {
        ids.contains(&g.id(n)) && !matches!(g.kind(n), NodeKind::Native | NodeKind::Synthetic)
    })
}

/// Live objects `keep` says yes to (e.g. [`TimeRange::contains`]), by class, most bytes first.
pub fn classes_where(
    g: &HeapGraph,
    class_of: &[u32],
    names: &[String],
    keep: impl Fn(NodeIx) -> bool,
) -> Vec<RangeClassRow> {
    let mut by_class: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    for n in 0..g.node_count() as NodeIx {
        if !keep(n) {
            continue;
        }
        let Some(&c) = class_of.get(n as usize) else {
            continue;
        };
        let e = by_class.entry(c).or_default();
        e.0 += 1;
        e.1 += g.self_size(n);
    }
    let mut rows: Vec<RangeClassRow> = by_class
        .into_iter()
        .map(|(c, (count, self_size))| RangeClassRow {
            name: names.get(c as usize).cloned().unwrap_or_default(),
            count,
            self_size,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.self_size
            .cmp(&a.self_size)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows
}
