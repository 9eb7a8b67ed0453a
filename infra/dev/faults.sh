#!/usr/bin/env bash
# The fault test (tests/src/bin/fault_test.rs): the services as processes under steady load while
# PostgreSQL is fast-stopped and killed -9, Redis killed -9 and the tenant API killed -9, one at a
# time. It needs a PostgreSQL cluster of its own to stop and kill (.data/pg-faults, never a shared
# server) and runs its own redis-server on a free port. Called by .ci/run; about a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -p control-plane -p tenant-api -p tests --bins
dir=.data/pg-faults
TEST_DATABASE_URL=$(infra/dev/postgres.sh start "$dir")
export TEST_DATABASE_URL FAULT_PG_DIR=$dir SERVICE_PROFILE=debug
target=${CARGO_TARGET_DIR:-target}
status=0
"$target/debug/fault-test" || status=$?
infra/dev/postgres.sh stop "$dir"
exit $status
