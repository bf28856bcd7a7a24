//! pprof profiles: one `perftools.profiles.Profile` protobuf message, usually gzipped. Heap
//! profiles from jemalloc (`jemalloc_pprof`), Go's `runtime/pprof` and other producers are
//! read; CPU and other profiles are refused. Only the part of the message heapsight uses is
//! declared here, by hand, from pprof's `profile.proto` (no code generation).
//!
//! A heap profile is a picture of one moment: what was live when it was dumped (`inuse_*`),
//! and, for producers that keep them (Go), what had been allocated since the start
//! (`alloc_*`). The live values become the model's *at peak* metrics, the only point in time
//! the profile shows; nothing is put *at exit* (leaked), because a dump is usually taken from
//! a running program and its live data is not known to be leaked.
//!
//! Stacks are the samples' locations, outermost first, each location giving its inlined
//! frames too (the function it was inlined into first). jemalloc's own frames at the
//! allocating end are dropped (see [`is_allocator_frame`]).

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use prost::Message;

use super::{Format, Input};
use crate::error::{Error, Result};
use crate::model::alloc::{demangle, AllocMetrics, AllocProfile};
use crate::model::FxHashMap;
use crate::progress::Progress;

/// pprof profiles (`profile.pb`, usually gzipped: `.pb.gz`).
pub static FORMAT: Format = Format {
    name: "pprof heap profile",
    known_as: "pprof",
    extensions: &["pb"],
    sniff,
    load: |path, input, options, progress| {
        Ok(super::profile_snapshot(
            read(path, input, progress)?,
            options,
        ))
    },
};

/// A Profile message's first field is usually 1 (sample_type, length-delimited: tag 0x0a) or
/// 2 (sample: 0x12).
fn sniff(head: &[u8]) -> bool {
    matches!(head.first(), Some(0x0a | 0x12))
}

/// pprof has no framing to stream by: the message is read whole, up to this many bytes.
pub const MAX_PROFILE_BYTES: u64 = 2 << 30;

/// Bound on the stack frames of all samples together (a location with many inlined lines,
/// named by many samples, would otherwise blow a small file up into a huge model).
const MAX_FRAME_REFS: usize = 1 << 28;

/// The subset of `perftools.profiles.Profile` heapsight reads (field numbers from
/// `profile.proto`; unknown fields are skipped by the decoder).
#[derive(Clone, PartialEq, Message)]
struct Profile {
    #[prost(message, repeated, tag = "1")]
    sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    function: Vec<Function>,
    /// Raw bytes: a producer's names are not always valid UTF-8, and one bad name should not
    /// make the whole file unreadable.
    #[prost(bytes = "vec", repeated, tag = "6")]
    string_table: Vec<Vec<u8>>,
    #[prost(int64, tag = "9")]
    time_nanos: i64,
    #[prost(int64, tag = "10")]
    duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    period: i64,
    #[prost(int64, tag = "14")]
    default_sample_type: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ValueType {
    /// `type` in the spec; index into the string table.
    #[prost(int64, tag = "1")]
    ty: i64,
    /// Index into the string table.
    #[prost(int64, tag = "2")]
    unit: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    /// Leaf first.
    #[prost(uint64, repeated, tag = "1")]
    location_id: Vec<u64>,
    /// One per sample type.
    #[prost(int64, repeated, tag = "2")]
    value: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct Mapping {
    #[prost(uint64, tag = "1")]
    id: u64,
    /// Index into the string table.
    #[prost(int64, tag = "5")]
    filename: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Location {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    mapping_id: u64,
    #[prost(uint64, tag = "3")]
    address: u64,
    /// Inlined functions first; the last line is the caller they were inlined into.
    #[prost(message, repeated, tag = "4")]
    line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
struct Line {
    #[prost(uint64, tag = "1")]
    function_id: u64,
    #[prost(int64, tag = "2")]
    line: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Function {
    #[prost(uint64, tag = "1")]
    id: u64,
    /// Index into the string table: the readable name.
    #[prost(int64, tag = "2")]
    name: i64,
    /// Index into the string table: the name as the system knows it (e.g. mangled).
    #[prost(int64, tag = "3")]
    system_name: i64,
    /// Index into the string table.
    #[prost(int64, tag = "4")]
    filename: i64,
}

/// Is this frame the allocator's or its profiler's own? jemalloc records its stacks from inside
/// the profiler (`prof_backtrace`), so every stack ends in jemalloc's code and, in Rust, in the
/// `GlobalAlloc` wrapper; these frames are dropped from the allocating end of each stack, where
/// the call into the allocator (`__rust_alloc`, `malloc`, …) and the standard library's
/// plumbing above it are left for the model's folding.
fn is_allocator_frame(function: &str, file: &str) -> bool {
    const PREFIXES: [&str; 11] = [
        "_rjem_",
        "je_",
        "prof_",
        "imalloc",
        "ialloc",
        "irealloc",
        "irallocx",
        "do_rallocx",
        "ixalloc",
        "tikv_jemallocator::",
        "jemallocator::",
    ];
    let f = function.trim_start_matches('<');
    PREFIXES.iter().any(|p| f.starts_with(p))
        || (file.contains("jemalloc") && (file.ends_with(".c") || file.ends_with(".h")))
}

/// Which model metric a sample value feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Allocations since the start (`alloc_objects`).
    TotalBlocks,
    /// Bytes allocated since the start (`alloc_space`).
    TotalBytes,
    /// Blocks live at the dump (`inuse_objects`, or `objects` alone).
    LiveBlocks,
    /// Bytes live at the dump (`inuse_space`, or `space` alone).
    LiveBytes,
}

impl Slot {
    /// What the metric is, in words.
    fn label(self) -> &'static str {
        match self {
            Slot::TotalBlocks => "allocations since the start",
            Slot::TotalBytes => "bytes allocated since the start",
            Slot::LiveBlocks => "blocks in use",
            Slot::LiveBytes => "bytes in use",
        }
    }
}

/// The metric a sample type (`type`, `unit`) maps onto, if heapsight knows it.
fn slot_of(ty: &str, unit: &str) -> Option<Slot> {
    match (ty, unit) {
        ("alloc_objects" | "allocations", "count") => Some(Slot::TotalBlocks),
        ("alloc_space", "bytes") => Some(Slot::TotalBytes),
        ("inuse_objects" | "objects", "count") => Some(Slot::LiveBlocks),
        ("inuse_space" | "space", "bytes") => Some(Slot::LiveBytes),
        _ => None,
    }
}

const KNOWN_TYPES: &str =
    "inuse_space/bytes, inuse_objects/count, alloc_space/bytes, alloc_objects/count";

/// Read a pprof profile from an opened input.
pub fn read(path: &Path, input: Input, progress: Progress<'_>) -> Result<AllocProfile> {
    let data = read_all(path, input, progress)?;
    progress.step("decoding pprof profile", 0, data.len() as u64)?;
    let profile = Profile::decode(data.as_slice()).map_err(|e| {
        Error::format(
            path,
            format!("not a valid pprof profile (protobuf): {e}"),
            0,
        )
    })?;
    drop(data);
    convert(path, profile, progress)
}

/// Read the (decompressed) stream whole, refusing more than [`MAX_PROFILE_BYTES`].
fn read_all(path: &Path, input: Input, progress: Progress<'_>) -> Result<Vec<u8>> {
    const CHUNK: u64 = 4 << 20;
    let total = input.total;
    let mut stream = input.stream.take(MAX_PROFILE_BYTES + 1);
    let mut data = Vec::new();
    loop {
        progress.step("reading pprof profile", (input.done)(), total)?;
        match (&mut stream).take(CHUNK).read_to_end(&mut data) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(Error::format(
                    path,
                    format!("cannot read or decompress: {e}"),
                    data.len() as u64,
                ))
            }
        }
    }
    if data.len() as u64 > MAX_PROFILE_BYTES {
        return Err(Error::format(
            path,
            format!(
                "the profile is larger than {} GiB uncompressed; pprof files are read whole \
                 and heapsight refuses ones this big",
                MAX_PROFILE_BYTES >> 30
            ),
            MAX_PROFILE_BYTES,
        ));
    }
    Ok(data)
}

/// Checked access to the profile's string table.
struct Strings<'a> {
    table: &'a [Vec<u8>],
    path: &'a Path,
}

impl<'a> Strings<'a> {
    /// String `i`, named in `what` (for the error when it is out of range).
    fn get(&self, i: i64, what: impl FnOnce() -> String) -> Result<Cow<'a, str>> {
        match usize::try_from(i).ok().and_then(|i| self.table.get(i)) {
            Some(bytes) => Ok(String::from_utf8_lossy(bytes)),
            // An empty table still has the implicit "" at index 0.
            None if i == 0 => Ok(Cow::Borrowed("")),
            None => Err(Error::format(
                self.path,
                format!(
                    "{} names string {i}, but the string table has {} entries",
                    what(),
                    self.table.len()
                ),
                0,
            )),
        }
    }
}

/// Map each message's `id` to its index; ids must be nonzero and unique.
fn index_by_id(
    path: &Path,
    what: &str,
    ids: impl ExactSizeIterator<Item = u64>,
) -> Result<FxHashMap<u64, usize>> {
    let mut map = FxHashMap::default();
    map.reserve(ids.len());
    for (i, id) in ids.enumerate() {
        if id == 0 {
            return Err(Error::format(
                path,
                format!("{what} {i} has id 0 (ids must be nonzero)"),
                0,
            ));
        }
        if map.insert(id, i).is_some() {
            return Err(Error::format(
                path,
                format!("two {what}s have the id {id}"),
                0,
            ));
        }
    }
    Ok(map)
}

/// Turn the decoded message into the allocation model, checking every reference.
fn convert(path: &Path, p: Profile, progress: Progress<'_>) -> Result<AllocProfile> {
    let bad = |what: String| Error::format(path, what, 0);
    let strings = Strings {
        table: &p.string_table,
        path,
    };
    if p.string_table.first().is_some_and(|s| !s.is_empty()) {
        return Err(bad(
            "the string table's first entry must be the empty string".into(),
        ));
    }

    // Sample types, by name.
    let mut slots: Vec<Option<Slot>> = Vec::with_capacity(p.sample_type.len());
    let mut type_names = Vec::with_capacity(p.sample_type.len());
    for (i, vt) in p.sample_type.iter().enumerate() {
        let ty = strings.get(vt.ty, || format!("sample type {i}"))?;
        let unit = strings.get(vt.unit, || format!("the unit of sample type {i}"))?;
        let slot = slot_of(&ty, &unit);
        if let Some(s) = slot {
            if let Some(j) = slots.iter().position(|&o| o == Some(s)) {
                return Err(bad(format!(
                    "sample types {} and {ty}/{unit} both count {}; heapsight cannot tell \
                     which to use",
                    type_names[j],
                    s.label()
                )));
            }
        }
        slots.push(slot);
        type_names.push(format!("{ty}/{unit}"));
    }
    if slots.iter().all(Option::is_none) {
        return Err(bad(if type_names.is_empty() {
            "the pprof profile declares no sample types".into()
        } else {
            format!(
                "not a heap profile: its sample types are {}; heapsight reads heap profiles \
                 ({KNOWN_TYPES})",
                type_names.join(", ")
            )
        }));
    }
    let period_type = match &p.period_type {
        Some(vt) => format!(
            "{}/{}",
            strings.get(vt.ty, || "the period type".into())?,
            strings.get(vt.unit, || "the period type's unit".into())?
        ),
        None => String::new(),
    };
    let has = |t: &str| type_names.iter().any(|n| n == t);
    let known = if type_names == ["inuse_space/bytes"] && period_type == "space/bytes" {
        // What jemalloc_pprof's `dump_pprof` writes.
        "jemalloc_pprof"
    } else if has("alloc_objects/count")
        && has("alloc_space/bytes")
        && has("inuse_objects/count")
        && has("inuse_space/bytes")
    {
        "Go heap profile"
    } else {
        "unknown producer"
    };
    let producer = format!("{known} ({})", type_names.join(", "));

    // Mappings: the first is the main binary, by convention.
    let mapping_ix = index_by_id(path, "mapping", p.mapping.iter().map(|m| m.id))?;
    let mut mapping_files = Vec::with_capacity(p.mapping.len());
    for m in &p.mapping {
        mapping_files.push(strings.get(m.filename, || format!("mapping {}", m.id))?);
    }
    let command = mapping_files
        .first()
        .map(|f| f.to_string())
        .unwrap_or_default();

    // Functions: (demangled name, file).
    let function_ix = index_by_id(path, "function", p.function.iter().map(|f| f.id))?;
    let mut functions = Vec::with_capacity(p.function.len());
    for f in &p.function {
        let name = strings.get(f.name, || format!("function {}", f.id))?;
        let system = strings.get(f.system_name, || format!("function {}", f.id))?;
        let file = strings.get(f.filename, || format!("function {}", f.id))?;
        let name = if name.is_empty() { system } else { name };
        functions.push((demangle(&name), file));
    }

    let mut out = AllocProfile {
        format: "pprof".into(),
        producer,
        command,
        ..Default::default()
    };
    let mut frame_index = FxHashMap::default();
    // Per model frame: is it the allocator's own (see `is_allocator_frame`)?
    let mut allocator_frame: Vec<bool> = Vec::new();

    // Locations: each one's frames, outermost (the caller the others were inlined into) first.
    let location_ix = index_by_id(path, "location", p.location.iter().map(|l| l.id))?;
    let mut location_frames: Vec<Vec<u32>> = Vec::with_capacity(p.location.len());
    for (i, loc) in p.location.iter().enumerate() {
        if i % 65536 == 0 {
            progress.step(
                "resolving pprof locations",
                i as u64,
                p.location.len() as u64,
            )?;
        }
        let mapping_file = match loc.mapping_id {
            0 => "",
            id => match mapping_ix.get(&id) {
                Some(&m) => mapping_files[m].as_ref(),
                None => {
                    return Err(bad(format!(
                        "location {} names mapping {id}, which the profile does not have",
                        loc.id
                    )))
                }
            },
        };
        let address = format!("0x{:x}", loc.address);
        let mut frames = Vec::with_capacity(loc.line.len().max(1));
        if loc.line.is_empty() {
            // Not symbolized: the address, in its binary.
            let frame = out.frame(&address, mapping_file, &mut frame_index);
            if frame as usize == allocator_frame.len() {
                allocator_frame.push(false);
            }
            frames.push(frame);
        }
        for line in loc.line.iter().rev() {
            let (name, file) = match line.function_id {
                0 => ("", ""),
                id => match function_ix.get(&id) {
                    Some(&f) => (functions[f].0.as_str(), functions[f].1.as_ref()),
                    None => {
                        return Err(bad(format!(
                            "location {} names function {id}, which the profile does not have",
                            loc.id
                        )))
                    }
                },
            };
            let name = if name.is_empty() { &address } else { name };
            let place = match (file.is_empty(), line.line > 0) {
                (true, _) => mapping_file.to_string(),
                (false, true) => format!("{file}:{}", line.line),
                (false, false) => file.to_string(),
            };
            let frame = out.frame(name, &place, &mut frame_index);
            if frame as usize == allocator_frame.len() {
                allocator_frame.push(is_allocator_frame(name, file));
            }
            frames.push(frame);
        }
        location_frames.push(frames);
    }

    // Samples: one site each.
    let mut frame_refs = 0usize;
    let mut totals = AllocMetrics::default();
    let mut frames = Vec::new();
    for (i, s) in p.sample.iter().enumerate() {
        if i % 65536 == 0 {
            progress.step("reading pprof samples", i as u64, p.sample.len() as u64)?;
        }
        if s.value.len() != slots.len() {
            return Err(bad(format!(
                "sample {i} has {} values, but the profile has {} sample types",
                s.value.len(),
                slots.len()
            )));
        }
        let mut metrics = AllocMetrics::default();
        for ((slot, &v), name) in slots.iter().zip(&s.value).zip(&type_names) {
            let Some(slot) = slot else { continue };
            let Ok(v) = u64::try_from(v) else {
                return Err(bad(format!(
                    "sample {i} has a negative {name} ({v}); heapsight reads heap profiles, \
                     not differences of two"
                )));
            };
            match slot {
                Slot::TotalBlocks => metrics.total_blocks = v,
                Slot::TotalBytes => metrics.total_bytes = v,
                Slot::LiveBlocks => metrics.peak_blocks = v,
                Slot::LiveBytes => metrics.peak_bytes = v,
            }
        }
        // Location ids must resolve even where the sample adds nothing.
        frames.clear();
        for &id in s.location_id.iter().rev() {
            let Some(&l) = location_ix.get(&id) else {
                return Err(bad(format!(
                    "sample {i} names location {id}, which the profile does not have"
                )));
            };
            frames.extend_from_slice(&location_frames[l]);
        }
        if metrics == AllocMetrics::default() {
            continue;
        }
        while frames.len() > 1 && frames.last().is_some_and(|&f| allocator_frame[f as usize]) {
            frames.pop();
        }
        frame_refs += frames.len();
        if frame_refs > MAX_FRAME_REFS {
            return Err(bad(format!(
                "the samples' stacks add up to more than {MAX_FRAME_REFS} frames"
            )));
        }
        let Some(sum) = totals.checked_add(&metrics) else {
            return Err(bad(
                "the sample values add up to more than 2^64; not a heap profile".into(),
            ));
        };
        totals = sum;
        out.push_site(&frames, metrics);
    }
    out.totals = totals;
    out.strings.finish();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_type_names() {
        assert_eq!(slot_of("inuse_space", "bytes"), Some(Slot::LiveBytes));
        assert_eq!(slot_of("space", "bytes"), Some(Slot::LiveBytes));
        assert_eq!(slot_of("objects", "count"), Some(Slot::LiveBlocks));
        assert_eq!(slot_of("alloc_objects", "count"), Some(Slot::TotalBlocks));
        assert_eq!(slot_of("alloc_space", "bytes"), Some(Slot::TotalBytes));
        assert_eq!(slot_of("inuse_space", "kilobytes"), None);
        assert_eq!(slot_of("cpu", "nanoseconds"), None);
    }
}
