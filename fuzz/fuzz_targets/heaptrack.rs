//! The heaptrack loader on arbitrary bytes, then the analyses on what loads (see `heapsight_fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    heapsight_fuzz::load_as(&heapsight::formats::heaptrack::FORMAT, data);
});
