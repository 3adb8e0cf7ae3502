#!/usr/bin/env bash
# Checks gauntlet's live metrics, Grafana dashboard and alert rules against a real
# Prometheus (Debian's package, installed if missing):
#   1. promtool check rules / check config on dashboards/prometheus/*.yml;
#   2. a Prometheus server on a free loopback port, with a temporary storage dir,
#      scraping a short `gauntlet run --metrics-addr ...` every second;
#   3. promtool check metrics on a live scrape of that run;
#   4. dashboards/check.py: expected series, every dashboard query and every alert
#      rule evaluated through Prometheus's HTTP API, with data.
# Every process it starts is stopped on exit; any failure exits non-zero.
#
#   bash dashboards/check.sh            # uses target/debug/gauntlet (built if needed)
#   GAUNTLET=target/release/gauntlet bash dashboards/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A smart-home run with repository faults: the circuit breaker and the fault-window
# series both have data (outage 6-10 s, errors 14-18 s, latency 22-26 s).
SCENARIO_FILE=${CHECK_SCENARIO:-scenarios/chaos/repository-outage.toml}
RUN_FOR=${CHECK_DURATION:-34s}   # the run; queries are made while it runs
WAIT_ELAPSED=${CHECK_AT:-24}     # seconds into the load when the queries start
started=$(date +%s)

say() { echo "check.sh: $*"; }
die() { echo "check.sh: FAILED: $*" >&2; exit 1; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    say "installing Debian's prometheus package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
# The package enables a system service on machines that run systemd; this check uses
# its own server on its own port and storage, so that one is left as it is.
say "$(prometheus --version 2>&1 | head -1)"

if [[ -z "${GAUNTLET:-}" ]]; then
    cargo build -q -p gauntlet-harness --bin gauntlet
    GAUNTLET=target/debug/gauntlet
fi
[[ -x "$GAUNTLET" ]] || die "$GAUNTLET is not an executable"

promtool check rules dashboards/prometheus/alerts.yml
promtool check config dashboards/prometheus/prometheus.yml

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metrics_port=$(free_port)
prom_port=$(free_port)
[[ "$metrics_port" != "$prom_port" ]] || prom_port=$(free_port)

# The committed scrape config, pointed at this run's port; the rules by absolute path.
sed -e "s/127\.0\.0\.1:9464/127.0.0.1:$metrics_port/" \
    -e "s|- alerts.yml|- $PWD/dashboards/prometheus/alerts.yml|" \
    dashboards/prometheus/prometheus.yml > "$tmp/prometheus.yml"
grep -q "127.0.0.1:$metrics_port" "$tmp/prometheus.yml" || die "scrape target not found in prometheus.yml"

prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"

get() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.write(r.read().decode())
except Exception as e:
    sys.exit(f"{sys.argv[1]}: {e}")
PY
}
wait_for() { # URL SECONDS
    for _ in $(seq 1 $(( $2 * 4 ))); do
        get "$1" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    return 1
}
wait_for "$prom/-/ready" 30 || { cat "$tmp/prometheus.log" >&2; die "Prometheus did not become ready"; }
say "Prometheus ready on $prom"

"$GAUNTLET" run "$SCENARIO_FILE" --duration "$RUN_FOR" --no-progress \
    --metrics-addr "127.0.0.1:$metrics_port" --out "$tmp/out" >"$tmp/gauntlet.log" 2>&1 &
gauntlet_pid=$!
pids+=("$gauntlet_pid")
wait_for "http://127.0.0.1:$metrics_port/metrics" 60 || { cat "$tmp/gauntlet.log" >&2; die "gauntlet did not serve /metrics"; }
say "gauntlet serving on 127.0.0.1:$metrics_port ($SCENARIO_FILE, $RUN_FOR)"

# Let the load run past its warm-up so rates and quantiles have samples.
elapsed() { get "http://127.0.0.1:$metrics_port/metrics" | awk '/^gauntlet_run_elapsed_seconds/ {print int($2)}'; }
for _ in $(seq 1 240); do
    e=$(elapsed || echo 0)
    [[ "${e:-0}" -ge "$WAIT_ELAPSED" ]] && break
    kill -0 "$gauntlet_pid" 2>/dev/null || { cat "$tmp/gauntlet.log" >&2; die "gauntlet exited early"; }
    sleep 0.5
done
[[ "${e:-0}" -ge "$WAIT_ELAPSED" ]] || die "the run did not reach ${WAIT_ELAPSED}s of load"

get "http://127.0.0.1:$metrics_port/metrics" > "$tmp/scrape.txt"
promtool check metrics < "$tmp/scrape.txt" || die "promtool check metrics: the exposition has problems (above)"
say "promtool check metrics: ok ($(grep -c '^# TYPE' "$tmp/scrape.txt") families)"

# The rules are evaluated every second: give Prometheus one round with data.
sleep 2
name=$(awk -F'"' '/^name *=/ {print $2; exit}' "$SCENARIO_FILE")
python3 dashboards/check.py "$prom" dashboards/grafana/gauntlet.json "$name" \
    || die "queries through Prometheus (above)"

say "waiting for the run to end"
set +e
wait "$gauntlet_pid"
code=$?
set -e
pids=("${pids[@]/$gauntlet_pid}")
# 0 pass, 1 a threshold failed (a loaded machine may miss one): both mean the run and
# its exporter worked; anything else is a crash or a usage error.
[[ $code -le 1 ]] || { cat "$tmp/gauntlet.log" >&2; die "gauntlet exited with $code"; }
say "gauntlet exited with $code; all checks passed in $(( $(date +%s) - started ))s"
