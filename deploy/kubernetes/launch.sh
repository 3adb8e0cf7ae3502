#!/usr/bin/env bash
# Launches N shards of a scenario on the current kubectl context and namespace:
#
#   deploy/kubernetes/launch.sh SCENARIO.toml N [IMAGE] [LEAD_SECONDS]
#
# Creates (or replaces) the gauntlet-scenario ConfigMap from SCENARIO.toml and the
# gauntlet-run ConfigMap (run name, N, and a start instant LEAD_SECONDS from now,
# default 90: time for every pod to be scheduled, pull the image and build its
# target), makes sure the results volume exists, and starts the Indexed Job with
# completions = parallelism = N. Then `deploy/kubernetes/merge.sh` merges.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

scenario=${1:?usage: launch.sh SCENARIO.toml N [IMAGE] [LEAD_SECONDS]}
shards=${2:?usage: launch.sh SCENARIO.toml N [IMAGE] [LEAD_SECONDS]}
image=${3:-gauntlet:dev}
lead=${4:-90}
[[ -f "$scenario" ]] || { echo "launch.sh: no such file: $scenario" >&2; exit 2; }
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "launch.sh: N must be a positive number" >&2; exit 2; }
[[ "$lead" =~ ^[0-9]+$ ]] || { echo "launch.sh: LEAD_SECONDS must be a number" >&2; exit 2; }

start_ms=$(( ($(date +%s) + lead) * 1000 ))
name=$(basename "$scenario" .toml | tr '[:upper:]_.' '[:lower:]--')
run="$name-$(date -u +%Y%m%dt%H%M%Sz)"

kubectl delete job gauntlet-shards gauntlet-merge --ignore-not-found --wait=true
kubectl create configmap gauntlet-scenario --from-file=scenario.toml="$scenario" \
    --dry-run=client -o yaml | kubectl apply -f -
kubectl create configmap gauntlet-run --from-literal=run="$run" \
    --from-literal=shards="$shards" --from-literal=start-at="$start_ms" \
    --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f "$here/results-pvc.yaml"
sed -e "s/^  completions: .*/  completions: $shards/" \
    -e "s/^  parallelism: .*/  parallelism: $shards/" \
    -e "s|image: gauntlet:dev|image: $image|" \
    "$here/shards-job.yaml" | kubectl apply -f -
echo "launch.sh: run $run: $shards shards start their loads at $(date -u -d "@$((start_ms / 1000))" +%H:%M:%SZ) (in ${lead}s)"
echo "launch.sh: watch with kubectl get pods -l app.kubernetes.io/component=shard; then deploy/kubernetes/merge.sh"
