//! Live capture: connect to a running Node or Chromium process over the DevTools protocol and
//! save heap snapshots, allocation timelines or sampling heap profiles from it.
//!
//! [`capture`] finds the target through `GET /json/list` ([`discovery`]), opens its WebSocket
//! ([`cdp`]) and runs the `HeapProfiler` domain. Snapshot chunks go straight to a temporary file
//! in the output folder as they arrive (a multi-GB snapshot is never held in memory), and each
//! finished file is synced and renamed into place ([`output`]). Only loopback hosts are
//! accepted unless the caller allows remote ones: a heap snapshot is all of the process's memory.

pub mod cdp;
pub mod discovery;
mod error;
pub mod output;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::progress::Progress;
use cdp::CdpClient;
pub use error::CaptureError;
use output::PartialFile;

/// What to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureKind {
    /// Heap snapshots (`.heapsnapshot`), one per shot.
    #[default]
    Snapshot,
    /// An allocation timeline (`.heaptimeline`): a snapshot with allocation stacks, tracked for
    /// the interval.
    Timeline,
    /// A sampling heap profile (`.heapprofile`), sampled for the interval.
    Sampling,
}

impl CaptureKind {
    /// Every kind, in menu order.
    pub const ALL: [CaptureKind; 3] = [
        CaptureKind::Snapshot,
        CaptureKind::Timeline,
        CaptureKind::Sampling,
    ];

    /// The file-name extension (no dot).
    pub fn extension(self) -> &'static str {
        match self {
            CaptureKind::Snapshot => "heapsnapshot",
            CaptureKind::Timeline => "heaptimeline",
            CaptureKind::Sampling => "heapprofile",
        }
    }

    /// The flag value and the word for messages.
    pub fn name(self) -> &'static str {
        match self {
            CaptureKind::Snapshot => "snapshot",
            CaptureKind::Timeline => "timeline",
            CaptureKind::Sampling => "sampling",
        }
    }

    /// The interval used when none is given: none between snapshots, 10 s of tracking or
    /// sampling.
    pub fn default_interval(self) -> Duration {
        match self {
            CaptureKind::Snapshot => Duration::ZERO,
            CaptureKind::Timeline | CaptureKind::Sampling => Duration::from_secs(10),
        }
    }
}

/// What [`capture`] does.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The DevTools endpoint, `HOST:PORT` (`[::1]:9229` for IPv6).
    pub endpoint: String,
    /// Accept a host that is not loopback.
    pub allow_remote: bool,
    /// Which target of a browser: its id or a part of its URL (default: the Node target, else
    /// the first page).
    pub target: Option<String>,
    /// What to record.
    pub kind: CaptureKind,
    /// How many files to save (at least 1).
    pub count: u32,
    /// Snapshots: the pause between two. Timeline and sampling: how long each records. `None`:
    /// [`CaptureKind::default_interval`].
    pub every: Option<Duration>,
    /// The folder the files go to (created if missing); nothing is written elsewhere.
    pub out_dir: PathBuf,
    /// Files are named `<prefix>-<NNN>.<ext>`; letters, digits, `-`, `_`, `.` only.
    pub prefix: String,
    /// Ask for a garbage collection before each snapshot, as DevTools does.
    pub collect_garbage: bool,
    /// Sampling: average bytes between samples.
    pub sampling_interval: u64,
    /// Snapshots: track allocations (`HeapProfiler.startTrackingHeapObjects` with
    /// `trackAllocations`) from before the first snapshot to the end of the series, so each
    /// snapshot carries the allocation stacks of the objects allocated meanwhile.
    pub track_allocations: bool,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self {
            endpoint: "127.0.0.1:9229".into(),
            allow_remote: false,
            target: None,
            kind: CaptureKind::Snapshot,
            count: 1,
            every: None,
            out_dir: PathBuf::from("."),
            prefix: "capture".into(),
            collect_garbage: true,
            sampling_interval: 32 * 1024,
            track_allocations: false,
        }
    }
}

/// What a capture saved, and why it stopped early if it did.
#[derive(Debug)]
pub struct CaptureOutcome {
    /// The files saved, in order.
    pub saved: Vec<PathBuf>,
    /// The files asked for.
    pub requested: u32,
    /// Set when the capture stopped before `requested` files: the target went away, the user
    /// stopped it, or writing failed. The files in `saved` are complete either way.
    pub stopped: Option<CaptureError>,
}

/// Capture from a running process as `options` say, reporting progress (and listening for
/// cancellation) through `progress`. Returns `Err` only when nothing was saved; once a file
/// is saved, a later failure ends the series and is returned in [`CaptureOutcome::stopped`].
/// A partly written file is always removed.
pub fn capture(
    options: &CaptureOptions,
    progress: Progress<'_>,
) -> Result<CaptureOutcome, CaptureError> {
    if options.count == 0 {
        return Err(CaptureError::Options("the count must be at least 1".into()));
    }
    if !output::valid_prefix(&options.prefix) {
        return Err(CaptureError::Options(format!(
            "the file prefix {:?} may hold only letters, digits, '-', '_' and '.', and must not \
             start with '.'",
            options.prefix
        )));
    }
    let endpoint = discovery::Endpoint::parse(&options.endpoint, options.allow_remote)?;
    std::fs::create_dir_all(&options.out_dir).map_err(|source| CaptureError::Io {
        path: options.out_dir.clone(),
        source,
    })?;
    progress.report("connecting", 0, 0);
    let target = discovery::find_target(&endpoint, options.target.as_deref())?;
    let path = target.websocket_path().unwrap_or_default();
    let mut client = CdpClient::connect(&endpoint, &path)?;
    if target.kind == "node" {
        // Node's only execution context is the process's: its end is the process's exit.
        client.call("Runtime.enable", json!({}), progress, |_, _| Ok(()))?;
        client.end_on_event("Runtime.executionContextDestroyed");
    }
    let mut saved = Vec::new();
    let result = Series {
        client: &mut client,
        options,
        progress,
    }
    .run(&mut saved);
    client.close();
    match result {
        Err(e) if saved.is_empty() => Err(e),
        result => Ok(CaptureOutcome {
            saved,
            requested: options.count,
            stopped: result.err(),
        }),
    }
}

/// One capture series over a connected session.
struct Series<'a, 'p> {
    client: &'a mut CdpClient,
    options: &'a CaptureOptions,
    progress: Progress<'p>,
}

impl Series<'_, '_> {
    fn run(&mut self, saved: &mut Vec<PathBuf>) -> Result<(), CaptureError> {
        let (kind, count) = (self.options.kind, self.options.count);
        let every = self.options.every.unwrap_or(kind.default_interval());
        self.call("HeapProfiler.enable", json!({}))?;
        if kind == CaptureKind::Snapshot && self.options.track_allocations {
            // On for the whole series (V8 stops it when the session ends): each snapshot then
            // has `trace_function_infos`, `trace_tree` and the nodes' `trace_node_id`.
            let params = json!({ "trackAllocations": true });
            self.call("HeapProfiler.startTrackingHeapObjects", params)?;
        }
        for i in 1..=count {
            let of = format!("{i}/{count}");
            let path = output::next_free_name(
                &self.options.out_dir,
                &self.options.prefix,
                kind.extension(),
            )?;
            match kind {
                CaptureKind::Snapshot => {
                    if i > 1 && !every.is_zero() {
                        let phase = format!("waiting for snapshot {of}");
                        self.client.idle(every, &phase, self.progress)?;
                    }
                    if self.options.collect_garbage {
                        self.progress
                            .report(&format!("GC before snapshot {of}"), 0, 0);
                        // Only worth a try: a target that can't collect still snapshots.
                        match self.call("HeapProfiler.collectGarbage", json!({})) {
                            Err(CaptureError::Protocol { .. }) | Ok(_) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    let phase = format!("snapshot {of}");
                    let params = json!({ "reportProgress": true });
                    self.stream("HeapProfiler.takeHeapSnapshot", params, &phase, &path)?;
                }
                CaptureKind::Timeline => {
                    let params = json!({ "trackAllocations": true });
                    self.call("HeapProfiler.startTrackingHeapObjects", params)?;
                    let phase = format!("tracking allocations {of}");
                    self.client.idle(every, &phase, self.progress)?;
                    let phase = format!("timeline {of}");
                    let params = json!({ "reportProgress": true });
                    self.stream(
                        "HeapProfiler.stopTrackingHeapObjects",
                        params,
                        &phase,
                        &path,
                    )?;
                }
                CaptureKind::Sampling => {
                    let params = json!({ "samplingInterval": self.options.sampling_interval });
                    self.call("HeapProfiler.startSampling", params)?;
                    let phase = format!("sampling {of}");
                    self.client.idle(every, &phase, self.progress)?;
                    let result = self.call("HeapProfiler.stopSampling", json!({}))?;
                    self.write_profile(result, &path)?;
                }
            }
            saved.push(path);
        }
        Ok(())
    }

    /// A command whose answer matters; events meanwhile are dropped.
    fn call(&mut self, method: &str, params: Value) -> Result<Value, CaptureError> {
        self.client
            .call(method, params, self.progress, |_, _| Ok(()))
    }

    /// Run `method`, which streams a snapshot as `addHeapSnapshotChunk` events before it
    /// answers, into `path`.
    fn stream(
        &mut self,
        method: &str,
        params: Value,
        phase: &str,
        path: &Path,
    ) -> Result<(), CaptureError> {
        let mut file = PartialFile::create(&self.options.out_dir, &file_name(path))?;
        let progress = self.progress;
        self.client
            .call(method, params, progress, |event, params| {
                match event {
                    "HeapProfiler.addHeapSnapshotChunk" => {
                        let chunk = params.get("chunk").and_then(Value::as_str);
                        file.write(chunk.unwrap_or_default().as_bytes())?;
                    }
                    "HeapProfiler.reportHeapSnapshotProgress" => {
                        let number = |k: &str| params.get(k).and_then(Value::as_u64);
                        if let (Some(done), Some(total)) = (number("done"), number("total")) {
                            progress.report(phase, done, total);
                        }
                    }
                    _ => {}
                }
                Ok(())
            })?;
        if file.written() == 0 {
            return Err(CaptureError::Protocol {
                endpoint: self.options.endpoint.clone(),
                method: method.to_string(),
                message: "the target sent no snapshot data".into(),
            });
        }
        progress.report(&format!("{phase}: saving"), 0, 0);
        file.commit(path)
    }

    /// Write `stopSampling`'s `profile` as JSON to `path`.
    fn write_profile(&mut self, result: Value, path: &Path) -> Result<(), CaptureError> {
        let Some(profile) = result.get("profile") else {
            return Err(CaptureError::Protocol {
                endpoint: self.options.endpoint.clone(),
                method: "HeapProfiler.stopSampling".into(),
                message: "the answer has no profile".into(),
            });
        };
        let mut file = PartialFile::create(&self.options.out_dir, &file_name(path))?;
        let text = serde_json::to_vec(profile).map_err(|e| CaptureError::Protocol {
            endpoint: self.options.endpoint.clone(),
            method: "HeapProfiler.stopSampling".into(),
            message: e.to_string(),
        })?;
        file.write(&text)?;
        file.commit(path)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parse a duration as people write it: `500ms`, `30s`, `5m`, `1h`, `1.5s`; a bare number is
/// seconds; `0` is none.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 500ms, 30s, 5m, 1h)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s| parse_duration(s).unwrap();
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("30s"), Duration::from_secs(30));
        assert_eq!(d("30"), Duration::from_secs(30));
        assert_eq!(d("5m"), Duration::from_secs(300));
        assert_eq!(d("1h"), Duration::from_secs(3600));
        assert_eq!(d("1.5s"), Duration::from_millis(1500));
        assert_eq!(d("0"), Duration::ZERO);
        for bad in ["", "s", "5 parsecs", "-1s", "1e999s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_options_fail_before_connecting() {
        let run = |o: CaptureOptions| capture(&o, Progress::default()).unwrap_err();
        let zero = CaptureOptions {
            count: 0,
            ..Default::default()
        };
        assert!(matches!(run(zero), CaptureError::Options(_)));
        let prefix = CaptureOptions {
            prefix: "../x".into(),
            ..Default::default()
        };
        assert!(matches!(run(prefix), CaptureError::Options(_)));
        let remote = CaptureOptions {
            endpoint: "192.0.2.1:9229".into(),
            ..Default::default()
        };
        assert!(matches!(run(remote), CaptureError::Remote { .. }));
    }
}
