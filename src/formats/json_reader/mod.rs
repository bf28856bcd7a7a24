//! A streaming JSON scanner made for heap snapshots: huge flat integer arrays and string arrays,
//! read chunk by chunk with no document tree. Nesting is handled with explicit state, never
//! recursion, so hostile input can't overflow the stack.

mod int_arrays;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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

    pub(super) fn reader(s: &'static str) -> JsonReader<'static> {
        JsonReader::new(
            Box::new(s.as_bytes()),
            Path::new("t.json"),
            Progress::default(),
            Box::new(|| 0),
            s.len() as u64,
        )
    }

    pub(super) fn reader_of(bytes: Vec<u8>) -> JsonReader<'static> {
        let len = bytes.len() as u64;
        JsonReader::new(
            Box::new(std::io::Cursor::new(bytes)),
            Path::new("t.json"),
            Progress::default(),
            Box::new(|| 0),
            len,
        )
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
