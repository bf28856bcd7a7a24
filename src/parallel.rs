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

/// Make items `0..count` in order with `produce` on a second thread while `consume` takes
/// them in the same order on this one, a few items ahead (a pipeline: one pass's scattered
/// reads beside another's work); then run `then` on the producing thread while the last
/// items are consumed, and return its result. `produce` gets an item `consume` is done with,
/// when there is one, to refill (so big buffers are made a few times, not `count` times).
/// An error from `consume` stops both. One after the other, item by item, when
/// [`two_threads`] is off. A panic in `produce` or `then` is passed on as one.
pub fn stream<T: Send, R: Send, E>(
    count: usize,
    mut produce: impl FnMut(usize, Option<T>) -> T + Send,
    then: impl FnOnce() -> R + Send,
    mut consume: impl FnMut(&T) -> Result<(), E>,
) -> Result<R, E> {
    if !two_threads() {
        let mut item = None;
        for i in 0..count {
            let made = produce(i, item.take());
            consume(&made)?;
            item = Some(made);
        }
        return Ok(then());
    }
    // Items in flight at most: enough to ride out either side's uneven stretches.
    const AHEAD: usize = 4;
    let (send_made, made) = std::sync::mpsc::sync_channel::<T>(AHEAD);
    let (send_back, back) = std::sync::mpsc::channel::<T>();
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            for i in 0..count {
                let item = produce(i, back.try_recv().ok());
                if send_made.send(item).is_err() {
                    return None;
                }
            }
            drop(send_made);
            Some(then())
        });
        let mut consumed = Ok(());
        // Ends early when the producer stopped (it panicked: the join passes that on).
        for item in made.iter().take(count) {
            consumed = consume(&item);
            if consumed.is_err() {
                break;
            }
            // Fails only once the producer is done.
            let _ = send_back.send(item);
        }
        // The producer's next send fails once this end is gone, so it stops on an error.
        drop(made);
        let finished = producer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        consumed.map(|()| finished.expect("the producer ran to its end"))
    })
}

/// Work started on a second thread, whose result is taken later ([`finish`](Self::finish));
/// done at once on this one when [`two_threads`] is off. Dropped unfinished (on an error
/// path), it waits for the thread, so no work outlives its caller.
pub struct Background<T: Send + 'static>(Option<Started<T>>);

enum Started<T> {
    Running(std::thread::JoinHandle<T>),
    Done(T),
}

impl<T: Send + 'static> Background<T> {
    /// Start `work`.
    pub fn start(work: impl FnOnce() -> T + Send + 'static) -> Self {
        Self(Some(if two_threads() {
            Started::Running(std::thread::spawn(work))
        } else {
            Started::Done(work())
        }))
    }

    /// Wait for the work and take its result. A panic in it is passed on as one.
    pub fn finish(mut self) -> T {
        match self.0.take() {
            Some(Started::Running(handle)) => handle
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Some(Started::Done(result)) => result,
            None => unreachable!("taken only here, and `finish` takes `self`"),
        }
    }
}

impl<T: Send + 'static> Drop for Background<T> {
    fn drop(&mut self) {
        if let Some(Started::Running(handle)) = self.0.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stream_consumes_every_item_in_order_and_stops_on_error() {
        let mut seen = Vec::new();
        let r: Result<&str, ()> = super::stream(
            1000,
            |i, old: Option<Vec<usize>>| {
                let mut v = old.unwrap_or_default();
                v.clear();
                v.extend([i, i * 2]);
                v
            },
            || "then",
            |v| {
                seen.push(v[0]);
                assert_eq!(v[1], v[0] * 2);
                Ok(())
            },
        );
        assert_eq!(r, Ok("then"));
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        let mut taken = 0;
        let r: Result<(), usize> = super::stream(
            1000,
            |i, _| i,
            || (),
            |&i| {
                taken += 1;
                if i == 10 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!((r, taken), (Err(10), 11));
    }

    #[test]
    fn background_work_is_finished_or_waited_for() {
        let work = super::Background::start(|| (0..1000u64).sum::<u64>());
        assert_eq!(work.finish(), 499_500);
        // Dropped unfinished: the drop waits, so the work has run by the time it returns.
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        drop(super::Background::start(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }));
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn pieces_come_back_in_order() {
        let out = super::pieces(100, |i| i * 2);
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        assert!(super::pieces(0, |i| i).is_empty());
    }
}
