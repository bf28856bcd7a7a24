#!/usr/bin/env bash
# Regenerate fuzz/seeds/index_cache/: real index files, written by heapsight itself (the CLI's
# `summary` through the index cache) for the V8 seeds. Run from the repository root after a
# change of the index format (FORMAT_VERSION in src/store/index_cache/mod.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --no-default-features --bin heapsight
out=fuzz/seeds/index_cache
rm -f "$out"/*.hsidx
# One index per V8 seed under DevTools' rules, and one under memlab's (another rule-set byte
# and other sizes).
index() { # SNAPSHOT RULES
    local cache
    cache=$(mktemp -d)
    HEAPSIGHT_CACHE_DIR="$cache" ./target/debug/heapsight summary "$1" --rules "$2" >/dev/null
    cp "$cache"/*.hsidx "$out/$(basename "$1").$2.hsidx"
    rm -rf "$cache"
}
for snap in fuzz/seeds/v8_snapshot/*; do
    case "$snap" in *.gz) continue ;; esac
    index "$snap" devtools
done
index fuzz/seeds/v8_snapshot/node-leak.heapsnapshot memlab
ls -l "$out"
