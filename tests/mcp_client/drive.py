"""Drive `heapsight mcp` through the official MCP Python SDK over stdio, as an agent would.

Usage: python drive.py HEAPSIGHT_BINARY REPO_DIR WORK_DIR

Lists the tools, opens every kind of bundled sample (a Node leak trio, Chromium snapshots, a
WebAssembly/tensor series, a Rust DHAT dump, a V8 heap timeline), calls every tool, and checks
that each result fits the stated bound, that verdicts and tables equal the CLI's, that paging
with the cursor reaches the end, that bad paths, bad files and bad arguments come back as tool
errors with the CLI's message, and that a long load reports progress and can be cancelled.
Prints one line per check; exits 1 when any failed.
"""

import json
import os
import re
import subprocess
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

MAX_BYTES = 16384
EXACT = re.compile(r" \(\d+ B\)")
SIZE = re.compile(r"(\d+(?:\.\d+)?) (KiB|MiB|GiB|TiB)( \((\d+) B\))?")
BIN, REPO, WORK = sys.argv[1], os.path.realpath(sys.argv[2]), os.path.realpath(sys.argv[3])
SAMPLES = os.path.join(REPO, "sample-snapshots")
ENV = {"HEAPSIGHT_CACHE_DIR": os.path.join(WORK, "cache")}

failures = []
called = set()


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def sample(path):
    return os.path.join(SAMPLES, path)


def cli(*args):
    """The CLI's exit code, stdout and stderr (same cache folder as the server)."""
    r = subprocess.run(
        [BIN, *args], capture_output=True, text=True, env={**os.environ, **ENV}, cwd=REPO
    )
    return r.returncode, r.stdout, r.stderr


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(session, name, args, expect_error=False):
    result = await session.call_tool(name, args)
    text = text_of(result)
    called.add(name)
    size = len(text.encode("utf-8"))
    check(size <= MAX_BYTES, f"{name} {json.dumps(args)[:80]}: {size} bytes <= {MAX_BYTES}")
    check(
        bool(result.is_error) == expect_error,
        f"{name}: {'an error' if expect_error else 'no error'} as expected"
        + ("" if bool(result.is_error) == expect_error else f" (got: {text[:300]})"),
    )
    return text


def body(text):
    """A page's lines without the paging footer."""
    return [l for l in text.splitlines() if not l.startswith("… more: lines ")]


def plain(line):
    """A line without the exact byte counts the server adds after rounded sizes ("1.50 KiB
    (1536 B)"), its spacing collapsed (the longer sizes shift the CLI's column padding)."""
    return " ".join(EXACT.sub("", line).split())


def same_as_cli(name, text, *cli_args):
    """The tool's first page equals the start of the CLI's output, line for line (sizes
    compared as rounded, the exact counts checked to be there)."""
    code, out, err = cli(*cli_args)
    mine, theirs = [plain(l) for l in body(text)], [plain(l) for l in out.splitlines()]
    sizes = re.sub(r"\d+ bytes \([^)]*\)", "", text)  # "445272 bytes (435 KiB)" is exact already
    missing = [m.group(0) for m in SIZE.finditer(sizes) if m.group(3) is None]
    check(not missing, f"{name}: every rounded size has its exact bytes beside it (not: {missing[:3]})")
    paged = len(mine) < len(text.splitlines())
    expected = theirs[: len(mine)] if paged else theirs
    ok = mine == expected
    if not ok:
        diff = next((i for i, (a, b) in enumerate(zip(mine, expected)) if a != b), None)
        detail = f" first difference at line {diff}: {mine[diff]!r} vs {expected[diff]!r}" if diff is not None else f" {len(mine)} vs {len(expected)} lines; cli stderr {err[:200]!r}"
        check(False, f"{name} equals `heapsight {' '.join(cli_args[:2])}`:" + detail)
    else:
        check(True, f"{name} equals `heapsight {' '.join(a if not a.startswith('/') else os.path.basename(a) for a in cli_args)}` ({len(mine)} lines)")
    return out


def doc_id(text):
    m = re.match(r"(?:already open as )?(#\d+)", text)
    return m.group(1) if m else None


def verdict_line(text):
    return next((l for l in text.splitlines() if l.startswith(("✅", "❌"))), None)


def make_big_snapshot(path, n):
    """A valid V8 heap snapshot of `n` objects under the root, big enough to load slowly."""
    meta = {
        "node_fields": ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
        "node_types": [["hidden", "array", "string", "object", "code", "closure", "regexp", "number",
                        "native", "synthetic", "concatenated string", "sliced string", "symbol",
                        "bigint", "object shape", "wasm object"],
                       "string", "number", "number", "number", "number", "number"],
        "edge_fields": ["type", "name_or_index", "to_node"],
        "edge_types": [["context", "element", "property", "internal", "hidden", "shortcut", "weak"],
                       "string_or_number", "node"],
    }
    with open(path, "w") as f:
        f.write(json.dumps({"snapshot": {"meta": meta, "node_count": n + 1, "edge_count": n}})[:-1])
        f.write(',"nodes":[9,0,1,0,%d,0,0' % n)
        for i in range(n):
            f.write(",3,1,%d,32,0,0,0" % (2 * i + 3))
        f.write('],"edges":[')
        f.write(",".join("1,%d,%d" % (i, 7 * (i + 1)) for i in range(n)))
        f.write('],"strings":["(root)","Item"]}')


def server_cpu_seconds():
    """CPU time used so far by the `heapsight` child of this process (Linux /proc), or None."""
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, rest = stat[: stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if rest[1] == me and "heapsight" in name:
            return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    return None


async def main():
    os.makedirs(WORK, exist_ok=True)
    params = StdioServerParameters(command=BIN, args=["mcp"], env=ENV, cwd=REPO)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await tools_listed(session)
            await node_trio(session)
            await chromium(session)
            await wasm_series(session)
            await rust_dump(session)
            await timeline(session)
            await paging(session)
            await bad_input(session)
            await anonymized(session)
            await cancellation(session)
            expected = {t.name for t in (await session.list_tools()).tools}
            check(called >= expected, f"every tool called (missing: {sorted(expected - called)})")
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


async def tools_listed(session):
    tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    want = {"open", "list", "close", "summary", "dominators", "node", "retainers", "search",
            "detached", "memory", "diff", "leaks", "trend", "allocations", "calltree", "investigate",
            "anonymize"}
    check(want <= names, f"tools listed: {sorted(names)}")
    check(all(str(MAX_BYTES) in (t.description or "") for t in tools), "every description states the bound")
    check(all("cursor" in t.input_schema.get("properties", {}) for t in tools), "every tool takes a cursor")


async def node_trio(session):
    files = [sample(f"node-leak/{n}.heapsnapshot") for n in ("baseline", "target", "final")]
    texts = [await call(session, "open", {"path": f}) for f in files]
    ids = [doc_id(t) for t in texts]
    check(all(ids), f"node trio opened as {ids}")
    check(files[1] in texts[1] and "Total " in texts[1] and "Worth a look" in texts[1], "overview names the resolved path, totals and findings")
    b, t, f = ids
    again = await call(session, "open", {"path": os.path.relpath(files[1], REPO)})
    check(again.startswith(f"already open as {t}"), "a relative path resolves to the open document")
    listing = await call(session, "list", {})
    check(all(i in listing for i in ids), "list shows the trio")
    leaks = await call(session, "leaks", {"baseline": b, "target": t, "final": f})
    verdict = verdict_line(leaks)
    report = "\n".join(l for l in leaks.splitlines()[:-2])
    gate = ["leaks", "--baseline", files[0], "--target", files[1], "--final", files[2], "--fail-on-leak", "--no-ignore-file"]
    same_as_cli("leaks", report, *gate)
    code, _, err = cli(*gate)
    check(verdict is not None and verdict.startswith("❌") == (code == 1), f"leaks ends with the gate's verdict, as the CLI's exit code {code}: {verdict}")
    diff = await call(session, "diff", {"before": b, "after": f})
    same_as_cli("diff", diff, "diff", files[0], files[2])
    summary = await call(session, "summary", {"doc": t})
    same_as_cli("summary", summary, "summary", files[1])
    dom = await call(session, "dominators", {"doc": t})
    same_as_cli("dominators", dom, "dominators", files[1])
    node = re.search(r"@(\d+)", leaks) or re.search(r"@(\d+)", dom.splitlines()[3])
    nid = "@" + node.group(1)
    same_as_cli("node", await call(session, "node", {"doc": f, "node": nid}), "node", files[2], nid)
    same_as_cli("retainers", await call(session, "retainers", {"doc": f, "node": nid, "paths": 2}), "retainers", files[2], nid, "--paths", "2")
    sub = await call(session, "dominators", {"doc": f, "node": nid, "depth": 2})
    check(nid in sub.splitlines()[0], "dominators below a node start at it")
    found = await call(session, "search", {"doc": t, "query": "CacheEntry"})
    check("CacheEntry" in found and "class(es) match" in found, "search finds a class by name")
    inv = await call(session, "investigate", {"docs": ids})
    check("leak:" in inv and "path:" in inv and "bytes (" in inv, "investigate ranks leak clusters with their evidence")
    shares = [float(m) for m in re.findall(r"^\d+\. ([\d.]+)%", inv, re.M)]
    check(shares == sorted(shares, reverse=True) and shares, f"investigate ranks by share ({shares[:5]})")
    closed = await call(session, "close", {"doc": b})
    check(closed.startswith(f"closed {b}"), "close frees a document")
    err = await call(session, "summary", {"doc": b}, expect_error=True)
    check("no open document" in err, "a closed document is gone")
    reopened = await call(session, "open", {"path": files[0]})
    check("index cache hit" in reopened, "reopening reads the index cache")


async def chromium(session):
    path = sample("browser-detached/target.heapsnapshot")
    d = doc_id(await call(session, "open", {"path": path}))
    det = await call(session, "detached", {"doc": d})
    same_as_cli("detached", det, "detached", path)
    inv = await call(session, "investigate", {"docs": [d]})
    check("detached DOM tree" in inv, "investigate reports detached DOM trees")


async def wasm_series(session):
    files = [sample(f"browser-wasm/step{i}.heapsnapshot") for i in (1, 2, 3)]
    ids = [doc_id(await call(session, "open", {"path": p})) for p in files]
    mem = await call(session, "memory", {"doc": ids[2]})
    same_as_cli("memory", mem, "memory", files[2])
    check("WebAssembly" in mem, "memory shows the WebAssembly memory")
    trend = await call(session, "trend", {"docs": ids})
    same_as_cli("trend", trend, "trend", *files, "--fail-on-growth", "--no-ignore-file")
    inv = await call(session, "investigate", {"docs": ids})
    check("WebAssembly.Memory" in inv, "investigate reports the WebAssembly memory")


async def rust_dump(session):
    path = sample("rust/dhat-rs-small.json")
    d = doc_id(await call(session, "open", {"path": path}))
    same_as_cli("summary (DHAT)", await call(session, "summary", {"doc": d}), "summary", path)
    same_as_cli("calltree", await call(session, "calltree", {"doc": d}), "calltree", path)
    same_as_cli("calltree bottom-up", await call(session, "calltree", {"doc": d, "bottom_up": True, "sort": "end_bytes"}), "calltree", path, "--bottom-up", "--sort", "end_bytes")
    inv = await call(session, "investigate", {"docs": [d]})
    check("at the peak" in inv, "investigate ranks allocation sites")
    err = await call(session, "dominators", {"doc": d}, expect_error=True)
    check("allocation profile" in err, "snapshot tools refuse allocation profiles with a reason")


async def timeline(session):
    path = sample("node-timeline/alloc.heaptimeline")
    d = doc_id(await call(session, "open", {"path": path}))
    same_as_cli("allocations", await call(session, "allocations", {"doc": d}), "allocations", path)


async def paging(session):
    path = sample("node-leak/target.heapsnapshot")
    d = doc_id(await call(session, "open", {"path": path}))
    _, out, _ = cli("dominators", path, "--depth", "6", "--top", "20")
    pages, cursor = [], 0
    while True:
        args = {"doc": d, "depth": 6, "top": 20}
        if cursor:
            args["cursor"] = cursor
        text = await call(session, "dominators", args)
        pages.append(text)
        m = re.search(r'"cursor": (\d+)', text.splitlines()[-1])
        if not m:
            break
        cursor = int(m.group(1))
    check(len(pages) > 1, f"a large result is paged ({len(pages)} pages)")
    lines = [plain(l) for p in pages for l in body(p)]
    check(lines == [plain(l) for l in out.splitlines()], f"the pages add up to the CLI's output ({len(lines)} lines)")


async def anonymized(session):
    original = sample("node-server-leak/target.heapsnapshot")
    if not os.path.exists(original):
        original = sample("node-leak/target.heapsnapshot")
    copy = os.path.join(WORK, "shared.heapsnapshot")
    done = await call(session, "anonymize", {"input": original, "output": copy, "keep": ["RequestContext"]})
    check(copy in done and "replaced" in done, f"anonymize names what it wrote ({done!r})")
    c = doc_id(await call(session, "open", {"path": copy}))
    o = doc_id(await call(session, "open", {"path": original}))
    names = (os.path.basename(original), os.path.basename(copy))
    strip = lambda t: [l for l in t.splitlines() if not any(n in l for n in names)]
    same = strip(await call(session, "summary", {"doc": c})) == strip(await call(session, "summary", {"doc": o}))
    check(same, "the anonymized copy has the original's summary")
    err = await call(session, "anonymize", {"input": original, "output": original}, expect_error=True)
    check("heapsight:" in err, f"anonymize never writes over its input ({err!r})")
    await call(session, "close", {"doc": c})


async def bad_input(session):
    missing = os.path.join(WORK, "no-such.heapsnapshot")
    err = await call(session, "open", {"path": missing}, expect_error=True)
    _, _, cli_err = cli("summary", missing)
    check(err == cli_err.strip(), f"a missing file: the CLI's message ({err!r})")
    bad = os.path.join(WORK, "bad.heapsnapshot")
    with open(bad, "w") as f:
        f.write('{"snapshot": {"meta": 12')
    err = await call(session, "open", {"path": bad}, expect_error=True)
    _, _, cli_err = cli("summary", bad)
    check(err == cli_err.strip(), f"a malformed file: the CLI's message ({err!r})")
    for not_heap in (os.path.join(REPO, "README.md"), SAMPLES):
        err = await call(session, "open", {"path": not_heap}, expect_error=True)
        _, _, cli_err = cli("summary", not_heap)
        check(err == cli_err.strip(), f"not a heap file: the CLI's message ({err!r})")
    d = doc_id(await call(session, "open", {"path": sample("node-leak/final.heapsnapshot")}))
    err = await call(session, "node", {"doc": d, "node": "@nope"}, expect_error=True)
    _, _, cli_err = cli("node", sample("node-leak/final.heapsnapshot"), "@nope")
    check(err == cli_err.strip(), f"a bad node id: the CLI's message ({err!r})")
    err = await call(session, "summary", {"doc": 7}, expect_error=True)
    check("invalid arguments" in err, "wrong argument types are an error")
    err = await call(session, "calltree", {"doc": d}, expect_error=True)
    check("allocation profile" in err, "calltree on a snapshot says why not")
    try:
        r = await session.call_tool("no_such_tool", {})
        check(bool(r.is_error), "an unknown tool is an error")
    except Exception as e:  # the SDK raises on protocol errors
        check("no_such_tool" in str(e), f"an unknown tool is an MCP error ({e})")
    listing = await call(session, "list", {})
    check("#" in listing, "the server still serves after bad input")


async def cancellation(session):
    big = os.path.join(WORK, "big.heapsnapshot")
    if not os.path.exists(big):
        make_big_snapshot(big, 1_500_000)
    messages = []
    got_progress = anyio.Event()

    async def on_progress(progress, total, message):
        messages.append((progress, message))
        # Cancel while the file is being read, not before it starts.
        if message and not message.startswith("index cache"):
            got_progress.set()

    scope = anyio.CancelScope()

    async def load():
        with scope:
            await session.call_tool("open", {"path": big}, progress_callback=on_progress)

    async with anyio.create_task_group() as tg:
        tg.start_soon(load)
        with anyio.move_on_after(120):
            await got_progress.wait()
        scope.cancel()
    check(got_progress.is_set(), f"a long load reports progress while reading ({messages[:3]})")
    progress = [p for p, _ in messages]
    check(progress == sorted(progress), "progress only grows")
    await anyio.sleep(0.5)
    before = server_cpu_seconds()
    await anyio.sleep(1.5)
    after = server_cpu_seconds()
    if before is not None and after is not None:
        check(after - before < 0.5, f"the cancelled load stopped ({after - before:.2f} s of CPU in 1.5 s after)")
    with anyio.fail_after(30):
        listing = await call(session, "list", {})
    check("big.heapsnapshot" not in listing, "a cancelled load leaves nothing open, and the server still answers")


anyio.run(main)
