//! heaptrack's data files (`heaptrack.<program>.<pid>.zst` or `.gz`, as written after
//! `heaptrack_interpret` resolved the addresses). Streamed line by line; the whole file is never
//! held in memory, only its strings, instruction pointers, traces and allocation infos.
//!
//! The format is text, one record a line, its letter first and hexadecimal numbers after it:
//!
//! | record | fields |
//! |---|---|
//! | `v` | heaptrack version, file format version |
//! | `X` | the profiled command line (rest of the line) |
//! | `I` | page size, physical pages |
//! | `s` | a string (format 3: its length first); strings are numbered from 1 |
//! | `i` | instruction pointer: address, module string, then optionally function string, file string, line, and (function, file, line) for each inlined caller; numbered from 1 |
//! | `t` | trace node: instruction pointer, parent trace (0 = none); numbered from 1 |
//! | `a` | allocation info: size, trace; numbered from 0 |
//! | `+` / `-` | an allocation / a free, by allocation info |
//! | `c` | timestamp in ms since start |
//! | `R` | resident set size in pages |
//! | `A` | heaptrack attached to a running process |
//! | `S` | an embedded leak suppression (`leak:pattern`) |
//! | `#` | comment |
//!
//! Format 0 (heaptrack before 1.0) has no `a` records: `+` carries size, trace and pointer, and
//! `-` the pointer.
//!
//! The numbers follow heaptrack_print's own rules, so they agree with it exactly:
//!
//! - the peak is the most bytes ever live at once; a site's peak bytes are its live bytes the
//!   first time that maximum is reached;
//! - a free is *temporary* when the record just before it (ignoring records other than `+` and
//!   `-`) allocated with the same allocation info. Like heaptrack, the loader keeps "the last
//!   allocation" as an index that a free resets to 0, so a free of allocation info 0 right after
//!   another free also counts (heaptrack_interpret's own count, by pointer, can be one lower);
//! - leaks are bytes still allocated at the end, except in stacks that heaptrack's built-in or
//!   the file's embedded suppressions match (heaptrack_print's "total memory leaked").

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{Format, Input};
use crate::error::{Error, Result};
use crate::model::alloc::{demangle, AllocMetrics, AllocProfile, TimePoint};
use crate::model::{FxHashMap, StringTable};
use crate::progress::Progress;

/// heaptrack data files. They have no extension of their own (`heaptrack.<program>.<pid>`);
/// heaptrack writes them compressed, as `.zst` or `.gz`.
pub static FORMAT: Format = Format {
    name: "heaptrack data file",
    known_as: "heaptrack",
    extensions: &[],
    sniff,
    load: |path, input, options, progress| {
        Ok(super::profile_snapshot(
            read(path, input, progress)?,
            options,
        ))
    },
};

/// A version line `v <hex> <hex>` first, or the command line `X …` before it.
fn sniff(head: &[u8]) -> bool {
    let text = super::head_text(head);
    text.starts_with("v ") || text.starts_with("X ")
}

/// Longest line accepted (heaptrack's longest lines are template-heavy function names).
const MAX_LINE: usize = 16 << 20;
/// Newest file format version understood.
const MAX_FORMAT_VERSION: u64 = 3;
/// The timeline is halved whenever it reaches this many points.
const TIMELINE_LIMIT: usize = 8192;
/// Lines between progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;
/// "No index".
const NONE: u32 = u32::MAX;
/// Leak suppressions heaptrack_print applies unless told not to.
const BUILTIN_SUPPRESSIONS: [&str; 7] = [
    "__nss_module_allocate",
    "__gconv_read_conf",
    "__new_exitfn",
    "tzset_internal",
    "dl_open_worker",
    "g_main_context_new",
    "g_thread_self",
];

const PHASE: &str = "reading heaptrack data";

/// A frame as the file gives it: heaptrack string numbers (0 = unknown) and a line.
#[derive(Clone, Copy)]
struct RawFrame {
    function: u32,
    file: u32,
    line: u32,
}

/// An instruction pointer: its module and its frames (innermost first) in `raw_frames`.
struct Ip {
    module: u32,
    start: u32,
    len: u32,
}

/// A trace node: instruction pointer (1-based, 0 = none) and parent trace (1-based, 0 = root).
#[derive(Clone, Copy)]
struct Trace {
    ip: u32,
    parent: u32,
}

/// An allocation info: a size allocated from a trace, and how many such blocks are live.
struct Info {
    size: u64,
    site: u32,
    live: u64,
}

/// Per-trace accounting.
#[derive(Default)]
struct Site {
    trace: u32,
    live_bytes: u64,
    live_blocks: u64,
    peak_bytes: u64,
    peak_blocks: u64,
    total_bytes: u64,
    total_blocks: u64,
    temporary: u64,
    /// Changed since its peak values were last brought up to date.
    dirty: bool,
}

/// Memory over time, at most [`TIMELINE_LIMIT`] points plus the last: when full, neighbours
/// merge pairwise (keeping the larger value) and later points are merged as they come, so the
/// density stays even and the peak survives.
struct Timeline {
    points: Vec<TimePoint>,
    /// Input points per output point.
    group: u64,
    pending: Option<(TimePoint, u64)>,
}

impl Timeline {
    fn new() -> Self {
        Self {
            points: Vec::new(),
            group: 1,
            pending: None,
        }
    }

    fn push(&mut self, p: TimePoint) {
        let (mut acc, n) = match self.pending.take() {
            None => (p, 1),
            Some((mut acc, n)) => {
                acc.bytes = acc.bytes.max(p.bytes);
                (acc, n + 1)
            }
        };
        if n < self.group {
            self.pending = Some((acc, n));
            return;
        }
        acc.bytes = acc.bytes.max(p.bytes);
        self.points.push(acc);
        if self.points.len() >= TIMELINE_LIMIT {
            let merged = self
                .points
                .chunks(2)
                .map(|c| TimePoint {
                    time: c[0].time,
                    bytes: c.iter().map(|p| p.bytes).max().unwrap_or(0),
                })
                .collect();
            self.points = merged;
            self.group *= 2;
        }
    }

    fn finish(mut self, last: TimePoint) -> Vec<TimePoint> {
        if let Some((acc, _)) = self.pending.take() {
            self.points.push(acc);
        }
        self.points.push(last);
        self.points
    }
}

/// The fields after a record's letter, split at single spaces.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match self.rest.iter().position(|&b| b == b' ') {
            Some(i) => {
                let f = &self.rest[..i];
                self.rest = &self.rest[i + 1..];
                Some(f)
            }
            None => Some(std::mem::take(&mut self.rest)),
        }
    }
}

/// A hexadecimal number: `None` when empty, not hex, or past `u64`.
fn hex(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    for &c in field {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | d as u64;
    }
    Some(v)
}

struct Parser<'p> {
    path: &'p Path,
    line_no: u64,
    offset: u64,
    format_version: u64,
    heaptrack_version: Option<u64>,
    command: Option<String>,
    attached: bool,
    suppressions: Vec<String>,
    /// heaptrack's string `n` is id `n - 1`.
    strings: StringTable,
    ips: Vec<Ip>,
    raw_frames: Vec<RawFrame>,
    traces: Vec<Trace>,
    /// Site of each trace, by trace number (0 = the empty trace).
    site_of_trace: Vec<u32>,
    infos: Vec<Info>,
    sites: Vec<Site>,
    /// Sites changed since the last new peak.
    dirty: Vec<u32>,
    /// Format 0: allocation info by (size, trace), and live pointers.
    info_of: FxHashMap<(u64, u32), u32>,
    pointers: FxHashMap<u64, u32>,
    /// heaptrack's "last allocation" for temporaries: an info index (a pointer in format 0),
    /// 0 after a free.
    last_alloc: u64,
    live: u64,
    live_blocks: u64,
    total_bytes: u64,
    peak: u64,
    peak_time: u64,
    time: u64,
    saw_time: bool,
    interval_start: u64,
    interval_max: u64,
    timeline: Timeline,
}

impl<'p> Parser<'p> {
    fn new(path: &'p Path) -> Self {
        Self {
            path,
            line_no: 0,
            offset: 0,
            format_version: 0,
            heaptrack_version: None,
            command: None,
            attached: false,
            suppressions: Vec::new(),
            strings: StringTable::new(),
            ips: Vec::new(),
            raw_frames: Vec::new(),
            traces: Vec::new(),
            site_of_trace: vec![NONE],
            infos: Vec::new(),
            sites: Vec::new(),
            dirty: Vec::new(),
            info_of: FxHashMap::default(),
            pointers: FxHashMap::default(),
            last_alloc: 0,
            live: 0,
            live_blocks: 0,
            total_bytes: 0,
            peak: 0,
            peak_time: 0,
            time: 0,
            saw_time: false,
            interval_start: 0,
            interval_max: 0,
            timeline: Timeline::new(),
        }
    }

    fn err(&self, what: impl std::fmt::Display) -> Error {
        Error::format(
            self.path,
            format!("line {}: {what}", self.line_no),
            self.offset,
        )
    }

    /// The next field as a hex number.
    fn num(&self, f: &mut Fields<'_>, what: &str) -> Result<u64> {
        match f.next() {
            None => Err(self.err(format!("{what} is missing (line cut short?)"))),
            Some(text) => hex(text).ok_or_else(|| {
                self.err(format!(
                    "{what} {:?} is not a 64-bit hexadecimal number",
                    String::from_utf8_lossy(&text[..text.len().min(40)])
                ))
            }),
        }
    }

    /// The next field as a number that fits `u32`.
    fn num32(&self, f: &mut Fields<'_>, what: &str) -> Result<u32> {
        let v = self.num(f, what)?;
        u32::try_from(v).map_err(|_| self.err(format!("{what} {v:#x} is too large")))
    }

    /// The next field as a string number (0 = none) of a string already defined.
    fn string_ref(&self, f: &mut Fields<'_>, what: &str) -> Result<u32> {
        let v = self.num(f, what)?;
        if v > self.strings.len() as u64 {
            return Err(self.err(format!(
                "{what} names string {v:#x}, but only {:#x} strings are defined so far",
                self.strings.len()
            )));
        }
        Ok(v as u32)
    }

    fn line(&mut self, line: &[u8]) -> Result<()> {
        let Some(&letter) = line.first() else {
            return Ok(()); // empty line: heaptrack treats it as a comment
        };
        if letter == b'#' {
            return Ok(());
        }
        if line.len() > 1 && line[1] != b' ' {
            return Err(self.garbage(line));
        }
        let rest = line.get(2..).unwrap_or_default();
        let mut f = Fields { rest };
        match letter {
            b'v' => {
                let version = self.num(&mut f, "heaptrack version")?;
                self.heaptrack_version = Some(version);
                self.format_version = match f.next() {
                    Some(text) => hex(text)
                        .ok_or_else(|| self.err("the file format version is not a number"))?,
                    // heaptrack 1.0 wrote its own version where the format version goes.
                    None if version == 0x010200 => 1,
                    None => 0,
                };
                if self.format_version > MAX_FORMAT_VERSION {
                    return Err(self.err(format!(
                        "file format version {} (written by heaptrack {}) is newer than \
                         heapsight reads (up to {MAX_FORMAT_VERSION})",
                        self.format_version,
                        version_text(version)
                    )));
                }
            }
            b'X' => {
                if self.command.is_some() {
                    return Err(self.err("a second command line (X): two files concatenated?"));
                }
                self.command = Some(String::from_utf8_lossy(rest).into_owned());
            }
            b's' => {
                let text = if self.format_version >= 3 {
                    let len = self.num(&mut f, "string length")?;
                    if len > f.rest.len() as u64 {
                        return Err(self.err(format!(
                            "the string is {len} bytes long, but the line holds only {} \
                             (line cut short?)",
                            f.rest.len()
                        )));
                    }
                    &f.rest[..len as usize]
                } else {
                    rest
                };
                let text = String::from_utf8_lossy(text);
                if self.strings.push(&text).is_none() {
                    return Err(self.err("more than 4 GiB of strings"));
                }
            }
            b'i' => self.ip(&mut f)?,
            b't' => {
                let ip = self.num(&mut f, "instruction pointer")?;
                let parent = self.num(&mut f, "parent trace")?;
                if ip > self.ips.len() as u64 {
                    return Err(self.err(format!(
                        "trace names instruction pointer {ip:#x}, but only {:#x} are defined so far",
                        self.ips.len()
                    )));
                }
                if parent > self.traces.len() as u64 {
                    return Err(self.err(format!(
                        "trace names parent trace {parent:#x}, but only {:#x} are defined so far",
                        self.traces.len()
                    )));
                }
                if self.traces.len() >= NONE as usize - 1 {
                    return Err(self.err("too many traces"));
                }
                self.traces.push(Trace {
                    ip: ip as u32,
                    parent: parent as u32,
                });
                self.site_of_trace.push(NONE);
            }
            b'a' => {
                let size = self.num(&mut f, "allocation size")?;
                let trace = self.num(&mut f, "trace")?;
                self.new_info(size, trace)?;
            }
            b'+' => {
                if self.format_version >= 1 {
                    let index = self.num(&mut f, "allocation info")?;
                    let info = self.info_index(index, '+')?;
                    self.last_alloc = index;
                    self.allocate(info)?;
                } else {
                    let size = self.num(&mut f, "allocation size")?;
                    let trace = self.num(&mut f, "trace")?;
                    let ptr = self.num(&mut f, "pointer")?;
                    let trace32 = u32::try_from(trace).unwrap_or(NONE);
                    let info = match self.info_of.get(&(size, trace32)) {
                        Some(&i) => i,
                        None => {
                            let i = self.new_info(size, trace)?;
                            self.info_of.insert((size, trace32), i);
                            i
                        }
                    };
                    if let Some(old) = self.pointers.insert(ptr, info) {
                        // The same address allocated twice without a free in between: the
                        // earlier block's free was not recorded.
                        self.free(old);
                    }
                    self.last_alloc = ptr;
                    self.allocate(info)?;
                }
            }
            b'-' => {
                if self.format_version >= 1 {
                    let index = self.num(&mut f, "allocation info")?;
                    let info = self.info_index(index, '-')?;
                    if self.infos[info as usize].live == 0 {
                        return Err(self.err(format!(
                            "free of allocation info {index:#x}, which has no live allocation"
                        )));
                    }
                    let temporary = self.last_alloc == index;
                    self.last_alloc = 0;
                    self.free(info);
                    if temporary {
                        let site = self.infos[info as usize].site;
                        self.sites[site as usize].temporary += 1;
                    }
                } else {
                    let ptr = self.num(&mut f, "pointer")?;
                    let temporary = self.last_alloc == ptr;
                    self.last_alloc = 0;
                    // Frees of blocks allocated before heaptrack attached are unknown: skipped.
                    if let Some(info) = self.pointers.remove(&ptr) {
                        self.free(info);
                        if temporary {
                            let site = self.infos[info as usize].site;
                            self.sites[site as usize].temporary += 1;
                        }
                    }
                }
            }
            b'c' => {
                let t = self.num(&mut f, "timestamp")?;
                if t > self.interval_start {
                    self.timeline.push(TimePoint {
                        time: self.interval_start,
                        bytes: self.interval_max,
                    });
                    self.interval_start = t;
                    self.interval_max = self.live;
                }
                self.time = t;
                self.saw_time = true;
            }
            b'S' => {
                let text = String::from_utf8_lossy(rest);
                if let Some(p) = text.trim().strip_prefix("leak:") {
                    if !p.is_empty() {
                        self.suppressions.push(p.to_string());
                    }
                }
            }
            b'A' => self.attached = true,
            // Page size and RSS: not part of the heap profile.
            b'I' | b'R' => {}
            b'm' | b'x' => {
                return Err(self.err(
                    "this is heaptrack's raw trace, before heaptrack_interpret resolved its \
                     addresses; open the file heaptrack wrote after interpreting it",
                ))
            }
            _ => return Err(self.garbage(line)),
        }
        Ok(())
    }

    fn garbage(&self, line: &[u8]) -> Error {
        let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
        self.err(format!("not a heaptrack record: {shown:?}"))
    }

    fn ip(&mut self, f: &mut Fields<'_>) -> Result<()> {
        let _address = self.num(f, "address")?;
        let module = self.string_ref(f, "module")?;
        let start = self.raw_frames.len();
        let mut frame = RawFrame {
            function: 0,
            file: 0,
            line: 0,
        };
        if f.rest.is_empty() {
            self.raw_frames.push(frame);
        } else {
            frame.function = self.string_ref(f, "function")?;
            if !f.rest.is_empty() {
                frame.file = self.string_ref(f, "file")?;
                frame.line = self.num32(f, "line")?;
            }
            self.raw_frames.push(frame);
            while !f.rest.is_empty() {
                let function = self.string_ref(f, "inlined function")?;
                let file = self.string_ref(f, "inlined function's file")?;
                let line = self.num32(f, "inlined function's line")?;
                self.raw_frames.push(RawFrame {
                    function,
                    file,
                    line,
                });
            }
        }
        let (Ok(start32), Ok(len)) = (
            u32::try_from(start),
            u32::try_from(self.raw_frames.len() - start),
        ) else {
            return Err(self.err("too many instruction pointers"));
        };
        self.ips.push(Ip {
            module,
            start: start32,
            len,
        });
        Ok(())
    }

    /// Define an allocation info (size, trace); its index.
    fn new_info(&mut self, size: u64, trace: u64) -> Result<u32> {
        if trace > self.traces.len() as u64 {
            return Err(self.err(format!(
                "allocation names trace {trace:#x}, but only {:#x} traces are defined so far",
                self.traces.len()
            )));
        }
        let site = match self.site_of_trace[trace as usize] {
            NONE => {
                let s = u32::try_from(self.sites.len())
                    .ok()
                    .filter(|&s| s != NONE)
                    .ok_or_else(|| self.err("too many allocation sites"))?;
                self.sites.push(Site {
                    trace: trace as u32,
                    ..Default::default()
                });
                self.site_of_trace[trace as usize] = s;
                s
            }
            s => s,
        };
        let index = u32::try_from(self.infos.len())
            .ok()
            .filter(|&i| i != NONE)
            .ok_or_else(|| self.err("too many allocation infos"))?;
        self.infos.push(Info {
            size,
            site,
            live: 0,
        });
        Ok(index)
    }

    fn info_index(&self, index: u64, record: char) -> Result<u32> {
        if index >= self.infos.len() as u64 {
            return Err(self.err(format!(
                "'{record}' names allocation info {index:#x}, but only {:#x} are defined so far \
                 (by 'a' records)",
                self.infos.len()
            )));
        }
        Ok(index as u32)
    }

    fn touch(&mut self, site: u32) {
        let s = &mut self.sites[site as usize];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(site);
        }
    }

    fn allocate(&mut self, info: u32) -> Result<()> {
        let (size, site) = {
            let i = &self.infos[info as usize];
            (i.size, i.site)
        };
        // Every per-site sum is at most its program-wide one, so checking these two keeps all
        // sums (including the profile's totals over sites) within u64.
        let (Some(live), Some(total)) = (
            self.live.checked_add(size),
            self.total_bytes.checked_add(size),
        ) else {
            return Err(self.err("the byte counts overflow 64 bits: not a real profile"));
        };
        self.live = live;
        self.total_bytes = total;
        self.infos[info as usize].live += 1;
        let s = &mut self.sites[site as usize];
        s.live_bytes += size;
        s.live_blocks += 1;
        s.total_bytes += size;
        s.total_blocks += 1;
        self.touch(site);
        self.live_blocks += 1;
        self.interval_max = self.interval_max.max(self.live);
        if self.live > self.peak {
            self.peak = self.live;
            self.peak_time = self.time;
            // Bring the sites changed since the last peak up to date; the others still hold
            // their live values in their peak fields.
            for d in self.dirty.drain(..) {
                let s = &mut self.sites[d as usize];
                s.peak_bytes = s.live_bytes;
                s.peak_blocks = s.live_blocks;
                s.dirty = false;
            }
        }
        Ok(())
    }

    /// Free one block of `info` (the caller checked one is live).
    fn free(&mut self, info: u32) {
        let i = &mut self.infos[info as usize];
        i.live -= 1;
        let (size, site) = (i.size, i.site);
        let s = &mut self.sites[site as usize];
        s.live_bytes -= size;
        s.live_blocks -= 1;
        self.touch(site);
        self.live -= size;
        self.live_blocks -= 1;
    }

    /// Turn the parsed file into a profile.
    fn finish(mut self) -> AllocProfile {
        let end_time = if self.saw_time { self.time + 1 } else { 0 };
        self.timeline.push(TimePoint {
            time: self.interval_start,
            bytes: self.interval_max,
        });
        let timeline = std::mem::replace(&mut self.timeline, Timeline::new()).finish(TimePoint {
            time: end_time.max(self.interval_start + 1),
            bytes: self.live,
        });
        let suppressed = self.suppressed_traces();
        let producer = match self.heaptrack_version {
            Some(v) => format!("heaptrack {}", version_text(v)),
            None => "heaptrack".to_string(),
        };
        let mut profile = AllocProfile {
            format: "heaptrack".into(),
            producer: if self.attached {
                format!("{producer} (attached)")
            } else {
                producer
            },
            command: self.command.take().unwrap_or_default(),
            time_unit: "ms".into(),
            peak_time: Some(self.peak_time),
            end_time: Some(end_time),
            timeline,
            ..Default::default()
        };
        let mut index = FxHashMap::default();
        let mut frame_of_raw = vec![NONE; self.raw_frames.len()];
        let mut frames = Vec::new();
        for site in &self.sites {
            if site.total_blocks == 0 {
                continue;
            }
            frames.clear();
            let mut t = site.trace;
            while t != 0 {
                let trace = self.traces[t as usize - 1];
                if trace.ip != 0 {
                    let ip = &self.ips[trace.ip as usize - 1];
                    for r in ip.start..ip.start + ip.len {
                        let id = match frame_of_raw[r as usize] {
                            NONE => {
                                let raw = self.raw_frames[r as usize];
                                let (function, location) = self.frame_text(raw, ip.module);
                                let id = profile.frame(&function, &location, &mut index);
                                frame_of_raw[r as usize] = id;
                                id
                            }
                            id => id,
                        };
                        frames.push(id);
                    }
                }
                t = trace.parent;
            }
            // heaptrack lists the allocating frame first; the model wants the outermost first.
            frames.reverse();
            let leaked = !suppressed
                .get(site.trace as usize)
                .copied()
                .unwrap_or(false);
            profile.push_site(
                &frames,
                AllocMetrics {
                    total_bytes: site.total_bytes,
                    total_blocks: site.total_blocks,
                    peak_bytes: site.peak_bytes,
                    peak_blocks: site.peak_blocks,
                    end_bytes: if leaked { site.live_bytes } else { 0 },
                    end_blocks: if leaked { site.live_blocks } else { 0 },
                    temporary_blocks: site.temporary,
                    ..Default::default()
                },
            );
        }
        profile.totals = profile.site_totals();
        profile.strings.finish();
        profile
    }

    /// Function name and location of a frame.
    fn frame_text(&self, raw: RawFrame, module: u32) -> (String, String) {
        let s = |n: u32| self.strings.get(n.wrapping_sub(1));
        let function = if raw.function == 0 {
            "??".to_string()
        } else {
            function_name(s(raw.function))
        };
        let location = if raw.file != 0 {
            if raw.line != 0 {
                format!("{}:{}", s(raw.file), raw.line)
            } else {
                s(raw.file).to_string()
            }
        } else if module != 0 {
            s(module).to_string()
        } else {
            String::new()
        };
        (function, location)
    }

    /// Which traces (by number) a leak suppression matches: one of its frames' function, file
    /// or module matches, or its parent's does. Empty when nothing leaked or nothing matches.
    fn suppressed_traces(&self) -> Vec<bool> {
        if !self.sites.iter().any(|s| s.live_bytes > 0) {
            return Vec::new();
        }
        let patterns: Vec<&str> = BUILTIN_SUPPRESSIONS
            .iter()
            .copied()
            .chain(self.suppressions.iter().map(String::as_str))
            .collect();
        let strings: Vec<bool> = self
            .strings
            .iter()
            .map(|(_, s)| patterns.iter().any(|p| suppression_matches(p, s)))
            .collect();
        if !strings.contains(&true) {
            return Vec::new();
        }
        let string = |n: u32| n != 0 && strings.get(n as usize - 1).copied().unwrap_or(false);
        let mut traces = vec![false; self.traces.len() + 1];
        for (i, t) in self.traces.iter().enumerate() {
            let ip_matches = t.ip != 0 && {
                let ip = &self.ips[t.ip as usize - 1];
                string(ip.module)
                    || self.raw_frames[ip.start as usize..(ip.start + ip.len) as usize]
                        .iter()
                        .any(|f| string(f.function) || string(f.file))
            };
            // Parents come before their children, so the parent's flag is final.
            traces[i + 1] = ip_matches || traces[t.parent as usize];
        }
        traces
    }
}

/// `0x010400` → `1.4.0`.
fn version_text(v: u64) -> String {
    format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
}

/// A readable function name. heaptrack_interpret demangles C++ names itself, which leaves Rust
/// v0 names mangled and legacy Rust names half-done (`Vec$LT$T$GT$::push::h0123…`).
fn function_name(raw: &str) -> String {
    let name = demangle(raw);
    match name.rsplit_once("::h") {
        Some((base, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            unescape_legacy_rust(base)
        }
        _ => name,
    }
}

/// Undo legacy Rust mangling's escapes in an already split path.
fn unescape_legacy_rust(path: &str) -> String {
    const ESCAPES: [(&str, &str); 17] = [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$RF$", "&"),
        ("$BP$", "*"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$C$", ","),
        ("$SP$", "@"),
        ("$u20$", " "),
        ("$u22$", "\""),
        ("$u27$", "'"),
        ("$u2b$", "+"),
        ("$u3b$", ";"),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
    ];
    let parts: Vec<String> = path
        .split("::")
        .map(|part| {
            let mut p = part
                .strip_prefix('_')
                .filter(|p| p.starts_with('$'))
                .unwrap_or(part)
                .to_string();
            for (from, to) in ESCAPES {
                if p.contains(from) {
                    p = p.replace(from, to);
                }
            }
            p.replace("$u7e$", "~").replace("..", "::")
        })
        .collect();
    parts.join("::")
}

/// Does a leak suppression pattern match `text`? LeakSanitizer's rules, as heaptrack uses
/// them: a substring match, where `*` matches anything, a leading `^` anchors at the start and
/// a trailing `$` at the end.
fn suppression_matches(pattern: &str, text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    if pattern == text {
        return true;
    }
    let (start_anchor, pat) = match pattern.strip_prefix('^') {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    let (end_anchor, pat) = match pat.strip_suffix('$') {
        Some(p) => (true, p),
        None => (false, pat),
    };
    let pieces: Vec<&str> = pat.split('*').collect();
    let n = pieces.len();
    let mut pos = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let anchored_here = i == 0 && start_anchor;
        if i == n - 1 && end_anchor {
            return if anchored_here {
                text == *piece
            } else {
                text.len() >= pos + piece.len() && text.ends_with(piece)
            };
        }
        if anchored_here {
            if !text.starts_with(piece) {
                return false;
            }
            pos = piece.len();
        } else {
            match text[pos..].find(piece) {
                Some(k) => pos += k + piece.len(),
                None => return false,
            }
        }
    }
    true
}

/// Read a heaptrack data file from an opened input.
pub fn read(path: &Path, input: Input, progress: Progress<'_>) -> Result<AllocProfile> {
    let total = input.total;
    let done = input.done;
    progress.step(PHASE, 0, total)?;
    let mut reader = BufReader::with_capacity(1 << 16, input.stream);
    let mut p = Parser::new(path);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| {
                Error::format(path, format!("cannot read or decompress: {e}"), p.offset)
            })?;
        if n == 0 {
            break;
        }
        p.line_no += 1;
        if p.line_no.is_multiple_of(PROGRESS_EVERY) {
            progress.step(PHASE, done(), total)?;
        }
        let line = match buf.strip_suffix(b"\n") {
            Some(l) => l,
            None if buf.len() > MAX_LINE => {
                return Err(p.err(format!("the line is longer than {} MiB", MAX_LINE >> 20)))
            }
            None if buf.iter().all(u8::is_ascii_whitespace) => &buf[..0],
            None => {
                return Err(p.err(
                    "the file ends in the middle of a line: it was cut short \
                     (heaptrack still running, or killed?)",
                ))
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        p.line(line)?;
        p.offset += n as u64;
    }
    if p.heaptrack_version.is_none() && p.command.is_none() {
        return Err(Error::format(
            path,
            "no heaptrack header (v or X record)",
            0,
        ));
    }
    Ok(p.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_numbers() {
        assert_eq!(hex(b"0"), Some(0));
        assert_eq!(hex(b"1f"), Some(31));
        assert_eq!(hex(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(hex(b"10000000000000000"), None);
        assert_eq!(hex(b""), None);
        assert_eq!(hex(b"+1"), None);
        assert_eq!(hex(b"1g"), None);
    }

    #[test]
    fn suppressions() {
        assert!(suppression_matches("dl_open_worker", "dl_open_worker"));
        assert!(suppression_matches("open_work", "dl_open_worker"));
        assert!(!suppression_matches("^open", "dl_open_worker"));
        assert!(suppression_matches("^dl_*worker$", "dl_open_worker"));
        assert!(!suppression_matches("dl_open$", "dl_open_worker"));
        assert!(suppression_matches("worker$", "dl_open_worker"));
        assert!(suppression_matches("a*b*c", "xxaxxbxxcxx"));
        assert!(!suppression_matches("a*c*b", "abc"));
        assert!(!suppression_matches("x", ""));
    }

    #[test]
    fn function_names() {
        assert_eq!(
            function_name("_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal"),
            "std::rt::lang_start_internal"
        );
        assert_eq!(
            function_name("_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$::drop::h0123456789abcdef"),
            "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop"
        );
        assert_eq!(
            function_name("operator new(unsigned long)"),
            "operator new(unsigned long)"
        );
        assert_eq!(
            function_name("std::vector<int>::push_back"),
            "std::vector<int>::push_back"
        );
    }

    #[test]
    fn timeline_stays_bounded_and_keeps_the_peak() {
        let mut t = Timeline::new();
        for i in 0..100_000u64 {
            t.push(TimePoint {
                time: i,
                bytes: if i == 77_777 { 1 << 40 } else { i },
            });
        }
        let points = t.finish(TimePoint {
            time: 100_000,
            bytes: 0,
        });
        assert!(points.len() <= TIMELINE_LIMIT + 2, "{}", points.len());
        assert!(points.len() > TIMELINE_LIMIT / 4);
        assert!(points.windows(2).all(|w| w[0].time < w[1].time));
        assert_eq!(points.iter().map(|p| p.bytes).max(), Some(1 << 40));
        assert_eq!(points[0].time, 0);
    }
}
