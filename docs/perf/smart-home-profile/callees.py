#!/usr/bin/env python3
# usage: callees.py FILE REGEX -> self cost and callees (calls, inclusive) of functions matching REGEX
import re, sys, collections
names = {}
def nm(s):
    m = re.match(r'\((\d+)\)(?: (.*))?', s)
    if not m: return s
    if m.group(2): names[m.group(1)] = m.group(2)
    return names.get(m.group(1), s)
pat = re.compile(sys.argv[2]); agg = collections.Counter(); inc = collections.Counter(); selfc = 0
cur = cfn = None; pending = None
for line in open(sys.argv[1], errors='replace'):
    if line.startswith('fn='): cur = nm(line[3:].strip())
    elif line.startswith('cfn='): cfn = nm(line[4:].strip())
    elif line.startswith('calls='): pending = int(line.split()[0][6:]); continue
    elif line[:1].isdigit() or line[:1] in '+-*':
        p = line.split()
        if pending is not None:
            if cur and pat.search(cur) and cfn != cur: agg[cfn[:150]] += pending; inc[cfn[:150]] += int(p[1])
            pending = None
        elif cur and pat.search(cur) and len(p) > 1: selfc += int(p[1])
print(f"self {selfc:,}")
for k, v in sorted(inc.items(), key=lambda x: -x[1])[:int(__import__('os').environ.get('TOP','20'))]: print(f"{agg[k]:>9,} {v:>12,}  {k}")
