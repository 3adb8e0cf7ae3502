#!/usr/bin/env bash
# The open-loop path into the device runtime over target workers (issue 16).
#
# Sweeps scenarios/capacity-smart-home.toml with the target runtime's worker_threads
# set to each of $WORKERS, with Zipf hot keys (as shipped) and with uniform keys, and
# prints per sweep: the highest telemetry rate that met the SLO, the most achieved at
# any level, and per level whether the *generator* kept up (busiest load thread's busy
# ratio, starved loads, from the timeline's `generator` figures). Needs a machine with
# more cores than the largest worker count plus $LOAD_THREADS (16 cores: 12 + 4).
#
#   cargo build --release
#   bash docs/perf/smart-home-workers.sh                 # workers 2 6 12, 4 load threads
#   WORKERS="2 6 12" LOAD_THREADS=4 KEYS="zipf uniform" \
#     STEPS="40000..2560000*2" STEP_DURATION=3s bash docs/perf/smart-home-workers.sh
#
# Reading it: if uniform keys scale with workers and Zipf keys do not, the serial part
# is the hottest device actor (with s = 1.1 over 10,000 devices, rank 1 gets 15.1% of
# all readings, and one actor handles its messages one at a time), not the runtime's
# entry; if neither scales while the generator's busy ratio stays below 1 and no load
# is starved, the serial part is in the `tell` path itself (see docs/perf/generator.md).
set -euo pipefail

BIN=${BIN:-target/release/gauntlet}
WORKERS=${WORKERS:-"2 6 12"}
LOAD_THREADS=${LOAD_THREADS:-4}
KEYS=${KEYS:-"zipf uniform"}
STEPS=${STEPS:-"40000..2560000*2"}
STEP_DURATION=${STEP_DURATION:-3s}
OUT=${OUT:-out/smart-home-workers}
SCENARIO=scenarios/capacity-smart-home.toml

[ -x "$BIN" ] || { echo "build first: cargo build --release ($BIN missing)" >&2; exit 2; }
mkdir -p "$OUT"
echo "machine: $(nproc) cores; $("$BIN" --version 2>/dev/null || echo gauntlet)"

for keys in $KEYS; do
  for w in $WORKERS; do
    name="$keys-w$w"
    variant="$OUT/$name.toml"
    sed -e "s/^worker_threads = .*/worker_threads = $w/" \
        -e "s/^load_threads = .*/load_threads = $LOAD_THREADS/" \
        -e "s/^key_distribution = .*/key_distribution = \"$keys\"/" \
        -e "0,/^name = .*/s//name = \"capacity-smart-home-$name\"/" \
        "$SCENARIO" > "$variant"
    [ "$keys" = zipf ] || sed -i "/^zipf_exponent = /d" "$variant"
    echo "== $name: worker_threads=$w load_threads=$LOAD_THREADS keys=$keys"
    "$BIN" capacity "$variant" --steps "$STEPS" --step-duration "$STEP_DURATION" \
      --out "$OUT/$name" > "$OUT/$name.log" 2>&1 || true
    [ -f "$OUT/$name/capacity.json" ] || { tail -5 "$OUT/$name.log"; continue; }
    python3 - "$OUT/$name" <<'PY'
import json, os, sys
d = sys.argv[1]
cap = json.load(open(os.path.join(d, "capacity.json")))
best_ok = max((l["offered"] for l in cap["levels"] if l["passed"]), default=None)
most = max((l["throughput_per_s"] for l in cap["levels"]), default=0.0)
print(f"  best rate within the SLO: {best_ok}  most achieved: {most:,.0f}/s  stop: {cap['stop']['reason']}")
for l in cap["levels"]:
    busy, starved = None, {}
    if l.get("results"):
        r = json.load(open(os.path.join(d, l["results"])))
        for t in r["timeline"]:
            g = t.get("generator")
            if g and not t["warmup"]:
                if g.get("busy_ratio") is not None:
                    busy = max(busy or 0.0, g["busy_ratio"])
        starved = {x["name"]: x.get("starved_ticks", 0) for x in r["loads"]}
        done = {x["name"]: x["completed"] for x in r["loads"]}
    tel = next((o for o in l["ops"] if o["op"] == "telemetry"), None)
    p99 = tel["latency"]["p99_ns"] / 1e6 if tel and tel["latency"].get("p99_ns") else None
    print(f"  offered {l['offered']:>10,.0f}  achieved {l['throughput_per_s']:>10,.0f}/s"
          f"  p99 {p99 if p99 is None else round(p99, 2)} ms  passed {l['passed']}"
          f"  dropped {l['dropped_iterations']}  load-thread busy max {busy if busy is None else round(busy, 2)}"
          f"  starved ticks {starved}  completed {done if l.get('results') else {}}")
PY
  done
done
