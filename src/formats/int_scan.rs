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
            if digit <= 9 {
                // The hot path: most bytes are digits.
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

    #[test]
    fn the_nth_number_is_placed_from_a_saved_state() {
        let sc = IntScanner::new(false);
        assert_eq!(sc.nth_end(b"1,22,333]", 2), Some(8));
        assert_eq!(sc.nth_end(b"1,22", 1), None);
    }
}
