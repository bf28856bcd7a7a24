//! The index's checksum: fast enough to run over every section at memory speed on each
//! open, and sure to change when any one byte does.

/// A 64-bit checksum over 8-byte words in four independent lanes (so it runs at memory speed).
/// Each step is a bijection of the lane state, so changing any one word — any byte flip —
/// always changes the result.
#[derive(Clone)]
pub(super) struct Checksum {
    lanes: [u64; 4],
    words: u64,
    len: u64,
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Checksum {
    pub(super) fn new() -> Self {
        Self {
            lanes: [
                0x243F_6A88_85A3_08D3,
                0x1319_8A2E_0370_7344,
                0xA409_3822_299F_31D0,
                0x082E_FA98_EC4E_6C89,
            ],
            words: 0,
            len: 0,
        }
    }

    #[inline]
    fn word(&mut self, w: u64) {
        let l = &mut self.lanes[(self.words & 3) as usize];
        *l = (*l ^ w).wrapping_mul(K).rotate_left(29);
        self.words += 1;
    }

    /// Add `bytes`; every call but the last must pass a multiple of 8 bytes.
    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        let w = |s: &[u8], i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&s[i..i + 8]);
            u64::from_le_bytes(x)
        };
        let whole = bytes.len() / 8 * 8;
        let mut i = 0;
        // Single words until lane 0 is next, then four at a time.
        while self.words & 3 != 0 && i < whole {
            self.word(w(bytes, i));
            i += 8;
        }
        let blocks_end = i + (whole - i) / 32 * 32;
        let [mut a, mut b, mut c, mut d] = self.lanes;
        while i < blocks_end {
            a = (a ^ w(bytes, i)).wrapping_mul(K).rotate_left(29);
            b = (b ^ w(bytes, i + 8)).wrapping_mul(K).rotate_left(29);
            c = (c ^ w(bytes, i + 16)).wrapping_mul(K).rotate_left(29);
            d = (d ^ w(bytes, i + 24)).wrapping_mul(K).rotate_left(29);
            self.words += 4;
            i += 32;
        }
        self.lanes = [a, b, c, d];
        while i < whole {
            self.word(w(bytes, i));
            i += 8;
        }
        if i < bytes.len() {
            let mut x = [0u8; 8];
            x[..bytes.len() - i].copy_from_slice(&bytes[i..]);
            self.word(u64::from_le_bytes(x));
        }
    }

    pub(super) fn finish(&self) -> u64 {
        let mut h = self.len;
        for l in self.lanes {
            h = (h ^ l).wrapping_mul(K);
            h ^= h >> 29;
        }
        h
    }
}

/// Checksum of one buffer.
pub(super) fn checksum(bytes: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_sees_every_byte_and_split_points() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = checksum(&data);
        for split in [8, 16, 40, 992] {
            let mut c = Checksum::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), whole, "split at {split}");
        }
        for i in 0..data.len() {
            for bit in [0x01, 0x80] {
                let mut d = data.clone();
                d[i] ^= bit;
                assert_ne!(checksum(&d), whole, "flip at {i}");
            }
        }
        assert_ne!(checksum(&data[..999]), whole);
    }
}
