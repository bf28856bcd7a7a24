//! The allocator of the `heapsight` binary (and the pipeline bench): the system's for small
//! blocks; blocks of [`BIG_BLOCK`] bytes or more are mapped on their own (on a 2 MiB boundary,
//! so that they can be backed by huge pages when asked) and, while a load runs
//! ([`ReuseScope`]), kept for the next big block once freed.
//!
//! Huge pages are asked for only with `HEAPSIGHT_HUGE_PAGES=1`. The dominator search, the
//! semidominator pass and the distances read per-node arrays of tens to hundreds of MB at
//! random, and 2 MiB pages cover them with 512 times fewer TLB entries; but on the 2-core VM
//! the project is measured on, a huge page new to the process costs six times what its 512
//! small pages do (touching 1 GB: 2.0-2.6 s against 0.38-0.45 s, the host backing each one
//! anew), and the 1.6 GB document store took 6.5-6.75 s with the hint against 5.07-5.41 s
//! without it, five pairs taking turns (2026-12-06). Where transparent huge pages are in
//! `madvise` mode (Debian's and Ubuntu's default) only memory that asks gets them.
//!
//! Why reuse: a load's passes each make arrays of a few hundred MB and drop them when done.
//! Memory new to the process costs a page fault and the kernel's zeroing on first touch: on the
//! 2-core VM the project is measured on, 0.7 s a GB (1.3 GB/s), against 17 GB/s for writing
//! pages already in place. On the 1.6 GB document store the kernel's zeroing of new pages was
//! 10 % of the load's CPU time (3.5 s). So a freed big block stays mapped (within the bounds of
//! [`KEEP_SHARE`] and [`REUSE_BYTES`]) and the next big block is cut from it or grown from it
//! (`mremap` keeps its pages). When the last scope ends, what is
//! kept goes back to the system at once, so an idle app or a closed tab holds nothing.
//! `HEAPSIGHT_REUSE_BLOCKS=0` turns reuse off. Off Linux everything goes to the system
//! allocator unchanged.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this big are mapped on their own: the size of the arrays read at random,
/// and big enough that rounding to pages costs little.
pub const BIG_BLOCK: usize = 8 << 20;

/// The most freed bytes kept for reuse at once; the oldest blocks go back first.
pub const REUSE_BYTES: usize = 512 << 20;

/// Freed bytes kept are also at most this share (one in `KEEP_SHARE`) of the most bytes of big
/// blocks in use at once during the scopes: so the kept blocks scale with the load, and the
/// memory they hold while later passes grow (mapped file pages, say) stays a part of the peak.
/// On the 1.6 GB store one third left the peak unchanged (0.75 × the file) and cut the new
/// pages from 3.5 to 2.6 GB; one half cuts them to 2.2 GB and raises the peak to 0.86 × (0.93 ×
/// on the 400 MB store), still below the file. One half is used: on a VM whose host takes back
/// freed memory (see `crate::prefault`), each GB not asked for anew saves seconds, and a
/// cold run of the 1.6 GB store was 0.5–2 s faster in every pair measured. Keeping up to the
/// whole peak (one in one) raised the peak above the file (1.08 ×) and was not faster.
pub const KEEP_SHARE: usize = 2;

/// The global allocator described in the module's documentation.
pub struct BigBlockAlloc;

/// While one of these is alive, freed big blocks are kept for reuse; when the last one is
/// dropped they go back to the system. Hold one over work that makes and drops big arrays.
pub struct ReuseScope(());

impl ReuseScope {
    /// Start keeping freed big blocks (scopes nest and may overlap across threads).
    pub fn enter() -> Self {
        #[cfg(target_os = "linux")]
        linux::scope_entered();
        ReuseScope(())
    }
}

impl Drop for ReuseScope {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        linux::scope_left();
    }
}

/// Is a block of `layout` one of ours (mapped on its own)? The same answer for the layout a
/// block is made with and freed with, which is what keeps the two sides apart.
#[inline]
fn is_big(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= BIG_BLOCK && layout.align() <= PAGE
}

/// The smallest page size: big blocks are aligned to at least this.
const PAGE: usize = 4096;

// SAFETY: small blocks go to the system allocator unchanged. Big blocks are whole private
// anonymous mappings of at least the layout's size, page-aligned (so aligned for any layout
// `is_big` accepts), owned by one caller from `alloc` to `dealloc`; a kept block is in the
// keep list only while no caller owns it.
unsafe impl GlobalAlloc for BigBlockAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if is_big(layout) {
            return linux::alloc(block_len(layout.size()), false);
        }
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if is_big(layout) {
            return linux::alloc(block_len(layout.size()), true);
        }
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        #[cfg(target_os = "linux")]
        if is_big(layout) {
            return linux::free(block as usize, block_len(layout.size()));
        }
        // SAFETY: as above.
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, fits an isize.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_big(layout), is_big(new_layout)) {
            // SAFETY: as above.
            (false, false) => unsafe { System.realloc(block, layout, new_size) },
            #[cfg(target_os = "linux")]
            (true, true) => linux::realloc(
                block as usize,
                block_len(layout.size()),
                block_len(new_size),
            ),
            _ => {
                // Across the threshold: a new block, the values copied, the old one freed.
                // SAFETY: `new_layout` is non-zero (one of the two is big) and valid (above).
                let grown = unsafe { self.alloc(new_layout) };
                if !grown.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least this long.
                    unsafe {
                        std::ptr::copy_nonoverlapping(block, grown, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                grown
            }
        }
    }
}

/// The length of the mapping for a big block of `size` bytes: rounded up to 2 MiB, a whole
/// number of pages whatever their size (4, 16 or 64 KiB), and of huge pages. Mappings start on
/// a 2 MiB boundary, so a block cut from a kept one starts on a page too.
#[inline]
fn block_len(size: usize) -> usize {
    size.next_multiple_of(HUGE_PAGE)
}

const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
mod linux {
    //! Mapping, keeping and reusing big blocks. Nothing here allocates: this runs inside the
    //! allocator.

    use super::{BIG_BLOCK, HUGE_PAGE, KEEP_SHARE, REUSE_BYTES};
    use std::sync::{Mutex, OnceLock};

    /// At most this many blocks are kept (a load frees a few dozen big arrays in all).
    const SLOTS: usize = 32;

    /// Freed blocks kept for reuse, oldest first, as (start, length), and the bytes callers own.
    struct Kept {
        /// Live [`super::ReuseScope`]s: blocks are kept only while there is one.
        scopes: usize,
        blocks: [(usize, usize); SLOTS],
        count: usize,
        /// Bytes in `blocks`.
        bytes: usize,
        /// Bytes of big blocks callers own now, and the most they owned at once since the
        /// last scope ended.
        live: usize,
        peak_live: usize,
    }

    impl Kept {
        fn remove(&mut self, i: usize) -> (usize, usize) {
            let b = self.blocks[i];
            self.blocks.copy_within(i + 1..self.count, i);
            self.count -= 1;
            self.bytes -= b.1;
            b
        }

        fn owned(&mut self, more: usize, less: usize) {
            self.live = (self.live + more).saturating_sub(less);
            self.peak_live = self.peak_live.max(self.live);
        }

        /// The most bytes to keep: a share of the most callers held at once (the load's own
        /// scale), so that kept blocks add little to the process's peak.
        fn limit(&self) -> usize {
            (self.peak_live / KEEP_SHARE).min(REUSE_BYTES)
        }
    }

    static KEPT: Mutex<Kept> = Mutex::new(Kept {
        scopes: 0,
        blocks: [(0, 0); SLOTS],
        count: 0,
        bytes: 0,
        live: 0,
        peak_live: 0,
    });

    fn kept() -> std::sync::MutexGuard<'static, Kept> {
        // Nothing that holds the lock can panic; a poisoned lock's list is still whole.
        KEPT.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A block of `len` bytes (a multiple of 2 MiB) for a caller: cut from or grown from a kept
    /// block if any, else mapped anew; null when the system has no memory left.
    pub(super) fn alloc(len: usize, zeroed: bool) -> *mut u8 {
        let block = take(len, zeroed);
        if !block.is_null() {
            kept().owned(len, 0);
        }
        block
    }

    /// A caller's block of `len` bytes at `start` comes back.
    pub(super) fn free(start: usize, len: usize) {
        kept().owned(0, len);
        keep(start, len);
    }

    /// A caller's block resized (see [`resize`]).
    pub(super) fn realloc(start: usize, len: usize, new_len: usize) -> *mut u8 {
        let block = resize(start, len, new_len);
        if !block.is_null() {
            kept().owned(new_len, len);
        }
        block
    }

    fn take(len: usize, zeroed: bool) -> *mut u8 {
        let reused = {
            let mut k = kept();
            // The smallest kept block that is big enough, else the biggest.
            let fit = (0..k.count)
                .filter(|&i| k.blocks[i].1 >= len)
                .min_by_key(|&i| k.blocks[i].1);
            let pick = fit.or_else(|| (0..k.count).max_by_key(|&i| k.blocks[i].1));
            pick.map(|i| k.remove(i))
        };
        let Some((start, had)) = reused else {
            return map_new(len);
        };
        if had >= len {
            // The rest of the block stays kept, or goes back if too small to be worth it.
            if had > len {
                keep(start + len, had - len);
            }
            if zeroed {
                // SAFETY: the block is mapped, writable, `len` bytes long, and now ours.
                unsafe { std::ptr::write_bytes(start as *mut u8, 0, len) };
            }
            return start as *mut u8;
        }
        // Grown in place or moved by the kernel with its pages; the new part is fresh zeros.
        // (Its values don't matter here: when the kernel can't grow it, a fresh block will do.)
        let Some(grown) = remap(start, had, len) else {
            unmap(start, had);
            return map_new(len);
        };
        if zeroed {
            // SAFETY: as above; only the reused part holds old values.
            unsafe { std::ptr::write_bytes(grown, 0, had) };
        }
        grown
    }

    /// Keep the unowned block of `len` bytes at `start` while a scope is alive and it is big
    /// enough, pushing the oldest kept blocks out to stay under the limit; else unmap it.
    fn keep(start: usize, len: usize) {
        if len < BIG_BLOCK || !reuse_wanted() {
            return unmap(start, len);
        }
        // Blocks pushed out to make room, unmapped once the lock is let go.
        let mut out = [(0, 0); SLOTS + 1];
        let mut n_out = 0;
        {
            let mut k = kept();
            let limit = k.limit();
            if k.scopes == 0 || len > limit {
                out[0] = (start, len);
                n_out = 1;
            } else {
                while k.count > 0 && (k.count == SLOTS || k.bytes + len > limit) {
                    out[n_out] = k.remove(0);
                    n_out += 1;
                }
                let at = k.count;
                k.blocks[at] = (start, len);
                k.count += 1;
                k.bytes += len;
            }
        }
        for &(s, l) in &out[..n_out] {
            unmap(s, l);
        }
    }

    pub(super) fn scope_entered() {
        kept().scopes += 1;
    }

    /// A scope ended; when it was the last, every kept block goes back.
    pub(super) fn scope_left() {
        let mut out = [(0, 0); SLOTS];
        let n_out = {
            let mut k = kept();
            k.scopes = k.scopes.saturating_sub(1);
            if k.scopes > 0 {
                return;
            }
            let n = k.count;
            out[..n].copy_from_slice(&k.blocks[..n]);
            k.count = 0;
            k.bytes = 0;
            k.peak_live = k.live;
            n
        };
        for &(s, l) in &out[..n_out] {
            unmap(s, l);
        }
    }

    /// Resize the mapping at `start` from `len` to `new_len` bytes (multiples of 2 MiB),
    /// keeping its pages where the kernel can, else copying them to a new mapping; null (and
    /// the old mapping unchanged) when there is no memory left.
    pub(super) fn resize(start: usize, len: usize, new_len: usize) -> *mut u8 {
        if let Some(p) = remap(start, len, new_len) {
            return p;
        }
        let moved = map_new(new_len);
        if !moved.is_null() {
            // SAFETY: two distinct live mappings, each at least this long.
            unsafe { std::ptr::copy_nonoverlapping(start as *const u8, moved, len.min(new_len)) };
            unmap(start, len);
        }
        moved
    }

    /// [`resize`] by the kernel alone (`mremap`, which keeps the pages); `None`, and the old
    /// mapping unchanged, when it can't.
    fn remap(start: usize, len: usize, new_len: usize) -> Option<*mut u8> {
        if new_len == len {
            return Some(start as *mut u8);
        }
        // SAFETY: `start..start + len` is one of our mappings, owned by the caller.
        let p = unsafe {
            libc::mremap(
                start as *mut libc::c_void,
                len,
                new_len,
                libc::MREMAP_MAYMOVE,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        if new_len > len {
            ask_for_huge_pages(p as usize, new_len);
        }
        Some(p.cast())
    }

    /// A new private mapping of `len` bytes starting on a huge-page boundary (so that every
    /// 2 MiB of it can be one huge page); null on failure.
    fn map_new(len: usize) -> *mut u8 {
        let Some(span) = len.checked_add(HUGE_PAGE) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a fresh anonymous mapping at an address the kernel picks.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let p = p as usize;
        let start = p.next_multiple_of(HUGE_PAGE);
        // Trim the unaligned head and the tail past `len`.
        unmap(p, start - p);
        unmap(start + len, p + span - (start + len));
        ask_for_huge_pages(start, len);
        start as *mut u8
    }

    fn unmap(start: usize, len: usize) {
        if len > 0 {
            // SAFETY: the range is a whole-page part of a mapping of ours that nobody owns.
            unsafe { libc::munmap(start as *mut libc::c_void, len) };
        }
    }

    /// Ask for huge pages over the block of `len` bytes at `start`. All of it,
    /// not only its whole 2 MiB pages: a hint on part of a mapping splits it in the kernel's
    /// books, and `mremap` cannot grow a block that spans two such parts.
    fn ask_for_huge_pages(start: usize, len: usize) {
        if huge_pages_wanted() {
            // SAFETY: the range is a mapping of ours; MADV_HUGEPAGE changes only how its pages
            // are backed. A failure (huge pages compiled out) leaves them as they were.
            unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
        }
    }

    /// Bytes kept now.
    #[cfg(test)]
    pub(super) fn kept_bytes() -> usize {
        kept().bytes
    }

    fn huge_pages_wanted() -> bool {
        static WANTED: OnceLock<bool> = OnceLock::new();
        *WANTED.get_or_init(|| env_is(c"HEAPSIGHT_HUGE_PAGES", b"1"))
    }

    fn reuse_wanted() -> bool {
        static WANTED: OnceLock<bool> = OnceLock::new();
        *WANTED.get_or_init(|| !env_is(c"HEAPSIGHT_REUSE_BLOCKS", b"0"))
    }

    /// Is the variable `name` set to `value`? Read with `getenv`, which does not allocate.
    fn env_is(name: &std::ffi::CStr, value: &[u8]) -> bool {
        // SAFETY: the name is NUL-terminated; the value, if any, is read at once and not kept.
        // The program sets variables only at its start, before any thread (`cli`).
        unsafe {
            let set = libc::getenv(name.as_ptr());
            !set.is_null() && std::ffi::CStr::from_ptr(set).to_bytes() == value
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Blocks are reused within a scope with the right contents (zeros when asked for, the
    /// old values kept when grown), and given back when it ends. One test, so that no other
    /// test's blocks come and go in between.
    #[test]
    fn big_blocks_are_reused_within_a_scope_and_read_right() {
        let a = BigBlockAlloc;
        let layout = |size| Layout::from_size_align(size, 8).unwrap();
        let fill = |p: *mut u8, len: usize, v: u8| unsafe { std::ptr::write_bytes(p, v, len) };
        let all = |p: *mut u8, len: usize, v: u8| unsafe {
            std::slice::from_raw_parts(p, len).iter().all(|&b| b == v)
        };
        let scope = ReuseScope::enter();
        unsafe {
            // A block held throughout (never touched, so no memory) raises the most held at
            // once, and with it how much may be kept: a quarter of that.
            let held = a.alloc(layout(40 * BIG_BLOCK));
            // Freed, then asked for again zeroed: the same pages, all zeros.
            let big = 3 * BIG_BLOCK;
            let p = a.alloc(layout(big));
            assert_eq!(p as usize % PAGE, 0);
            fill(p, big, 0xAB);
            a.dealloc(p, layout(big));
            let q = a.alloc_zeroed(layout(2 * BIG_BLOCK));
            assert_eq!(q, p, "the kept block is reused");
            assert!(all(q, 2 * BIG_BLOCK, 0));
            // Its tail (BIG_BLOCK bytes) was kept: a block that size comes from it.
            let t = a.alloc(layout(BIG_BLOCK));
            assert_eq!(t as usize, p as usize + 2 * BIG_BLOCK);
            a.dealloc(t, layout(BIG_BLOCK));
            // Grown beyond every kept block: old values kept, the new part zeros.
            fill(q, 2 * BIG_BLOCK, 7);
            let r = a.realloc(q, layout(2 * BIG_BLOCK), 5 * BIG_BLOCK + 100);
            assert!(all(r, 2 * BIG_BLOCK, 7));
            assert!(all(r.add(2 * BIG_BLOCK), 3 * BIG_BLOCK + 100, 0));
            // Shrunk below the threshold: a system block with the first values.
            let s = a.realloc(r, layout(5 * BIG_BLOCK + 100), 1000);
            assert!(all(s, 1000, 7));
            // And back up, zeroed from a kept block grown to fit.
            let z = a.alloc_zeroed(layout(6 * BIG_BLOCK));
            assert!(all(z, 6 * BIG_BLOCK, 0));
            a.dealloc(s, layout(1000));
            a.dealloc(z, layout(6 * BIG_BLOCK));
            // A block grown from an odd size (a mapping the huge-page hint must not split).
            let odd = a.alloc(layout(BIG_BLOCK + 12345));
            fill(odd, BIG_BLOCK + 12345, 3);
            let odd2 = a.realloc(odd, layout(BIG_BLOCK + 12345), 3 * BIG_BLOCK + 777);
            assert!(all(odd2, BIG_BLOCK + 12345, 3));
            a.dealloc(odd2, layout(3 * BIG_BLOCK + 777));
            a.dealloc(held, layout(40 * BIG_BLOCK));
            // More than the cap is never kept.
            let huge = a.alloc(layout(REUSE_BYTES + PAGE));
            a.dealloc(huge, layout(REUSE_BYTES + PAGE));
            assert!(linux::kept_bytes() <= REUSE_BYTES);
        }
        drop(scope);
        assert_eq!(linux::kept_bytes(), 0, "all given back when the scope ends");
    }
}
