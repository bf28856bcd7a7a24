//! DHAT's JSON output, from dhat-rs (`dhat-heap.json`) and `valgrind --tool=dhat`
//! (`dhat.out.*`). Read with typed, streaming deserialization (no document tree). Heap mode
//! only: ad-hoc and copy profiles count something other than heap memory and are rejected.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::Input;
use crate::error::{Error, Result};
use crate::model::alloc::{demangle, AllocMetrics, AllocProfile, AllocSite};
use crate::model::FxHashMap;
use crate::progress::Progress;

#[derive(Deserialize)]
struct DhatFile {
    #[serde(rename = "dhatFileVersion")]
    version: u32,
    mode: String,
    #[serde(default)]
    cmd: String,
    #[serde(default)]
    tu: String,
    #[serde(default)]
    tg: Option<u64>,
    #[serde(default)]
    te: Option<u64>,
    #[serde(default)]
    bkacc: bool,
    #[serde(default)]
    bklt: bool,
    #[serde(default)]
    tuth: Option<u64>,
    pps: Vec<ProgramPoint>,
    ftbl: Vec<String>,
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

/// Load a DHAT profile from an opened input.
pub fn load(path: &Path, input: Input, progress: Progress<'_>) -> Result<AllocProfile> {
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
    let file: DhatFile = match serde_json::from_reader(std::io::BufReader::new(reader)) {
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
    if file.version != 2 {
        return Err(Error::format(
            path,
            format!(
                "DHAT file version {} (heapsight reads version 2)",
                file.version
            ),
            0,
        ));
    }
    let producer = match file.mode.as_str() {
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
    // Frame table entries become frames once, on first use.
    let mut frame_of: Vec<Option<u32>> = vec![None; file.ftbl.len()];
    let mut index = FxHashMap::default();
    for (i, pp) in file.pps.iter().enumerate() {
        if i % 4096 == 0 {
            progress.step("building DHAT call stacks", i as u64, file.pps.len() as u64)?;
        }
        let mut frames = Vec::with_capacity(pp.fs.len());
        // DHAT lists the allocating frame first; the model wants the outermost first.
        for &f in pp.fs.iter().rev() {
            let Some(text) = file.ftbl.get(f as usize) else {
                return Err(Error::format(
                    path,
                    format!(
                        "program point {i} names frame {f}, but the frame table has {}",
                        file.ftbl.len()
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
        profile.sites.push(AllocSite {
            frames,
            metrics: AllocMetrics {
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
            },
        });
    }
    profile.totals = profile.site_totals();
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
