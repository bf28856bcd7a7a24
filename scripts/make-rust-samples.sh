#!/usr/bin/env bash
# Regenerate sample-snapshots/rust/: the Rust allocation workload in
# fixtures/alloc-workload/ profiled by dhat-rs, valgrind's DHAT and heaptrack, at
# two sizes (small, large), plus expected.json with each producer's own summary.
#
#   scripts/make-rust-samples.sh
#
# Needs Rust (cargo) and, on Debian/Ubuntu: valgrind, heaptrack (heaptrack_print),
# zstd and python3. Missing ones are installed with apt-get, which needs root
# (run as root, or install them first: apt-get install -y valgrind heaptrack zstd python3).
# The fixture's dependencies (dhat-rs) come from crates.io, pinned by its Cargo.lock.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

fixture="$root/fixtures/alloc-workload"
out="$root/sample-snapshots/rust"
sizes="small large"
mkdir -p "$out"

# --- tools -------------------------------------------------------------------
missing=()
command -v valgrind >/dev/null || missing+=(valgrind)
{ command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; } || missing+=(heaptrack)
command -v zstd >/dev/null || missing+=(zstd)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup)" >&2; exit 1; }

# --- build (release, with debug info; -j 1 keeps it light) ----------------------
jobs="${CARGO_BUILD_JOBS:-1}"
(cd "$fixture" && cargo build --release --locked -j "$jobs")
(cd "$fixture" && cargo build --release --locked -j "$jobs" --features dhat-heap \
  --target-dir target/dhat-heap)
plain="$fixture/target/release/alloc-workload"
with_dhat="$fixture/target/dhat-heap/release/alloc-workload"

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# --- run the profilers ---------------------------------------------------------
for size in $sizes; do
  echo "== $size"
  # dhat-rs writes dhat-heap.json into the working directory and its summary to stderr.
  mkdir "$logs/dhat-rs-$size"
  (cd "$logs/dhat-rs-$size" && "$with_dhat" "$size" \
    >"$logs/dhat-rs-$size.stdout" 2>"$logs/dhat-rs-$size.stderr")
  mv "$logs/dhat-rs-$size/dhat-heap.json" "$out/dhat-rs-$size.json"

  # valgrind's DHAT, on the build without the dhat-rs allocator.
  valgrind --tool=dhat --dhat-out-file="$out/valgrind-dhat-$size.json" "$plain" "$size" \
    >"$logs/valgrind-dhat-$size.stdout" 2>"$logs/valgrind-dhat-$size.stderr"

  # heaptrack appends .zst (or .gz, if built without zstd).
  rm -f "$out/heaptrack-$size".*
  heaptrack -o "$out/heaptrack-$size" "$plain" "$size" \
    >"$logs/heaptrack-$size.stdout" 2>"$logs/heaptrack-$size.stderr"
  ht="$(ls "$out/heaptrack-$size".* | head -n 1)"
  heaptrack_print "$ht" >"$logs/heaptrack-$size.print" 2>&1
  echo "$ht" >"$logs/heaptrack-$size.file"
done

# valgrind creates its output file mode 0600; make the samples world-readable.
chmod 644 "$out"/*.json "$out"/heaptrack-*

# --- versions -------------------------------------------------------------------
{
  echo "rustc=$(rustc -V)"
  echo "cargo=$(cargo -V)"
  echo "dhat-rs=$(awk '/^name = "dhat"$/ {getline; gsub(/"/, "", $3); print $3}' "$fixture/Cargo.lock")"
  echo "valgrind=$(valgrind --version)"
  echo "heaptrack=$(heaptrack --version 2>&1 | head -n 1)"
  echo "heaptrack_print=$(heaptrack_print --version 2>&1 | head -n 1)"
  for p in valgrind heaptrack; do
    echo "deb-$p=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo unknown)"
  done
} >"$logs/versions"

# --- expected.json ---------------------------------------------------------------
python3 - "$logs" "$out" $sizes <<'PY'
import gzip, json, os, re, subprocess, sys

logs, out, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
FUNCS = ["load_tensors", "build_graph_cycle", "leak_config", "score_batch"]
num = lambda s: int(s.replace(",", ""))

def read(name):
    with open(os.path.join(logs, name), encoding="utf-8") as f:
        return f.read()

def workload_line(stdout):
    line = next(l for l in stdout.splitlines() if l.startswith("workload="))
    kv = dict(p.split("=", 1) for p in line.split())
    return {k: (v if k == "workload" else float(v) if "." in v else int(v)) for k, v in kv.items()}

def dhat_summary(stderr, prefix_re):
    """Summary lines verbatim (prefix removed) and their numbers."""
    lines, nums = [], {}
    for raw in stderr.splitlines():
        m = re.match(prefix_re, raw)
        if not m:
            continue
        text = raw[m.end():]
        m2 = re.match(r"(Total|At t-gmax|At t-end):\s+([\d,]+) bytes in ([\d,]+) blocks", text)
        m3 = re.match(r"(Reads|Writes):\s+([\d,]+) bytes", text)
        if m2:
            k = {"Total": "total", "At t-gmax": "gmax", "At t-end": "end"}[m2.group(1)]
            nums[k + "_bytes"], nums[k + "_blocks"] = num(m2.group(2)), num(m2.group(3))
        elif m3:
            nums[m3.group(1).lower() + "_bytes"] = num(m3.group(2))
        else:
            continue
        lines.append(text)
    return lines, nums

def dhat_file(path, nums):
    """Check the pps sums against the summary; per-function sums over the stacks."""
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    pps, ftbl = d["pps"], d["ftbl"]
    sums = {k: sum(p[k] for p in pps) for k in ("tb", "tbk", "gb", "gbk", "eb", "ebk")}
    want = {"tb": "total_bytes", "tbk": "total_blocks", "gb": "gmax_bytes",
            "gbk": "gmax_blocks", "eb": "end_bytes", "ebk": "end_blocks"}
    for k, n in want.items():
        assert sums[k] == nums[n], (path, k, sums[k], nums[n])
    by_fn = {}
    for fn in FUNCS:
        hit = [p for p in pps if any(f"alloc_workload::{fn}" in ftbl[i] for i in p["fs"])]
        by_fn[fn] = {k: sum(p[k] for p in hit) for k in ("tb", "tbk", "gb", "gbk", "eb", "ebk")}
        by_fn[fn]["pps"] = len(hit)
    return {"pps": len(pps), "ftbl": len(ftbl), "mode": d["mode"]}, by_fn

def heaptrack_units(text):
    """heaptrack_print's formatBytes: powers of 1000, two decimals; plain bytes end in B."""
    m = re.fullmatch(r"(-?[\d.]+)([BKMGT])", text)
    scale = {"B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[m.group(2)]
    return round(float(m.group(1)) * scale), (0 if m.group(2) == "B" else scale // 200)

def heaptrack_replay(path):
    """Recompute heaptrack_print's totals exactly from the data file, the way
    heaptrack's analyze/accumulatedtracedata.cpp does (file format v2/v3)."""
    if path.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    else:
        data = gzip.open(path).read()
    strings, ips, traces, infos = [], [], [], []
    live = peak = allocs = temporary = total = 0
    last = None  # info index of the last '+', None after a '-' (heaptrack uses 0 there)
    sized = False
    fn_cost = {fn: {"allocations": 0, "bytes": 0, "leaked": 0, "temporary": 0} for fn in FUNCS}
    info_fns = []
    def trace_fns(t):
        names, seen = set(), set()
        while t and t not in seen:
            seen.add(t)
            ip, parent = traces[t - 1]
            for fi in ips[ip - 1] if ip else []:
                s = strings[fi - 1] if fi else ""
                names.update(fn for fn in FUNCS if f"alloc_workload::{fn}" in s)
            t = parent
        return names
    for line in data.decode("utf-8", "replace").splitlines():
        if not line or line[0] == "#":
            continue
        tag, rest = line[0], line[2:]
        if tag == "v":
            sized = len(rest.split()) > 1 and int(rest.split()[1], 16) >= 3
        elif tag == "s":
            strings.append(rest.split(" ", 1)[1] if sized else rest)
        elif tag == "i":
            f = [int(x, 16) for x in rest.split()]
            # ip module [function [file line [function file line]...]]: keep function ids
            ips.append([f[2]] + f[5::3] if len(f) > 2 else [])
        elif tag == "t":
            ip, parent = (int(x, 16) for x in rest.split())
            traces.append((ip, parent))
        elif tag == "a":
            size, trace = (int(x, 16) for x in rest.split())
            infos.append(size)
            info_fns.append(trace_fns(trace))
        elif tag == "+":
            i = int(rest, 16)
            allocs += 1
            total += infos[i]
            live += infos[i]
            peak = max(peak, live)
            last = i
            for fn in info_fns[i]:
                fn_cost[fn]["allocations"] += 1
                fn_cost[fn]["bytes"] += infos[i]
                fn_cost[fn]["leaked"] += infos[i]
        elif tag == "-":
            i = int(rest, 16)
            # heaptrack resets its "last allocation" to 0 after each free, and 0 is
            # also a valid index: a free of info 0 right after another free counts
            # as temporary. Reproduce that.
            is_temp = i == (0 if last is None else last)
            last = None
            live -= infos[i]
            temporary += is_temp
            for fn in info_fns[i]:
                fn_cost[fn]["leaked"] -= infos[i]
                fn_cost[fn]["temporary"] += is_temp
    return {"allocations": allocs, "temporary_allocations": temporary,
            "allocated_bytes": total, "peak_heap_bytes": peak, "leaked_bytes": live,
            "allocation_infos": len(infos), "traces": len(traces), "ips": len(ips),
            "strings": len(strings)}, fn_cost

def heaptrack_summary(printed, stderr):
    keys = {"total runtime": "total_runtime", "calls to allocation functions": "calls_to_allocation_functions",
            "temporary memory allocations": "temporary_memory_allocations",
            "peak heap memory consumption": "peak_heap_memory_consumption",
            "peak RSS (including heaptrack overhead)": "peak_rss",
            "total memory leaked": "total_memory_leaked", "suppressed leaks": "suppressed_leaks"}
    lines, parsed = [], {}
    for line in printed.splitlines():
        key, _, value = line.partition(": ")
        if key not in keys:
            continue
        lines.append(line)
        name = keys[key]
        if name == "total_runtime":
            parsed["total_runtime_s"] = float(value.rstrip("s."))
        elif name in ("calls_to_allocation_functions", "temporary_memory_allocations"):
            m = re.fullmatch(r"(\d+) \((\d+)/s\)", value)
            parsed[name] = int(m.group(1))
            parsed[name + "_per_s"] = int(m.group(2))
        else:
            approx, tol = heaptrack_units(value)
            parsed[name] = {"text": value, "approx_bytes": approx, "rounding_bytes": tol}
    stats = {}
    for line in stderr.splitlines():
        m = re.match(r"\s*(allocations|leaked allocations|temporary allocations):\s+(\d+)", line)
        if m:
            stats[m.group(1).replace(" ", "_")] = int(m.group(2))
    return lines, parsed, stats

versions = dict(l.split("=", 1) for l in read("versions").splitlines())
expected = {
    "generator": "scripts/make-rust-samples.sh (workload: fixtures/alloc-workload)",
    "versions": versions,
    "notes": [
        "summary_lines are the producers' own summaries, verbatim (valgrind's '==PID== ' prefix and dhat-rs's 'dhat: ' prefix removed).",
        "dhat-rs and valgrind numbers are exact bytes/blocks; the pps sums (tb, gb, eb and their block counts) equal them.",
        "heaptrack_print rounds to powers of 1000 with two decimals ('402.84K'); 'replay' holds the exact values, recomputed from the data file with heaptrack's own rules and checked against heaptrack_print's rounded text.",
        "interpret_stats is heaptrack_interpret's 'heaptrack stats' from the run's stderr; its temporary count tests the pointer, heaptrack_print's the allocation-info index (so they can differ by one).",
        "by_function sums allocations whose stack contains alloc_workload::<name> (derived from the file, not printed by the producer).",
        "workload is what the program itself prints: its designed leak sizes (cycle_leak_*, config_leak_*) match by_function.build_graph_cycle / leak_config end bytes and blocks.",
    ],
    "workload": {},
    "files": {},
}

for size in sizes:
    expected["workload"][size] = workload_line(read(f"valgrind-dhat-{size}.stdout"))
    w = expected["workload"][size]

    lines, nums = dhat_summary(read(f"dhat-rs-{size}.stderr"), r"dhat: ")
    info, by_fn = dhat_file(os.path.join(out, f"dhat-rs-{size}.json"), nums)
    expected["files"][f"dhat-rs-{size}.json"] = {
        "producer": "dhat-rs", "workload": size, "summary_lines": lines, **nums, **info, "by_function": by_fn}

    lines, nums = dhat_summary(read(f"valgrind-dhat-{size}.stderr"), r"==\d+== ")
    info, by_fn2 = dhat_file(os.path.join(out, f"valgrind-dhat-{size}.json"), nums)
    expected["files"][f"valgrind-dhat-{size}.json"] = {
        "producer": "valgrind --tool=dhat", "workload": size, "summary_lines": lines, **nums, **info,
        "by_function": by_fn2}

    for fns in (by_fn, by_fn2):
        assert fns["build_graph_cycle"]["eb"] == w["cycle_leak_bytes"], fns
        assert fns["build_graph_cycle"]["ebk"] == w["cycle_leak_blocks"], fns
        assert fns["leak_config"]["eb"] == w["config_leak_bytes"], fns
        assert fns["leak_config"]["ebk"] == w["config_leak_blocks"], fns

    path = read(f"heaptrack-{size}.file").strip()
    lines, parsed, stats = heaptrack_summary(read(f"heaptrack-{size}.print"), read(f"heaptrack-{size}.stderr"))
    replay, fn_cost = heaptrack_replay(path)
    assert replay["allocations"] == parsed["calls_to_allocation_functions"], (replay, parsed)
    assert replay["temporary_allocations"] == parsed["temporary_memory_allocations"], (replay, parsed)
    assert replay["allocations"] == stats["allocations"], (replay, stats)
    for r, p in (("peak_heap_bytes", "peak_heap_memory_consumption"), ("leaked_bytes", "total_memory_leaked")):
        if p == "total_memory_leaked" and "suppressed_leaks" in parsed:
            continue
        assert abs(replay[r] - parsed[p]["approx_bytes"]) <= parsed[p]["rounding_bytes"], (r, replay, parsed)
    assert fn_cost["build_graph_cycle"]["leaked"] == w["cycle_leak_bytes"], fn_cost
    assert fn_cost["leak_config"]["leaked"] == w["config_leak_bytes"], fn_cost
    expected["files"][os.path.basename(path)] = {
        "producer": "heaptrack", "workload": size, "summary_lines": lines, **parsed,
        "interpret_stats": stats, "replay": replay, "by_function": fn_cost}

with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, indent=2, ensure_ascii=False)
    f.write("\n")
for name, e in expected["files"].items():
    print(f"{name:28} " + " | ".join(e["summary_lines"][:3]))
PY

ls -l "$out"
