//! The hot path of [`IntScanner`](super::IntScanner) with AVX-512, for a caller that collects
//! the numbers into a `Vec` (the snapshot's big arrays). A 64-byte block's numbers are read
//! four at a time, each in a 16-byte lane of one register: their digits are moved into the
//! lanes by one byte permutation, and the four values made by multiply-adds. The scalar path
//! reads a number in about a dozen dependent steps; this one in a handful, shared by four.
//!
//! Blocks are accepted and refused exactly as by the scalar path (the same separator test),
//! so the numbers and where scanning stops are the same; a block with a number of more than
//! 15 digits is left to the byte-by-byte steps whole.

use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::{clean_separators, BLOCK};

/// Whether this CPU has the instructions [`read_blocks`] uses, and `HEAPSIGHT_NO_AVX512` is
/// not set (to compare the two paths on one machine).
#[inline]
pub(super) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::env::var_os("HEAPSIGHT_NO_AVX512").is_none()
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vbmi")
            && is_x86_feature_detected!("avx512vbmi2")
            && is_x86_feature_detected!("popcnt")
            && is_x86_feature_detected!("lzcnt")
    })
}

/// 64 bytes, byte `k` being `k / per % wrap`.
const fn pattern(per: usize, wrap: usize) -> [u8; 64] {
    let mut a = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        a[k] = (k / per % wrap) as u8;
        k += 1;
    }
    a
}

/// Byte `k` is `k`: compressed by a mask, it lists the mask's bit positions.
const IOTA: [u8; 64] = pattern(1, 64);

/// Byte `j` of each 16-byte lane is `j`.
const LANE_BYTE: [u8; 64] = pattern(1, 16);

/// Every byte of lane `k` is `k`.
const LANE_NUMBER: [u8; 64] = pattern(16, 4);

/// Read whole blocks of numbers from `i` (where a number starts) into `out`, as
/// `IntScanner::scan_blocks` does: returns where the blocks stopped, whether they gave up
/// there, and how many numbers were read.
///
/// # Safety
/// The CPU must have the features [`available`] tests.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,lzcnt")]
pub(super) unsafe fn read_blocks(
    bytes: &[u8],
    mut i: usize,
    out: &mut Vec<i64>,
) -> (usize, bool, u64) {
    let iota = _mm512_loadu_si512(IOTA.as_ptr().cast());
    let lane_byte = _mm512_loadu_si512(LANE_BYTE.as_ptr().cast());
    let lane_number = _mm512_loadu_si512(LANE_NUMBER.as_ptr().cast());
    let zero_char = _mm512_set1_epi8(b'0' as i8);
    let nine = _mm512_set1_epi8(9);
    let fifteen = _mm512_set1_epi8(15);
    let fourteen = _mm512_set1_epi8(14);
    // Digit pairs (tens, ones), then pairs of pairs (hundreds, ones).
    let tens = _mm512_set1_epi16(0x010A);
    let hundreds = _mm512_set1_epi32(0x0001_0064);
    let ten_thousand = _mm512_set1_epi64(10_000);
    let hundred_million = _mm512_set1_epi64(100_000_000);
    let mut count = 0u64;
    while bytes.len().saturating_sub(i) >= BLOCK {
        // SAFETY: at least BLOCK (> 64) bytes of `bytes` from `i` on.
        let v = _mm512_loadu_si512(bytes.as_ptr().add(i).cast());
        let digit_values = _mm512_sub_epi8(v, zero_char);
        let digits = _mm512_cmple_epu8_mask(digit_values, nine);
        let commas = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b',' as i8));
        let breaks = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8));
        if clean_separators(!digits, commas, breaks).is_none() || commas == 0 {
            return (i, true, count);
        }
        // Numbers whose comma is in the block; the one after the last comma is the next
        // block's first.
        let last_comma = 63 - commas.leading_zeros();
        let taken = digits & (u64::MAX >> (63 - last_comma));
        let firsts = taken & !(taken << 1);
        let lasts = taken & !(taken >> 1);
        let n = commas.count_ones() as usize;
        debug_assert_eq!(firsts.count_ones() as usize, n);
        let first_at = _mm512_maskz_compress_epi8(firsts, iota);
        let last_at = _mm512_maskz_compress_epi8(lasts, iota);
        // Each number's length less one (0 beyond the n-th).
        let len_less_one = _mm512_sub_epi8(last_at, first_at);
        if _mm512_cmpgt_epu8_mask(len_less_one, fourteen) != 0 {
            return (i, true, count);
        }
        out.reserve(n + 4);
        let mut to = out.as_mut_ptr().add(out.len());
        let mut k = 0;
        while k < n {
            // Lane j holds number k + j: its digits end at the lane's last byte, zeros before.
            let pick = _mm512_add_epi8(_mm512_set1_epi8(k as i8), lane_number);
            let last = _mm512_permutexvar_epi8(pick, last_at);
            let len = _mm512_permutexvar_epi8(pick, len_less_one);
            let from = _mm512_sub_epi8(_mm512_add_epi8(last, lane_byte), fifteen);
            let keep = _mm512_cmpge_epu8_mask(_mm512_add_epi8(lane_byte, len), fifteen);
            let lane_digits = _mm512_maskz_permutexvar_epi8(keep, from, digit_values);
            let pairs = _mm512_maddubs_epi16(lane_digits, tens);
            let fours = _mm512_madd_epi16(pairs, hundreds);
            let eights = _mm512_add_epi64(
                _mm512_mul_epu32(fours, ten_thousand),
                _mm512_srli_epi64::<32>(fours),
            );
            let sixteens = _mm512_add_epi64(
                _mm512_mul_epu32(eights, hundred_million),
                _mm512_bsrli_epi128::<8>(eights),
            );
            let values = _mm512_maskz_compress_epi64(0x55, sixteens);
            // SAFETY: `out` has room for n + 4 more; four are written, at most n - k kept.
            _mm256_storeu_si256(to.cast(), _mm512_castsi512_si256(values));
            let kept = (n - k).min(4);
            to = to.add(kept);
            k += 4;
        }
        out.set_len(out.len() + n);
        count += n as u64;
        i += last_comma as usize + 1;
    }
    (i, false, count)
}
