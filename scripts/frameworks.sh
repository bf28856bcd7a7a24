#!/usr/bin/env bash
# The leak and growth gates on heaps made by real web frameworks: Express 4, Fastify 4 and Koa 2
# (installed from the npm registry under target/frameworks), each clean and leaking
# (scripts/framework-scenario.js), on a service in front of lru-cache, quick-lru, hashlru,
# tiny-lru and mnemonist's LRUCache (scripts/cache-scenario.js), on the classic leaks of a Node
# service and their fixes (scripts/classic-leaks-scenario.js), on a training loop over WebAssembly memory
# (scripts/training-loop-scenario.js), on TensorFlow.js's CPU and WebAssembly backends
# (scripts/tfjs-scenario.js), and on an inference service on ONNX Runtime Web
# (scripts/onnx-scenario.js), in Node and (both of the last two) in a Chromium page, and on a
# React 18 and a React 19 page (scripts/react-scenario.js) and a Vue 3 page
# (scripts/vue-scenario.js): clean, leaking listeners, leaking rows; and on a page of web
# components and iframes (scripts/components-scenario.js). Right both ways means:
#   leaks --fail-on-leak   exit 0 on the clean trio, 1 on the leaking one;
#   trend --fail-on-growth exit 0 on the clean series of five, 1 on the leaking one.
# usage: scripts/frameworks.sh          (run from anywhere; needs node, npm, a release build and
#                                       Debian's chromium)
#        scripts/frameworks.sh samples  the same, then rewrites sample-snapshots/onnx-grow-once/
#                                       and onnx-page-grow-once/ (the ONNX Runtime Web trios, in
#                                       Node and in a page, whose memory grew once) and
#                                       react-clean/ (the clean React trio), gzipped, with
#                                       DevTools' class tables
# Prints one line per check (121) and exits 1 if any failed. About ten minutes.
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
if [ ! -d "$deps/node_modules/@tensorflow/tfjs-backend-wasm" ]; then
  (cd "$deps" && npm install @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4 >/dev/null 2>&1) ||
    { echo "cannot install TensorFlow.js" >&2; exit 1; }
fi
if [ ! -d "$deps/node_modules/onnxruntime-web" ]; then
  (cd "$deps" && npm install onnxruntime-web@1 >/dev/null 2>&1) ||
    { echo "cannot install ONNX Runtime Web" >&2; exit 1; }
fi
if [ ! -d "$deps/node_modules/react-dom" ]; then
  (cd "$deps" && npm install react@18 react-dom@18 >/dev/null 2>&1) ||
    { echo "cannot install React" >&2; exit 1; }
fi
if [ ! -d "$deps/node_modules/tiny-lru" ]; then
  (cd "$deps" && npm install lru-cache@11 quick-lru@7 hashlru@2 tiny-lru@11 mnemonist@0.40 \
    >/dev/null 2>&1) ||
    { echo "cannot install the caches" >&2; exit 1; }
fi
if [ ! -d "$deps/node_modules/vue" ]; then
  (cd "$deps" && npm install vue@3 >/dev/null 2>&1) || { echo "cannot install Vue" >&2; exit 1; }
fi
# React 19 in a folder of its own, put first on NODE_PATH for its runs.
if [ ! -d "$deps/react19/node_modules/react-dom" ]; then
  mkdir -p "$deps/react19"
  (cd "$deps/react19" && npm init -y >/dev/null && npm install react@19 react-dom@19 >/dev/null 2>&1) ||
    { echo "cannot install React 19" >&2; exit 1; }
fi
# The page scenarios drive Debian's Chromium (apt-get install chromium) with puppeteer-core,
# never a downloaded browser.
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ] && [ ! -d "$deps/node_modules/puppeteer-core" ]; then
  (cd "$deps" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --ignore-scripts puppeteer-core >/dev/null 2>&1) ||
    { echo "cannot install puppeteer-core" >&2; exit 1; }
fi
out=$deps/out
rm -rf "$out"
failed=0

# The gate for SHAPE (trio: leaks; series: trend) on the snapshots in DIR; WANT its exit code.
gate() { # NAME VARIANT SHAPE DIR WANT
  local rc verdict
  if [ "$3" = trio ]; then
    "$bin" leaks --baseline "$4/baseline.heapsnapshot" --target "$4/target.heapsnapshot" \
      --final "$4/final.heapsnapshot" --fail-on-leak --no-ignore-file >"$4.txt" 2>&1
  else
    "$bin" trend "$4"/step*.heapsnapshot --fail-on-growth >"$4.txt" 2>&1
  fi
  rc=$?
  if [ $rc = "$5" ]; then verdict=ok; else verdict=FAIL; failed=1; fi
  printf '%-4s %-8s %-6s %-7s exit %s (want %s): %s\n' "$verdict" "$1" "$2" "$3" "$rc" "$5" \
    "$(head -1 "$4.txt" | cut -c1-110)"
}

# The gates on a UI scenario in a Chromium page (react-, vue- or components-scenario.js), its
# modules from MODULES (a NODE_PATH), for each VARIANT: clean passes both, the others trip both.
page_gates() { # NAME SCRIPT MODULES VARIANT…
  local name=$1 script=$2 modules=$3 variant flag shape want dir
  shift 3
  for variant in "$@"; do
    flag=$([ "$variant" = clean ] || echo "--$variant")
    want=$([ "$variant" = clean ] && echo 0 || echo 1)
    for shape in trio series; do
      dir=$out/$name-$variant-$shape
      NODE_PATH=$modules CHROMIUM=$chromium node "scripts/$script" "$dir" "$shape" $flag \
        >/dev/null 2>&1 ||
        { echo "FAIL $name $variant $shape: the scenario failed"; failed=1; continue; }
      gate "$name" "$variant" $shape "$dir" "$want"
    done
  done
}

for variant in clean leak; do
  flag=$([ $variant = leak ] && echo --leak || true)
  want=$([ $variant = leak ] && echo 1 || echo 0)
  for shape in trio series; do
    for fw in express fastify koa; do
      dir=$out/$fw-$variant-$shape
      NODE_PATH=$deps/node_modules node --expose-gc scripts/framework-scenario.js "$fw" "$shape" \
        "$dir" $flag >/dev/null || { echo "FAIL $fw $variant $shape: the scenario failed"; failed=1; continue; }
      gate "$fw" $variant $shape "$dir" "$want"
    done
    # The same gates on a training loop over WebAssembly memory (no framework needed).
    dir=$out/training-$variant-$shape
    node --expose-gc scripts/training-loop-scenario.js "$dir" "$shape" $flag >/dev/null ||
      { echo "FAIL training $variant $shape: the scenario failed"; failed=1; continue; }
    gate training $variant $shape "$dir" "$want"
  done
done
# A lookup service in front of five bounded caches, full and turning over
# (scripts/cache-scenario.js); --leak also keeps every value built in a list.
for cache in lru-cache quick-lru hashlru tiny-lru mnemonist; do
  for variant in clean leak; do
    flag=$([ $variant = leak ] && echo --leak || true)
    want=$([ $variant = leak ] && echo 1 || echo 0)
    for shape in trio series; do
      dir=$out/$cache-$variant-$shape
      NODE_PATH=$deps/node_modules node --expose-gc scripts/cache-scenario.js "$cache" "$dir" \
        "$shape" $flag >/dev/null 2>&1 ||
        { echo "FAIL $cache $variant $shape: the scenario failed"; failed=1; continue; }
      gate "$cache" $variant $shape "$dir" "$want"
    done
  done
done
# The classic leaks of a Node service and their fixes (scripts/classic-leaks-scenario.js): a
# chain of closures through a shared context, listeners, intervals, pending promises, a log
# string and an array of numbers. The last two add no object, so their leaking trios pass (a
# trio counts new objects; docs/leak-rules.md, "Objects whose retained size grows").
for pattern in closure listeners interval promises log latencies; do
  for variant in clean leak; do
    flag=$([ $variant = leak ] && echo --leak || true)
    for shape in trio series; do
      case $variant-$shape-$pattern in
        leak-trio-log | leak-trio-latencies) want=0 ;;
        leak-*) want=1 ;;
        *) want=0 ;;
      esac
      dir=$out/$pattern-$variant-$shape
      node --expose-gc scripts/classic-leaks-scenario.js "$pattern" "$dir" "$shape" $flag \
        >/dev/null 2>&1 ||
        { echo "FAIL $pattern $variant $shape: the scenario failed"; failed=1; continue; }
      gate "$pattern" $variant $shape "$dir" "$want"
    done
  done
done
# TensorFlow.js (scripts/tfjs-scenario.js) on its CPU and WebAssembly backends, in Node
# (`tfjs_gates node`) or in a Chromium page (`tfjs_gates page`). A tensor leaked on the
# WebAssembly backend leaves no object in the JS heap, only a bigger memory: the trio cannot see
# it (exit 0, and the memory is listed as grown, not counted), the trend can.
tfjs_gates() { # node|page
  local where=$1 backend variant flag shape want name dir run
  for backend in cpu wasm; do
    for variant in clean leak grow-once; do
      [ $variant = grow-once ] && [ $backend = cpu ] && continue
      flag=$([ $variant = clean ] || echo "--$variant")
      for shape in trio series; do
        [ $variant = grow-once ] && [ $shape = series ] && continue
        # A leak trips both gates, except the WebAssembly backend's trio (see above).
        case $variant-$backend-$shape in
          leak-wasm-trio) want=0 ;;
          leak-*) want=1 ;;
          *) want=0 ;;
        esac
        if [ "$where" = node ]; then name=tfjs-$backend; run=(node --expose-gc); else
          name=tfjs-page-$backend; run=(env CHROMIUM="$chromium" node); fi
        dir=$out/$name-$variant-$shape
        NODE_PATH=$deps/node_modules "${run[@]}" scripts/tfjs-scenario.js "$backend" "$dir" \
          "$shape" $flag $([ "$where" = page ] && echo --browser) >/dev/null 2>&1 ||
          { echo "FAIL $name $variant $shape: the scenario failed"; failed=1; continue; }
        gate "$name" $variant $shape "$dir" "$want"
        if [ $backend = wasm ] && [ $shape = trio ] && [ $variant != clean ] &&
          ! grep -q '^WebAssembly memory that grew' "$dir.txt"; then
          echo "FAIL $name $variant trio: the grown memory is not listed"; failed=1
        fi
      done
    done
  done
}
tfjs_gates node
# ONNX Runtime Web (scripts/onnx-scenario.js), an inference service on one thread and on two
# (a shared memory and a worker). Sessions opened and never released leak both in the JS heap
# (the runtime's map of open sessions) and inside the WebAssembly memory; a clean run whose
# memory grows once must pass, with the grown memory listed.
for threads in 1 2; do
  for variant in clean leak leak-session grow-once; do
    flag=$([ $variant = clean ] || echo "--$variant")
    for shape in trio series; do
      [ $variant = grow-once ] && [ $shape = series ] && continue
      [ "$threads" = 2 ] && [ $shape = series ] && continue
      [ "$threads" = 2 ] && [ $variant = leak ] && continue
      want=$(case $variant in leak*) echo 1 ;; *) echo 0 ;; esac)
      name=onnx-t$threads
      dir=$out/$name-$variant-$shape
      NODE_PATH=$deps/node_modules node --expose-gc scripts/onnx-scenario.js "$dir" "$shape" \
        $flag --threads "$threads" >/dev/null 2>&1 ||
        { echo "FAIL $name $variant $shape: the scenario failed"; failed=1; continue; }
      gate "$name" $variant $shape "$dir" "$want"
      if [ $variant = grow-once ] && ! grep -q '^WebAssembly memory that grew' "$dir.txt"; then
        echo "FAIL $name grow-once trio: the grown memory is not listed"; failed=1
      fi
    done
  done
done
# The same service in a Chromium page, whose results are also shown as the latest ten rows of
# a list: --leak-dom keeps the rows taken off it (detached DOM); and TensorFlow.js's training
# loop in a page, as in Node above.
if [ -x "$chromium" ]; then
  tfjs_gates page
  for variant in clean leak leak-session leak-dom grow-once; do
    flag=$([ $variant = clean ] || echo "--$variant")
    for shape in trio series; do
      [ $variant = grow-once ] && [ $shape = series ] && continue
      want=$(case $variant in leak*) echo 1 ;; *) echo 0 ;; esac)
      dir=$out/onnx-page-$variant-$shape
      NODE_PATH=$deps/node_modules CHROMIUM=$chromium node scripts/onnx-scenario.js "$dir" \
        "$shape" $flag --browser >/dev/null 2>&1 ||
        { echo "FAIL onnx-page $variant $shape: the scenario failed"; failed=1; continue; }
      gate onnx-page $variant $shape "$dir" "$want"
      if [ $variant = grow-once ] && ! grep -q '^WebAssembly memory that grew' "$dir.txt"; then
        echo "FAIL onnx-page grow-once trio: the grown memory is not listed"; failed=1
      fi
    done
  done
  # A React page (scripts/react-scenario.js), React 18 and 19: rows rendered afresh every unit
  # of work; --leak never unsubscribes the rows' listeners, --leak-dom keeps every row's <li>.
  page_gates react18 react-scenario.js "$deps/node_modules" clean leak leak-dom
  page_gates react19 react-scenario.js "$deps/react19/node_modules:$deps/node_modules" \
    clean leak leak-dom
  # A Vue 3 page (scripts/vue-scenario.js), the same rows, modal and listeners.
  page_gates vue3 vue-scenario.js "$deps/node_modules" clean leak leak-dom
  # Web components and iframes, no library (scripts/components-scenario.js): --leak keeps the
  # removed cards (custom elements with shadow trees), --leak-frame removed iframes' windows.
  page_gates components components-scenario.js "$deps/node_modules" clean leak leak-frame
else
  echo "FAIL onnx-page, react, vue, components: no Chromium at $chromium (apt-get install chromium, or set CHROMIUM)"
  failed=1
fi
if [ "${1:-}" = samples ]; then
  for pair in onnx-grow-once:onnx-t1-grow-once-trio onnx-page-grow-once:onnx-page-grow-once-trio \
    react-clean:react18-clean-trio; do
    dest=sample-snapshots/${pair%%:*}
    rm -rf "$dest"
    mkdir -p "$dest"
    for s in baseline target final; do
      gzip -9 -c "$out/${pair#*:}/$s.heapsnapshot" >"$dest/$s.heapsnapshot.gz"
    done
    scripts/devtools-classes.sh "$dest"/*.heapsnapshot.gz || failed=1
  done
fi
if [ $failed = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; fi
exit $failed
