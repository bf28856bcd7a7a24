//! How much of the machine heapsight uses: the loader and the analyses run two pieces of work
//! at once where they split cleanly. `HEAPSIGHT_THREADS=1` (or `RAYON_NUM_THREADS=1`) runs
//! everything on one thread, to measure how the work scales; so does a one-core machine.

use std::sync::OnceLock;

/// Whether work may run on a second thread.
pub fn two_threads() -> bool {
    static TWO: OnceLock<bool> = OnceLock::new();
    *TWO.get_or_init(|| {
        let asked = ["HEAPSIGHT_THREADS", "RAYON_NUM_THREADS"]
            .iter()
            .find_map(|v| std::env::var(v).ok()?.trim().parse::<usize>().ok());
        match asked {
            Some(n) => n != 1,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()) > 1,
        }
    })
}

/// Run `side` on a second thread while `main` runs on this one, and return both results; one
/// after the other when [`two_threads`] is off. A panic in `side` is passed on as one.
pub fn beside<S: Send, M>(side: impl FnOnce() -> S + Send, main: impl FnOnce() -> M) -> (S, M) {
    if !two_threads() {
        let s = side();
        return (s, main());
    }
    std::thread::scope(|scope| {
        let handle = scope.spawn(side);
        let m = main();
        let s = handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (s, m)
    })
}

/// Run `work` on pieces `0..count`, on this thread and a second one, each taking the next
/// piece not yet taken (so a piece that costs more than the others holds up neither), and
/// return the results in piece order; one after the other when [`two_threads`] is off.
pub fn pieces<T: Send>(count: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return done;
            }
            done.push((i, work(i)));
        }
    };
    let (mut a, b) = if two_threads() && count > 1 {
        beside(take, take)
    } else {
        (take(), Vec::new())
    };
    a.extend(b);
    a.sort_unstable_by_key(|&(i, _)| i);
    a.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pieces_come_back_in_order() {
        let out = super::pieces(100, |i| i * 2);
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        assert!(super::pieces(0, |i| i).is_empty());
    }
}
