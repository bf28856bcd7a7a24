#!/usr/bin/env bash
# Time the desktop app opening a snapshot in a real X window (Xvfb, software OpenGL): from the
# app's start to its first view drawn with the document, and the peak RSS by then. Run it twice
# to time a reopen from the index cache (the first run writes the index).
#
#   scripts/time-app-open.sh SNAPSHOT [BINARY]      (BINARY: target/release/heapsight)
#
# Prints the app's own line (HEAPSIGHT_LOG_TIMINGS), e.g.
#   heapsight: big.heapsnapshot: Summary drawn (opening took 0.64 s, index hit), 0.81 s after
#   the app started, peak RSS 315 MB
# and then the app is closed. A first open shows the view before writing the index ("index
# not written yet"): the script then waits for the app's "index written" line too, so the next
# run is a reopen. Uses the usual cache folder (HEAPSIGHT_CACHE_DIR to choose one).
# Needs Debian packages xvfb and libgl1-mesa-dri (see scripts/screenshot.sh).
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 SNAPSHOT [BINARY]" >&2; exit 2; }
snapshot=$1
bin=${2:-target/release/heapsight}
[ -x "$bin" ] || { echo "$0: no binary at $bin (cargo build --release)" >&2; exit 2; }
command -v Xvfb >/dev/null || { echo "$0: Xvfb is not installed (apt-get install xvfb)" >&2; exit 2; }

display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
log=$(mktemp)
app=
cleanup() {
    [ -n "$app" ] && kill "$app" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT
sleep 1
kill -0 "$xvfb" 2>/dev/null || { echo "$0: Xvfb did not start on $display" >&2; exit 1; }

DISPLAY=$display LIBGL_ALWAYS_SOFTWARE=1 HEAPSIGHT_LOG_TIMINGS=1 "$bin" "$snapshot" 2>"$log" &
app=$!
# Wait for the line (opening a 1.6 GB snapshot without an index takes tens of seconds).
for _ in $(seq 1 1200); do
    if grep -q " drawn " "$log"; then
        grep " drawn " "$log"
        grep -q ", index not written yet)" "$log" || exit 0
        for _ in $(seq 1 1200); do
            if grep -q ": index " "$log"; then
                grep ": index " "$log"
                exit 0
            fi
            sleep 0.25
        done
        echo "$0: the index was not written after 300 s" >&2
        exit 1
    fi
    kill -0 "$app" 2>/dev/null || { echo "$0: the app exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.25
done
echo "$0: no view drawn after 300 s" >&2
cat "$log" >&2
exit 1
