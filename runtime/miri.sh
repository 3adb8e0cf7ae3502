#!/usr/bin/env bash
# Runs the runtime's unsafe-code unit tests under Miri, where a nightly toolchain with
# Miri is installed (`rustup +nightly component add miri`); CI's machines have only
# stable, so this is a developer's check, not part of .ci/run. Without Miri it says so
# and exits 0.
#
#   bash runtime/miri.sh
#
# Covered: the queue (blocks, release), the factory (leaked zero-sized box or Arc), the
# context's borrowed cell pointer, the lazy address and the children vector. Left out:
# the queue's multi-producer stress tests (hours under Miri; loom models the races).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri.sh: skipped: no nightly toolchain with Miri here"
    exit 0
fi
# Isolation off: tokio's runtime reads the clock.
MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}" \
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/miri}" \
    cargo +nightly miri test -p gauntlet-runtime --lib -- \
    actor::queue actor::props actor::context actor::cell::lazy_address actor::children \
    --skip concurrent_producers
