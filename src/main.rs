//! The `heapsight` binary: a thin shell over the library.

/// Big arrays mapped on their own and reused during a load (see the type).
#[global_allocator]
static ALLOC: heapsight::big_blocks::BigBlockAlloc = heapsight::big_blocks::BigBlockAlloc;

fn main() {
    std::process::exit(heapsight::cli::main());
}
