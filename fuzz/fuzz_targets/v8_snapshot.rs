//! V8 heap snapshots and timelines on arbitrary bytes, through the CLI's entry (content
//! detection, then the loader), then the full analysis on what loads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    heapsight_fuzz::load_detected(data);
});
