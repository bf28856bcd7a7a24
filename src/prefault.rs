//! Faulting in the pages of arrays a loop is about to fill, on the second core.
//!
//! The first write to a page new to the process stops the writer while the kernel finds and
//! zeroes the page. On the 2-core VM heapsight is measured on, memory the guest kernel has
//! handed back to its host costs far more (about 2 s a GB: the host backs the page again), and
//! the loader fills about 1 GB of arrays while its second thread, which scans the numbers, is
//! idle half the time. [`Prefault::spare`] has a helper thread ask the kernel for the pages of
//! the arrays' unused capacity (`MADV_POPULATE_WRITE`), front to back, at the lowest priority
//! (`SCHED_IDLE`: only when a core would idle), while the loop writes behind it; the loop then
//! finds most pages already there. The helper stops when the loop is done, so a file that
//! declares more rows than it holds costs only the pages the helper reached by then.
//!
//! Populating only maps zeroed pages where none are mapped: it never changes a value, so it is
//! harmless wherever it lands, even if an array has moved meanwhile. It is a hint: off Linux,
//! on one thread (`HEAPSIGHT_THREADS=1`), or with `HEAPSIGHT_PREFAULT=0` nothing happens.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A helper thread populating pages; stopped and joined when dropped.
pub struct Prefault {
    shared: Arc<Shared>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// What the filling loop tells the helper.
struct Shared {
    stop: AtomicBool,
    /// Rows (elements of each array) written so far; the helper stays at most
    /// [`LEAD_ROWS`] ahead, so rows a file declares but never holds cost little.
    rows: AtomicUsize,
}

/// Work in pieces of this many bytes (a huge page), so that a stop is seen soon.
const PIECE: usize = 2 << 20;

/// Below this many bytes in all, a helper is not worth its start.
const MIN_BYTES: usize = 16 << 20;

/// How many rows ahead of the loop a paced helper may populate (a few MB an array).
pub const LEAD_ROWS: usize = 1 << 20;

/// An array to fill: where it starts, the size of one element, and its length and capacity
/// in elements (see [`room`]).
#[derive(Debug, Clone, Copy)]
pub struct Room {
    start: usize,
    elem: usize,
    len: usize,
    cap: usize,
}

impl Prefault {
    /// Populate the unused capacity of `arrays` on a helper thread, front to back and all
    /// arrays at the same pace, until the handle is dropped; the arrays grow one element a
    /// row, and the helper keeps within [`LEAD_ROWS`] of the rows reported with
    /// [`rows_done`](Self::rows_done). Hold the handle while the arrays fill, and drop it as
    /// soon as they are full, before they are shrunk or freed (populating freed memory is
    /// harmless, only wasted).
    pub fn spare(arrays: &[Room]) -> Self {
        Self::start(arrays, 0)
    }

    /// Tell the helper that `rows` rows are written.
    #[inline]
    pub fn rows_done(&self, rows: usize) {
        self.shared.rows.store(rows, Ordering::Relaxed);
    }

    fn start(arrays: &[Room], rows: usize) -> Self {
        let mut helper = Self {
            shared: Arc::new(Shared {
                stop: AtomicBool::new(false),
                rows: AtomicUsize::new(rows),
            }),
            handle: None,
        };
        if !wanted() {
            return helper;
        }
        // Every piece of every array's spare room, as (start, length, its first row).
        let mut pieces: Vec<(usize, usize, usize)> = Vec::new();
        for a in arrays.iter().filter(|a| a.elem > 0) {
            let (from, to) = (a.start + a.len * a.elem, a.start + a.cap * a.elem);
            let mut begin = from;
            while begin < to {
                let end = ((begin / PIECE + 1) * PIECE).min(to);
                pieces.push((begin, end - begin, (begin - a.start) / a.elem));
                begin = end;
            }
        }
        if pieces.iter().map(|p| p.1).sum::<usize>() < MIN_BYTES {
            return helper;
        }
        pieces.sort_by_key(|p| p.2);
        let shared = Arc::clone(&helper.shared);
        helper.handle = std::thread::Builder::new()
            .name("prefault".into())
            .spawn(move || {
                lowest_priority();
                for (start, len, first_row) in pieces {
                    if !shared.wait_for(first_row) {
                        return;
                    }
                    populate(start, len);
                }
            })
            .ok();
        helper
    }
}

impl Shared {
    /// Wait until the loop is within [`LEAD_ROWS`] of `row`; false once told to stop.
    fn wait_for(&self, row: usize) -> bool {
        while row > self.rows.load(Ordering::Relaxed).saturating_add(LEAD_ROWS) {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        !self.stop.load(Ordering::Relaxed)
    }
}

impl Drop for Prefault {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `n` values, `f(0)` to `f(n - 1)`, in a new `Vec` whose pages a helper faults in ahead of
/// the writes: for a big array made on one thread while the other core is idle. (Its
/// capacity is exactly `n`, so the helper is not paced.)
pub fn collect_helped<T>(n: usize, f: impl FnMut(usize) -> T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    let helper = Prefault::start(&[room(&v)], usize::MAX);
    v.extend((0..n).map(f));
    drop(helper);
    v
}

/// The unused capacity of `v`, for [`Prefault::spare`].
pub fn room<T>(v: &Vec<T>) -> Room {
    Room {
        start: v.as_ptr() as usize,
        elem: std::mem::size_of::<T>(),
        len: v.len(),
        cap: v.capacity(),
    }
}

fn wanted() -> bool {
    cfg!(target_os = "linux")
        && crate::parallel::two_threads()
        && std::env::var_os("HEAPSIGHT_PREFAULT").is_none_or(|v| v != "0")
}

/// Run this thread only when a core would otherwise idle (Linux's `SCHED_IDLE`): it must not
/// take time from the threads it helps.
#[cfg(target_os = "linux")]
fn lowest_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sets the calling thread's own policy; `param` is a valid struct. A failure only
    // leaves the thread at its normal priority.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
}

#[cfg(not(target_os = "linux"))]
fn lowest_priority() {}

#[cfg(target_os = "linux")]
fn populate(start: usize, len: usize) {
    // Linux's MADV_POPULATE_WRITE (5.14 and later; older kernels answer EINVAL, which is fine).
    const MADV_POPULATE_WRITE: libc::c_int = 23;
    // madvise wants a start on a page boundary (the page before `start` is the same array's
    // or, at its very start, harmless to populate).
    // SAFETY: sysconf only reads a system setting.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096);
    let aligned = start / page * page;
    // SAFETY: populating only maps zeroed pages where none are mapped and never changes a
    // value; on a range that is not mapped the kernel answers ENOMEM and does nothing.
    unsafe {
        libc::madvise(
            aligned as *mut libc::c_void,
            len + (start - aligned),
            MADV_POPULATE_WRITE,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn populate(_start: usize, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values written while the helper runs stay as written, and the rest reads as zeros.
    #[test]
    fn prefaulting_changes_no_value() {
        let n = 12 << 20;
        let mut a: Vec<u32> = Vec::with_capacity(n);
        let mut b: Vec<u8> = Vec::with_capacity(n);
        let helper = Prefault::spare(&[room(&a), room(&b)]);
        for i in 0..n {
            a.push(i as u32 ^ 0x5a5a);
            b.push(i as u8);
            if i % 65_536 == 0 {
                helper.rows_done(i);
            }
        }
        drop(helper);
        assert!(a.iter().enumerate().all(|(i, &v)| v == i as u32 ^ 0x5a5a));
        assert!(b.iter().enumerate().all(|(i, &v)| v == i as u8));
        let c: Vec<u64> = collect_helped(n, |i| i as u64 * 3);
        assert!(c.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
    }
}
