#!/usr/bin/env python3
"""Asserts, through a live Prometheus's HTTP API, that gauntlet's metrics, dashboard
and alert rules work together. Called by check.sh while a run is being scraped.

    check.py PROMETHEUS_URL DASHBOARD_JSON SCENARIO

Checks (each failure is printed; the exit code is 1 if any failed):
- the expected gauntlet series exist for SCENARIO (/api/v1/series);
- the dashboard's variable queries (label_values) find values;
- every panel query of the dashboard, with its variables substituted, evaluates
  without error and returns data (/api/v1/query);
- every alert rule Prometheus loaded (/api/v1/rules) evaluates without error, its
  condition returns data once made a 0/1 signal (`A > 1` becomes `A > bool 1`, so a
  rule that is not firing still shows that its inputs exist), and Prometheus's own
  evaluation of the rule is healthy;
- the annotation queries are conditions too and are checked like alert rules; the
  fault-window query can only have data when the run injected faults, so for a run
  without any it is checked for errors only (and says so).

Only the Python standard library is used.
"""

import json
import re
import sys
import urllib.parse
import urllib.request

EXPECTED_SERIES = [
    "gauntlet_run_info", "gauntlet_run_elapsed_seconds", "gauntlet_run_warmup",
    "gauntlet_ops_total", "gauntlet_op_latency_seconds_bucket",
    "gauntlet_op_latency_seconds_count", "gauntlet_op_service_time_seconds_bucket",
    "gauntlet_achieved_ops_per_second", "gauntlet_offered_ops_per_second",
    "gauntlet_dropped_iterations_total", "gauntlet_ops_in_flight",
    "gauntlet_process_resident_memory_bytes", "gauntlet_process_cpu_seconds_total",
    "gauntlet_process_threads", "gauntlet_tasks_alive", "gauntlet_runtime_global_queue_depth",
    "gauntlet_runtime_busy_ratio", "gauntlet_scheduling_lag_max_seconds",
    "gauntlet_actors_alive", "gauntlet_mailbox_depth_messages", "gauntlet_messages_sent_total",
    "gauntlet_messages_total", "gauntlet_actor_restarts_total",
    "gauntlet_actor_activations_total", "gauntlet_actor_passivations_total",
    "gauntlet_actor_hibernations_total", "gauntlet_actors_hibernating",
    "gauntlet_deadlocks_total", "gauntlet_runtime_stalls_total",
    "gauntlet_watchdog_stalls_total", "gauntlet_watchdog_stalled",
    "gauntlet_circuit_breaker_state", "gauntlet_circuit_breaker_transitions_total",
    "gauntlet_circuit_breaker_rejections_total", "gauntlet_faults_active",
]

# Series that exist only once a fault of some kind has been injected.
FAULT_ONLY = "gauntlet_fault_active"

RATE_INTERVAL = "15s"

failures = []


def fail(what):
    failures.append(what)
    print(f"FAIL {what}")


def api(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    return body


def query(base, expr):
    """Evaluates expr now; returns (error or None, number of series)."""
    r = api(base, "/api/v1/query", query=expr)
    if r.get("status") != "success":
        return f"{r.get('errorType')}: {r.get('error')}", 0
    return None, len(r["data"]["result"])


def top_level_comparison(expr):
    """Index and length of the last comparison operator outside (), {}, [] and strings."""
    depth, quote, found, i = 0, None, None, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            two = expr[i:i + 2]
            if two in ("==", "!=", ">=", "<="):
                found = (i, 2)
                i += 1
            elif c in "<>":
                found = (i, 1)
        i += 1
    return found


def as_signal(expr):
    """`A op B` -> `A op bool B`: a 0/1 series wherever A has data."""
    found = top_level_comparison(expr)
    if not found:
        return expr
    i, n = found
    rest = expr[i + n:].lstrip()
    if rest.startswith("bool"):
        return expr
    return f"{expr[:i + n]} bool {rest}"


def substitute(expr, scenario, ops):
    return (expr.replace("$__rate_interval", RATE_INTERVAL)
                .replace("${scenario}", scenario).replace("$scenario", scenario)
                .replace("${op}", ops).replace("$op", ops))


def check_condition(base, name, expr, data_expected=True):
    err, _ = query(base, expr)
    if err:
        fail(f"{name}: {expr}: {err}")
        return
    signal = as_signal(expr)
    err, n = query(base, signal)
    if err:
        fail(f"{name}: {signal}: {err}")
    elif n == 0 and data_expected:
        fail(f"{name}: no data for {signal}")
    else:
        note = "" if data_expected else " (no data expected: the run injected no faults)"
        print(f"ok   {name}: {n} series{note}")


def main():
    base, dashboard_file, scenario = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    dashboard = json.load(open(dashboard_file))

    # 1. Expected series.
    for name in EXPECTED_SERIES:
        r = api(base, "/api/v1/series", **{"match[]": f'{name}{{scenario="{scenario}"}}'})
        if r.get("status") != "success" or not r["data"]:
            fail(f"series {name}{{scenario=\"{scenario}\"}} missing")
    print(f"ok   {len(EXPECTED_SERIES)} expected series families checked")

    # 2. Variables.
    ops = None
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
        if not m:
            fail(f"variable {var['name']}: unsupported query {q}")
            continue
        selector = substitute(m.group(1), scenario, ops or ".*")
        r = api(base, "/api/v1/series", **{"match[]": selector})
        values = sorted({s.get(m.group(2)) for s in r.get("data", [])} - {None})
        if r.get("status") != "success" or not values:
            fail(f"variable {var['name']}: {q} finds no values")
            continue
        if var["name"] == "scenario" and scenario not in values:
            fail(f"variable scenario: {scenario} not among {values}")
        if var["name"] == "op":
            ops = "|".join(values)
        print(f"ok   variable {var['name']}: {values}")
    ops = ops or ".*"

    # 3. Panels.
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    for row in dashboard["panels"]:
        panels += row.get("panels", [])
    count = 0
    for p in panels:
        for t in p.get("targets", []):
            expr = substitute(t["expr"], scenario, ops)
            err, n = query(base, expr)
            count += 1
            if err:
                fail(f"panel '{p['title']}' {t['refId']}: {expr}: {err}")
            elif n == 0:
                fail(f"panel '{p['title']}' {t['refId']}: no data for {expr}")
            else:
                print(f"ok   panel '{p['title']}' {t['refId']}: {n} series")
    if count == 0:
        fail("the dashboard has no panel queries")

    # 4. Annotations.
    err, faults = query(base, f'max_over_time(gauntlet_faults_active{{scenario="{scenario}"}}[1h]) > 0')
    injected = not err and faults > 0
    for a in dashboard["annotations"]["list"]:
        if "expr" not in a:
            continue
        expr = substitute(a["expr"], scenario, ops)
        check_condition(base, f"annotation '{a['name']}'", expr,
                        data_expected=injected or FAULT_ONLY not in expr)

    # 5. Alert rules, as Prometheus loaded them.
    r = api(base, "/api/v1/rules", type="alert")
    rules = [rule for g in r.get("data", {}).get("groups", []) for rule in g["rules"]]
    if not rules:
        fail("Prometheus loaded no alert rules")
    for rule in rules:
        check_condition(base, f"alert {rule['name']}", rule["query"])
        if rule.get("health") != "ok":
            fail(f"alert {rule['name']}: Prometheus reports health {rule.get('health')}: {rule.get('lastError')}")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
