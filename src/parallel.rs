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
