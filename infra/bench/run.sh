#!/usr/bin/env bash
# `make bench`: the SPEC §6 benchmarks against release builds, on a private PostgreSQL cluster
# with production-like durability (fsync on). Figures are printed and written to target/bench/.
#
#   BENCH_DATABASE_URL   use this server (superuser URL) instead of .data/pg-bench
#   BENCH_TENANTS=1000 BENCH_SIGNUPS=50 BENCH_WARM_RATE=1000 …   see tests/src/bin/bench_*.rs
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release -p control-plane -p tenant-api -p tests --bins

if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  # A production-sized WAL allowance: provisioning a thousand tenants writes gigabytes of WAL, and
  # the default 1 GB would checkpoint (and fsync) every few seconds through the whole run.
  BENCH_DATABASE_URL=$(PG_EXTRA_OPTS="-c max_wal_size=8GB -c checkpoint_timeout=30min" \
    infra/dev/postgres.sh start .data/pg-bench)
fi
export TEST_DATABASE_URL=$BENCH_DATABASE_URL
mkdir -p target/bench
target=${CARGO_TARGET_DIR:-target}

echo "== platform: provisioning, cold and warm tenants, connections, memory"
"$target/release/bench-platform"

echo "== broker: a tenant with 200,000 versions, 200,000 publications, 1,000,000 verifications"
BENCH_OUT=target/bench/broker.json "$target/release/bench-broker"

echo "== pool fairness: a bystander tenant while one customer cycles through 40 tenants"
BENCH_OUT=target/bench/fairness.json "$target/release/bench-fairness"

echo "== identity: the API-token check once warm"
"$target/release/bench-token-check"
