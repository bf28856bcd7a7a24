#!/usr/bin/env bash
# Run every CLI command in every output format on every bundled sample and keep each output
# (stdout, stderr and exit code) in OUT_DIR, one file per run. Diff two such folders to prove a
# refactoring changed no output: scripts/cli-outputs.sh old-binary /tmp/a; … new …; diff -r.
#   scripts/cli-outputs.sh BINARY OUT_DIR
set -uo pipefail
bin=$(realpath "$1")
out=$2
cd "$(dirname "$0")/.."
mkdir -p "$out"
n=0
run() { # NAME ARGS…
    local name=$1
    shift
    n=$((n + 1))
    "$bin" "$@" >"$out/$name.out" 2>"$out/$name.err"
    echo "exit $?" >>"$out/$name.out"
}
snapshots=$(ls sample-snapshots/*/*.heapsnapshot sample-snapshots/*/*.heaptimeline)
dumps=$(ls sample-snapshots/rust/*.json sample-snapshots/rust/*.zst sample-snapshots/rust/*.gz)
for f in $snapshots; do
    k=$(echo "$f" | tr '/' '_')
    run "$k.summary" summary "$f"
    run "$k.summary-all-json" summary "$f" --top 0 --json
    run "$k.summary-csv" summary "$f" --top 0 --csv
    run "$k.summary-memlab" summary "$f" --rules memlab --json --top 0
    run "$k.dominators" dominators "$f" --depth 3 --top 5
    run "$k.dominators-json" dominators "$f" --depth 2 --top 5 --json
    run "$k.detached" detached "$f"
    run "$k.detached-json" detached "$f" --json
    run "$k.memory" memory "$f"
    run "$k.memory-json" memory "$f" --json
    run "$k.report-md" report "$f" --format md
    run "$k.report-json" report "$f" --format json
    run "$k.nodes" nodes "$f" --tsv
    # A node in the middle of the class table, and one that does not exist.
    id=$("$bin" nodes "$f" --tsv | awk -F'\t' 'NR==200{print $1}')
    run "$k.node" node "$f" "@$id" --limit 5
    run "$k.node-json" node "$f" "@$id" --limit 5 --json
    run "$k.retainers" retainers "$f" "@$id" --paths 3
    run "$k.retainers-json" retainers "$f" "@$id" --paths 3 --json
    run "$k.node-missing" node "$f" @4294967295
done
for f in $dumps; do
    k=$(echo "$f" | tr '/' '_')
    run "$k.summary" summary "$f"
    run "$k.summary-json" summary "$f" --json
    run "$k.summary-nofold" summary "$f" --no-fold
    run "$k.calltree" calltree "$f"
    run "$k.calltree-bu-json" calltree "$f" --bottom-up --json --depth 3
    run "$k.dominators" dominators "$f" --depth 2 --top 3
    run "$k.report-md" report "$f" --format md
    run "$k.report-json" report "$f" --format json
done
for dir in sample-snapshots/node-leak sample-snapshots/node-noleak sample-snapshots/browser-detached; do
    k=$(basename "$dir")
    b=$dir/baseline.heapsnapshot t=$dir/target.heapsnapshot f=$dir/final.heapsnapshot
    run "$k.diff" diff "$b" "$f"
    run "$k.diff-json" diff "$b" "$f" --json
    run "$k.diff-csv" diff "$b" "$f" --csv
    run "$k.leaks" leaks --baseline "$b" --target "$t" --final "$f"
    run "$k.leaks-gate" leaks --baseline "$b" --target "$t" --final "$f" --fail-on-leak --min-count 5
    run "$k.leaks-json" leaks --baseline "$b" --target "$t" --final "$f" --json
    run "$k.leaks-md" leaks --baseline "$b" --target "$t" --final "$f" --md
    run "$k.leaks-html" leaks --baseline "$b" --target "$t" --final "$f" --html
    # The gate with an ignore file (a class and a threshold) in every format.
    printf 'RequestContext\nthreshold: LeakyListener min-count=1000\n' >target/cli-outputs.ignore
    for fmt in "" --json --md --html; do
        run "$k.leaks-ignore$fmt" leaks --baseline "$b" --target "$t" --final "$f" $fmt \
            --fail-on-leak --ignore target/cli-outputs.ignore
    done
    run "$k.report3-md" report "$b" "$t" "$f" --format md
    run "$k.report3-json" report "$b" "$t" "$f" --format json
    run "$k.report3-html" report "$b" "$t" "$f" --format html
    run "$k.report2-md" report "$b" "$f" --format md
done
r=sample-snapshots/rust
for pair in "dhat-rs-small.json dhat-rs-large.json" "heaptrack-small.zst heaptrack-large.zst" \
    "pprof-small.pb.gz pprof-large.pb.gz" "valgrind-dhat-small.json valgrind-dhat-large.json"; do
    set -- $pair
    run "alloc-$1.diff" diff "$r/$1" "$r/$2"
    run "alloc-$1.diff-json" diff "$r/$1" "$r/$2" --json
    run "alloc-$1.report2-md" report "$r/$1" "$r/$2" --format md
done
run mixed.diff diff sample-snapshots/node-leak/target.heapsnapshot $r/dhat-rs-small.json
run missing.summary summary /nonexistent.heapsnapshot
run bad.summary summary Cargo.toml
echo "$n runs written to $out"
