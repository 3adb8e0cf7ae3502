#!/usr/bin/env bash
# Checks every manifest in deploy/kubernetes/ offline, without a cluster, strictly:
#   1. kubernetes-validate --strict (PyPI, pinned; in a venv this script makes under
#      target/) against the Kubernetes JSON schemas it bundles (1.37 and 1.29):
#      every field must exist in the schema (a misspelt field fails), with the right
#      type; two broken copies of the Job must fail (negative controls);
#   2. promtool check config / check rules on the Prometheus files, when promtool is
#      installed (dashboards/check.sh installs it);
#   3. the Grafana dashboard is JSON whose latency quantiles are computed over
#      buckets summed across shards (check_dashboard.py).
# Needs python3 only: the venv module is installed from Debian's python3-venv
# package if it is missing. Any failure exits non-zero.
#
#   bash deploy/kubernetes/validate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=1.37.0
VENV=${K8S_VALIDATE_VENV:-target/k8s-validate-venv}
say() { echo "k8s validate: $*"; }
die() { echo "k8s validate: FAILED: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is needed"
make_venv() { rm -rf "$VENV" && python3 -m venv "$VENV" >/dev/null 2>&1; }
if [[ ! -x "$VENV/bin/kubernetes-validate" ]] \
    || ! "$VENV/bin/pip" show kubernetes-validate 2>/dev/null | grep -qx "Version: $VERSION"; then
    mkdir -p "$(dirname "$VENV")"
    if ! make_venv; then
        # Debian's python3 leaves venv (ensurepip) out unless python3-venv is installed.
        command -v apt-get >/dev/null || die "python3 -m venv fails and apt-get is not available to install python3-venv"
        say "installing Debian's python3-venv"
        apt-get update -qq
        pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "python$pyver-venv" >/dev/null \
            || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        make_venv || die "python3 -m venv still fails"
    fi
    say "installing kubernetes-validate $VERSION"
    "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$VERSION" \
        || die "pip install kubernetes-validate==$VERSION"
fi

manifests=(deploy/kubernetes/*.yaml)
say "$("$VENV/bin/kubernetes-validate" --version 2>&1 | head -1)"
"$VENV/bin/kubernetes-validate" --strict "${manifests[@]}" || die "manifests do not match the Kubernetes schemas"
# The oldest Kubernetes the docs support (Indexed Jobs label their pods with the
# completion index from 1.28 on).
"$VENV/bin/kubernetes-validate" --strict --quiet -k 1.29.0 "${manifests[@]}" \
    || die "manifests do not match the Kubernetes 1.29 schemas"

# The validator must be able to fail: a misspelt field in a copy of the Job is refused.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/completionMode: Indexed/completionMod: Indexed/' deploy/kubernetes/shards-job.yaml > "$tmp/typo.yaml"
if "$VENV/bin/kubernetes-validate" --strict "$tmp/typo.yaml" >/dev/null 2>&1; then
    die "negative control: a misspelt field passed --strict"
fi
sed 's/completions: 3/completions: three/' deploy/kubernetes/shards-job.yaml > "$tmp/type.yaml"
if "$VENV/bin/kubernetes-validate" --strict "$tmp/type.yaml" >/dev/null 2>&1; then
    die "negative control: a string where an integer belongs passed"
fi
say "negative controls refused"

dashboard=deploy/kubernetes/grafana/gauntlet-shards.json
python3 deploy/kubernetes/check_dashboard.py "$dashboard" --rules "$tmp/dashboard-rules.yml"
# Negative control: a quantile averaged over shards is refused.
python3 - "$dashboard" "$tmp/averaged.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        if "histogram_quantile" in t["expr"]:
            t["expr"] = 'avg(histogram_quantile(0.99, rate(gauntlet_op_latency_seconds_bucket{scenario=~"$scenario", run=~"$run"}[1m])))'
json.dump(d, open(sys.argv[2], "w"))
PY
if python3 deploy/kubernetes/check_dashboard.py "$tmp/averaged.json" >/dev/null 2>&1; then
    die "negative control: a dashboard averaging quantiles passed"
fi
if command -v promtool >/dev/null; then
    config=deploy/kubernetes/prometheus/prometheus.yml
    if ! promtool check config "$config" >"$tmp/promtool.log" 2>&1; then
        # Debian builds Prometheus without Kubernetes discovery; there, check the rest
        # of the config (relabelling, rule files) with the discovery block replaced by
        # a static target.
        if ! grep -q "field kubernetes_sd_configs not found" "$tmp/promtool.log"; then
            cat "$tmp/promtool.log"
            die "$config"
        fi
        say "this promtool has no Kubernetes discovery: checking $config with a static target in its place"
        "$VENV/bin/python" - "$config" "$tmp/prometheus.yml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for job in c["scrape_configs"]:
    if job.pop("kubernetes_sd_configs", None) is not None:
        job["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
yaml.safe_dump(c, open(sys.argv[2], "w"))
PY
        cp deploy/kubernetes/prometheus/alerts.yml "$tmp/alerts.yml"
        promtool check config "$tmp/prometheus.yml" || die "$config"
    fi
    promtool check rules deploy/kubernetes/prometheus/alerts.yml
    promtool check rules "$tmp/dashboard-rules.yml" >/dev/null || die "a dashboard query is not valid PromQL"
    say "Prometheus config, alert rules and dashboard queries checked by promtool"
else
    say "promtool not installed: Prometheus files not checked here (dashboards/check.sh installs it)"
fi
say "ok"
