//! A streaming JSON scanner made for heap snapshots: huge flat integer arrays and string arrays,
//! read chunk by chunk with no document tree. Nesting is handled with explicit state, never
//! recursion, so hostile input can't overflow the stack.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::int_scan::{IntScanner, ScanStop, Scanned};
use crate::error::{Error, Result};
use crate::progress::Progress;

const CHUNK: usize = 1 << 22;

/// Counts how many bytes have been pulled from the underlying file (for progress on gzip input).
pub struct CountingReader<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> CountingReader<R> {
    /// Wrap `inner`; `count` is bumped by every read.
    pub fn new(inner: R, count: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// What a sink handed many numbers or rows at once returns: when one fails, its index among
/// them and why (the reader places the error at that number in the file).
pub type BatchResult = std::result::Result<(), (usize, Error)>;

/// A byte stream that may hand over whole buffers of its own instead of copying them into the
/// caller's: the read-ahead thread's chunks are the reader's next buffers, so the bytes of a
/// big file are not copied once more on the thread that scans them.
pub trait ChunkRead: Read + Send {
    /// Put the stream's next bytes in `buf[..n]` and return `n` (0 at the end). `buf` may be
    /// swapped for another buffer (of any length, at least `n`); by default it is read into,
    /// so the caller gives one with room (an empty one would read nothing).
    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        self.read(buf)
    }
}

impl ChunkRead for &[u8] {}

impl<T: AsRef<[u8]> + Send> ChunkRead for std::io::Cursor<T> {}

impl ChunkRead for Box<dyn Read + Send> {}

/// The scanner: a buffer over any reader, with the position in the decompressed stream.
pub struct JsonReader<'p> {
    src: Box<dyn ChunkRead>,
    path: PathBuf,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    progress: Progress<'p>,
    phase: &'static str,
    /// Reports progress as (`done()`, `total`).
    done: Box<dyn Fn() -> u64 + Send>,
    total: u64,
    capture: Option<Vec<u8>>,
    echo: Option<Echoing>,
}

/// Where [`JsonReader::set_echo`] copies the input to: a writer that can be finished (a
/// compressor's trailer, the file's sync) once everything is written.
pub trait EchoSink: Write + Send {
    /// Flush and finish the output.
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

/// The echo's state: the output, and while on, where in `buf` the not-yet-copied bytes start.
struct Echoing {
    out: Box<dyn EchoSink>,
    path: PathBuf,
    from: Option<usize>,
}

impl<'p> JsonReader<'p> {
    /// Read from `src`; `done` tells how far through the file we are, out of `total` bytes.
    pub fn new(
        src: Box<dyn ChunkRead>,
        path: &Path,
        progress: Progress<'p>,
        done: Box<dyn Fn() -> u64 + Send>,
        total: u64,
    ) -> Self {
        Self {
            src,
            path: path.to_path_buf(),
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            progress,
            phase: "reading",
            done,
            total,
            capture: None,
            echo: None,
        }
    }

    /// Give the reader an output (`path` names it in errors). Nothing is copied to it until
    /// [`echo`](Self::echo) turns copying on; [`write_out`](Self::write_out) writes to it
    /// directly. Used to rewrite a file while streaming through it.
    pub fn set_echo(&mut self, out: Box<dyn EchoSink>, path: &Path) {
        self.echo = Some(Echoing {
            out,
            path: path.to_path_buf(),
            from: None,
        });
    }

    /// Turn copying on or off: while on, every byte the reader consumes is written to the
    /// output verbatim, chunk by chunk (memory stays bounded however long the value).
    pub fn echo(&mut self, on: bool) -> Result<()> {
        let pos = self.pos;
        let Some(echo) = self.echo.as_mut() else {
            return Ok(());
        };
        if let Some(from) = echo.from.take() {
            let r = echo.out.write_all(&self.buf[from..pos]);
            self.echo_result(r)?;
        }
        if let Some(echo) = self.echo.as_mut() {
            echo.from = on.then_some(pos);
        }
        Ok(())
    }

    /// Write `bytes` to the output (with copying off, so they land in order).
    pub fn write_out(&mut self, bytes: &[u8]) -> Result<()> {
        self.echo(false)?;
        if let Some(echo) = self.echo.as_mut() {
            let r = echo.out.write_all(bytes);
            self.echo_result(r)?;
        }
        Ok(())
    }

    /// Finish the output ([`EchoSink::finish`]); after this the reader copies nothing.
    pub fn finish_echo(&mut self) -> Result<()> {
        self.echo(false)?;
        if let Some(echo) = self.echo.take() {
            let path = echo.path;
            echo.out
                .finish()
                .map_err(|source| Error::Io { path, source })?;
        }
        Ok(())
    }

    fn echo_result(&self, r: std::io::Result<()>) -> Result<()> {
        r.map_err(|source| Error::Io {
            path: self
                .echo
                .as_ref()
                .map_or_else(|| self.path.clone(), |e| e.path.clone()),
            source,
        })
    }

    /// Name the phase reported with progress (e.g. "reading nodes").
    pub fn set_phase(&mut self, phase: &'static str) {
        self.phase = phase;
    }

    /// Offset of the next unread byte in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// A format error at the current offset.
    pub fn error(&self, what: impl Into<String>) -> Error {
        Error::format(&self.path, what, self.offset())
    }

    /// Where progress goes.
    pub fn progress(&self) -> Progress<'p> {
        self.progress
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Load the next chunk; false at end of input.
    fn refill(&mut self) -> Result<bool> {
        if self.pos < self.len {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.progress.step(self.phase, (self.done)(), self.total)?;
        // The chunk is about to be replaced: copy what the echo has not written yet.
        if let Some(echo) = self.echo.as_mut() {
            if let Some(from) = echo.from {
                let r = echo.out.write_all(&self.buf[from..self.len]);
                echo.from = Some(0);
                self.echo_result(r)?;
            }
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        // A buffer handed over short (the stream's last, or the rest of one partly read) is
        // made whole again for a stream that reads into it.
        if self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        loop {
            match self.src.read_chunk(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // A corrupt gzip stream surfaces here as InvalidInput/InvalidData.
                    return Err(match e.kind() {
                        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => {
                            self.error(format!("cannot decompress: {e}"))
                        }
                        std::io::ErrorKind::UnexpectedEof => {
                            self.error(format!("compressed data ends early (truncated?): {e}"))
                        }
                        _ => Error::Io {
                            path: self.path.clone(),
                            source: e,
                        },
                    });
                }
            }
        }
    }

    fn truncated(&self, inside: &str) -> Error {
        self.error(format!(
            "file ends unexpectedly inside {inside} (truncated?)"
        ))
    }

    /// Next byte without consuming it; `None` at end of input.
    #[inline]
    fn peek_raw(&mut self) -> Result<Option<u8>> {
        if self.pos == self.len && !self.refill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    #[inline]
    fn bump(&mut self) {
        if let Some(c) = self.capture.as_mut() {
            c.push(self.buf[self.pos]);
        }
        self.pos += 1;
    }

    /// Skip white space (and a UTF-8 byte-order mark at the very start); next byte or `None`.
    pub fn peek(&mut self) -> Result<Option<u8>> {
        loop {
            match self.peek_raw()? {
                Some(b' ' | b'\n' | b'\r' | b'\t') => self.bump(),
                Some(0xEF) if self.offset() == 0 => {
                    for expected in [0xEF, 0xBB, 0xBF] {
                        if self.peek_raw()? != Some(expected) {
                            return Err(self.error("not JSON: unexpected byte at start"));
                        }
                        self.bump();
                    }
                }
                other => return Ok(other),
            }
        }
    }

    /// Consume `want` (after white space) or fail naming `inside`.
    pub fn expect(&mut self, want: u8, inside: &str) -> Result<()> {
        match self.peek()? {
            Some(b) if b == want => {
                self.bump();
                Ok(())
            }
            Some(b) => Err(self.error(format!(
                "expected '{}' in {inside}, found '{}'",
                want as char,
                printable(b)
            ))),
            None => Err(self.truncated(inside)),
        }
    }

    /// After a value inside an object or array: true when another item follows (a ','),
    /// false when `close` ends the container.
    pub fn more(&mut self, close: u8, inside: &str) -> Result<bool> {
        match self.peek()? {
            Some(b',') => {
                self.bump();
                Ok(true)
            }
            Some(b) if b == close => {
                self.bump();
                Ok(false)
            }
            Some(b) => Err(self.error(format!(
                "expected ',' or '{}' in {inside}, found '{}'",
                close as char,
                printable(b)
            ))),
            None => Err(self.truncated(inside)),
        }
    }

    /// Read a JSON array of strings, handing each to `each`; an `Err` it returns becomes an
    /// error at that place. A string with no escapes that lies whole in the buffer is handed
    /// over where it lies: a snapshot's string table is millions of short strings.
    pub fn read_string_array(
        &mut self,
        inside: &str,
        mut each: impl FnMut(&str) -> std::result::Result<(), String>,
    ) -> Result<()> {
        self.expect(b'[', inside)?;
        if self.peek()? == Some(b']') {
            self.bump();
            return Ok(());
        }
        let mut slow = String::new();
        loop {
            // (After `peek` finds a quote, the buffer holds it: `pos < len`.)
            let whole = if self.peek()? == Some(b'"') && self.capture.is_none() {
                let rest = &self.buf[self.pos + 1..self.len];
                memchr::memchr2(b'"', b'\\', rest)
                    .filter(|&end| rest[end] == b'"')
                    .and_then(|end| std::str::from_utf8(&rest[..end]).ok())
            } else {
                None
            };
            let handed = match whole {
                Some(text) => {
                    let (handed, skip) = (each(text), text.len() + 2);
                    self.pos += skip;
                    handed
                }
                // Escapes, a string across chunks, bad UTF-8 or not a string at all.
                None => {
                    self.read_string(&mut slow, inside)?;
                    each(&slow)
                }
            };
            handed.map_err(|m| self.error(m))?;
            if !self.more(b']', inside)? {
                return Ok(());
            }
        }
    }

    /// Read a JSON string into `out` (cleared first). Invalid UTF-8 and lone surrogates become
    /// U+FFFD, as a browser would show them.
    pub fn read_string(&mut self, out: &mut String, inside: &str) -> Result<()> {
        self.expect(b'"', inside)?;
        let mut bytes = std::mem::take(out).into_bytes();
        bytes.clear();
        let mut pending_high: Option<u16> = None;
        loop {
            if self.pos == self.len && !self.refill()? {
                return Err(self.truncated(inside));
            }
            // Copy the run of plain bytes in one go.
            let chunk = &self.buf[self.pos..self.len];
            let run = chunk
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .unwrap_or(chunk.len());
            if run > 0 {
                if let Some(h) = pending_high.take() {
                    push_utf16(&mut bytes, h as u32);
                }
                bytes.extend_from_slice(&chunk[..run]);
                if let Some(c) = self.capture.as_mut() {
                    c.extend_from_slice(&chunk[..run]);
                }
                self.pos += run;
                continue;
            }
            let b = self.buf[self.pos];
            self.bump();
            if b == b'"' {
                if let Some(h) = pending_high.take() {
                    push_utf16(&mut bytes, h as u32);
                }
                break;
            }
            let esc = self.next_byte(inside)?;
            if esc != b'u' {
                if let Some(h) = pending_high.take() {
                    push_utf16(&mut bytes, h as u32);
                }
            }
            match esc {
                b'"' => bytes.push(b'"'),
                b'\\' => bytes.push(b'\\'),
                b'/' => bytes.push(b'/'),
                b'b' => bytes.push(8),
                b'f' => bytes.push(12),
                b'n' => bytes.push(b'\n'),
                b'r' => bytes.push(b'\r'),
                b't' => bytes.push(b'\t'),
                b'u' => {
                    let mut v: u16 = 0;
                    for _ in 0..4 {
                        let h = self.next_byte(inside)?;
                        let d = (h as char)
                            .to_digit(16)
                            .ok_or_else(|| self.error(format!("bad \\u escape in {inside}")))?;
                        v = v * 16 + d as u16;
                    }
                    match (pending_high.take(), v) {
                        (Some(h), 0xDC00..=0xDFFF) => {
                            let c = 0x10000 + (((h as u32) - 0xD800) << 10) + (v as u32 - 0xDC00);
                            push_utf16(&mut bytes, c);
                        }
                        (h, 0xD800..=0xDBFF) => {
                            if let Some(h) = h {
                                push_utf16(&mut bytes, h as u32);
                            }
                            pending_high = Some(v);
                        }
                        (h, _) => {
                            if let Some(h) = h {
                                push_utf16(&mut bytes, h as u32);
                            }
                            push_utf16(&mut bytes, v as u32);
                        }
                    }
                }
                other => {
                    return Err(
                        self.error(format!("bad escape '\\{}' in {inside}", printable(other)))
                    )
                }
            }
        }
        *out = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(())
    }

    fn next_byte(&mut self, inside: &str) -> Result<u8> {
        match self.peek_raw()? {
            Some(b) => {
                self.bump();
                Ok(b)
            }
            None => Err(self.truncated(inside)),
        }
    }

    /// Read one integer (for the few scattered numbers outside the big arrays).
    pub fn read_int(&mut self, inside: &str) -> Result<i64> {
        self.peek()?;
        let mut text = String::new();
        while let Some(b) = self.peek_raw()? {
            if !(b.is_ascii_digit() || (b == b'-' && text.is_empty())) || text.len() > 20 {
                break;
            }
            text.push(b as char);
            self.bump();
        }
        text.parse()
            .map_err(|_| self.error(format!("expected an integer in {inside}")))
    }

    /// Skip one value of any shape, iteratively.
    pub fn skip_value(&mut self, inside: &str) -> Result<()> {
        let mut depth = 0usize;
        let mut scratch = String::new();
        loop {
            match self.peek()? {
                None => return Err(self.truncated(inside)),
                Some(b'"') => self.read_string(&mut scratch, inside)?,
                Some(b'[' | b'{') => {
                    self.bump();
                    depth += 1;
                    continue;
                }
                Some(b']' | b'}') => {
                    if depth == 0 {
                        return Err(self.error(format!("unexpected closing bracket in {inside}")));
                    }
                    self.bump();
                    depth -= 1;
                }
                Some(b',' | b':') if depth > 0 => {
                    self.bump();
                    continue;
                }
                Some(_) => {
                    // A number or literal: consume until a delimiter.
                    let mut any = false;
                    while let Some(b) = self.peek_raw()? {
                        if matches!(b, b',' | b']' | b'}' | b':' | b' ' | b'\n' | b'\r' | b'\t') {
                            break;
                        }
                        if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')) {
                            return Err(
                                self.error(format!("unexpected '{}' in {inside}", printable(b)))
                            );
                        }
                        self.bump();
                        any = true;
                    }
                    if !any {
                        return Err(self.error(format!("missing value in {inside}")));
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// Read one value (of at most `limit` bytes) as raw JSON text, to hand to serde_json.
    pub fn capture_value(&mut self, inside: &str, limit: usize) -> Result<Vec<u8>> {
        self.peek()?;
        self.capture = Some(Vec::new());
        let r = self.skip_value(inside);
        let raw = self.capture.take().unwrap_or_default();
        r?;
        if raw.len() > limit {
            return Err(self.error(format!("{inside} is larger than {limit} bytes")));
        }
        Ok(raw)
    }

    /// Read an array of integers in rows of `width`, calling `sink` with each full row.
    /// Returns the number of rows; a partial last row is an error. Big arrays are read on two
    /// threads: a worker turns the bytes of one chunk into numbers while this thread hands the
    /// previous chunk's rows to `sink` (see [`read_int_array`](Self::read_int_array) for the
    /// one-thread version, which results and errors equal).
    pub fn read_int_rows(
        &mut self,
        inside: &str,
        width: usize,
        allow_negative: bool,
        mut sink: impl FnMut(&Self, &[i64]) -> Result<()>,
    ) -> Result<u64> {
        self.read_int_row_batches(inside, width, allow_negative, |r, rows| {
            for (k, row) in rows.chunks_exact(width).enumerate() {
                sink(r, row).map_err(|e| (k, e))?;
            }
            Ok(())
        })
    }

    /// [`read_int_rows`](Self::read_int_rows) with the rows handed over many at a time: `sink`
    /// gets whole rows back to back (a multiple of `width` numbers), so a loader can store
    /// them in a loop of its own. A failing `sink` says which of its rows failed, and the
    /// error is placed at the number that ends that row.
    pub fn read_int_row_batches(
        &mut self,
        inside: &str,
        width: usize,
        allow_negative: bool,
        sink: impl FnMut(&Self, &[i64]) -> BatchResult,
    ) -> Result<u64> {
        let two = crate::parallel::two_threads();
        self.read_int_row_batches_on(inside, width, allow_negative, two, sink)
    }

    /// [`read_int_row_batches`](Self::read_int_row_batches), on two threads or one.
    fn read_int_row_batches_on(
        &mut self,
        inside: &str,
        width: usize,
        allow_negative: bool,
        two_threads: bool,
        mut sink: impl FnMut(&Self, &[i64]) -> BatchResult,
    ) -> Result<u64> {
        assert!((1..=64).contains(&width), "row width must be 1..=64");
        let mut rows = Rows {
            row: [0; 64],
            field: 0,
            width,
        };
        let feed = |r: &Self, numbers: &[i64]| rows.feed(numbers, |batch| sink(r, batch));
        // The two threads swap the reader's buffers, which an echo copies from.
        let count = if two_threads && self.echo.is_none() && self.capture.is_none() {
            self.read_int_array_on_two_threads(inside, allow_negative, feed)?
        } else {
            self.read_int_array_in_pieces(inside, allow_negative, feed)?
        };
        let field = rows.field;
        if field != 0 {
            return Err(self.error(format!(
                "{inside} has {count} numbers, not a multiple of its {width} fields"
            )));
        }
        Ok(count / width as u64)
    }

    /// Read an array of integers, calling `sink` for each. Negative numbers are allowed only
    /// when `allow_negative` is set.
    pub fn read_int_array(
        &mut self,
        inside: &str,
        allow_negative: bool,
        mut sink: impl FnMut(&Self, i64) -> Result<()>,
    ) -> Result<u64> {
        self.read_int_array_in_pieces(inside, allow_negative, |r, numbers| {
            for (k, &v) in numbers.iter().enumerate() {
                sink(r, v).map_err(|e| (k, e))?;
            }
            Ok(())
        })
    }

    /// Read an array of integers on this thread, a buffer at a time: `sink` takes a buffer's
    /// numbers and tells which one failed, if one did; the error is placed at that number
    /// (found by scanning the buffer again).
    fn read_int_array_in_pieces(
        &mut self,
        inside: &str,
        allow_negative: bool,
        mut sink: impl FnMut(&Self, &[i64]) -> BatchResult,
    ) -> Result<u64> {
        self.expect(b'[', inside)?;
        let mut scanner = IntScanner::new(allow_negative);
        let mut numbers = Vec::new();
        loop {
            if self.pos == self.len && !self.refill()? {
                return Err(self.truncated(inside));
            }
            let (start, before) = (self.pos, scanner);
            let piece = &self.buf[start..self.len];
            let scanned = scan_into(&mut scanner, piece, inside, &mut numbers);
            // The numbers before a syntax error go to `sink` first, as they would one by one.
            sink(self, &numbers).map_err(|(k, e)| {
                let at = before.nth_end(piece, k).unwrap_or(0);
                e.at_offset(self.base + (start + at) as u64)
            })?;
            match scanned {
                Ok(Scanned::More) => self.pos = self.len,
                Ok(Scanned::End(i)) => {
                    self.pos = start + i;
                    self.bump();
                    return Ok(scanner.count);
                }
                Err((i, what)) => {
                    self.pos = start + i;
                    return Err(self.error(what));
                }
            }
        }
    }

    /// [`read_int_array`](Self::read_int_array) with the scanning on two threads. Each chunk
    /// is cut in two at a number's start: a worker scans the first part, from where the
    /// chunk before left off, while this thread scans the second part from a fresh start,
    /// then hands the previous chunk's rows to `sink` (which takes the rest of its time).
    /// Errors come in stream order with the same offsets: a chunk's numbers reach `sink`
    /// before its syntax error is reported, and an error from `sink` is placed at its number
    /// by scanning that chunk again.
    fn read_int_array_on_two_threads(
        &mut self,
        inside: &str,
        allow_negative: bool,
        mut sink: impl FnMut(&Self, &[i64]) -> BatchResult,
    ) -> Result<u64> {
        use std::sync::Arc;
        self.expect(b'[', inside)?;
        std::thread::scope(|scope| {
            let (to_worker, chunks) = std::sync::mpsc::sync_channel::<IntChunk>(1);
            let (worker_out, parsed) = std::sync::mpsc::sync_channel::<IntChunk>(1);
            scope.spawn(move || {
                for mut chunk in chunks {
                    chunk.after = chunk.before;
                    let part = &chunk.bytes[chunk.start..chunk.split];
                    chunk.scanned = scan_into(&mut chunk.after, part, inside, &mut chunk.numbers);
                    if worker_out.send(chunk).is_err() {
                        return;
                    }
                }
            });
            // Buffers come back from the worker and are reused: at most three are alive (the
            // reader's, the worker's, and the one whose numbers are being stored).
            let mut spare: Option<IntChunk> = None;
            let mut pending: Option<IntChunk> = None;
            // The scanner where the next chunk starts, and the numbers of a second part (then
            // swapped into the chunk as its `tail`, not copied after its first part's).
            let mut next = IntScanner::new(allow_negative);
            let mut second: Vec<i64> = Vec::new();
            // The worker's part of a chunk, in 1/64ths (see `second_part_at`).
            let mut share = START_SHARE;
            loop {
                if self.pos == self.len && !self.refill()? {
                    if let Some(done) = &pending {
                        self.feed(done, &mut sink)?;
                    }
                    return Err(self.truncated(inside));
                }
                // Hand the reader's buffer to the worker and read on into another one.
                let (fresh, numbers, tail) = match spare
                    .take()
                    .map(|c| (Arc::try_unwrap(c.bytes), c.numbers, c.tail))
                {
                    Some((Ok(bytes), numbers, tail)) if bytes.len() == CHUNK => {
                        (bytes, numbers, tail)
                    }
                    _ => (vec![0; CHUNK], Vec::new(), Vec::new()),
                };
                let bytes = Arc::new(std::mem::replace(&mut self.buf, fresh));
                let (start, len) = (self.pos, self.len);
                let split =
                    start + second_part_at(&bytes[start..len], share).unwrap_or(len - start);
                let chunk = IntChunk {
                    bytes: Arc::clone(&bytes),
                    start,
                    split,
                    len,
                    base: self.base,
                    numbers,
                    tail,
                    before: next,
                    after: next,
                    scanned: Ok(Scanned::More),
                };
                self.pos = self.len;
                let stopped = || format!("reading {inside} stopped (its worker thread ended)");
                if to_worker.send(chunk).is_err() {
                    return Err(self.error(stopped()));
                }
                // The second part starts at a digit after a comma: a fresh scanner reads it
                // as one that went on from the first part would.
                let mut from_split = IntScanner::new(allow_negative);
                let second_scanned = (split < len)
                    .then(|| scan_into(&mut from_split, &bytes[split..len], inside, &mut second));
                drop(bytes);
                if let Some(done) = pending.take() {
                    self.feed(&done, &mut sink)?;
                    spare = Some(done);
                }
                // Whichever thread waits for the other does more of the next chunk.
                let mut chunk = match parsed.try_recv() {
                    Ok(chunk) => {
                        share = (share + 1).min(MAX_SHARE);
                        chunk
                    }
                    Err(_) => {
                        share = share.saturating_sub(1).max(MIN_SHARE);
                        parsed.recv().map_err(|_| self.error(stopped()))?
                    }
                };
                chunk.tail.clear();
                match (&chunk.scanned, second_scanned) {
                    // The array goes on past the first part: the second's numbers follow.
                    (Ok(Scanned::More), Some(Ok(how))) => {
                        std::mem::swap(&mut chunk.tail, &mut second);
                        if let Scanned::End(i) = how {
                            chunk.scanned = Ok(Scanned::End(split - start + i));
                        }
                        chunk.after = from_split;
                    }
                    // A syntax error in the second part (rare): the whole chunk again, in one
                    // piece, so its numbers and error are exactly those of one scanner.
                    (Ok(Scanned::More), Some(Err(_))) => {
                        chunk.after = chunk.before;
                        let whole = &chunk.bytes[start..len];
                        chunk.scanned =
                            scan_into(&mut chunk.after, whole, inside, &mut chunk.numbers);
                    }
                    // One part only, or the array ended or went wrong in the first part: what
                    // comes after it is not read.
                    _ => {}
                }
                next = chunk.after;
                next.count = chunk.before.count + chunk.count();
                match &chunk.scanned {
                    Ok(Scanned::More) => pending = Some(chunk),
                    Ok(Scanned::End(i)) | Err((i, _)) => {
                        self.feed(&chunk, &mut sink)?;
                        // Back to the reader's own state: this chunk, at the `]` or the error.
                        let at = chunk.start + i;
                        self.buf = Arc::try_unwrap(chunk.bytes).unwrap_or_else(|b| b.to_vec());
                        self.len = chunk.len;
                        self.base = chunk.base;
                        self.pos = at;
                        if let Err((_, what)) = chunk.scanned {
                            return Err(self.error(what));
                        }
                        self.bump();
                        return Ok(next.count);
                    }
                }
            }
        })
    }

    /// Pass a scanned chunk's numbers to `sink` (its first part's, then its second's), which
    /// tells which number failed, if one did.
    fn feed(
        &self,
        chunk: &IntChunk,
        sink: &mut impl FnMut(&Self, &[i64]) -> BatchResult,
    ) -> Result<()> {
        let head = chunk.numbers.len();
        sink(self, &chunk.numbers)
            .and_then(|()| sink(self, &chunk.tail).map_err(|(k, e)| (head + k, e)))
            .map_err(|(k, e)| {
                let bytes = &chunk.bytes[chunk.start..chunk.len];
                let at = chunk.before.nth_end(bytes, k).unwrap_or(0);
                e.at_offset(chunk.base + (chunk.start + at) as u64)
            })
    }
}

/// Numbers gathered into rows of `width`, across the pieces they come in.
struct Rows {
    /// A row begun in an earlier piece: its first `field` numbers.
    row: [i64; 64],
    field: usize,
    width: usize,
}

impl Rows {
    /// Hand the rows that `numbers` completes to `sink`, as few batches as can be (the row
    /// begun in an earlier piece, then the whole rows within `numbers`), and keep the start
    /// of a row it leaves open. A row that fails gives the index in `numbers` of the number
    /// that ended it.
    #[inline]
    fn feed<E>(
        &mut self,
        numbers: &[i64],
        mut sink: impl FnMut(&[i64]) -> std::result::Result<(), (usize, E)>,
    ) -> std::result::Result<(), (usize, E)> {
        let width = self.width;
        let mut rest = numbers;
        if self.field > 0 {
            let take = (width - self.field).min(rest.len());
            self.row[self.field..self.field + take].copy_from_slice(&rest[..take]);
            self.field += take;
            rest = &rest[take..];
            if self.field < width {
                return Ok(());
            }
            self.field = 0;
            sink(&self.row[..width]).map_err(|(_, e)| (take - 1, e))?;
        }
        let done = numbers.len() - rest.len();
        let (whole, open) = rest.split_at(rest.len() / width * width);
        if !whole.is_empty() {
            sink(whole).map_err(|(k, e)| (done + k * width + width - 1, e))?;
        }
        self.row[..open.len()].copy_from_slice(open);
        self.field = open.len();
        Ok(())
    }
}

/// One buffer of an integer array on its way through the worker of
/// [`JsonReader::read_int_array_on_two_threads`].
struct IntChunk {
    /// Shared with the reader's thread, which scans the second part.
    bytes: std::sync::Arc<Vec<u8>>,
    /// The array's part is `bytes[start..len]`, at stream offset `base` + index; the worker
    /// scans `start..split`.
    start: usize,
    split: usize,
    len: usize,
    base: u64,
    /// The numbers that end in this chunk: those of the worker's part, then (in `tail`)
    /// those of the second part, when the first did not end the array.
    numbers: Vec<i64>,
    tail: Vec<i64>,
    /// The scanner as it was before this chunk (to place errors in it again), and after.
    before: IntScanner,
    after: IntScanner,
    scanned: std::result::Result<Scanned, (usize, String)>,
}

impl IntChunk {
    /// How many numbers end in this chunk.
    fn count(&self) -> u64 {
        (self.numbers.len() + self.tail.len()) as u64
    }
}

/// Scan `bytes` on from `scanner` into `numbers` (cleared first): how the piece ended, or
/// where and what its syntax error is.
fn scan_into(
    scanner: &mut IntScanner,
    bytes: &[u8],
    inside: &str,
    numbers: &mut Vec<i64>,
) -> std::result::Result<Scanned, (usize, String)> {
    numbers.clear();
    scanner
        .scan_to(bytes, inside, numbers)
        .map_err(|stop| match stop {
            ScanStop::Syntax(i, what) => (i, what),
            ScanStop::Emit(never) => match never {},
        })
}

/// The worker's share of a chunk's bytes at first, in 1/64ths: the reader's thread scans the
/// rest and also stores the rows. The share then moves by a 64th a chunk towards the thread
/// that waits: up when the worker's part was done first, down when it was not. How much
/// storing a row costs depends on the caller and the machine, so neither is fixed here.
const START_SHARE: usize = 54;
const MIN_SHARE: usize = 16;
const MAX_SHARE: usize = 62;

/// Where the second part of a chunk starts: at a digit right after a comma, from
/// `share / 64` of the way on (a fresh scanner reads from there as one that read everything
/// before would). `None` for a short chunk, or when no such digit is near.
fn second_part_at(bytes: &[u8], share: usize) -> Option<usize> {
    if bytes.len() < 1 << 16 {
        return None;
    }
    let from = bytes.len() / 64 * share;
    let near = &bytes[from..bytes.len().min(from + 4096)];
    let comma = near
        .windows(2)
        .position(|w| w[0] == b',' && w[1].is_ascii_digit())?;
    Some(from + comma + 1)
}

fn push_utf16(out: &mut Vec<u8>, c: u32) {
    let ch = char::from_u32(c).unwrap_or('\u{FFFD}');
    let mut tmp = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
}

pub(super) fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(s: &'static str) -> JsonReader<'static> {
        JsonReader::new(
            Box::new(s.as_bytes()),
            Path::new("t.json"),
            Progress::default(),
            Box::new(|| 0),
            s.len() as u64,
        )
    }

    fn reader_of(bytes: Vec<u8>) -> JsonReader<'static> {
        let len = bytes.len() as u64;
        JsonReader::new(
            Box::new(std::io::Cursor::new(bytes)),
            Path::new("t.json"),
            Progress::default(),
            Box::new(|| 0),
            len,
        )
    }

    /// Rows of 3 with an error from the sink on the row starting with 7; the two-thread read
    /// and the one-thread read must agree on rows, counts and errors (text and offset).
    fn both_ways(text: &[u8]) -> [(Result<u64>, Vec<i64>, Option<u64>); 2] {
        let sink = |out: &mut Vec<i64>, r: &JsonReader<'_>, row: &[i64]| {
            if row[0] == 7 {
                return Err(r.error("row starts with 7"));
            }
            out.push(row[0] + row[1] + row[2]);
            Ok(())
        };
        // Rows in batches, on two threads and on one: the same.
        let batches = |two_threads: bool| {
            let mut rows = Vec::new();
            let mut r = reader_of(text.to_vec());
            let got = r.read_int_row_batches_on("x", 3, true, two_threads, |r, batch| {
                for (k, row) in batch.chunks_exact(3).enumerate() {
                    sink(&mut rows, r, row).map_err(|e| (k, e))?;
                }
                Ok(())
            });
            let after = got.is_ok().then(|| r.offset());
            (got, rows, after)
        };
        let (got, two, after) = batches(true);
        let (in_pieces, pieces, pieces_after) = batches(false);
        assert_eq!((&two, after), (&pieces, pieces_after));
        assert_eq!(
            got.as_ref().map_err(|e| e.to_string()),
            in_pieces.as_ref().map_err(|e| e.to_string())
        );
        let mut one = Vec::new();
        let mut r = reader_of(text.to_vec());
        let (mut row, mut field) = ([0i64; 3], 0);
        let want = r
            .read_int_array("x", true, |r, v| {
                row[field] = v;
                field += 1;
                if field == 3 {
                    field = 0;
                    sink(&mut one, r, &row)?;
                }
                Ok(())
            })
            .map(|n| n / 3);
        let after_one = want.is_ok().then(|| r.offset());
        [(got, two, after), (want, one, after_one)]
    }

    #[test]
    fn reading_on_two_threads_equals_reading_on_one() {
        // ~10 MB: three of the reader's chunks, with numbers split across their edges.
        let mut body = b"[".to_vec();
        for i in 0..1_500_000u32 {
            body.extend_from_slice(format!("{},{},-{},", i % 5, i, i % 11).as_bytes());
        }
        let cases: Vec<Vec<u8>> = vec![
            [&body[..], b"1,2,3]".as_slice()].concat(),
            [&body[..], b"1,2,3".as_slice()].concat(),
            [&body[..], b"1,2,x]".as_slice()].concat(),
            [&body[..], b"7,2,3,1,1,1]".as_slice()].concat(),
            [&body[..], b"1,2]".as_slice()].concat(),
            // The sink fails on the first row, and on a row split across the first chunk's end.
            [b"[7,2,3,".as_slice(), &body[1..], b"1,2,3]"].concat(),
            {
                let mut t = b"[".to_vec();
                while t.len() + 6 < CHUNK - 2 {
                    t.extend_from_slice(b"1,1,1,");
                }
                t.resize(CHUNK - 2, b' ');
                [&t[..], b"7,2,3,1,1,1]".as_slice()].concat()
            },
        ];
        for (k, text) in cases.iter().enumerate() {
            let [(got, rows, after), (want, want_rows, want_after)] = both_ways(text);
            assert_eq!(rows, want_rows, "case {k}: rows");
            match (got, want) {
                // A partial row: only read_int_rows knows the width.
                (got, _) if k == 4 => {
                    let a = got.expect_err("a partial row is an error");
                    assert!(
                        a.to_string().contains("not a multiple of its 3 fields"),
                        "{a}"
                    );
                }
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "case {k}: count");
                    assert_eq!(after, want_after, "case {k}: offset after the array");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "case {k}"),
                (a, b) => panic!("case {k}: {a:?} vs {b:?}"),
            }
        }
    }

    /// Each chunk is scanned in two parts on two threads: an end, a syntax error or a sink
    /// error on either side of the cut (and on it) reads as on one thread.
    #[test]
    fn reading_in_two_parts_equals_reading_on_one() {
        let cut = CHUNK / 64 * START_SHARE;
        // Every byte around the first chunk's cut (it moves on to a number's start; the
        // chunks after it are cut where the threads' pace puts it), and some further off.
        let near = (cut - 12..cut + 12).chain([
            CHUNK / 2,
            cut + 3000,
            CHUNK - 3,
            CHUNK + CHUNK / 2,
            CHUNK + cut + 2,
        ]);
        let tokens: [&[u8]; 7] = [b"]", b"x,", b"7,2,3,", b",", b"1.5,", b"  ", b"\n"];
        for at in near {
            // Three kinds at each byte by the cut, every kind further off.
            let kinds = if at.abs_diff(cut) < 12 {
                3
            } else {
                tokens.len()
            };
            for token in &tokens[..kinds] {
                let mut t = b"[".to_vec();
                while t.len() < at {
                    t.extend_from_slice(b"12,3,456,");
                }
                t.truncate(at);
                t.extend_from_slice(token);
                while t.len() < (at + CHUNK / 8).max(CHUNK + CHUNK / 8) {
                    t.extend_from_slice(b"1,22,333,");
                }
                t.extend_from_slice(b"1,2,3]");
                let [(got, rows, after), (want, want_rows, want_after)] = both_ways(&t);
                let case = format!("{:?} at {at}", String::from_utf8_lossy(token));
                assert_eq!(rows, want_rows, "{case}: rows");
                match (got, want) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a, b, "{case}: count");
                        assert_eq!(after, want_after, "{case}: offset after the array");
                    }
                    // A partial row is the two-thread read's own error (it knows the width).
                    (Err(a), Ok(_)) if a.to_string().contains("fields") => {}
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{case}"),
                    (a, b) => panic!("{case}: {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[test]
    fn ints_and_errors() {
        let mut r = reader("[1, 22,\n333 ,-4]");
        let mut v = vec![];
        r.read_int_array("x", true, |_, x| {
            v.push(x);
            Ok(())
        })
        .unwrap();
        assert_eq!(v, [1, 22, 333, -4]);
        assert!(reader("[1 2]")
            .read_int_array("x", false, |_, _| Ok(()))
            .is_err());
        assert!(reader("[1,,2]")
            .read_int_array("x", false, |_, _| Ok(()))
            .is_err());
        assert!(reader("[-1]")
            .read_int_array("x", false, |_, _| Ok(()))
            .is_err());
        assert!(reader("[1,2")
            .read_int_array("x", false, |_, _| Ok(()))
            .is_err());
        assert_eq!(
            reader("[]")
                .read_int_array("x", false, |_, _| Ok(()))
                .unwrap(),
            0
        );
    }

    #[test]
    fn string_arrays_read_in_place_or_not_give_the_same_strings() {
        // A source that hands out a few bytes at a time, so that strings cross chunks.
        struct Trickle(std::io::Cursor<Vec<u8>>, usize);
        impl std::io::Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.1 = self.1 % 5 + 1;
                let n = buf.len().min(self.1);
                self.0.read(&mut buf[..n])
            }
        }
        impl ChunkRead for Trickle {}
        let mut text = br#" [ "plain", "", "a\"b\\c\u00e9", "caf"#.to_vec();
        text.extend_from_slice(&[0xC3, 0xA9, b'"', b',', b'"', 0xFF, b'x', b'"']);
        text.extend_from_slice(br#" ,"last" ] "#);
        let want = [
            "plain",
            "",
            "a\"b\\c\u{e9}",
            "caf\u{e9}",
            "\u{FFFD}x",
            "last",
        ];
        let read_all = |mut r: JsonReader<'_>| {
            let mut got = Vec::new();
            r.read_string_array("x", |s| {
                got.push(s.to_string());
                Ok(())
            })
            .unwrap();
            got
        };
        assert_eq!(read_all(reader_of(text.clone())), want);
        let len = text.len() as u64;
        let trickle = Trickle(std::io::Cursor::new(text), 0);
        let r = JsonReader::new(
            Box::new(trickle),
            Path::new("t.json"),
            Progress::default(),
            Box::new(|| 0),
            len,
        );
        assert_eq!(read_all(r), want);
        // What the callback refuses, what is not a string, and a file that ends, each say so.
        let mut r = reader(r#"["ok", "no"]"#);
        let err = r
            .read_string_array("x", |s| match s {
                "no" => Err("refused".to_string()),
                _ => Ok(()),
            })
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        for bad in [r#"["a", 1]"#, r#"["a", "b"#, r#"["a" "b"]"#] {
            let err = reader(bad).read_string_array("x", |_| Ok(())).unwrap_err();
            assert!(err.to_string().contains('x'), "{bad}: {err}");
        }
    }

    #[test]
    fn strings_with_escapes() {
        let mut r = reader(r#""a\"b\\c\n\u00e9\ud83d\ude00\ud800x""#);
        let mut s = String::new();
        r.read_string(&mut s, "x").unwrap();
        assert_eq!(s, "a\"b\\c\né😀\u{FFFD}x");
    }

    /// Collects what the echo writes, for the test below.
    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Collect {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl EchoSink for Collect {
        fn finish(self: Box<Self>) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_echo_copies_what_is_read_while_on() {
        // Longer than a chunk, so the copy crosses refills.
        let numbers = (0..CHUNK / 3)
            .map(|i| (i % 10).to_string())
            .collect::<Vec<_>>();
        let text: &'static str = Box::leak(format!("[{}] \"x\" [7]", numbers.join(",")).into());
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut r = reader(text);
        r.set_echo(Box::new(Collect(out.clone())), Path::new("out.json"));
        r.echo(true).unwrap();
        let count = r.read_int_array("x", false, |_, _| Ok(())).unwrap();
        assert_eq!(count as usize, numbers.len());
        r.echo(false).unwrap();
        r.read_string(&mut String::new(), "x").unwrap();
        r.write_out(b"|").unwrap();
        r.echo(true).unwrap();
        r.skip_value("x").unwrap();
        r.finish_echo().unwrap();
        let expected = format!("[{}]| [7]", numbers.join(","));
        assert!(*out.lock().unwrap() == expected.as_bytes());
    }

    #[test]
    fn skip_and_capture() {
        let mut r = reader(r#"{"a":[1,{"b":"]"}],"c":-2e5} 7"#);
        let raw = r.capture_value("x", 1000).unwrap();
        assert_eq!(raw, br#"{"a":[1,{"b":"]"}],"c":-2e5}"#);
        r.skip_value("x").unwrap();
        assert_eq!(r.peek().unwrap(), None);
    }
}
