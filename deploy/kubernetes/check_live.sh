#!/usr/bin/env bash
# Checks the sharded-run dashboard and alert rules against a real Prometheus scraping
# two live shards (local processes standing in for the pods):
#   1. two `gauntlet run --shard I/2` processes with a shared --start-at, each serving
#      /metrics on its own port;
#   2. a Prometheus (Debian's package, installed if missing) scraping them as job
#      gauntlet-shards, each target labelled `shard`, `run` and `pod` as the
#      Kubernetes relabelling in prometheus/prometheus.yml labels a pod (the
#      discovery itself needs a cluster and is not exercised here), with both
#      alert rule files loaded;
#   3. dashboards/check.py: every query of grafana/gauntlet-shards.json and every
#      alert rule (the single-run ones and the shard ones) evaluated with data;
#   4. the two shards' results merged with `gauntlet merge`.
# Every process it starts is stopped on exit; any failure exits non-zero.
#
#   bash deploy/kubernetes/check_live.sh   # uses target/debug/gauntlet (built if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."

SCENARIO_FILE=scenarios/chaos/repository-outage.toml
RUN_FOR=26s
WAIT_ELAPSED=18
say() { echo "check_live.sh: $*"; }
die() { echo "check_live.sh: FAILED: $*" >&2; exit 1; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    say "installing Debian's prometheus package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if [[ -z "${GAUNTLET:-}" ]]; then
    cargo build -q -p gauntlet-harness --bin gauntlet
    GAUNTLET=target/debug/gauntlet
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ports=("$(free_port)" "$(free_port)")
prom_port=$(free_port)

cat > "$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/dashboards/prometheus/alerts.yml
  - $PWD/deploy/kubernetes/prometheus/alerts.yml
scrape_configs:
  - job_name: gauntlet-shards
    static_configs:
      - targets: ["127.0.0.1:${ports[0]}"]
        labels: {shard: "0", run: "local", pod: "gauntlet-shards-0"}
      - targets: ["127.0.0.1:${ports[1]}"]
        labels: {shard: "1", run: "local", pod: "gauntlet-shards-1"}
YML
promtool check config "$tmp/prometheus.yml" >/dev/null || die "generated Prometheus config"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
get() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }
wait_for() { for _ in $(seq 1 $(( $2 * 4 ))); do get "$1" >/dev/null 2>&1 && return 0; sleep 0.25; done; return 1; }
wait_for "$prom/-/ready" 30 || { cat "$tmp/prometheus.log" >&2; die "Prometheus did not become ready"; }

start_at=$(( $(date +%s%3N) + 3000 ))
shard_pids=()
for i in 0 1; do
    "$GAUNTLET" run "$SCENARIO_FILE" --duration "$RUN_FOR" --no-progress --shard "$i/2" \
        --start-at "$start_at" --metrics-addr "127.0.0.1:${ports[$i]}" --out "$tmp/shard-$i" \
        >"$tmp/shard-$i.log" 2>&1 &
    pids+=($!)
    shard_pids+=($!)
done
for i in 0 1; do
    wait_for "http://127.0.0.1:${ports[$i]}/metrics" 60 || { cat "$tmp/shard-$i.log" >&2; die "shard $i did not serve /metrics"; }
done
say "two shards of $SCENARIO_FILE serving on ports ${ports[*]}, Prometheus on $prom"
elapsed() { get "http://127.0.0.1:${ports[0]}/metrics" | awk '/^gauntlet_run_elapsed_seconds/ {print int($2)}'; }
for _ in $(seq 1 240); do
    e=$(elapsed || echo 0)
    [[ "${e:-0}" -ge "$WAIT_ELAPSED" ]] && break
    sleep 0.5
done
[[ "${e:-0}" -ge "$WAIT_ELAPSED" ]] || die "the shards did not reach ${WAIT_ELAPSED}s of load"
sleep 2

name=$(awk -F'"' '/^name *=/ {print $2; exit}' "$SCENARIO_FILE")
# dashboards/check.py substitutes $scenario and $op; the run variable is chosen here.
sed 's/\$run/local/g' deploy/kubernetes/grafana/gauntlet-shards.json > "$tmp/dashboard.json"
python3 dashboards/check.py "$prom" "$tmp/dashboard.json" "$name" || die "queries through Prometheus (above)"
shards=$(get "$prom/api/v1/query?query=count(gauntlet_run_info)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
[[ "$shards" == 2 ]] || die "expected 2 shards in Prometheus, found $shards"

say "waiting for the shards to end"
for pid in "${shard_pids[@]}"; do
    set +e; wait "$pid"; code=$?; set -e
    [[ $code -le 1 ]] || die "a shard exited with $code"
done
pids=("${pids[0]}")
set +e
"$GAUNTLET" merge "$tmp"/shard-*/results.json --out "$tmp/merged" >"$tmp/merge.log" 2>&1
code=$?
set -e
[[ $code -le 1 ]] || { cat "$tmp/merge.log" >&2; die "gauntlet merge exited with $code"; }
grep -q "merged 2 shards" "$tmp/merge.log" || { cat "$tmp/merge.log" >&2; die "merge output"; }
say "dashboard and alerts checked on two live shards; merged them (exit $code)"
