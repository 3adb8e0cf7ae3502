#!/usr/bin/env bash
# Waits for every shard of the launched run, merges them on the cluster and copies the
# merged run (results.json, report.html, summary.md, junit.xml, charts) to OUT_DIR:
#
#   deploy/kubernetes/merge.sh [OUT_DIR] [IMAGE] [TIMEOUT]
#
# Exit code: the merged verdict's (0 pass, 1 fail), 2 when the shards were refused
# (see `gauntlet merge`), other non-zero codes for cluster trouble.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-out/kubernetes}
image=${2:-gauntlet:dev}
timeout=${3:-2h}

run=$(kubectl get configmap gauntlet-run -o jsonpath='{.data.run}')
echo "merge.sh: waiting for the shards of $run"
kubectl wait --for=condition=complete job/gauntlet-shards --timeout="$timeout" || {
    echo "merge.sh: the shards did not all complete; kubectl describe job/gauntlet-shards" >&2
    exit 3
}
kubectl delete job gauntlet-merge --ignore-not-found --wait=true
sed "s|image: gauntlet:dev|image: $image|" "$here/merge-job.yaml" | kubectl apply -f -
# The Job fails when the merged verdict does; either way it has finished.
until kubectl get job gauntlet-merge -o jsonpath='{.status.conditions[*].type}' | grep -Eq 'Complete|Failed'; do
    sleep 2
done
kubectl logs job/gauntlet-merge
code=$(kubectl get pods -l job-name=gauntlet-merge \
    -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')

sed "s|image: gauntlet:dev|image: $image|" "$here/results-pod.yaml" | kubectl apply -f -
kubectl wait --for=condition=Ready pod/gauntlet-results --timeout=5m
mkdir -p "$out"
kubectl cp "gauntlet-results:/results/$run/merged" "$out"
kubectl delete pod gauntlet-results --wait=false
echo "merge.sh: merged run in $out (report: $out/report.html)"
exit "${code:-1}"
