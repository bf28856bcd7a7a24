//! Process-wide memory settings for the `heapsight` binary.

/// Make large blocks come from `mmap` for the whole run, so the memory of a dropped snapshot
/// goes back to the operating system at once.
///
/// Why: glibc's allocator raises its mmap threshold to the size of the largest block freed so
/// far (up to 32 MiB). After the first snapshot is dropped, the per-node arrays of the next
/// mid-sized one (a few MiB to 32 MiB each) come from the heap instead, where freed space stays
/// in the process. A trend that reads ten ~200 MB snapshots one after another then peaked 45 MB
/// higher than with the threshold fixed, and a closed tab in the app kept its arrays resident.
/// Setting the threshold explicitly turns the dynamic adjustment off. Other platforms and libcs
/// keep their defaults.
pub fn return_freed_blocks_to_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// Blocks at least this big are mapped on their own (glibc's default start value).
        const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}

/// The allocator of the `heapsight` binary (and the pipeline bench): the system's, asking Linux
/// to back big blocks with transparent huge pages.
///
/// Why: the dominator search, the semidominator pass and the distances read per-node arrays of
/// tens to hundreds of MB at random. With 4 KiB pages nearly every such read also misses the
/// TLB, and the page-table walk adds to the cache miss; 2 MiB pages cover the same arrays with
/// 512 times fewer entries. Many systems (Debian's and Ubuntu's defaults among them) give huge
/// pages only to memory that asks for them (`madvise` in
/// `/sys/kernel/mm/transparent_hugepage/enabled`); where they are off, the hint does nothing.
/// Only blocks of [`HUGE_PAGE_BLOCK`] bytes or more ask, each once, when allocated or grown;
/// `HEAPSIGHT_HUGE_PAGES=0` in the environment turns the hint off.
pub struct HugePageAlloc;

/// Blocks at least this big ask for huge pages: the size of the arrays that are read at random,
/// and big enough that rounding to 2 MiB pages costs little.
pub const HUGE_PAGE_BLOCK: usize = 8 << 20;

// SAFETY: every call goes to the system allocator unchanged; the hint only changes how pages
// inside a block just returned by it are backed, never their contents or the block's bounds.
unsafe impl std::alloc::GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        let block = unsafe { std::alloc::System.alloc(layout) };
        ask_for_huge_pages(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as above.
        let block = unsafe { std::alloc::System.alloc_zeroed(layout) };
        ask_for_huge_pages(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as above.
        unsafe { std::alloc::System.dealloc(block, layout) }
    }

    unsafe fn realloc(
        &self,
        block: *mut u8,
        layout: std::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY: as above.
        let grown = unsafe { std::alloc::System.realloc(block, layout, new_size) };
        if new_size > layout.size() {
            ask_for_huge_pages(grown, new_size);
        }
        grown
    }
}

/// Ask for huge pages over the whole 2 MiB pages inside `size` bytes at `block`.
#[inline]
fn ask_for_huge_pages(block: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    if size >= HUGE_PAGE_BLOCK && !block.is_null() && huge_pages_wanted() {
        const HUGE_PAGE: usize = 2 << 20;
        let start = (block as usize).next_multiple_of(HUGE_PAGE);
        let end = (block as usize + size) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: `start..end` lies inside the block the allocator just returned, and
            // MADV_HUGEPAGE changes only how its pages are backed. A failure (an old kernel,
            // huge pages compiled out) leaves them as they were, which is fine.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (block, size);
}

/// Whether `HEAPSIGHT_HUGE_PAGES` leaves the hint on (anything but `0`), read once. Read with
/// `getenv`, which does not allocate: this runs inside the allocator.
#[cfg(target_os = "linux")]
fn huge_pages_wanted() -> bool {
    static WANTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: the name is a NUL-terminated literal; the value, if any, is read at once and not
    // kept. The program sets variables only at its start, before any thread (`cli`).
    *WANTED.get_or_init(|| unsafe {
        let value = libc::getenv(c"HEAPSIGHT_HUGE_PAGES".as_ptr());
        value.is_null() || std::ffi::CStr::from_ptr(value).to_bytes() != b"0"
    })
}
