#!/usr/bin/env bash
# The leak and growth gates on heaps made by real web frameworks: Express 4, Fastify 4 and Koa 2
# (installed from the npm registry under target/frameworks), each clean and leaking
# (scripts/framework-scenario.js). Right both ways means:
#   leaks --fail-on-leak   exit 0 on the clean trio, 1 on the leaking one;
#   trend --fail-on-growth exit 0 on the clean series of five, 1 on the leaking one.
# usage: scripts/frameworks.sh        (run from anywhere; needs node, npm and a release build)
# Prints one line per check and exits 1 if any failed. About two minutes.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin=$root/target/release/heapsight
[ -x "$bin" ] || cargo build --release --quiet || exit 1
deps=$root/target/frameworks
if [ ! -d "$deps/node_modules/@koa/router" ]; then
  mkdir -p "$deps"
  (cd "$deps" && npm init -y >/dev/null && npm install express@4 fastify@4 koa@2 @koa/router@12 \
    >/dev/null 2>&1) || { echo "cannot install the frameworks" >&2; exit 1; }
fi
out=$deps/out
rm -rf "$out"
failed=0
for fw in express fastify koa; do
  for variant in clean leak; do
    flag=$([ $variant = leak ] && echo --leak || true)
    want=$([ $variant = leak ] && echo 1 || echo 0)
    for shape in trio series; do
      dir=$out/$fw-$variant-$shape
      NODE_PATH=$deps/node_modules node --expose-gc scripts/framework-scenario.js "$fw" "$shape" \
        "$dir" $flag >/dev/null || { echo "FAIL $fw $variant $shape: the scenario failed"; failed=1; continue; }
      if [ $shape = trio ]; then
        "$bin" leaks --baseline "$dir/baseline.heapsnapshot" --target "$dir/target.heapsnapshot" \
          --final "$dir/final.heapsnapshot" --fail-on-leak --no-ignore-file >"$dir.txt" 2>&1
      else
        "$bin" trend "$dir"/step*.heapsnapshot --fail-on-growth >"$dir.txt" 2>&1
      fi
      rc=$?
      if [ $rc = "$want" ]; then verdict=ok; else verdict=FAIL; failed=1; fi
      printf '%-4s %-8s %-6s %-7s exit %s (want %s): %s\n' "$verdict" "$fw" "$variant" "$shape" \
        "$rc" "$want" "$(head -1 "$dir.txt" | cut -c1-110)"
    done
  done
done
if [ $failed = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; fi
exit $failed
