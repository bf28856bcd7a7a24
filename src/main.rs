//! The `heapsight` binary: a thin shell over the library.

/// Big arrays mapped on their own, on huge pages, and reused during a load (see the type).
#[global_allocator]
static ALLOC: heapsight::big_blocks::BigBlockAlloc = heapsight::big_blocks::BigBlockAlloc;

fn main() {
    std::process::exit(heapsight::cli::main());
}
