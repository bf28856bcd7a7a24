//! Input formats. Each one reads a file into the common [`Snapshot`] model; the format is
//! recognised from the content (gzip magic, then JSON shape), never from the file name.

pub mod dhat;
pub mod heaptrack;
pub mod json_reader;
pub mod pprof;
mod prefetch;
pub mod v8;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::alloc::Folding;
use crate::model::Snapshot;
use crate::progress::Progress;
use json_reader::{CountingReader, JsonReader};

/// Deflate can't expand data more than about 1032:1; bounds capacities taken from gzipped files.
const MAX_GZIP_RATIO: u64 = 1032;

/// What a file holds, told from its first bytes (after decompression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// V8 heap snapshot or timeline.
    V8,
    /// DHAT JSON (dhat-rs or valgrind).
    Dhat,
    /// heaptrack's line-oriented data file.
    Heaptrack,
    /// pprof profile (protobuf).
    Pprof,
}

/// Recognise the format from the (decompressed) head of the file.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') {
        if t.contains("\"dhatFileVersion\"") {
            return Some(Kind::Dhat);
        }
        return Some(Kind::V8);
    }
    // heaptrack files start with a version line `v <hex> <hex>` (and may have `X` first).
    if t.starts_with("v ") || t.starts_with("X ") {
        return Some(Kind::Heaptrack);
    }
    // A pprof Profile's first field is usually 1 (sample_type, length-delimited: tag 0x0a)
    // or 2 (sample: 0x12).
    if matches!(head.first(), Some(0x0a | 0x12)) {
        return Some(Kind::Pprof);
    }
    None
}

/// The opened input: a decompressing, prefetching stream with its head available for sniffing.
pub struct Input {
    /// The decompressed bytes, head first.
    pub stream: Box<dyn Read + Send>,
    /// The first bytes (also at the start of `stream`).
    pub head: Vec<u8>,
    /// The file's size on disk.
    pub total: u64,
    /// Bound on the decompressed size (for capacities taken from declared counts).
    pub max_bytes: u64,
    /// Bytes of the file read so far (by the read-ahead thread: up to a few chunks ahead of
    /// what the parser has consumed).
    pub done: Box<dyn Fn() -> u64 + Send>,
    /// True when the file is gzip- or zstd-compressed (`stream` is longer than `total`).
    pub compressed: bool,
}

/// Open `path` read-only, undo gzip or zstd compression, and read the head.
pub fn open(path: &Path) -> Result<Input> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    let mut magic = [0u8; 4];
    let got = (&file).read(&mut magic).map_err(io_err)?;
    let file = File::open(path).map_err(io_err)?;
    let counter = Arc::new(AtomicU64::new(0));
    let counting = CountingReader::new(file, counter.clone());
    let is_gzip = got >= 2 && magic[..2] == [0x1f, 0x8b];
    let is_zstd = got == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd];
    let compressed = is_gzip || is_zstd;
    let (src, max_bytes): (Box<dyn Read + Send>, u64) = if is_gzip {
        let buffered = BufReader::with_capacity(1 << 20, counting);
        (
            Box::new(flate2::read::MultiGzDecoder::new(buffered)),
            total.saturating_mul(MAX_GZIP_RATIO),
        )
    } else if is_zstd {
        let decoder = zstd::stream::read::Decoder::new(counting).map_err(io_err)?;
        // zstd's ratio is unbounded in principle; cap capacity hints at 64x the file.
        (Box::new(decoder), total.saturating_mul(64))
    } else {
        (Box::new(counting), total)
    };
    let mut stream: Box<dyn Read + Send> = Box::new(prefetch::Prefetch::new(src));
    let mut head = vec![0u8; 4096];
    let mut filled = 0;
    while filled < head.len() {
        match stream.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::format(
                    path,
                    format!("cannot read or decompress: {e}"),
                    0,
                ));
            }
        }
    }
    head.truncate(filled);
    let stream = Box::new(std::io::Cursor::new(head.clone()).chain(stream));
    Ok(Input {
        stream,
        head,
        total,
        max_bytes,
        done: Box::new(move || counter.load(Ordering::Relaxed)),
        compressed,
    })
}

/// How to load a file. Only allocation profiles have options today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Which frames of allocation profiles are folded away as plumbing.
    pub folding: Folding,
}

/// Load any supported heap file: V8 snapshots and timelines, DHAT JSON, heaptrack data and
/// pprof heap profiles (each possibly gzip- or zstd-compressed), with default options.
pub fn load(path: &Path, progress: Progress<'_>) -> Result<Snapshot> {
    load_with(path, &LoadOptions::default(), progress)
}

/// [`load`] with options.
pub fn load_with(path: &Path, options: &LoadOptions, progress: Progress<'_>) -> Result<Snapshot> {
    let input = open(path)?;
    let total = input.total;
    let profile = |mut p: crate::model::alloc::AllocProfile| {
        p.set_folding(options.folding.clone());
        p.into_snapshot()
    };
    let snapshot = match sniff(&input.head) {
        Some(Kind::V8) => {
            let reader = JsonReader::new(input.stream, path, progress, input.done, total);
            v8::load(reader, input.max_bytes)?
        }
        Some(Kind::Dhat) => profile(dhat::load(path, input, progress)?),
        _ if String::from_utf8_lossy(&input.head)
            .trim_start_matches('\u{feff}')
            .trim()
            .is_empty() =>
        {
            return Err(Error::format(path, "the file is empty", 0));
        }
        Some(Kind::Heaptrack) => profile(heaptrack::load(path, input, progress)?),
        Some(Kind::Pprof) => profile(pprof::load(path, input, progress)?),
        None => {
            return Err(Error::format(
                path,
                "not a heap snapshot or allocation profile heapsight knows \
                 (V8 .heapsnapshot/.heaptimeline, DHAT JSON, heaptrack, pprof)",
                0,
            ))
        }
    };
    progress.report("loaded", total, total);
    Ok(snapshot)
}
