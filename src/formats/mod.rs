//! Input formats. Each one reads a file into the common [`Snapshot`] model; the format is
//! recognised from the content (gzip magic, then JSON shape), never from the file name.

pub mod json_reader;
mod prefetch;
pub mod v8;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::Snapshot;
use crate::progress::Progress;
use json_reader::{CountingReader, JsonReader};

/// Deflate can't expand data more than about 1032:1; bounds capacities taken from gzipped files.
const MAX_GZIP_RATIO: u64 = 1032;

/// Load any supported heap file.
pub fn load(path: &Path, progress: Progress<'_>) -> Result<Snapshot> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    let mut head = [0u8; 2];
    let got = (&file).read(&mut head).map_err(io_err)?;
    let file = File::open(path).map_err(io_err)?;
    let counter = Arc::new(AtomicU64::new(0));
    let counting = CountingReader::new(file, counter.clone());
    let gz = got == 2 && head == [0x1f, 0x8b];
    let (src, max_bytes): (Box<dyn Read + Send>, u64) = if gz {
        let buffered = BufReader::with_capacity(1 << 20, counting);
        (
            Box::new(flate2::read::MultiGzDecoder::new(buffered)),
            total.saturating_mul(MAX_GZIP_RATIO),
        )
    } else {
        (Box::new(counting), total)
    };
    let src: Box<dyn Read + Send> = Box::new(prefetch::Prefetch::new(src));
    let done = Box::new(move || counter.load(Ordering::Relaxed));
    let reader = JsonReader::new(src, path, progress, done, total);
    let snapshot = v8::load(reader, max_bytes)?;
    progress.report("loaded", total, total);
    Ok(snapshot)
}
