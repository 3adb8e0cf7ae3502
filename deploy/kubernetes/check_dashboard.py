#!/usr/bin/env python3
"""Checks the sharded-run Grafana dashboard: valid JSON, every panel has queries,
latency quantiles are taken over histogram buckets summed across shards (never an
average of quantiles), counters are rated and summed, every query is restricted to the
chosen scenario and run, and a panel shows shards out of step.

    python3 deploy/kubernetes/check_dashboard.py DASHBOARD.json [--rules OUT.yml]

With --rules, also writes every query as a recording rule (Grafana's variables
replaced) so that `promtool check rules OUT.yml` checks their PromQL syntax.
"""
import json
import re
import sys


def queries(dashboard):
    for panel in dashboard["panels"]:
        targets = panel.get("targets") or []
        if not targets:
            yield panel["title"], None
        for t in targets:
            yield panel["title"], t.get("expr")


def problems(dashboard):
    out = []
    out_of_step = False
    for title, expr in queries(dashboard):
        if not expr:
            out.append(f"{title}: no query")
            continue
        if 'scenario=~"$scenario"' not in expr or 'run=~"$run"' not in expr:
            out.append(f"{title}: `{expr}` is not restricted to $scenario and $run")
        for m in re.finditer(r"histogram_quantile\(\s*[0-9.]+\s*,\s*(\w+)", expr):
            if m.group(1) != "sum" or not re.search(r"sum by \([^)]*\ble\b[^)]*\) \(rate\(\w+_bucket", expr):
                out.append(f"{title}: quantile not over buckets summed across shards: `{expr}`")
        if re.search(r"avg[^(]*\(\s*histogram_quantile", expr):
            out.append(f"{title}: averages quantiles: `{expr}`")
        for m in re.finditer(r"rate\((\w+)", expr):
            if m.group(1).endswith("_total") and not re.search(r"sum(\s*by\s*\([^)]*\))?\s*\(rate\(" + m.group(1), expr):
                out.append(f"{title}: rate of {m.group(1)} not summed: `{expr}`")
        if "max by" in expr and "min by" in expr and "gauntlet_run_elapsed_seconds" in expr:
            out_of_step = True
    if not out_of_step:
        out.append("no panel shows shards out of step (spread of gauntlet_run_elapsed_seconds)")
    return out


def rules(dashboard):
    lines = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for i, (_, expr) in enumerate(queries(dashboard)):
        if not expr:
            continue
        e = expr.replace("$__rate_interval", "1m")
        e = re.sub(r"\$\w+", ".*", e)
        lines.append(f"      - record: dashboard:query:{i}")
        lines.append(f"        expr: {json.dumps(e)}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        dashboard = json.load(f)
    found = problems(dashboard)
    for p in found:
        print(f"check_dashboard: {argv[1]}: {p}", file=sys.stderr)
    if "--rules" in argv:
        with open(argv[argv.index("--rules") + 1], "w") as f:
            f.write(rules(dashboard))
    if found:
        return 1
    n = sum(1 for _ in queries(dashboard))
    print(f"check_dashboard: {argv[1]}: {n} queries ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
