#!/usr/bin/env bash
# `make test`: installs the test tools, makes sure PostgreSQL and Redis are there, and runs every
# test in the workspace.
#
# PostgreSQL: TEST_DATABASE_URL (a superuser URL) if set; otherwise a private cluster under
# .data/pg-test with password authentication (started here, left running for the next run).
# Redis: TEST_REDIS_URL, default redis://127.0.0.1:6379 (started, or installed, if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

infra/dev/tools.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL=$(PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    infra/dev/postgres.sh start .data/pg-test)
  export TEST_DATABASE_URL
fi

export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
if ! redis-cli -u "$TEST_REDIS_URL" ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null; then
    echo "installing redis-server from Debian's packages…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/treaty-test-redis.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# The tenants the Pact CLI talks to must resolve (see infra/dev/hosts.sh for why /etc/hosts).
HOSTS_MARK=treaty-test infra/dev/hosts.sh add $(cat tests/cli-subdomains.txt)

export PACT_DO_NOT_TRACK=true
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
