#!/usr/bin/env python3
# usage: callers.py FILE REGEX -> callers of matching callees: calls, inclusive
import re, sys, collections
names = {}
def nm(s):
    m = re.match(r'\((\d+)\)(?: (.*))?', s)
    if not m: return s
    if m.group(2): names[m.group(1)] = m.group(2)
    return names.get(m.group(1), s)
pat = re.compile(sys.argv[2]); agg = collections.Counter(); inc = collections.Counter()
cur = cfn = None; pending = None
for line in open(sys.argv[1], errors='replace'):
    if line.startswith('fn='): cur = nm(line[3:].strip())
    elif line.startswith('cfn='): cfn = nm(line[4:].strip())
    elif line.startswith('calls='): pending = int(line.split()[0][6:])
    elif pending is not None:
        if pat.search(cfn) and cfn != cur:
            agg[(cfn[:60], cur[:150])] += pending; inc[(cfn[:60], cur[:150])] += int(line.split()[1])
        pending = None
for k, v in agg.most_common(15): print(f"{v:>9,} {inc[k]:>12,}  {k[0]}  <=  {k[1]}")
