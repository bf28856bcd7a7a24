#!/usr/bin/env bash
# Run every fuzz target in turn (one at a time, niced: the machine is shared), each for
# SECONDS (default 600), and print per target: seconds run, executions, crashes (new files in
# fuzz/artifacts/TARGET: crash-, oom-, timeout-, leak-), peak RSS. Needs the nightly toolchain
# and cargo-fuzz (see "Fuzzing" in the README).
#
# usage: scripts/fuzz-all.sh [SECONDS] [TARGET...]
# Summary lines go to fuzz/logs/fuzz-all.log (appended) and stdout; libFuzzer's own output to
# fuzz/logs/TARGET.log. Exits non-zero when any target found something.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-600}
shift $(($# > 0 ? 1 : 0))
all=(v8_snapshot heapprofile dhat heaptrack pprof index_cache index_cache_resealed)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# The bounds (README, "Fuzzing"): 10 s per input, 2 GiB of RSS, 512 MiB in one allocation.
bounds=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512)

mkdir -p fuzz/logs
summary=fuzz/logs/fuzz-all.log
say() { echo "$*" | tee -a "$summary"; }

nice -n 10 cargo +nightly fuzz build >fuzz/logs/build.log 2>&1 || {
    say "cargo fuzz build failed: see fuzz/logs/build.log"
    exit 1
}
say "== $(date -u +%FT%TZ) fuzz-all: ${secs}s per target, bounds: ${bounds[*]}"
found=0
for t in "${targets[@]}"; do
    seeds=fuzz/seeds/${t%_resealed}
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    start=$(date +%s)
    nice -n 10 cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "$seeds" -- \
        -max_total_time="$secs" "${bounds[@]}" -print_final_stats=1 \
        >"fuzz/logs/$t.log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    final_stat() { grep -o "stat::$1: *[0-9]*" "fuzz/logs/$t.log" | tail -1 | grep -o '[0-9]*$' || echo '?'; }
    crashes=$(($(find "fuzz/artifacts/$t" -type f | wc -l) - before))
    [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || found=1
    say "$(printf '%-22s %5ss %12s execs %3s crashes  peak RSS %5s MB  corpus %5s  exit %s' \
        "$t" "$took" "$(final_stat number_of_executed_units)" "$crashes" "$(final_stat peak_rss_mb)" \
        "$(find "fuzz/corpus/$t" -type f | wc -l)" "$rc")"
    if [ "$crashes" -gt 0 ]; then
        find "fuzz/artifacts/$t" -type f -newermt "@$start" | sed 's/^/    /' | tee -a "$summary"
    fi
done
exit $found
