//! The state machine that reads a JSON array of integers (the bulk of a V8 snapshot), fed in
//! pieces: by the reader's buffer on the calling thread, or chunk by chunk on a worker thread
//! while the caller stores the rows of the previous chunk (`JsonReader::read_int_rows`).

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Where in a number the scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a value (just after '[' or ',').
    Value,
    /// After '-'.
    Sign,
    InNumber,
    /// After a number and white space.
    AfterNumber,
}

/// Scanner state between pieces of one array; small and `Copy`, so a piece can be scanned
/// again from where it started (to place an error found later, see [`IntScanner::nth_end`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntScanner {
    state: State,
    cur: i64,
    neg: bool,
    /// Numbers read so far.
    pub count: u64,
    allow_negative: bool,
}

/// How a piece ended.
#[derive(Debug)]
pub(crate) enum Scanned {
    /// All of it was read; the array goes on in the next piece.
    More,
    /// The array's `]` is at this index of the piece.
    End(usize),
}

/// Why scanning stopped early.
#[derive(Debug)]
pub(crate) enum ScanStop<E> {
    /// The bytes are not an integer array: what is wrong, at this index of the piece.
    Syntax(usize, String),
    /// The callback failed.
    Emit(E),
}

impl IntScanner {
    /// A scanner just after the array's `[`.
    pub fn new(allow_negative: bool) -> Self {
        Self {
            state: State::Value,
            cur: 0,
            neg: false,
            count: 0,
            allow_negative,
        }
    }

    /// Read `bytes`, calling `emit(index of the byte that ends the number, value)` for each
    /// number. `inside` names the array in messages.
    #[inline]
    pub fn scan<E>(
        &mut self,
        bytes: &[u8],
        inside: &str,
        emit: impl FnMut(usize, i64) -> Result<(), E>,
    ) -> Result<Scanned, ScanStop<E>> {
        self.scan_to(bytes, inside, &mut Emit(emit))
    }

    /// [`scan`](Self::scan), with the numbers going to `out`.
    #[inline]
    pub fn scan_to<S: NumberSink + ?Sized>(
        &mut self,
        bytes: &[u8],
        inside: &str,
        out: &mut S,
    ) -> Result<Scanned, ScanStop<S::Error>> {
        let syntax = |i: usize, what: String| Err(ScanStop::Syntax(i, what));
        let mut i = 0;
        // Where the hot path below may be tried again after it gave up.
        let mut slow_until = 0;
        while i < bytes.len() {
            if self.state == State::Value && i >= slow_until {
                let (end, gave_up) = match out.fast_blocks(bytes, i) {
                    Some((end, gave_up, read)) => {
                        self.count += read;
                        (end, gave_up)
                    }
                    None => self.scan_blocks(bytes, i, out)?,
                };
                i = end;
                if gave_up {
                    // Try again a block further on: text with spaces everywhere must not pay
                    // for a failed block at every number.
                    slow_until = i + 64;
                }
            }
            let b = bytes[i];
            let digit = b.wrapping_sub(b'0');
            // A number starts, with eight bytes to look at (near the end of the piece): its
            // digits (up to seven) are read at once, and a comma right after them ends it.
            let eight = (digit <= 9 && self.state == State::Value)
                .then(|| bytes[i..].first_chunk::<8>())
                .flatten();
            if let Some(&eight) = eight {
                let (len, value) = leading_digits(u64::from_le_bytes(eight));
                if len < 8 && bytes[i + len] == b',' {
                    out.number(i + len, value).map_err(ScanStop::Emit)?;
                    self.count += 1;
                    i += len + 1;
                } else {
                    // A ']', white space, more digits or a syntax error: byte by byte.
                    self.cur = value;
                    self.state = State::InNumber;
                    i += len;
                }
                continue;
            }
            if digit <= 9 {
                if self.state == State::AfterNumber {
                    return syntax(i, format!("missing ',' between numbers in {inside}"));
                }
                if self.cur > (i64::MAX - 9) / 10 {
                    return syntax(i, format!("number too large in {inside}"));
                }
                self.cur = self.cur * 10 + digit as i64;
                self.state = State::InNumber;
                i += 1;
                continue;
            }
            match b {
                b',' | b']' => {
                    let had_value = matches!(self.state, State::InNumber | State::AfterNumber);
                    if had_value {
                        let v = if self.neg { -self.cur } else { self.cur };
                        out.number(i, v).map_err(ScanStop::Emit)?;
                        self.count += 1;
                    } else if b == b',' || self.count > 0 || self.state == State::Sign {
                        return syntax(i, format!("missing number in {inside}"));
                    }
                    self.cur = 0;
                    self.neg = false;
                    self.state = State::Value;
                    if b == b']' {
                        return Ok(Scanned::End(i));
                    }
                }
                b' ' | b'\n' | b'\r' | b'\t' => {
                    if self.state == State::InNumber {
                        self.state = State::AfterNumber;
                    } else if self.state == State::Sign {
                        return syntax(i, format!("lone '-' in {inside}"));
                    }
                }
                b'-' if self.allow_negative && self.state == State::Value => {
                    self.neg = true;
                    self.state = State::Sign;
                }
                _ => {
                    let what = if b == b'-' {
                        format!("negative number in {inside}")
                    } else if b == b'.' || b == b'e' || b == b'E' {
                        format!("non-integer number in {inside}")
                    } else {
                        format!(
                            "unexpected '{}' in {inside}",
                            super::json_reader::printable(b)
                        )
                    };
                    return syntax(i, what);
                }
            }
            i += 1;
        }
        Ok(Scanned::More)
    }

    /// The hot path, from `i` (where a number starts) on: blocks of 64 bytes holding only
    /// digits, commas and line breaks in the shape of numbers (V8 ends each row with a line
    /// break before its comma). A block's commas are found at once, as bits of a mask, and
    /// each number before one is read from where it starts: no step waits on the length of
    /// the number before. Returns where the blocks stopped (at the start of a number) and
    /// whether they gave up there: on anything else (the array's end, spaces, signs, errors,
    /// a number of more than 15 digits), which the byte-by-byte steps of [`scan`](Self::scan)
    /// then read. Near the end of `bytes` they stop without giving up.
    #[inline]
    fn scan_blocks<S: NumberSink + ?Sized>(
        &mut self,
        bytes: &[u8],
        mut i: usize,
        out: &mut S,
    ) -> Result<(usize, bool), ScanStop<S::Error>> {
        while let Some(block) = bytes.get(i..).and_then(<[u8]>::first_chunk::<BLOCK>) {
            let Some((commas, breaks)) = number_separators(block) else {
                return Ok((i, true));
            };
            let mut rest = commas;
            let mut start = 0;
            while rest != 0 {
                let comma = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let len = comma - start - ((breaks >> (comma - 1)) & 1) as usize;
                if len > 15 {
                    return Ok((i + start, true));
                }
                out.number(i + comma, digits_value(block, start, len))
                    .map_err(ScanStop::Emit)?;
                self.count += 1;
                start = comma + 1;
            }
            if start == 0 {
                return Ok((i, true));
            }
            i += start;
        }
        Ok((i, false))
    }

    /// Index in `bytes` of the byte that ends the `n`-th number (from 0) read from it, starting
    /// from this state: places an error that the caller found in that number's row.
    pub fn nth_end(mut self, bytes: &[u8], n: usize) -> Option<usize> {
        let mut seen = 0;
        match self.scan(bytes, "", |i, _| {
            if seen == n {
                return Err(i);
            }
            seen += 1;
            Ok(())
        }) {
            Err(ScanStop::Emit(i)) => Some(i),
            _ => None,
        }
    }
}

/// Where a scanner's numbers go.
pub(crate) trait NumberSink {
    /// Why the sink may refuse a number.
    type Error;

    /// Take the number whose last byte is just before index `end` of the piece.
    fn number(&mut self, end: usize, value: i64) -> Result<(), Self::Error>;

    /// Read whole blocks of numbers from `i` (where a number starts) by a path of the sink's
    /// own, taking and refusing the same blocks as [`IntScanner::scan_blocks`]: where they
    /// stopped, whether they gave up there, and how many numbers were read. `None` (the
    /// default): the sink has no such path, and the scanner's own blocks read them.
    #[inline]
    fn fast_blocks(&mut self, _bytes: &[u8], _i: usize) -> Option<(usize, bool, u64)> {
        None
    }
}

/// A callback as a sink.
struct Emit<F>(F);

impl<E, F: FnMut(usize, i64) -> Result<(), E>> NumberSink for Emit<F> {
    type Error = E;

    #[inline]
    fn number(&mut self, end: usize, value: i64) -> Result<(), E> {
        (self.0)(end, value)
    }
}

/// The numbers alone, in order: with AVX-512 (where the CPU has it), read four at a time.
impl NumberSink for Vec<i64> {
    type Error = std::convert::Infallible;

    #[inline]
    fn number(&mut self, _end: usize, value: i64) -> Result<(), Self::Error> {
        self.push(value);
        Ok(())
    }

    #[inline]
    fn fast_blocks(&mut self, bytes: &[u8], i: usize) -> Option<(usize, bool, u64)> {
        #[cfg(target_arch = "x86_64")]
        if avx512::available() {
            // SAFETY: the CPU has the features `read_blocks` is compiled for.
            return Some(unsafe { avx512::read_blocks(bytes, i, self) });
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (bytes, i);
        None
    }
}

/// Bytes a block of the hot path looks at: 64 for the masks, and 16 more so that a number
/// starting in the last of them can be read as two words.
const BLOCK: usize = 64 + 16;

/// The commas and line breaks in the first 64 bytes of `block` (bit `k` for byte `k`), if
/// those bytes are numbers of digits, each ended by a comma or a line break and a comma, the
/// first starting at byte 0 (the last may run on past byte 63). `None` for anything else.
#[inline]
fn number_separators(block: &[u8; BLOCK]) -> Option<(u64, u64)> {
    let (others, commas, breaks) = byte_classes(block);
    clean_separators(others, commas, breaks)
}

/// [`number_separators`] from a block's byte classes: the bits of the bytes that are not
/// digits, of the commas and of the line breaks.
#[inline(always)]
fn clean_separators(others: u64, commas: u64, breaks: u64) -> Option<(u64, u64)> {
    let separators = commas | breaks;
    let clean = others == separators
        // A number first, a digit after each comma, a digit before each line break and a comma
        // after it (a break in byte 63 is checked with the next block's number).
        && separators & 1 == 0
        && (commas << 1) & separators == 0
        && (breaks << 1) & !commas == 0
        && (separators << 1) & breaks == 0;
    clean.then_some((commas, breaks))
}

/// Bits of the first 64 bytes of `block`: those that are not ASCII digits, commas, and line
/// breaks. With SSE2 (every x86-64 CPU has it), sixteen bytes a step.
#[cfg(target_arch = "x86_64")]
#[inline]
fn byte_classes(block: &[u8; BLOCK]) -> (u64, u64, u64) {
    use std::arch::x86_64::*;
    let (mut others, mut commas, mut breaks) = (0u64, 0u64, 0u64);
    for k in 0..4 {
        // SAFETY: SSE2 is part of x86-64; the load reads 16 bytes of `block` from 16 * k,
        // within its first 64 (an unaligned load, as the intrinsic allows).
        let (o, c, b) = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast());
            let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
            let digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
            (
                !_mm_movemask_epi8(digit) as u16,
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b',' as i8))) as u16,
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u16,
            )
        };
        others |= u64::from(o) << (16 * k);
        commas |= u64::from(c) << (16 * k);
        breaks |= u64::from(b) << (16 * k);
    }
    (others, commas, breaks)
}

/// [`byte_classes`] without SSE2: eight bytes a step, in a word.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn byte_classes(block: &[u8; BLOCK]) -> (u64, u64, u64) {
    let (mut others, mut commas, mut breaks) = (0u64, 0u64, 0u64);
    for k in 0..8 {
        let word = word_at(block, 8 * k);
        others |= (high_bits(non_digits(word)) as u64) << (8 * k);
        commas |= (high_bits(equal_bytes(word, b',')) as u64) << (8 * k);
        breaks |= (high_bits(equal_bytes(word, b'\n')) as u64) << (8 * k);
    }
    (others, commas, breaks)
}

/// The value of the `len` (1 to 15) digits at `block[start..]`, `start` < 64.
#[inline]
fn digits_value(block: &[u8; BLOCK], start: usize, len: usize) -> i64 {
    if len <= 8 {
        return digit_word_value(word_at(block, start), len);
    }
    let head = digit_word_value(word_at(block, start), 8);
    let tail = digit_word_value(word_at(block, start + 8), len - 8);
    head * POWERS_OF_TEN[len - 8] + tail
}

/// The eight bytes of `block` from `at` on, as a word read little-endian (so the first is
/// lowest).
#[inline(always)]
fn word_at(block: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&block[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Bit 7 of each byte of `word` that is not an ASCII digit (an exact test, byte by byte).
#[inline]
fn non_digits(word: u64) -> u64 {
    // Bytes below '0' wrap to 0x80 or more when '0' is taken away (with a borrow that spares
    // bytes whose top bit is set, so they are tested alone); bytes above '9' reach 0x80 when
    // 0x46 is added to their low seven bits.
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let low = word & LOW7;
    let below = (low | TOP).wrapping_sub(0x3030_3030_3030_3030) ^ TOP;
    let above = low + 0x4646_4646_4646_4646;
    (word | below | above) & TOP
}

/// Bit 7 of each byte of `word` equal to `byte` (exact: no carry crosses bytes).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

/// Bit 7 of each of `mask`'s bytes, gathered into bit `k` for byte `k`.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn high_bits(mask: u64) -> u8 {
    ((mask >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// The number spelled by the first `len` (0 to 8) bytes of `word`, all digits.
#[inline]
fn digit_word_value(word: u64, len: usize) -> i64 {
    // The digits' values, moved to the top bytes so that the bytes below are leading zeros
    // of an eight-digit number (and the bytes after the digits fall off the top); then pairs,
    // fours and eights of digits are combined in place (no lane overflows: 99, 9 999 and
    // 99 999 999 fit a byte, two bytes and four bytes). The shift is done in two halves, so
    // that with no digits at all it moves all 64 bits out, with no branch.
    let half_shift = 4 * (8 - len);
    let digits = ((word & 0x0F0F_0F0F_0F0F_0F0F) << half_shift) << half_shift;
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    let eights = (fours * 10_000 + (fours >> 32)) & 0xFFFF_FFFF;
    eights as i64
}

/// 10 to the power of each index, for joining a number's two words of digits.
const POWERS_OF_TEN: [i64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// How many of `word`'s bytes (read little-endian from the text, so its first byte is the
/// lowest) are ASCII digits before the first that is not, and the number they spell (0 to
/// 99 999 999). Works on all eight bytes at once.
#[inline]
fn leading_digits(word: u64) -> (usize, i64) {
    let len = (non_digits(word).trailing_zeros() / 8) as usize;
    (len, digit_word_value(word, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(pieces: &[&str]) -> (Vec<(usize, i64)>, Option<usize>) {
        let mut sc = IntScanner::new(true);
        let mut out = Vec::new();
        for (k, p) in pieces.iter().enumerate() {
            match sc
                .scan(p.as_bytes(), "x", |i, v| {
                    out.push((k * 100 + i, v));
                    Ok::<(), ()>(())
                })
                .unwrap()
            {
                Scanned::More => {}
                Scanned::End(i) => return (out, Some(k * 100 + i)),
            }
        }
        (out, None)
    }

    #[test]
    fn numbers_split_across_pieces_are_read_whole() {
        let (v, end) = all(&["12", "3, -4", "5 ,6]"]);
        assert_eq!(v, [(101, 123), (202, -45), (204, 6)]);
        assert_eq!(end, Some(204));
    }

    /// The tests' numbers, from one seed.
    fn xorshift() -> impl FnMut() -> u64 {
        crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15)
    }

    /// The text of an integer array, ended by `]`: every third in V8's own shape (commas, line
    /// breaks before some, no signs, up to 200 numbers), which the 64-byte blocks read (it may
    /// still hold a number too long for them); every 25th with something wrong somewhere.
    fn random_text(next: &mut impl FnMut() -> u64, case: usize) -> String {
        let v8_shape = case.is_multiple_of(3);
        let mut text = String::new();
        for k in 0..(next() % if v8_shape { 200 } else { 40 }) {
            if k > 0 {
                let separators = [",", ",", ",", "\n,", " ,", ", ", "\n ,"];
                let kinds = if v8_shape { 4 } else { 7 };
                text.push_str(separators[(next() % kinds) as usize]);
            }
            let digits = 1 + next()
                % if v8_shape && !next().is_multiple_of(50) {
                    15
                } else {
                    19
                };
            let n = next() % 10u64.pow(digits as u32);
            if !v8_shape && next().is_multiple_of(8) {
                text.push('-');
            }
            text.push_str(&n.to_string());
        }
        if case.is_multiple_of(25) {
            // Something wrong somewhere.
            let at = (next() as usize) % (text.len() + 1);
            let bad = [
                "x",
                ",,",
                ".5",
                "1 2",
                "-",
                "99999999999999999999",
                "1\n2",
                ",\n,",
                "\n",
                "\n\n,",
            ];
            text.insert_str(at, bad[(next() % 10) as usize]);
        }
        text.push(']');
        text
    }

    /// The numbers collected into a `Vec` (four at a time with AVX-512, where the CPU has it)
    /// equal those called back one by one, and scanning ends or fails at the same place;
    /// pieces of several sizes put numbers across their ends.
    #[test]
    fn collecting_into_a_vec_equals_calling_back() {
        let mut next = xorshift();
        for case in 0..3000 {
            let text = random_text(&mut next, case);
            for piece in [text.len(), 1, 97, 333] {
                let (mut by_call, mut into_vec) = (IntScanner::new(true), IntScanner::new(true));
                let (mut called, mut collected) = (Vec::new(), Vec::new());
                for p in text.as_bytes().chunks(piece) {
                    let a = by_call.scan(p, "x", |_, v| {
                        called.push(v);
                        Ok::<(), ()>(())
                    });
                    let mut numbers = Vec::new();
                    let b = into_vec.scan_to(p, "x", &mut numbers);
                    collected.extend(numbers);
                    let same = match (&a, &b) {
                        (Ok(Scanned::More), Ok(Scanned::More)) => true,
                        (Ok(Scanned::End(i)), Ok(Scanned::End(j))) => i == j,
                        (Err(ScanStop::Syntax(i, x)), Err(ScanStop::Syntax(j, y))) => {
                            i == j && x == y
                        }
                        _ => false,
                    };
                    assert!(same, "{a:?} {b:?} in {text:?}");
                    assert_eq!(by_call.count, into_vec.count, "{text:?}");
                    if !matches!(a, Ok(Scanned::More)) {
                        break;
                    }
                }
                assert_eq!(called, collected, "{text:?} in pieces of {piece}");
            }
        }
    }

    /// The AVX-512 blocks read V8's shape as the scalar ones do: the same numbers, the same
    /// place to stop, the same verdict on giving up (numbers of every length up to 16 digits,
    /// line breaks before commas).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_blocks_equal_scalar_blocks() {
        if !avx512::available() {
            eprintln!("this CPU has no AVX-512 VBMI2: nothing to compare");
            return;
        }
        let mut next = xorshift();
        for case in 0..5000u32 {
            let mut text = String::new();
            let longest = if case.is_multiple_of(10) { 16 } else { 15 };
            for k in 0..(next() % 300) {
                if k > 0 {
                    text.push_str(if next().is_multiple_of(4) { "\n," } else { "," });
                }
                let digits = 1 + next() % longest;
                let n = next() % 10u64.pow(digits as u32);
                text.push_str(&n.to_string());
            }
            text.push(']');
            let bytes = text.as_bytes();
            let mut scalar = Vec::new();
            let mut sc = IntScanner::new(false);
            let expected = sc
                .scan_blocks(
                    bytes,
                    0,
                    &mut Emit(|_, v| {
                        scalar.push(v);
                        Ok::<(), ()>(())
                    }),
                )
                .unwrap();
            let mut wide = vec![7];
            // SAFETY: `available` said the CPU has the features.
            let (end, gave_up, read) = unsafe { avx512::read_blocks(bytes, 0, &mut wide) };
            assert!(
                !gave_up || expected.1,
                "gave up at {end} where the scalar blocks did not: {text:?}"
            );
            if gave_up {
                // The scalar blocks may read the numbers before a long one first.
                assert!(end <= expected.0, "{text:?}");
                assert_eq!(&wide[1..], &scalar[..wide.len() - 1], "{text:?}");
            } else {
                assert_eq!((end, gave_up), expected, "{text:?}");
                assert_eq!(&wide[1..], &scalar[..], "{text:?}");
            }
            assert_eq!(read as usize, wide.len() - 1);
            assert_eq!(sc.count as usize, scalar.len());
        }
    }

    /// Numbers of every length, signs, spaces and a trailing `]`, read in one piece (eight
    /// bytes at a time) and one byte at a time (digit by digit) give the same numbers at the
    /// same places; so do errors.
    #[test]
    fn reading_eight_bytes_at_once_equals_reading_byte_by_byte() {
        let mut next = xorshift();
        let run = |text: &[u8], piece: usize| {
            let mut sc = IntScanner::new(true);
            let mut out = Vec::new();
            for (k, p) in text.chunks(piece).enumerate() {
                let r = sc.scan(p, "x", |i, v| {
                    out.push((k * piece + i, v));
                    Ok::<(), ()>(())
                });
                match r {
                    Ok(Scanned::More) => {}
                    Ok(Scanned::End(i)) => return (out, Ok(k * piece + i)),
                    Err(ScanStop::Syntax(i, what)) => return (out, Err((k * piece + i, what))),
                    Err(ScanStop::Emit(())) => unreachable!(),
                }
            }
            (out, Err((text.len(), "more".to_string())))
        };
        for case in 0..3000 {
            let text = random_text(&mut next, case);
            let whole = run(text.as_bytes(), text.len());
            let bytes = run(text.as_bytes(), 1);
            assert_eq!(whole, bytes, "{text}");
        }
    }

    #[test]
    fn leading_digits_reads_up_to_eight() {
        let word = |s: &[u8]| u64::from_le_bytes(s.try_into().unwrap());
        assert_eq!(leading_digits(word(b"12345678")), (8, 12_345_678));
        assert_eq!(leading_digits(word(b"99999999")), (8, 99_999_999));
        assert_eq!(leading_digits(word(b"0,1,2,3,")), (1, 0));
        assert_eq!(leading_digits(word(b"4096]\n\n\n")), (4, 4096));
        assert_eq!(leading_digits(word(b",1234567")), (0, 0));
        assert_eq!(leading_digits(word(b"7\xff\xfa:/9 0")), (1, 7));
        for b in 0..=255u8 {
            let (len, v) = leading_digits(word(&[b'5', b, b'1', b'1', b'1', b'1', b'1', b'1']));
            if b.is_ascii_digit() {
                assert_eq!((len, v), (8, 50_111_111 + (b - b'0') as i64 * 1_000_000));
            } else {
                assert_eq!((len, v), (1, 5), "byte {b:#x}");
            }
        }
    }

    /// The byte masks of the hot path equal a byte-by-byte test, for every byte in every place.
    #[test]
    fn byte_masks_equal_testing_each_byte() {
        let by_byte = |word: u64, test: &dyn Fn(u8) -> bool| -> u8 {
            (0..8).fold(0, |m, k| m | (u8::from(test((word >> (8 * k)) as u8)) << k))
        };
        let mut random = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        for round in 0..20_000u32 {
            let x = random();
            // Random words, and words of the bytes around the edges of the ranges tested.
            let word = if round % 2 == 0 {
                x
            } else {
                let edges = [
                    0x2F, b'0', b'9', 0x3A, b',', b'\n', 0x7F, 0x80, 0xAF, 0xB0, 0xFA, 0xFF,
                ];
                (0..8).fold(0u64, |w, k| {
                    w | (edges[((x >> (4 * k)) % 12) as usize] as u64) << (8 * k)
                })
            };
            assert_eq!(
                high_bits(non_digits(word)),
                by_byte(word, &|b| !b.is_ascii_digit()),
                "{word:#x}"
            );
            for byte in [b',', b'\n'] {
                assert_eq!(
                    high_bits(equal_bytes(word, byte)),
                    by_byte(word, &|b| b == byte),
                    "{word:#x}"
                );
            }
        }
    }

    /// The hot path's three masks of a block equal a byte-by-byte test.
    #[test]
    fn byte_classes_equal_testing_each_byte() {
        let mut random = xorshift();
        let mut block = [0u8; BLOCK];
        for _ in 0..5_000 {
            for b in block.iter_mut() {
                let x = random();
                *b = [
                    b'0', b'5', b'9', b',', b'\n', b'/', b':', b' ', b']', 0xB0, 0xFF, x as u8,
                ][(x >> 40) as usize % 12];
            }
            let mask = |test: &dyn Fn(u8) -> bool| {
                (0..64).fold(0u64, |m, k| m | u64::from(test(block[k])) << k)
            };
            assert_eq!(
                byte_classes(&block),
                (
                    mask(&|b| !b.is_ascii_digit()),
                    mask(&|b| b == b','),
                    mask(&|b| b == b'\n')
                ),
                "{block:?}"
            );
        }
    }

    #[test]
    fn the_nth_number_is_placed_from_a_saved_state() {
        let sc = IntScanner::new(false);
        assert_eq!(sc.nth_end(b"1,22,333]", 2), Some(8));
        assert_eq!(sc.nth_end(b"1,22", 1), None);
    }
}
