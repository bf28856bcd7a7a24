//! The `heapsight` binary: a thin shell over the library.

/// Big per-node arrays on huge pages where the system allows (see the type).
#[global_allocator]
static ALLOC: heapsight::process_memory::HugePageAlloc = heapsight::process_memory::HugePageAlloc;

fn main() {
    std::process::exit(heapsight::cli::main());
}
