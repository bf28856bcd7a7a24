//! The index-cache reader on mutated index files whose checksums are recomputed after the
//! mutation (`index_cache::reseal`), so the structural checks and the value checks behind the
//! checksums see the damage, and whatever passes them is used the way the views use it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut index = data.to_vec();
    heapsight::store::index_cache::reseal(&mut index);
    heapsight_fuzz::read_index(&index);
});
