#!/usr/bin/env python3
"""Cut a V8 heap snapshot down to a small, valid one for the fuzz seeds: the first N nodes
reached breadth-first from the root (renumbered in that order, root first), the edges among
them, the strings they use, their locations; allocation traces and samples are kept.

usage: trim_snapshot.py IN.heapsnapshot OUT.heapsnapshot [N]
"""
import json
import sys
from collections import deque


def main():
    src, dst = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    d = json.load(open(src))
    meta = d["snapshot"]["meta"]
    nf, ef = meta["node_fields"], meta["edge_fields"]
    NF, EF = len(nf), len(ef)
    f_ec, f_name = nf.index("edge_count"), nf.index("name")
    e_type, e_name, e_to = ef.index("type"), ef.index("name_or_index"), ef.index("to_node")
    edge_types = meta["edge_types"][0]
    numeric = {edge_types.index(t) for t in ("element", "hidden") if t in edge_types}
    nodes, edges = d["nodes"], d["edges"]
    count = len(nodes) // NF
    first = [0] * (count + 1)
    for i in range(count):
        first[i + 1] = first[i] + nodes[i * NF + f_ec] * EF
    root = d["snapshot"].get("root_index", 0) // NF

    order, seen, queue = [], {root}, deque([root])
    while queue and len(order) < limit:
        n = queue.popleft()
        order.append(n)
        for e in range(first[n], first[n + 1], EF):
            to = edges[e + e_to] // NF
            if to not in seen:
                seen.add(to)
                queue.append(to)
    new_ix = {old: i for i, old in enumerate(order)}

    strings, remap = [], {}

    def s(i):
        if i not in remap:
            remap[i] = len(strings)
            strings.append(d["strings"][i])
        return remap[i]

    s(0)
    out_nodes, out_edges = [], []
    for old in order:
        row = nodes[old * NF:(old + 1) * NF]
        kept = []
        for e in range(first[old], first[old + 1], EF):
            er = edges[e:e + EF]
            to = er[e_to] // NF
            if to in new_ix:
                er = list(er)
                er[e_to] = new_ix[to] * NF
                if er[e_type] not in numeric:
                    er[e_name] = s(er[e_name])
                kept.append(er)
        row = list(row)
        row[f_name] = s(row[f_name])
        row[f_ec] = len(kept)
        out_nodes += row
        for er in kept:
            out_edges += er
    snap = dict(d["snapshot"])
    snap["node_count"] = len(order)
    snap["edge_count"] = len(out_edges) // EF
    snap["root_index"] = 0
    out = {"snapshot": snap, "nodes": out_nodes, "edges": out_edges}
    fi_fields = meta.get("trace_function_info_fields", [])
    fis = list(d.get("trace_function_infos", []))
    for name in ("name", "script_name"):
        if name in fi_fields:
            k = fi_fields.index(name)
            for i in range(k, len(fis), len(fi_fields)):
                fis[i] = s(fis[i])
    out["trace_function_infos"] = fis
    out["trace_tree"] = d.get("trace_tree", [])
    out["samples"] = d.get("samples", [])
    lf = meta.get("location_fields", [])
    locs = d.get("locations", [])
    out_locs = []
    if lf:
        k = lf.index("object_index")
        for i in range(0, len(locs), len(lf)):
            row = list(locs[i:i + len(lf)])
            if row[k] // NF in new_ix:
                row[k] = new_ix[row[k] // NF] * NF
                out_locs += row
    out["locations"] = out_locs
    for extra in ("scopes", "scope_context_vars", "scope_uses"):
        if extra in d:
            out[extra] = d[extra][:20]
    out["strings"] = strings
    with open(dst, "w") as f:
        json.dump(out, f, separators=(",", ":"))


main()
