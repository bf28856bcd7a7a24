//! A column of byte sizes stored as `u32`, with the rare larger value kept aside, so per-node
//! sizes cost 4 bytes instead of 8.

use super::column::Column;
use super::fxhash::FxHashMap;

const BIG: u32 = u32::MAX;

/// Sizes indexed by node; values of 4 GiB or more live in a side table.
#[derive(Debug, Clone, Default)]
pub struct SizeColumn {
    small: Column<u32>,
    big: FxHashMap<u32, u64>,
}

impl SizeColumn {
    /// A column of `n` values from `f`.
    pub fn from_fn(n: usize, f: impl Fn(u32) -> u64) -> Self {
        let mut c = Self {
            small: Column::with_capacity(n),
            big: FxHashMap::default(),
        };
        for i in 0..n as u32 {
            let v = f(i);
            if v >= BIG as u64 {
                c.big.insert(i, v);
                c.small.push(BIG);
            } else {
                c.small.push(v as u32);
            }
        }
        c
    }

    /// The raw parts: values below 4 GiB (`u32::MAX` marks a big one) and the big ones.
    pub fn raw_parts(&self) -> (&[u32], &FxHashMap<u32, u64>) {
        (&self.small, &self.big)
    }

    /// A column from [`SizeColumn::raw_parts`].
    pub fn from_raw_parts(small: Column<u32>, big: FxHashMap<u32, u64>) -> Self {
        Self { small, big }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.small.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.small.is_empty()
    }

    /// Value `i`.
    #[inline]
    pub fn get(&self, i: u32) -> u64 {
        get_in(&self.small, &self.big, i)
    }

    /// For each `(from, to)` in turn, add value `from` to value `to` and set `from` to 0, as
    /// a [`get`](Self::get) and two [`set`](Self::set)s would, with the column made owned
    /// once rather than at every set.
    pub fn move_values(&mut self, moves: impl Iterator<Item = (u32, u32)>) {
        let (small, big) = (self.small.vec_mut(), &mut self.big);
        for (from, to) in moves {
            let sum = get_in(small, big, from) + get_in(small, big, to);
            set_in(small, big, to, sum);
            set_in(small, big, from, 0);
        }
    }

    /// Set value `i`.
    pub fn set(&mut self, i: u32, v: u64) {
        set_in(self.small.vec_mut(), &mut self.big, i, v);
    }
}

/// Value `i` of the parts of a [`SizeColumn`].
#[inline]
fn get_in(small: &[u32], big: &FxHashMap<u32, u64>, i: u32) -> u64 {
    match small[i as usize] {
        BIG => big.get(&i).copied().unwrap_or(BIG as u64),
        v => v as u64,
    }
}

/// Set value `i` of the parts of a [`SizeColumn`].
#[inline]
fn set_in(small: &mut [u32], big: &mut FxHashMap<u32, u64>, i: u32, v: u64) {
    let slot = &mut small[i as usize];
    if v >= BIG as u64 {
        big.insert(i, v);
        *slot = BIG;
    } else {
        // Probing the side table costs a hash: only a big old value is there.
        if *slot == BIG {
            big.remove(&i);
        }
        *slot = v as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_values_round_trip() {
        let mut c = SizeColumn::from_fn(3, |i| [1, 5_000_000_000, 0][i as usize]);
        assert_eq!(c.get(1), 5_000_000_000);
        c.set(0, c.get(0) + c.get(1));
        c.set(1, 0);
        assert_eq!((c.get(0), c.get(1), c.get(2)), (5_000_000_001, 0, 0));
    }

    /// Moving values in place equals reading and setting them one by one, big values and sums
    /// that become big included.
    #[test]
    fn moving_values_equals_getting_and_setting() {
        let mut random = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: u64| random() % n;
        let start: Vec<u64> = (0..200)
            .map(|_| match next(4) {
                0 => 5_000_000_000 + next(10),
                1 => u32::MAX as u64 - 1 - next(3),
                _ => next(1000),
            })
            .collect();
        let moves: Vec<(u32, u32)> = (0..300)
            .map(|_| (next(200) as u32, next(200) as u32))
            .collect();
        let mut one = SizeColumn::from_fn(200, |i| start[i as usize]);
        for &(from, to) in &moves {
            let moved = one.get(from);
            one.set(to, one.get(to) + moved);
            one.set(from, 0);
        }
        let mut moved = SizeColumn::from_fn(200, |i| start[i as usize]);
        moved.move_values(moves.iter().copied());
        assert!((0..200).all(|i| moved.get(i) == one.get(i)));
        let big = |c: &SizeColumn| {
            let mut keys: Vec<u32> = c.big.keys().copied().collect();
            keys.sort_unstable();
            keys
        };
        assert_eq!(big(&moved), big(&one));
    }
}
