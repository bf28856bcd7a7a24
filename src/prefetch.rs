//! Cache prefetch hints for passes that hop around memory in an order known a little ahead
//! (the dominator search, walks of the dominator tree). Hints only: no effect on results.

/// Ask the CPU to bring `x`'s cache line in.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; the pointer comes from a live reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(
            (x as *const T).cast::<i8>(),
            std::arch::x86_64::_MM_HINT_T0,
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// [`prefetch`] of `items[i]`, if there is one.
#[inline(always)]
pub(crate) fn prefetch_at<T>(items: &[T], i: usize) {
    if let Some(x) = items.get(i) {
        prefetch(x);
    }
}
