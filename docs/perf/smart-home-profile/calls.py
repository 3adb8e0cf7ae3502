#!/usr/bin/env python3
# usage: calls.py FILE [regex...]  -> per callee: total calls, inclusive Ir (summed over call sites, self-recursion excluded)
import re, sys, collections
names = {}
def nm(s):
    m = re.match(r'\((\d+)\)(?: (.*))?', s)
    if not m: return s
    if m.group(2): names[m.group(1)] = m.group(2)
    return names.get(m.group(1), s)
calls = collections.Counter(); incl = collections.Counter()
cur = None; cfn = None; pending = None
with open(sys.argv[1], errors='replace') as f:
    for line in f:
        if line.startswith('fn='): cur = nm(line[3:].strip())
        elif line.startswith('cfn='): cfn = nm(line[4:].strip())
        elif line.startswith('calls='):
            pending = int(line.split()[0][6:])
        elif pending is not None:
            parts = line.split()
            if cfn != cur:
                calls[cfn] += pending
                incl[cfn] += int(parts[1]) if len(parts) > 1 else 0
            pending = None
pats = [re.compile(p) for p in sys.argv[2:]]
rows = [(incl[k], calls[k], k) for k in calls if not pats or any(p.search(k) for p in pats)]
for i, c, k in sorted(rows, reverse=True)[:int(__import__('os').environ.get('TOP', '60'))]:
    print(f"{i:>14,} {c:>10,} {k[:200]}")
