#!/usr/bin/env bash
# Run every fuzz target in turn (one at a time, niced: the machine is shared), each for
# SECONDS (default 600), and print per target: seconds run, executions, crashes (new files in
# fuzz/artifacts/TARGET: crash-, oom-, timeout-, leak-), peak RSS. Needs the nightly toolchain
# and cargo-fuzz (see "Fuzzing" in the README).
#
# libFuzzer's -timeout is wall-clock time: on a busy machine a niced fuzzer can be starved
# for longer than that on an input that takes milliseconds. So each timeout is run again
# alone; one that then finishes within the bound is not a hang: it is moved to
# fuzz/artifacts/TARGET/starved/, reported, and the target resumes for the rest of its time.
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
timeout=10
bounds=(-timeout=$timeout -rss_limit_mb=2048 -malloc_limit_mb=512)

# A leak seen only in glibc's own entry for a thread's thread-local destructors is a thread
# still exiting, not a leak (see fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

mkdir -p fuzz/logs
summary=fuzz/logs/fuzz-all.log
say() { echo "$*" | tee -a "$summary"; }

nice -n 10 cargo +nightly fuzz build >fuzz/logs/build.log 2>&1 || {
    say "cargo fuzz build failed: see fuzz/logs/build.log"
    exit 1
}
bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
say "== $(date -u +%FT%TZ) fuzz-all: ${secs}s per target, bounds: ${bounds[*]}"
found=0
for t in "${targets[@]}"; do
    seeds=fuzz/seeds/${t%_resealed}
    artifacts=fuzz/artifacts/$t
    log=fuzz/logs/$t.log
    mkdir -p "fuzz/corpus/$t" "$artifacts"
    : >"$log"
    start=$(date +%s)
    execs=0 rss=0 crashes=0 starved=0 rc=0
    while :; do
        left=$((secs - ($(date +%s) - start)))
        [ "$left" -gt 0 ] || break
        part=$(mktemp)
        nice -n 10 cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "$seeds" -- \
            -max_total_time="$left" "${bounds[@]}" -print_final_stats=1 >"$part" 2>&1
        rc=$?
        cat "$part" >>"$log"
        final_stat() { grep -o "stat::$1: *[0-9]*" "$part" | tail -1 | grep -o '[0-9]*$' || echo 0; }
        execs=$((execs + $(final_stat number_of_executed_units)))
        r=$(final_stat peak_rss_mb)
        [ "$r" -le "$rss" ] || rss=$r
        rm -f "$part"
        [ "$rc" -ne 0 ] || break
        # Stopped on a finding: a timeout that does not come back alone was starvation.
        new=$(find "$artifacts" -maxdepth 1 -type f -newermt "@$start" ! -name 'slow-unit-*')
        real=""
        for a in $new; do
            case "$(basename "$a")" in
            timeout-*)
                if timeout $((timeout * 3)) "$bin_dir/$t" -timeout=$timeout "$a" >/dev/null 2>&1; then
                    mkdir -p "$artifacts/starved"
                    mv "$a" "$artifacts/starved/"
                    starved=$((starved + 1))
                    continue
                fi
                ;;
            esac
            real="$real $a"
        done
        if [ -n "$real" ]; then
            crashes=$(echo $real | wc -w)
            break
        fi
        [ -n "$new" ] || break # stopped for another reason: see the log
    done
    took=$(($(date +%s) - start))
    [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || found=1
    say "$(printf '%-22s %5ss %12s execs %3s crashes  peak RSS %5s MB  corpus %5s  exit %s%s' \
        "$t" "$took" "$execs" "$crashes" "$rss" "$(find "fuzz/corpus/$t" -type f | wc -l)" "$rc" \
        "$([ "$starved" -eq 0 ] || echo "  ($starved starved timeouts, not reproduced alone)")")"
    if [ "$crashes" -gt 0 ]; then
        for a in $real; do say "    $a"; done
    fi
done
exit $found
