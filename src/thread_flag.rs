//! A per-thread switch, on for the length of one call: how a caller changes what the code it
//! calls does on this thread (exact byte counts in text, helpers kept on this thread) without
//! a parameter through every layer in between.

use std::cell::Cell;
use std::thread::LocalKey;

/// Run `work` with `flag` set on this thread, then put it back as it was, however `work`
/// ends (a panic included), so calls nest.
pub(crate) fn while_set<T>(flag: &'static LocalKey<Cell<bool>>, work: impl FnOnce() -> T) -> T {
    struct Restore(&'static LocalKey<Cell<bool>>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }
    let _restore = Restore(flag, flag.replace(true));
    work()
}
