//! The tests' pseudo-random numbers: a xorshift generator, so a test's inputs are varied but
//! the same on every run.

/// Numbers from `seed` (not 0), one a call.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
