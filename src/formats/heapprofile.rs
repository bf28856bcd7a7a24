//! V8 sampling heap profiles (`.heapprofile`): what DevTools' "Allocation sampling", Node's
//! `--heap-prof` and the inspector's `HeapProfiler.stopSampling` write. A tree of call frames
//! (`head`, each node with `callFrame`, `selfSize`, `id`, `children`) and the samples
//! (`size`, `nodeId`, `ordinal`).
//!
//! The profile is a picture of one moment: the sampled allocations still live when sampling
//! stopped. So, as for pprof, the values become the model's *at peak* metrics (live at the
//! dump) and nothing is put at exit. **Bytes are the nodes' `selfSize`** (what DevTools shows
//! as Self Size: each sample scaled up by V8 to estimate all allocations it stands for);
//! **blocks are the number of samples** at the node. The samples' own `size` fields are scaled
//! one by one and rounded differently, so their sum differs slightly from the `selfSize` sum;
//! they are read only to count samples and to check the node ids they name.
//!
//! Read with the streaming [`JsonReader`] and an explicit stack of open nodes, so a deep tree
//! can't overflow the stack; nothing is allocated from a count the file declares.

use std::path::Path;

use super::json_reader::JsonReader;
use super::{Format, Input};
use crate::error::Result;
use crate::model::alloc::{AllocMetrics, AllocProfile};
use crate::model::FxHashMap;
use crate::progress::Progress;

/// V8 sampling heap profiles.
pub static FORMAT: Format = Format {
    name: "V8 sampling heap profile",
    known_as: "V8 .heapprofile",
    extensions: &["heapprofile"],
    sniff,
    load: |path, input, options, progress| {
        Ok(super::profile_snapshot(
            read(path, input, progress)?,
            options,
        ))
    },
};

/// The `format` of profiles read here (see [`AllocProfile::format`]).
pub const FORMAT_KEY: &str = "heapprofile";

/// A JSON object with a `head` and a `callFrame` in its first 4 KiB (V8 snapshots start with
/// `snapshot`, CPU profiles with `nodes`).
pub(super) fn sniff(head: &[u8]) -> bool {
    let text = super::head_text(head);
    text.starts_with('{') && text.contains("\"head\"") && text.contains("\"callFrame\"")
}

/// No parent: the head.
const NONE: u32 = u32::MAX;

/// Bound on the frames of all sites' stacks together: a deep chain with bytes at every level
/// would otherwise make a small file into a quadratic model.
const MAX_FRAME_REFS: u64 = 1 << 27;

/// The tree as read: one entry per node, no strings (frames are interned in the profile).
#[derive(Default)]
struct Nodes {
    parent: Vec<u32>,
    frame: Vec<u32>,
    self_size: Vec<u64>,
    samples: Vec<u64>,
    /// The file's node id → index.
    index: FxHashMap<u64, u32>,
    /// The node id of each sample, in file order (resolved once the tree is read).
    sample_ids: Vec<u64>,
    /// Sum of the samples' `size` fields.
    sample_bytes: u64,
}

/// What a call frame says, read into reused buffers.
#[derive(Default)]
struct CallFrame {
    function: String,
    url: String,
    line: i64,
    column: i64,
}

/// Read a sampling heap profile from an opened input.
pub fn read(path: &Path, input: Input, progress: Progress<'_>) -> Result<AllocProfile> {
    let mut r = JsonReader::new(input.stream, path, progress, input.done, input.total);
    r.set_phase("reading heap profile");
    let mut profile = AllocProfile {
        format: FORMAT_KEY.into(),
        producer: "V8 sampling heap profiler".into(),
        ..Default::default()
    };
    let mut nodes = Nodes::default();
    let mut frames = FxHashMap::default();
    let mut saw_head = false;
    let mut saw_samples = false;
    let mut key = String::new();
    const TOP: &str = "the top-level object";
    match r.peek()? {
        Some(b'{') => {}
        Some(_) => return Err(r.error("not a heap profile: the file is not a JSON object")),
        None => return Err(r.error("the file is empty")),
    }
    r.expect(b'{', TOP)?;
    if r.peek()? == Some(b'}') {
        return Err(r.error("not a heap profile: empty JSON object"));
    }
    loop {
        r.read_string(&mut key, TOP)?;
        r.expect(b':', TOP)?;
        match key.as_str() {
            "head" if saw_head => return Err(r.error("\"head\" appears twice")),
            "head" => {
                saw_head = true;
                read_tree(&mut r, &mut nodes, &mut profile, &mut frames)?;
            }
            "samples" if saw_samples => return Err(r.error("\"samples\" appears twice")),
            "samples" => {
                saw_samples = true;
                read_samples(&mut r, &mut nodes)?;
            }
            _ => r.skip_value(&format!("\"{key}\""))?,
        }
        if !r.more(b'}', TOP)? {
            break;
        }
    }
    if r.peek()?.is_some() {
        return Err(r.error("unexpected data after the end of the profile"));
    }
    if !saw_head {
        return Err(r.error("not a heap profile: no \"head\" node"));
    }
    if saw_samples {
        profile.sample_list = Some(crate::model::alloc::SampleList {
            count: nodes.sample_ids.len() as u64,
            bytes: nodes.sample_bytes,
        });
        check_samples(&r, &mut nodes)?;
    }
    build_sites(&r, &nodes, &mut profile)?;
    profile.strings.finish();
    Ok(profile)
}

/// A number (JSON allows `1.0` and `1e3` where V8 writes integers), as an integer; `what`
/// names it in errors.
fn read_number(r: &mut JsonReader<'_>, what: &str) -> Result<i64> {
    let raw = r.capture_value(what, 64)?;
    let text = std::str::from_utf8(&raw).unwrap_or("");
    if let Ok(v) = text.parse::<i64>() {
        return Ok(v);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
        _ => Err(r.error(format!("{what} is not an integer ({text:?})"))),
    }
}

/// A number that must be at least 0.
fn read_count(r: &mut JsonReader<'_>, what: &str) -> Result<u64> {
    let v = read_number(r, what)?;
    u64::try_from(v).map_err(|_| r.error(format!("{what} is negative ({v})")))
}

/// Read the `head` node and everything below it, iteratively.
fn read_tree(
    r: &mut JsonReader<'_>,
    nodes: &mut Nodes,
    profile: &mut AllocProfile,
    frames: &mut FxHashMap<(crate::model::StrId, crate::model::StrId), u32>,
) -> Result<()> {
    const NODE: &str = "a profile node";
    r.expect(b'{', "\"head\"")?;
    // The open nodes, outermost first; each has its own fields as they are read.
    let mut open: Vec<(u32, Option<u64>, bool)> = vec![(open_node(r, nodes, NONE)?, None, false)];
    let mut call = CallFrame::default();
    let mut key = String::new();
    // True right after a node's `{`: its first key (or its `}`) comes next, no comma.
    let mut fresh = true;
    loop {
        let (at, _, _) = *open.last().expect("a node is open here");
        let another_key = if fresh {
            if r.peek()? == Some(b'}') {
                r.expect(b'}', NODE)?;
                false
            } else {
                true
            }
        } else {
            r.more(b'}', NODE)?
        };
        fresh = false;
        if another_key {
            r.read_string(&mut key, NODE)?;
            r.expect(b':', NODE)?;
            match key.as_str() {
                "callFrame" => {
                    read_call_frame(r, &mut call)?;
                    nodes.frame[at as usize] = intern_frame(profile, frames, &call);
                    open.last_mut().expect("a node is open here").2 = true;
                }
                "selfSize" => nodes.self_size[at as usize] = read_count(r, "a node's selfSize")?,
                "id" => {
                    open.last_mut().expect("a node is open here").1 =
                        Some(read_count(r, "a node's id")?)
                }
                "children" => {
                    r.expect(b'[', "a node's children")?;
                    if r.peek()? == Some(b']') {
                        r.expect(b']', "a node's children")?;
                    } else {
                        r.expect(b'{', "a node's children")?;
                        open.push((open_node(r, nodes, at)?, None, false));
                        fresh = true;
                    }
                }
                _ => r.skip_value(NODE)?,
            }
            continue;
        }
        // Node `at` is complete.
        let (at, id, has_frame) = open.pop().expect("a node is open here");
        let Some(id) = id else {
            return Err(r.error(format!("profile node {at} has no \"id\"")));
        };
        if !has_frame {
            return Err(r.error(format!("profile node {id} has no \"callFrame\"")));
        }
        if nodes.index.insert(id, at).is_some() {
            return Err(r.error(format!("two profile nodes have id {id}")));
        }
        if open.is_empty() {
            return Ok(());
        }
        // Back in the parent's children array: another child, or the array's end.
        if r.more(b']', "a node's children")? {
            r.expect(b'{', "a node's children")?;
            let parent = open.last().expect("a node is open here").0;
            open.push((open_node(r, nodes, parent)?, None, false));
            fresh = true;
        }
    }
}

/// A new node below `parent`, its fields zero until read.
fn open_node(r: &JsonReader<'_>, nodes: &mut Nodes, parent: u32) -> Result<u32> {
    let n = u32::try_from(nodes.parent.len())
        .ok()
        .filter(|&n| n < NONE)
        .ok_or_else(|| r.error("more than 4 billion profile nodes"))?;
    nodes.parent.push(parent);
    nodes.frame.push(0);
    nodes.self_size.push(0);
    nodes.samples.push(0);
    Ok(n)
}

/// Read a `callFrame` object (flat: only strings and numbers are kept).
fn read_call_frame(r: &mut JsonReader<'_>, call: &mut CallFrame) -> Result<()> {
    const INSIDE: &str = "a callFrame";
    call.function.clear();
    call.url.clear();
    call.line = -1;
    call.column = -1;
    let mut key = String::new();
    r.expect(b'{', INSIDE)?;
    if r.peek()? == Some(b'}') {
        return r.expect(b'}', INSIDE);
    }
    loop {
        r.read_string(&mut key, INSIDE)?;
        r.expect(b':', INSIDE)?;
        match key.as_str() {
            "functionName" => r.read_string(&mut call.function, INSIDE)?,
            "url" => r.read_string(&mut call.url, INSIDE)?,
            "lineNumber" => call.line = read_number(r, "a callFrame's lineNumber")?,
            "columnNumber" => call.column = read_number(r, "a callFrame's columnNumber")?,
            _ => r.skip_value(INSIDE)?,
        }
        if !r.more(b'}', INSIDE)? {
            return Ok(());
        }
    }
}

/// The frame of a call frame: its function (`(anonymous)` when unnamed) and `url:line:column`
/// (one-based, as editors and DevTools show them; V8 writes them zero-based).
fn intern_frame(
    profile: &mut AllocProfile,
    frames: &mut FxHashMap<(crate::model::StrId, crate::model::StrId), u32>,
    call: &CallFrame,
) -> u32 {
    let function = if call.function.is_empty() {
        "(anonymous)"
    } else {
        call.function.as_str()
    };
    let location = match (call.url.is_empty(), call.line >= 0, call.column >= 0) {
        (true, _, _) => String::new(),
        (false, false, _) => call.url.clone(),
        (false, true, false) => format!("{}:{}", call.url, call.line + 1),
        (false, true, true) => format!("{}:{}:{}", call.url, call.line + 1, call.column + 1),
    };
    profile.frame(function, &location, frames)
}

/// Read `samples`: each names the node it was taken at. Node ids are only known once `head`
/// is read, which may come after `samples`: the ids are kept and resolved at the end.
fn read_samples(r: &mut JsonReader<'_>, nodes: &mut Nodes) -> Result<()> {
    const INSIDE: &str = "\"samples\"";
    const SAMPLE: &str = "a sample";
    let mut key = String::new();
    r.expect(b'[', INSIDE)?;
    if r.peek()? == Some(b']') {
        return r.expect(b']', INSIDE);
    }
    loop {
        r.expect(b'{', INSIDE)?;
        let mut node = None;
        if r.peek()? == Some(b'}') {
            r.expect(b'}', SAMPLE)?;
        } else {
            loop {
                r.read_string(&mut key, SAMPLE)?;
                r.expect(b':', SAMPLE)?;
                match key.as_str() {
                    "nodeId" => node = Some(read_count(r, "a sample's nodeId")?),
                    "size" => {
                        nodes.sample_bytes = nodes
                            .sample_bytes
                            .saturating_add(read_count(r, "a sample's size")?);
                    }
                    _ => r.skip_value(SAMPLE)?,
                }
                if !r.more(b'}', SAMPLE)? {
                    break;
                }
            }
        }
        let node = node.ok_or_else(|| r.error("a sample has no \"nodeId\""))?;
        nodes.sample_ids.push(node);
        if !r.more(b']', INSIDE)? {
            return Ok(());
        }
    }
}

/// Count each sample on its node; a sample naming no node is an error.
fn check_samples(r: &JsonReader<'_>, nodes: &mut Nodes) -> Result<()> {
    for (i, id) in std::mem::take(&mut nodes.sample_ids)
        .into_iter()
        .enumerate()
    {
        let Some(&n) = nodes.index.get(&id) else {
            return Err(r.error(format!(
                "sample {i} names node {id}, which is not in the tree"
            )));
        };
        nodes.samples[n as usize] += 1;
    }
    Ok(())
}

/// One site per node with bytes or samples: its stack from below the head down to it.
fn build_sites(r: &JsonReader<'_>, nodes: &Nodes, profile: &mut AllocProfile) -> Result<()> {
    let mut stack: Vec<u32> = Vec::new();
    let mut refs = 0u64;
    let mut totals = AllocMetrics::default();
    for n in 0..nodes.parent.len() {
        let (bytes, samples) = (nodes.self_size[n], nodes.samples[n]);
        if bytes == 0 && samples == 0 {
            continue;
        }
        stack.clear();
        let mut at = n as u32;
        // The head is `(root)`: the call tree has its own root.
        while nodes.parent[at as usize] != NONE {
            stack.push(nodes.frame[at as usize]);
            at = nodes.parent[at as usize];
        }
        stack.reverse();
        refs += stack.len() as u64;
        if refs > MAX_FRAME_REFS {
            return Err(r.error(format!(
                "the stacks of the nodes with samples hold more than {MAX_FRAME_REFS} frames: \
                 not a real profile"
            )));
        }
        let metrics = AllocMetrics {
            peak_bytes: bytes,
            peak_blocks: samples,
            ..Default::default()
        };
        totals = totals.checked_add(&metrics).ok_or_else(|| {
            r.error("the nodes' sizes add up to more than 2^64: not a real profile")
        })?;
        profile.push_site(&stack, metrics);
    }
    profile.totals = totals;
    Ok(())
}
