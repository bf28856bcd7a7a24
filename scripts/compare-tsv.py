#!/usr/bin/env python3
"""Compare two per-node TSV dumps by node id: retained_size and dominator_id.
usage: compare-tsv.py ORACLE.tsv CANDIDATE.tsv [--show N]
Prints the worst disagreements, then one line with the agreement rates, and a breakdown of the
disagreeing nodes by type (which tells which rule is behind them)."""
import csv, sys
from collections import Counter

args = sys.argv[1:]
show = int(args[args.index('--show') + 1]) if '--show' in args else 5
csv.field_size_limit(1 << 30)

def load(p):
    with open(p, newline='') as f:
        return {row['id']: row for row in csv.DictReader(f, delimiter='\t', quoting=csv.QUOTE_NONE)}

a, b = load(args[0]), load(args[1])
common = a.keys() & b.keys()
ret_ok = dom_ok = 0
bad = []
for k in common:
    x, y = a[k], b[k]
    r = x['retained_size'] == y['retained_size']
    d = x['dominator_id'] == y['dominator_id']
    ret_ok += r
    dom_ok += d
    if not (r and d):
        bad.append((abs(int(x['retained_size'] or 0) - int(y['retained_size'] or 0)), k, x, y))
bad.sort(reverse=True)
for _, k, x, y in bad[:show]:
    print(f"  @{k} {x['type']} {x['name'][:40]!r}: retained {x['retained_size']} vs {y['retained_size']}, "
          f"dominator @{x['dominator_id']} vs @{y['dominator_id']}")
n = max(len(common), 1)
print(f"  nodes {len(a)} vs {len(b)}; retained agree {100 * ret_ok / n:.3f}%, dominator agree {100 * dom_ok / n:.3f}%")
if bad:
    print('  disagreeing nodes by type: ' + ', '.join(f'{t} {c}' for t, c in Counter(x['type'] for _, _, x, _ in bad).most_common(6)))
sys.exit(0 if ret_ok == dom_ok == len(common) == len(a) == len(b) else 1)
