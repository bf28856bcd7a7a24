//! The index-cache reader on mutated index files, as they are: most mutations end at a
//! checksum, which is what the reader must do with a damaged file. See `index_cache_resealed`
//! for the checks behind the checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    heapsight_fuzz::read_index(data);
});
