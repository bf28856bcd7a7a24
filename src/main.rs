//! The `heapsight` binary: a thin shell over the library.

fn main() {
    std::process::exit(heapsight::cli::main());
}
