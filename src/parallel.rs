//! How much of the machine heapsight uses: the loader and the analyses run two pieces of work
//! at once where they split cleanly. `HEAPSIGHT_THREADS=1` (or `RAYON_NUM_THREADS=1`) runs
//! everything on one thread, to measure how the work scales; so does a one-core machine.

use std::cell::Cell;
use std::sync::atomic::{AtomicU16, AtomicU32};
use std::sync::OnceLock;

thread_local! {
    /// Set while this thread runs work given to [`alone`].
    static ALONE: Cell<bool> = const { Cell::new(false) };
}

/// Run `work` with every helper here (and so every pass it calls) on this thread alone: for
/// work beside a pass that has the other core to itself, which a third thread would slow.
pub fn alone<T>(work: impl FnOnce() -> T) -> T {
    crate::thread_flag::while_set(&ALONE, work)
}

/// Whether work may run on a second thread (not inside [`alone`]).
pub fn two_threads() -> bool {
    machine_has_two_threads() && !ALONE.get()
}

/// Whether the machine (or `HEAPSIGHT_THREADS`) allows a second thread at all.
fn machine_has_two_threads() -> bool {
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

/// Make items `0..count` with `produce` on a second thread while `consume` takes them in
/// order on this one, a few items ahead (a pipeline: one pass's scattered reads beside
/// another's work); then run `then` on the producing thread while the last items are
/// consumed, and return its result. When the next item is not ready, this thread makes a
/// later one itself rather than wait, so the two share the making when it is the slower
/// side. `produce` gets an item `consume` is done with, when there is one, to refill (so big
/// buffers are made a few times, not `count` times). An error from `consume` stops both.
/// One after the other, item by item, when [`two_threads`] is off. A panic in `produce` or
/// `then` is passed on as one.
pub fn stream<T: Send, R: Send, E>(
    count: usize,
    produce: impl Fn(usize, Option<T>) -> T + Sync,
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
    let line = Line {
        state: std::sync::Mutex::new(LineState {
            next: 0,
            made: (0..count).map(|_| None).collect(),
            spare: Vec::new(),
            consumed: 0,
            stop: false,
            producer_gone: false,
        }),
        changed: std::sync::Condvar::new(),
    };
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            let _gone = ProducerGone(&line);
            loop {
                let mut state = line.lock();
                while !state.stop && !state.all_taken() && !state.has_room() {
                    state = line.wait(state);
                }
                if state.stop {
                    return None;
                }
                let Some(claimed) = state.claim() else {
                    break;
                };
                drop(state);
                line.make(&produce, claimed);
            }
            Some(then())
        });
        let _stop_on_panic = StopOnPanic(&line);
        let mut consumed = Ok(());
        for i in 0..count {
            let mut state = line.lock();
            let item = loop {
                if let Some(item) = state.made[i].take() {
                    break Some(item);
                }
                // Not ready: make the next item not yet taken (this one, or a later one the
                // producer has not got to), if it is not too far ahead.
                if let Some(claimed) = state.has_room().then(|| state.claim()).flatten() {
                    drop(state);
                    line.make(&produce, claimed);
                    state = line.lock();
                    continue;
                }
                // Every claimed item is made by the time the producer ends normally: one
                // still missing means it panicked (the join passes that on).
                if state.producer_gone {
                    break None;
                }
                state = line.wait(state);
            };
            drop(state);
            let Some(item) = item else {
                break;
            };
            consumed = consume(&item);
            let failed = consumed.is_err();
            line.update(|s| {
                s.spare.push(item);
                s.consumed = i + 1;
                s.stop = failed;
            });
            if failed {
                break;
            }
        }
        // On an error the producer has been told to stop, and stops at its next look.
        let finished = producer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        consumed.map(|()| finished.expect("the producer ran to its end"))
    })
}

/// Items in flight at most in [`stream`]: enough to ride out either side's uneven stretches.
const AHEAD: usize = 4;

/// What [`stream`]'s two threads share: the items made and who makes the next.
struct Line<T> {
    state: std::sync::Mutex<LineState<T>>,
    changed: std::sync::Condvar,
}

struct LineState<T> {
    /// The first item nobody has taken on to make yet.
    next: usize,
    /// Items made and not yet consumed, by index (one slot an item).
    made: Vec<Option<T>>,
    /// Items consumed, to be made again.
    spare: Vec<T>,
    /// How many are consumed.
    consumed: usize,
    stop: bool,
    producer_gone: bool,
}

impl<T> Line<T> {
    /// The state; a panic elsewhere while it was held does not matter (the join reports it).
    fn lock(&self) -> std::sync::MutexGuard<'_, LineState<T>> {
        lock(&self.state)
    }

    fn wait<'a>(
        &self,
        state: std::sync::MutexGuard<'a, LineState<T>>,
    ) -> std::sync::MutexGuard<'a, LineState<T>> {
        self.changed.wait(state).unwrap_or_else(|p| p.into_inner())
    }

    /// Change the state and wake the other thread.
    fn update(&self, change: impl FnOnce(&mut LineState<T>)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Make a claimed item (outside the lock) and put it in its slot.
    fn make(&self, produce: impl Fn(usize, Option<T>) -> T, (i, old): (usize, Option<T>)) {
        let item = produce(i, old);
        self.update(|s| s.made[i] = Some(item));
    }
}

impl<T> LineState<T> {
    fn all_taken(&self) -> bool {
        self.next >= self.made.len()
    }

    /// Whether the next item to make is near enough the consumer's.
    fn has_room(&self) -> bool {
        self.next < self.consumed + AHEAD
    }

    /// Take on the next item to make, with a spare to refill; `None` when all are taken.
    fn claim(&mut self) -> Option<(usize, Option<T>)> {
        (!self.all_taken()).then(|| {
            self.next += 1;
            (self.next - 1, self.spare.pop())
        })
    }
}

/// Held by [`stream`]'s producer: however its thread ends, the consumer must not wait for it
/// any more.
struct ProducerGone<'a, T>(&'a Line<T>);

impl<T> Drop for ProducerGone<'_, T> {
    fn drop(&mut self) {
        self.0.update(|s| s.producer_gone = true);
    }
}

/// Held by [`stream`]'s consumer: a panic there (in `consume`, or in `produce` run there) must
/// not leave the producer waiting for room that never comes, or the scope would wait for it
/// for ever.
struct StopOnPanic<'a, T>(&'a Line<T>);

impl<T> Drop for StopOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.update(|s| s.stop = true);
        }
    }
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

/// `v` as atomics, for threads that store to different places in it.
pub(crate) fn atomic_u32s(v: &mut [u32]) -> &[AtomicU32] {
    const _: () = assert!(std::mem::align_of::<AtomicU32>() == std::mem::align_of::<u32>());
    // SAFETY: `AtomicU32` has the size and bit validity of `u32`, and here its alignment
    // too (checked above); the borrow is exclusive, so nothing else reads or writes `v`
    // meanwhile.
    unsafe { std::slice::from_raw_parts(v.as_mut_ptr().cast::<AtomicU32>(), v.len()) }
}

/// `v` as atomics (see [`atomic_u32s`]).
pub(crate) fn atomic_u16s(v: &mut [u16]) -> &[AtomicU16] {
    const _: () = assert!(std::mem::align_of::<AtomicU16>() == std::mem::align_of::<u16>());
    // SAFETY: as in `atomic_u32s`.
    unsafe { std::slice::from_raw_parts(v.as_mut_ptr().cast::<AtomicU16>(), v.len()) }
}

/// `m`'s lock, also after a panic on another thread while it was held: the work here is
/// joined, so the panic reaches the caller anyway, and the other thread must not hang on it.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Pieces `0..count` of a pass that threads share as each gets to it: [`work`](Self::work)
/// takes pieces not yet taken until none is left, and [`wait`](Self::wait) returns once every
/// piece taken is done. Unlike [`pieces`], no thread is started: the threads already running
/// (one may come late, or never) join in, so neither waits while the other works.
pub struct SharedPieces {
    count: usize,
    next: std::sync::atomic::AtomicUsize,
    left: std::sync::Mutex<usize>,
    all_done: std::sync::Condvar,
}

impl SharedPieces {
    /// `count` pieces, none taken.
    pub fn new(count: usize) -> Self {
        Self {
            count,
            next: std::sync::atomic::AtomicUsize::new(0),
            left: std::sync::Mutex::new(count),
            all_done: std::sync::Condvar::new(),
        }
    }

    /// Run `piece` on each piece this thread takes, until every piece is taken.
    pub fn work(&self, mut piece: impl FnMut(usize)) {
        loop {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= self.count {
                return;
            }
            // Counted as done even if `piece` panics: the other thread then goes on (and
            // the panic reaches whoever joins this one) rather than wait for ever.
            let _done = PieceDone(self);
            piece(i);
        }
    }

    /// Wait until every piece is done.
    pub fn wait(&self) {
        let mut left = lock(&self.left);
        while *left > 0 {
            left = self.all_done.wait(left).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Counts a piece of [`SharedPieces`] as done when dropped.
struct PieceDone<'a>(&'a SharedPieces);

impl Drop for PieceDone<'_> {
    fn drop(&mut self) {
        let mut left = lock(&self.0.left);
        *left -= 1;
        if *left == 0 {
            self.0.all_done.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn alone_keeps_every_helper_on_this_thread_until_it_returns() {
        let machine = super::two_threads();
        let main = std::thread::current().id();
        let inside = super::alone(|| {
            // Nested, and after a panic inside caught: still alone.
            let nested = super::alone(super::two_threads);
            let caught = std::panic::catch_unwind(|| super::alone(|| panic!("inside")));
            assert!(caught.is_err());
            let threads = super::pieces(8, |_| std::thread::current().id());
            let (side, _) = super::beside(|| std::thread::current().id(), || ());
            (super::two_threads(), nested, threads, side)
        });
        assert_eq!((inside.0, inside.1), (false, false));
        assert!(inside.2.iter().all(|&t| t == main) && inside.3 == main);
        // Back as the machine allows, and only on this thread meanwhile.
        assert_eq!(super::two_threads(), machine);
        let other = super::alone(|| std::thread::spawn(super::two_threads).join().unwrap());
        assert_eq!(other, machine);
    }

    /// Each piece is done once, by whichever thread takes it; `wait` returns once all are
    /// done, also when a piece panicked on the other thread.
    #[test]
    fn shared_pieces_are_each_done_once_and_waited_for() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pieces = super::SharedPieces::new(500);
        let done: Vec<AtomicUsize> = (0..500).map(|_| AtomicUsize::new(0)).collect();
        let work = || {
            pieces.work(|i| {
                done[i].fetch_add(1, Ordering::Relaxed);
            });
            pieces.wait();
            done.iter().all(|d| d.load(Ordering::Relaxed) == 1)
        };
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(work);
            (work(), other.join().unwrap())
        });
        assert!(a && b);
        let pieces = super::SharedPieces::new(4);
        let panicked = std::thread::scope(|s| {
            s.spawn(|| pieces.work(|i| assert!(i != 1, "piece 1")))
                .join()
                .is_err()
        });
        pieces.work(|_| ());
        pieces.wait();
        assert!(panicked);
    }

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

    /// When making is the slow side, the consuming thread makes items too; the order, the
    /// result and the refilled buffers are as before. A panic in either place reaches the
    /// caller, and nothing hangs.
    #[test]
    fn stream_shares_slow_making_and_passes_panics_on() {
        if !super::two_threads() {
            return;
        }
        let consumer = std::thread::current().id();
        let made_here = std::sync::atomic::AtomicUsize::new(0);
        let mut seen = Vec::new();
        let r: Result<usize, ()> = super::stream(
            200,
            |i, old: Option<Vec<usize>>| {
                std::thread::sleep(std::time::Duration::from_micros(300));
                if std::thread::current().id() == consumer {
                    made_here.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let mut v = old.unwrap_or_default();
                v.clear();
                v.push(i);
                v
            },
            || 7,
            |v| {
                seen.push(v[0]);
                Ok(())
            },
        );
        assert_eq!(r, Ok(7));
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
        assert!(made_here.load(std::sync::atomic::Ordering::Relaxed) > 0);
        for count in [0, 1, 3] {
            let r: Result<usize, ()> = super::stream(count, |i, _| i, || count, |_| Ok(()));
            assert_eq!(r, Ok(count));
        }
        // Whichever thread makes item 50 panics, and so does a `consume`.
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let made = std::panic::catch_unwind(|| {
            super::stream(
                100,
                |i, _| {
                    assert_ne!(i, 50, "item 50");
                    i
                },
                || (),
                |_| Ok::<(), ()>(()),
            )
        });
        let used = std::panic::catch_unwind(|| {
            super::stream(
                100,
                |i, _| i,
                || (),
                |&i| {
                    assert_ne!(i, 60, "item 60");
                    Ok::<(), ()>(())
                },
            )
        });
        std::panic::set_hook(quiet);
        assert!(made.is_err() && used.is_err());
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
