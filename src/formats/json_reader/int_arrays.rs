//! Reading big integer arrays: one thread scanning a buffer at a time, or two sharing each
//! chunk (a worker scans the first part while the reader's thread scans the second and stores
//! the rows), with results, errors and error offsets the same either way.

use super::super::int_scan::{IntScanner, ScanStop, Scanned};
use super::{BatchResult, JsonReader, CHUNK};
use crate::error::Result;

impl<'p> JsonReader<'p> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{reader, reader_of};
    use super::*;

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
}
