#!/usr/bin/env bash
# Compare heapsight's per-node retained sizes and immediate dominators with memlab's, under both
# rule sets: `--rules memlab` should agree on every node; the default DevTools rules differ where
# DevTools and memlab differ (see docs/devtools-rules.md, "memlab differs").
#
# usage: scripts/check-vs-memlab.sh SNAPSHOT [SNAPSHOT…]     (from the repository root)
# Needs node + npm; installs memlab's packages once into ~/.cache/heapsight-oracle (no browser).
set -euo pipefail
. "$(dirname "$0")/memlab-env.sh"
cargo build --release --quiet --no-default-features
bin=target/release/heapsight
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for snap in "$@"; do
  echo "== $snap"
  NODE_PATH=$MEMLAB_MODULES node --max-old-space-size=16000 scripts/memlab-dump.js "$snap" "$tmp/memlab.tsv" >/dev/null
  for rules in memlab devtools; do
    "$bin" nodes "$snap" --tsv --rules "$rules" > "$tmp/heapsight.tsv"
    echo "-- heapsight --rules $rules"
    python3 scripts/compare-tsv.py "$tmp/memlab.tsv" "$tmp/heapsight.tsv" --show 5 || true
  done
done
