#!/usr/bin/env bash
# Regenerate sample-snapshots/rust/pprof-{small,large}.pb.gz: the allocation workload in
# fixtures/pprof-workload/ run with jemalloc's heap profiler on (tikv-jemallocator, feature
# "profiling") and dumped as a pprof heap profile by jemalloc_pprof (feature "symbolize": names,
# files and lines are resolved in-process, inlined frames included).
#
#   scripts/make-pprof-samples.sh
#
# Needs Rust (cargo) and a C compiler and make (jemalloc is built from source by
# tikv-jemalloc-sys: about 5 minutes on 2 cores). The fixture's dependencies come from
# crates.io, pinned by its Cargo.lock. The workload sets `_rjem_malloc_conf` to
# `prof:true,prof_active:true,lg_prof_sample:0`: every allocation is sampled, so the bytes are
# exact, and the profile holds one sample type, inuse_space/bytes (live at the dump).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fixture="$root/fixtures/pprof-workload"
out="$root/sample-snapshots/rust"
mkdir -p "$out"

command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup)" >&2; exit 1; }
command -v cc >/dev/null && command -v make >/dev/null ||
  { echo "jemalloc needs a C compiler and make: apt-get install -y build-essential" >&2; exit 1; }

cd "$fixture"
cargo build --release --locked -j "${CARGO_BUILD_JOBS:-2}"
for size in small large; do
  # Run from the fixture so the profile names the binary ./target/release/pprof-workload.
  ./target/release/pprof-workload "$size" "$out/pprof-$size.pb.gz"
done
ls -l "$out"/pprof-*.pb.gz
