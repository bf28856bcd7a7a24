#!/usr/bin/env bash
# Screenshots of the desktop app, one per view, taken from a real X window under Xvfb with
# Mesa's software OpenGL (no GPU, no display needed).
#
#   scripts/screenshot.sh SNAPSHOT OUTDIR [BINARY]
#
# Writes OUTDIR/{summary,dominators,containment,statistics}.png (and OUTDIR/<shot>.log, the app's
# output). Builds nothing: BINARY defaults to target/debug/heapsight, so run `cargo build` first.
#
# A shot is a view's name (the app's --view), or NAME:VIEW:X,Y[:X,Y…] to open VIEW, click at
# each point in turn (window pixels, after loading) and save NAME.png; e.g.
# "calltree:allocations:136,114" clicks the Allocations view's "Call tree" part. The points
# follow the app's layout at 1280x800: check the PNG when the layout changes.
# Fails (non-zero exit, one clear line per problem) if Xvfb doesn't start, the window never
# appears, the app dies before its screenshot, or a screenshot is blank.
#
# Needs Debian packages xvfb, x11-utils (xwininfo), imagemagick (import, identify) and xdotool.
#
# The screen (1400x900) is larger than the app's window (1280x800 at the top left, there is no
# window manager), so the pointer can be parked outside the window: no hover highlight or
# tooltip in the shots. Each shot is of the window alone.
#
# Environment (all optional):
#   SCREENSHOT_VIEWS          shots to take (default "summary dominators containment statistics")
#   SCREENSHOT_SETTLE         seconds to wait after the window appears, for loading and the first
#                             frames (default 4; the bundled samples load in well under a second)
#   SCREENSHOT_WINDOW_TRIES   how many times to look for the window, 0.25 s apart (default 120 = 30 s)
#   SCREENSHOT_STABLE_TRIES   after that, grab the screen up to this many times, 0.5 s apart, until
#                             two grabs are equal (default 10; the shot is taken either way)
#   SCREENSHOT_MIN_COLOURS    fewer unique colours than this counts as blank (default 64)
#   SCREENSHOT_MIN_STDDEV     a lower standard deviation of pixel values (0..1) counts as blank
#                             (default 0.02)
set -euo pipefail

usage() {
    echo "usage: $0 SNAPSHOT OUTDIR [BINARY]   (BINARY defaults to target/debug/heapsight)" >&2
    exit 2
}
[ $# -ge 2 ] && [ $# -le 3 ] || usage
snapshot=$1
outdir=$2
binary=${3:-target/debug/heapsight}

views=${SCREENSHOT_VIEWS:-summary dominators containment statistics}
settle=${SCREENSHOT_SETTLE:-4}
tries=${SCREENSHOT_WINDOW_TRIES:-120}
stable_tries=${SCREENSHOT_STABLE_TRIES:-10}
min_colours=${SCREENSHOT_MIN_COLOURS:-64}
min_stddev=${SCREENSHOT_MIN_STDDEV:-0.02}

fail() {
    echo "screenshot: $*" >&2
    exit 1
}

for tool in Xvfb xwininfo import identify xdotool; do
    command -v "$tool" >/dev/null ||
        fail "'$tool' not found; install it: apt-get install -y xvfb x11-utils imagemagick xdotool"
done
[ -x "$binary" ] || fail "no executable at $binary; build it first (cargo build) or pass BINARY"
[ -f "$snapshot" ] || fail "no snapshot at $snapshot"
# Shots: VIEW, or NAME:VIEW:X,Y[:X,Y…] (checked before anything starts).
for shot in $views; do
    IFS=: read -r -a spec <<<"$shot"
    [ "${#spec[@]}" -ne 2 ] || fail "$shot: a named shot needs clicks (NAME:VIEW:X,Y…)"
    for point in "${spec[@]:2}"; do
        [[ $point =~ ^[0-9]+,[0-9]+$ ]] || fail "$shot: '$point' is not a point X,Y"
    done
done
mkdir -p "$outdir"
# Absolute paths, for clear messages.
snapshot=$(cd "$(dirname "$snapshot")" && pwd)/$(basename "$snapshot")
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

work=$(mktemp -d "${TMPDIR:-/tmp}/heapsight-screenshot.XXXXXX")
xvfb_pid=
app_pid=

stop_app() {
    [ -n "$app_pid" ] || return 0
    kill "$app_pid" 2>/dev/null || true
    for _ in $(seq 20); do
        kill -0 "$app_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
    app_pid=
}

cleanup() {
    stop_app
    if [ -n "$xvfb_pid" ]; then
        kill "$xvfb_pid" 2>/dev/null || true
        wait "$xvfb_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Xvfb picks a free display itself and writes its number to fd 3 once it accepts connections.
# -noreset: by default Xvfb resets when its last client leaves, and the next view's app can hit
# that reset and fail to connect.
Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp -noreset 3>"$work/display" >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do
    [ -s "$work/display" ] && break
    kill -0 "$xvfb_pid" 2>/dev/null || break
    sleep 0.1
done
[ -s "$work/display" ] || fail "Xvfb did not start: $(tail -3 "$work/xvfb.log" | tr '\n' ' ')"
display=":$(head -1 "$work/display" | tr -d '[:space:]')"
echo "screenshot: Xvfb on $display; $binary on $snapshot"

# The id of the app's viewable top-level window, if there is one. eframe's window title is
# "heapsight" (the app may add the file name after it).
find_window() {
    local id
    for id in $(DISPLAY=$display xwininfo -root -children 2>/dev/null |
        sed -n 's/^ *\(0x[0-9a-f]*\) "heapsight[^"]*".*/\1/p'); do
        if DISPLAY=$display xwininfo -id "$id" 2>/dev/null | grep -q 'Map State: IsViewable'; then
            echo "$id"
            return 0
        fi
    done
    return 1
}

for shot in $views; do
    IFS=: read -r -a spec <<<"$shot"
    if [ "${#spec[@]}" -gt 1 ]; then
        name=${spec[0]} view=${spec[1]} clicks=("${spec[@]:2}")
    else
        name=$shot view=$shot clicks=()
    fi
    png=$outdir/$name.png
    log=$outdir/$name.log
    rm -f "$png"
    # A fresh HOME and XDG directories per run: eframe persists window geometry and the app
    # persists recent files, and neither may leak in from an earlier run.
    home=$work/home-$name
    mkdir -p "$home"
    env -u WAYLAND_DISPLAY DISPLAY="$display" \
        LIBGL_ALWAYS_SOFTWARE=1 WINIT_UNIX_BACKEND=x11 \
        HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
        XDG_CACHE_HOME="$home/.cache" XDG_STATE_HOME="$home/.local/state" \
        XDG_RUNTIME_DIR="$home/run" \
        "$binary" "$snapshot" --view "$view" >"$log" 2>&1 &
    app_pid=$!

    window=
    for _ in $(seq "$tries"); do
        kill -0 "$app_pid" 2>/dev/null ||
            fail "$name: the app exited before its window appeared; last lines of $log:
$(tail -5 "$log")"
        if window=$(find_window); then
            break
        fi
        sleep 0.25
    done
    [ -n "$window" ] ||
        fail "$name: no 'heapsight' window appeared within $tries tries (0.25 s apart); see $log"

    # Park the pointer outside the window: X starts it at the screen's centre, over the app.
    DISPLAY=$display xdotool mousemove 1399 899

    # Loading runs in the background after the window appears; give it time to finish, then
    # wait (bounded) until two grabs half a second apart are the same, so no progress bar or
    # first-frame layout is caught half-way.
    sleep "$settle"
    for point in "${clicks[@]}"; do
        DISPLAY=$display xdotool mousemove --sync "${point%,*}" "${point#*,}" click 1 ||
            fail "$name: xdotool could not click at $point"
        sleep 0.5
    done
    DISPLAY=$display xdotool mousemove 1399 899
    previous=
    current=
    for _ in $(seq "$stable_tries"); do
        kill -0 "$app_pid" 2>/dev/null ||
            fail "$name: the app exited before the screenshot; last lines of $log:
$(tail -5 "$log")"
        current=$(DISPLAY=$display import -window "$window" -depth 8 rgb:- 2>>"$log" | md5sum)
        [ "$current" = "$previous" ] && break
        previous=$current
        sleep 0.5
    done
    [ "$current" = "$previous" ] ||
        echo "screenshot: $name: the screen was still changing after $stable_tries grabs; taking it anyway" >&2
    DISPLAY=$display import -window "$window" "$png" 2>>"$log" || fail "$name: import failed; see $log"
    stop_app

    read -r colours stddev < <(identify -format '%k %[fx:standard_deviation]\n' "$png" | head -1)
    if [ "${colours:-0}" -lt "$min_colours" ] ||
        awk -v s="${stddev:-0}" -v m="$min_stddev" 'BEGIN { exit !(s < m) }'; then
        fail "$name: $png looks blank ($colours unique colours, standard deviation $stddev;" \
            "need at least $min_colours and $min_stddev)"
    fi
    size=$(identify -format '%wx%h' "$png")
    echo "screenshot: $name -> $png ($size, $colours colours, standard deviation $stddev)"
done
