#!/usr/bin/env bash
# heapsight next to memlab on document-store snapshots of three sizes, in one run: wall time and
# peak RSS of `heapsight summary` (no index cache) and of memlab loading the snapshot and
# summing it per class (scripts/memlab-summary.js), with the ratios, as a Markdown table.
#
# usage: scripts/bench-vs-memlab.sh [SIZE…]      (from the repository root)
#        SIZE is 50m, 400m or 1600m (default: all three). Snapshots are made once into
#        target/bench/docstore-SIZE.heapsnapshot (the 1.6 GB one takes a few minutes and
#        ~16 GB of RAM); memlab is installed once into ~/.cache/heapsight-oracle (npm, no
#        browser download). memlab on the 1.6 GB file needs ~10 GB of RAM and minutes.
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50m 400m 1600m)
. "$(dirname "$0")/memlab-env.sh"
cargo build --release --quiet --no-default-features
bin=target/release/heapsight
mkdir -p target/bench

scale_of() {
  case "$1" in
    50m) echo 0.03 ;; 400m) echo 0.25 ;; 1600m) echo 1 ;;
    *) echo "unknown size $1 (50m, 400m or 1600m)" >&2; exit 2 ;;
  esac
}

# Prints "SECONDS KB" for the command given (its output discarded).
measure() {
  local t
  t=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; rm -f "$t"; return 1; }
  cat "$t"; rm -f "$t"
}

echo "| snapshot | size | heapsight | memlab | time ratio | heapsight RSS | memlab RSS | RSS ratio |"
echo "|---|---|---|---|---|---|---|---|"
for size in "${sizes[@]}"; do
  snap=target/bench/docstore-$size.heapsnapshot
  if [ ! -s "$snap" ]; then
    # Written under another name first, so an interrupted run leaves no half file to reuse.
    partial=${snap%.heapsnapshot}.partial.heapsnapshot
    node --max-old-space-size=16000 --expose-gc scripts/make-big-snapshot.js "$partial" \
      --shape docstore --scale "$(scale_of "$size")" >/dev/null
    mv "$partial" "$snap"
  fi
  bytes=$(stat -L -c %s "$snap")
  # Read once first, so that whichever tool runs first does not pay alone for the disk.
  cat "$snap" >/dev/null
  read -r hs_s hs_kb < <(measure "$bin" summary "$snap" --no-cache)
  read -r ml_s ml_kb < <(measure env NODE_PATH="$MEMLAB_MODULES" \
    node --max-old-space-size=16000 scripts/memlab-summary.js "$snap")
  awk -v n="docstore-$size" -v b="$bytes" -v hs="$hs_s" -v hk="$hs_kb" -v ms="$ml_s" -v mk="$ml_kb" 'BEGIN {
    printf "| %s | %.0f MB | %.2f s | %.1f s | %.0f × | %.0f MB (%.2f × file) | %.0f MB (%.2f × file) | %.1f × |\n",
      n, b / 1e6, hs, ms, ms / hs, hk * 1024 / 1e6, hk * 1024 / b, mk * 1024 / 1e6, mk * 1024 / b, mk / hk
  }'
done
