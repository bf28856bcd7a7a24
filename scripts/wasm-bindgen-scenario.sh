#!/usr/bin/env bash
# heapsight on a real wasm-bindgen module: fixtures/wasm-bindgen (a dense layer in Rust) built
# for wasm32-unknown-unknown, bound with wasm-bindgen-cli for Node, and driven by
# scripts/wasm-bindgen-scenario.js clean, leaking (`--leak keep`: outputs kept, never freed)
# and dropping outputs without free() (`--leak drop`: wasm-bindgen's FinalizationRegistry frees
# them, so not a leak), as a trio for `leaks` and a series of five for `trend`.
#
#   scripts/wasm-bindgen-scenario.sh check     the six gates, the wrapper counts and holders, and
#                                             DevTools' worker on two snapshots
#   scripts/wasm-bindgen-scenario.sh samples   rewrite sample-snapshots/wasm-bindgen/ (the keep
#                                             and drop trios, gzipped, DevTools' class tables
#                                             beside them, and expected.json)
#
# Needs node, a release build, and the wasm32-unknown-unknown target and wasm-bindgen-cli
# 0.2.130 (the crate's pinned version): installed under target/ when missing (`rustup target
# add`, `cargo install`; a few minutes). About a minute once built.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode=${1:-check}
version=0.2.130
bin=$root/target/release/heapsight
[ -x "$bin" ] || cargo build --release --quiet || exit 1
work=$root/target/wasm-bindgen-fixture
sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
  rustup target add wasm32-unknown-unknown || { echo "cannot add the wasm32 target" >&2; exit 1; }
fi
cli=$work/cli/bin/wasm-bindgen
if ! "$cli" --version 2>/dev/null | grep -q " $version\$"; then
  cargo install wasm-bindgen-cli --version "$version" --root "$work/cli" --quiet ||
    { echo "cannot install wasm-bindgen-cli $version" >&2; exit 1; }
fi
CARGO_TARGET_DIR=$work cargo build --quiet --release --target wasm32-unknown-unknown \
  --manifest-path fixtures/wasm-bindgen/Cargo.toml || exit 1
"$cli" --target nodejs --out-dir "$work/pkg" \
  "$work/wasm32-unknown-unknown/release/dense_layer.wasm" || exit 1

out=$work/out
rm -rf "$out"
for variant in clean keep drop; do
  for shape in trio series; do
    flag=$([ $variant = clean ] || echo "--leak $variant")
    # shellcheck disable=SC2086
    node --expose-gc scripts/wasm-bindgen-scenario.js "$work/pkg" "$out/$variant-$shape" "$shape" \
      $flag >/dev/null || { echo "the $variant $shape scenario failed" >&2; exit 1; }
  done
done

if [ "$mode" = samples ]; then
  dest=sample-snapshots/wasm-bindgen
  rm -rf "$dest"
  mkdir -p "$dest"
  for variant in keep drop; do
    for s in baseline target final; do
      gzip -9 -c "$out/$variant-trio/$s.heapsnapshot" >"$dest/$variant-$s.heapsnapshot.gz"
    done
  done
  cat >"$dest/expected.json" <<JSON
{
  "description": "scripts/wasm-bindgen-scenario.sh samples on Node $(node --version): fixtures/wasm-bindgen (Rust, wasm-bindgen $version) driven by scripts/wasm-bindgen-scenario.js as a trio (20 warm-up steps of 10 batches, baseline, 20 steps, target, final), numeric values recorded",
  "keep": { "leaked_class": "Tensor", "leaked": 200, "live_tensors_final": 400, "tensor_scope_variable": "kept", "layer_scope_variable": "layer" },
  "drop": { "leaked": 0, "live_tensors_final": 0 }
}
JSON
  scripts/devtools-classes.sh "$dest"/*.heapsnapshot.gz || exit 1
  ls -l "$dest"
  exit 0
fi

failed=0
check() { # WHAT WANT GOT
  if [ "$2" = "$3" ]; then echo "ok   $1: $3"; else echo "FAIL $1: want $2, got $3"; failed=1; fi
}
for variant in clean keep drop; do
  want=$([ $variant = keep ] && echo 1 || echo 0)
  d=$out/$variant-trio
  "$bin" leaks --baseline "$d/baseline.heapsnapshot" --target "$d/target.heapsnapshot" \
    --final "$d/final.heapsnapshot" --fail-on-leak --no-ignore-file >"$d.txt" 2>&1
  check "$variant trio, leaks --fail-on-leak exit" "$want" $?
  "$bin" trend "$out/$variant-series"/step*.heapsnapshot --fail-on-growth >"$out/$variant-series.txt" 2>&1
  check "$variant series, trend --fail-on-growth exit" "$want" $?
done
check "keep trio, the cluster" "200 × Tensor" "$(grep -o '^#1 [0-9]* × [A-Za-z]*' "$out/keep-trio.txt" | cut -c4-)"
memory=$("$bin" memory "$out/keep-series/step5.heapsnapshot")
check "keep series, live Tensor wrappers" "700 live" "$(grep -o 'Tensor .*(__wbg_ptr: [0-9]* live' <<<"$memory" | grep -o '[0-9]* live')"
check "keep series, what holds them" "system / Context .kept" \
  "$(grep -o '700 held by system / Context @[0-9]* \.kept' <<<"$memory" | sed 's/700 held by //; s/ @[0-9]*//')"
memory=$("$bin" memory "$out/drop-series/step5.heapsnapshot")
check "drop series, Tensor wrappers left" "0" "$(grep -c '^  Tensor ' <<<"$memory")"
oracle=$root/../shared/oracle/check-vs-devtools.sh
if [ -x "$oracle" ]; then
  for f in "$out/keep-trio/final.heapsnapshot" "$out/drop-series/step5.heapsnapshot"; do
    HEAPSIGHT_NO_CACHE=1 "$oracle" "$f" "$bin" >"$f.oracle.txt" 2>&1
    check "DevTools' worker on $(basename "$(dirname "$f")")/$(basename "$f")" 4 \
      "$(grep -o '100.000%' "$f.oracle.txt" | wc -l)"
  done
fi
if [ $failed = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; fi
exit $failed
