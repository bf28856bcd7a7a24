//! DHAT's JSON output, from dhat-rs (`dhat-heap.json`) and `valgrind --tool=dhat`
//! (`dhat.out.*`). Read with typed, streaming deserialization (no document tree; program
//! points go straight into packed arrays as they are parsed). Heap mode only: ad-hoc and copy profiles count something other than heap memory and are rejected.

use std::io::Read;
use std::path::Path;

use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;

use super::{Format, Input};
use crate::error::{Error, Result};
use crate::model::alloc::{demangle, AllocMetrics, AllocProfile};
use crate::model::FxHashMap;
use crate::progress::Progress;

/// DHAT profiles (dhat-rs's `dhat-heap.json`, valgrind's `dhat.out.<pid>`).
pub static FORMAT: Format = Format {
    name: "DHAT JSON",
    known_as: "DHAT JSON",
    extensions: &["json"],
    sniff,
    load: |path, input, options, progress| {
        Ok(super::profile_snapshot(
            read(path, input, progress)?,
            options,
        ))
    },
};

/// A JSON object with a `dhatFileVersion` field in its first 4 KiB.
pub(super) fn sniff(head: &[u8]) -> bool {
    let text = super::head_text(head);
    text.starts_with('{') && text.contains("\"dhatFileVersion\"")
}

/// The top-level fields; the program points stream into [`Points`] as they are parsed.
#[derive(Default)]
struct Header {
    version: Option<u32>,
    mode: Option<String>,
    cmd: String,
    tu: String,
    tg: Option<u64>,
    te: Option<u64>,
    bkacc: bool,
    bklt: bool,
    tuth: Option<u64>,
    saw_pps: bool,
    ftbl: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ProgramPoint {
    tb: u64,
    tbk: u64,
    #[serde(default)]
    tl: u64,
    #[serde(default)]
    gb: u64,
    #[serde(default)]
    gbk: u64,
    #[serde(default)]
    eb: u64,
    #[serde(default)]
    ebk: u64,
    #[serde(default)]
    rb: u64,
    #[serde(default)]
    wb: u64,
    fs: Vec<u32>,
}

/// Program points as read, packed: metrics, and frame-table indices (allocating frame first)
/// in one shared list. The frame table comes after them in the file, so frames are resolved
/// once it is read.
#[derive(Default)]
struct Points {
    metrics: Vec<AllocMetrics>,
    ends: Vec<u64>,
    fs: Vec<u32>,
}

/// Reads the top-level object, streaming `pps` into the points.
struct FileSeed<'a>(&'a mut Points);

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Header;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Header, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Header;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a DHAT JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Header, A::Error> {
        let mut h = Header::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "dhatFileVersion" => h.version = Some(map.next_value()?),
                "mode" => h.mode = Some(map.next_value()?),
                "cmd" => h.cmd = map.next_value()?,
                "tu" => h.tu = map.next_value()?,
                "tg" => h.tg = map.next_value()?,
                "te" => h.te = map.next_value()?,
                "bkacc" => h.bkacc = map.next_value()?,
                "bklt" => h.bklt = map.next_value()?,
                "tuth" => h.tuth = map.next_value()?,
                "pps" if h.saw_pps => return Err(A::Error::duplicate_field("pps")),
                "pps" => {
                    h.saw_pps = true;
                    map.next_value_seed(PointsSeed(&mut *self.0))?;
                }
                "ftbl" => h.ftbl = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(h)
    }
}

/// Reads the `pps` array one program point at a time.
struct PointsSeed<'a>(&'a mut Points);

impl<'de> DeserializeSeed<'de> for PointsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of program points")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(pp) = seq.next_element::<ProgramPoint>()? {
            self.0.metrics.push(AllocMetrics {
                total_bytes: pp.tb,
                total_blocks: pp.tbk,
                peak_bytes: pp.gb,
                peak_blocks: pp.gbk,
                end_bytes: pp.eb,
                end_blocks: pp.ebk,
                read_bytes: pp.rb,
                written_bytes: pp.wb,
                total_lifetime: pp.tl,
                temporary_blocks: 0,
            });
            self.0.fs.extend_from_slice(&pp.fs);
            self.0.ends.push(self.0.fs.len() as u64);
        }
        Ok(())
    }
}

/// The code address a DHAT frame starts with (`0x4A3B2C: …`), if any.
fn frame_address(text: &str) -> Option<&str> {
    text.split_once(": ")
        .map(|(addr, _)| addr)
        .filter(|a| a.starts_with("0x"))
}

/// Split a DHAT frame `0x4A3B2C: func (src/main.rs:12:5)` into (function, location).
fn parse_frame(text: &str) -> (String, String) {
    let body = match text.split_once(": ") {
        Some((addr, rest)) if addr.starts_with("0x") => rest,
        _ => text,
    };
    match body.rfind(" (") {
        Some(i) if body.ends_with(')') => {
            let loc = &body[i + 2..body.len() - 1];
            let loc = loc.strip_prefix("in ").unwrap_or(loc);
            (demangle(&body[..i]), loc.to_string())
        }
        _ => (demangle(body), String::new()),
    }
}

/// Read a DHAT profile from an opened input.
pub fn read(path: &Path, input: Input, progress: Progress<'_>) -> Result<AllocProfile> {
    const PHASE: &str = "reading DHAT profile";
    progress.step(PHASE, 0, input.total)?;
    let reader = ReportingReader {
        inner: input.stream,
        progress,
        phase: PHASE,
        done: input.done,
        compressed: input.compressed,
        total: input.total,
        consumed: 0,
        unreported: 0,
    };
    let mut points = Points::default();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let parsed = FileSeed(&mut points)
        .deserialize(&mut de)
        .and_then(|h| de.end().map(|()| h));
    let file = match parsed {
        Ok(f) => f,
        Err(e) => {
            progress.check()?;
            let at = if e.line() > 0 {
                format!(" (line {}, column {})", e.line(), e.column())
            } else {
                String::new()
            };
            return Err(Error::format(
                path,
                format!("not a valid DHAT file: {e}{at}"),
                0,
            ));
        }
    };
    let missing =
        |what: &str| Error::format(path, format!("not a valid DHAT file: no {what:?} field"), 0);
    let version = file.version.ok_or_else(|| missing("dhatFileVersion"))?;
    if version != 2 {
        return Err(Error::format(
            path,
            format!("DHAT file version {version} (heapsight reads version 2)"),
            0,
        ));
    }
    let mode = file.mode.ok_or_else(|| missing("mode"))?;
    let producer = match mode.as_str() {
        "rust-heap" => "dhat-rs (heap)",
        "heap" => "valgrind DHAT (heap)",
        other => {
            return Err(Error::format(
                path,
                format!("DHAT {other:?} profile: only heap profiles can be analysed (run DHAT in heap mode)"),
                0,
            ))
        }
    };
    if !file.saw_pps {
        return Err(missing("pps"));
    }
    let ftbl = file.ftbl.ok_or_else(|| missing("ftbl"))?;
    let mut profile = AllocProfile {
        format: "dhat".into(),
        producer: producer.into(),
        command: file.cmd,
        time_unit: file.tu,
        peak_time: file.tg,
        end_time: file.te,
        has_access_counts: file.bkacc,
        has_lifetimes: file.bklt,
        short_lived_threshold: file.tuth.filter(|_| file.bklt),
        ..Default::default()
    };
    // Frame table entries become frames once, on first use; their addresses are read once.
    let mut frame_of: Vec<Option<u32>> = vec![None; ftbl.len()];
    let addresses: Vec<Option<&str>> = ftbl.iter().map(|t| frame_address(t)).collect();
    let mut inlined_entry = vec![false; ftbl.len()];
    let mut index = FxHashMap::default();
    let mut frames = Vec::new();
    let mut start = 0usize;
    for (i, (&end, metrics)) in points.ends.iter().zip(&points.metrics).enumerate() {
        if i % 4096 == 0 {
            progress.step(
                "building DHAT call stacks",
                i as u64,
                points.ends.len() as u64,
            )?;
        }
        frames.clear();
        // DHAT lists the allocating frame first; the model wants the outermost first.
        for &f in points.fs[start..end as usize].iter().rev() {
            let Some(text) = ftbl.get(f as usize) else {
                return Err(Error::format(
                    path,
                    format!(
                        "program point {i} names frame {f}, but the frame table has {}",
                        ftbl.len()
                    ),
                    0,
                ));
            };
            if text == "[root]" {
                continue;
            }
            let id = match frame_of[f as usize] {
                Some(id) => id,
                None => {
                    let (func, loc) = parse_frame(text);
                    let id = profile.frame(&func, &loc, &mut index);
                    frame_of[f as usize] = Some(id);
                    id
                }
            };
            frames.push(id);
        }
        // Inlined frames share their code address with the next frame out.
        for pair in points.fs[start..end as usize].windows(2) {
            let (inner, outer) = (pair[0] as usize, pair[1] as usize);
            if addresses[inner].is_some() && addresses[inner] == addresses[outer] {
                inlined_entry[inner] = true;
            }
        }
        start = end as usize;
        profile.push_site(&frames, *metrics);
    }
    profile.inlined = vec![false; profile.frames.len()];
    for (entry, id) in frame_of.iter().enumerate() {
        if let (Some(id), true) = (id, inlined_entry[entry]) {
            profile.inlined[*id as usize] = true;
        }
    }
    let mut totals = AllocMetrics::default();
    for m in &points.metrics {
        totals = totals.checked_add(m).ok_or_else(|| {
            Error::format(
                path,
                "the program points' values add up to more than 2^64: not a real profile",
                0,
            )
        })?;
    }
    profile.totals = totals;
    profile.strings.finish();
    Ok(profile)
}

/// Passes bytes through, reporting how much of the file has been read every MiB and stopping
/// with an error once cancelled (serde's reader can't be interrupted otherwise). Uncompressed,
/// the position is what the parser consumed; compressed, the file bytes read so far.
struct ReportingReader<'a, R> {
    inner: R,
    progress: Progress<'a>,
    phase: &'static str,
    done: Box<dyn Fn() -> u64 + Send>,
    compressed: bool,
    total: u64,
    consumed: u64,
    unreported: usize,
}

impl<R: Read> Read for ReportingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unreported += n;
        self.consumed += n as u64;
        if self.unreported >= 1 << 20 {
            self.unreported = 0;
            let at = if self.compressed {
                (self.done)()
            } else {
                self.consumed
            };
            self.progress
                .report(self.phase, at.min(self.total), self.total);
            if self.progress.check().is_err() {
                return Err(std::io::Error::other("cancelled"));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(
            parse_frame("0x1234: alloc_workload::load_tensors (src/main.rs:12:5)"),
            (
                "alloc_workload::load_tensors".into(),
                "src/main.rs:12:5".into()
            )
        );
        assert_eq!(
            parse_frame("0x4C2F: malloc (in /usr/lib/valgrind/vgpreload_dhat.so)"),
            (
                "malloc".into(),
                "/usr/lib/valgrind/vgpreload_dhat.so".into()
            )
        );
        assert_eq!(parse_frame("[root]"), ("[root]".into(), String::new()));
        assert_eq!(parse_frame("0x1: _ZN3foo3barE (a.rs:1:1)").0, "foo::bar");
    }
}
