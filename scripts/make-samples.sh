#!/usr/bin/env bash
# Regenerate the committed samples under sample-snapshots/ with the flags they
# need. Needs only node (20+). Run from anywhere: paths are resolved from here.
#   scripts/make-samples.sh
# The big benchmark snapshot is separate (not committed): see make-big-snapshot.js.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# --expose-gc: the scenario calls gc() before each snapshot so counts are exact.
node --expose-gc scripts/make-leak-scenario.js sample-snapshots/node-leak
node --expose-gc scripts/make-leak-scenario.js --fixed sample-snapshots/node-noleak
node --expose-gc scripts/make-lazy-scenario.js lazy sample-snapshots/node-lazy-clean
node --expose-gc scripts/make-lazy-scenario.js server sample-snapshots/node-server-clean
node --expose-gc scripts/make-lazy-scenario.js server --leak sample-snapshots/node-server-leak
node --expose-gc scripts/make-http-scenario.js sample-snapshots/node-http-clean
node --expose-gc scripts/make-http-scenario.js --leak sample-snapshots/node-http-leak
node --expose-gc scripts/make-wasm-scenario.js sample-snapshots/node-wasm
node --expose-gc scripts/make-trend-scenario.js sample-snapshots/node-trend
node scripts/make-timeline.js sample-snapshots/node-timeline/alloc.heaptimeline
node scripts/make-heapprofile.js sample-snapshots/node-heapprofile/alloc.heapprofile

# Keep the repository small: anything over 5 MB is stored as .gz only.
# (Stale copies from an earlier run must go too, or both forms would linger.)
for f in sample-snapshots/*/*.heapsnapshot sample-snapshots/*/*.heaptimeline; do
  [ -e "$f" ] || continue
  rm -f "$f.gz"
  if [ "$(wc -c < "$f")" -gt 5000000 ]; then gzip -9 "$f"; fi
done

for s in baseline target final; do
  f=sample-snapshots/node-leak/$s.heapsnapshot
  [ -e "$f" ] || f=$f.gz
  printf '%-9s %s\n' "$s" "$(node scripts/count-classes.js "$f" \
    RequestContext LeakedPayload TempBuffer CacheEntry WeakHeld CycleNode)"
done
ls -l sample-snapshots/*/
