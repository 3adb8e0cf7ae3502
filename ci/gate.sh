#!/usr/bin/env bash
# The Gauntlet CI gate for any CI system: build, run the suite, append summary.md to
# the job summary when the CI offers one, and exit with the suite's code
# (0 pass, 1 a threshold, invariant or baseline regression failed, 2 bad input).
#
#   ci/gate.sh [gauntlet suite arguments...]
#   ci/gate.sh scenarios/smoke.toml scenarios/chaos --baseline-dir ci/baselines --out out/suite
#
# Environment: GAUNTLET_BIN (default: build target/release/gauntlet),
# GITHUB_STEP_SUMMARY (GitHub Actions' job summary file, appended to when set).
set -uo pipefail
cd "$(dirname "$0")/.."

out=out/suite
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--out" ] && [ $((i + 1)) -lt ${#args[@]} ]; then
    out=${args[$((i + 1))]}
  fi
done
if ! printf '%s\n' "${args[@]}" | grep -qx -- '--out'; then
  args+=(--out "$out")
fi

bin=${GAUNTLET_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p gauntlet-harness || exit 2
  bin=target/release/gauntlet
fi

"$bin" suite --no-progress "${args[@]}"
code=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/summary.md" ]; then
  cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
echo "gate: reports in $out (index.html, summary.md, junit.xml); exit $code"
exit $code
