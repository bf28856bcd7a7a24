//! The state machine that reads a JSON array of integers (the bulk of a V8 snapshot), fed in
//! pieces: by the reader's buffer on the calling thread, or chunk by chunk on a worker thread
//! while the caller stores the rows of the previous chunk (`JsonReader::read_int_rows`).

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
        mut emit: impl FnMut(usize, i64) -> Result<(), E>,
    ) -> Result<Scanned, ScanStop<E>> {
        let syntax = |i: usize, what: String| Err(ScanStop::Syntax(i, what));
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let digit = b.wrapping_sub(b'0');
            // The hot path: a number starts, with eight bytes to look at. Its digits (up to
            // eight) are read at once, and a comma right after them ends it: one step a number
            // instead of one a byte, with no branch on how many digits it has.
            let eight = (digit <= 9 && self.state == State::Value)
                .then(|| bytes[i..].first_chunk::<8>())
                .flatten();
            if let Some(&eight) = eight {
                let (len, value) = leading_digits(u64::from_le_bytes(eight));
                if len < 8 && bytes[i + len] == b',' {
                    emit(i + len, value).map_err(ScanStop::Emit)?;
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
                        emit(i, v).map_err(ScanStop::Emit)?;
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

/// How many of `word`'s bytes (read little-endian from the text, so its first byte is the
/// lowest) are ASCII digits before the first that is not, and the number they spell (0 to
/// 99 999 999). Works on all eight bytes at once.
#[inline]
fn leading_digits(word: u64) -> (usize, i64) {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    // A byte is a digit when its high nibble is 3 and still is after adding 6 (0x3A..0x3F
    // carry into 4). A carry out of a byte of 0xFA or more can only change bytes after it,
    // and such a byte ends the digits anyway.
    let not_digit = ((word & HIGH_NIBBLES) ^ THREES)
        | ((word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES) ^ THREES);
    let len = (not_digit.trailing_zeros() / 8) as usize;
    if len == 0 {
        return (0, 0);
    }
    // The digits' values, moved to the top bytes so that the bytes below are leading zeros
    // of an eight-digit number; then pairs, fours and eights of digits are combined in place
    // (no lane overflows: 99, 9 999 and 99 999 999 fit a byte, two bytes and four bytes).
    let digits = (word & 0x0F0F_0F0F_0F0F_0F0F) << (8 * (8 - len));
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    let eights = (fours * 10_000 + (fours >> 32)) & 0xFFFF_FFFF;
    (len, eights as i64)
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

    /// Numbers of every length, signs, spaces and a trailing `]`, read in one piece (eight
    /// bytes at a time) and one byte at a time (digit by digit) give the same numbers at the
    /// same places; so do errors.
    #[test]
    fn reading_eight_bytes_at_once_equals_reading_byte_by_byte() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
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
        for case in 0..2000 {
            let mut text = String::new();
            for k in 0..(next() % 40) {
                if k > 0 {
                    text.push_str([",", ",", ",", " ,", ", "][(next() % 5) as usize]);
                }
                let digits = 1 + next() % 19;
                let n = next() % 10u64.pow(digits as u32);
                if next() % 8 == 0 {
                    text.push('-');
                }
                text.push_str(&n.to_string());
            }
            if case % 50 == 0 {
                // Something wrong somewhere.
                let at = (next() as usize) % (text.len() + 1);
                let bad = ["x", ",,", ".5", "1 2", "-", "99999999999999999999"];
                text.insert_str(at, bad[(next() % 6) as usize]);
            }
            text.push(']');
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

    #[test]
    fn the_nth_number_is_placed_from_a_saved_state() {
        let sc = IntScanner::new(false);
        assert_eq!(sc.nth_end(b"1,22,333]", 2), Some(8));
        assert_eq!(sc.nth_end(b"1,22", 1), None);
    }
}
