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
