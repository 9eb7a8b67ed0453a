#!/usr/bin/env bash
# `make run`: the whole system on this machine — control plane on :9393, tenant API on :9292.
#
# With no DATABASE_URL it starts a private PostgreSQL cluster under .data/pg (password auth) and
# uses a database `treaty` in it. Settings come from the environment and from .env if present
# (see .env.sample), read by the binaries' dotenv rules (infra/dev/dotenv.py), never as shell.
# "Treaty is running" is printed only once both services answer their health checks; if either
# exits, the other is stopped and this exits non-zero with the failing service's output last.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -f .env ]; then
  exports=$(python3 infra/dev/dotenv.py .env)
  eval "$exports"
fi
mkdir -p .data/logs

if [ -z "${DATABASE_URL:-}" ]; then
  superuser=$(infra/dev/postgres.sh start .data/pg)
  psql "$superuser" -tAc "select 1 from pg_database where datname = 'treaty'" | grep -q 1 \
    || psql "$superuser" -qc 'create database treaty'
  export DATABASE_URL=${superuser%/postgres}/treaty
fi
export TREATY_ENV=${TREATY_ENV:-development}
export TENANT_URL_PORT=${TENANT_URL_PORT:-9292}
export LOCAL_MASTER_KEY_FILE=${LOCAL_MASTER_KEY_FILE:-.data/master.key}

# The tenant API reads the control database as its own least-privileged login role.
[ -f .data/router-password ] || python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > .data/router-password
chmod 600 .data/router-password
export ROUTER_LOGIN_ROLE=${ROUTER_LOGIN_ROLE:-treaty_router}
export ROUTER_LOGIN_PASSWORD=${ROUTER_LOGIN_PASSWORD:-$(cat .data/router-password)}
if [ -z "${ROUTER_DATABASE_URL:-}" ]; then
  ROUTER_DATABASE_URL=$(python3 - "$DATABASE_URL" "$ROUTER_LOGIN_ROLE" "$ROUTER_LOGIN_PASSWORD" <<'PY'
import sys, urllib.parse as u
url, role, password = sys.argv[1:]
p = u.urlsplit(url)
netloc = f"{u.quote(role)}:{u.quote(password, safe='')}@{p.hostname}" + (f":{p.port}" if p.port else "")
print(u.urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment)))
PY
)
  export ROUTER_DATABASE_URL
fi

# The binaries are where cargo puts them: CARGO_TARGET_DIR, or the workspace's target directory
# (never a stale ./target when the build went elsewhere).
profile=${PROFILE:-dev}
cargo build --profile "$profile" -p control-plane -p tenant-api
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}
bin=$target_dir/$([ "$profile" = dev ] && echo debug || echo "$profile")

"$bin/control-plane" migrate
"$bin/control-plane" router-login

# Where a service listening on ADDR (host:port) answers this machine.
local_url() {
  local addr=$1 host port
  port=${addr##*:}
  host=${addr%:*}
  case "$host" in 0.0.0.0 | "") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
  echo "http://$host:$port"
}
cp_health=$(local_url "${CONTROL_PLANE_LISTEN:-127.0.0.1:9393}")/health
api_health=$(local_url "${TENANT_API_LISTEN:-127.0.0.1:9292}")/diagnostic/status/heartbeat

cp_log=.data/logs/control-plane.log
api_log=.data/logs/tenant-api.log
cp_pid='' api_pid=''
stop_all() {
  for pid in $cp_pid $api_pid; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$bin/control-plane" serve > >(tee "$cp_log") 2>&1 &
cp_pid=$!
"$bin/tenant-api" > >(tee "$api_log") 2>&1 &
api_pid=$!

# Stops the other service and exits with the one that failed's last words at the end.
failed() {
  local name=$1 pid=$2 log=$3 status=0
  wait "$pid" || status=$?
  stop_all
  sleep 0.2
  {
    echo
    echo "make run: the $name exited (status $status) — its error ($log has all its output):"
    # The `Error: …` report and its causes, without a backtrace; else the last lines.
    if grep -q '^Error:' "$log"; then
      awk '/^Error:/ {on = 1} /^Stack backtrace:/ {on = 0} on' "$log" | head -n 20 | sed 's/^/  /'
    else
      tail -n 15 "$log" | sed 's/^/  /'
    fi
  } >&2
  exit $(( status == 0 ? 1 : status ))
}

deadline=$((SECONDS + ${RUN_START_TIMEOUT_SECS:-60}))
cp_up='' api_up=''
until [ -n "$cp_up" ] && [ -n "$api_up" ]; do
  kill -0 "$cp_pid" 2>/dev/null || failed "control plane" "$cp_pid" "$cp_log"
  kill -0 "$api_pid" 2>/dev/null || failed "tenant API" "$api_pid" "$api_log"
  [ -n "$cp_up" ] || { curl -fsS -o /dev/null "$cp_health" 2>/dev/null && cp_up=1; } || true
  [ -n "$api_up" ] || { curl -fsS -o /dev/null "$api_health" 2>/dev/null && api_up=1; } || true
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "make run: the services did not answer $cp_health and $api_health within ${RUN_START_TIMEOUT_SECS:-60}s" >&2
    exit 1
  fi
  sleep 0.2
done

cat <<MSG

  Treaty is running: control plane http://localhost:9393, tenant API http://<tenant>.localhost:9292

  1. Sign up:
       curl -s localhost:9393/api/signup --json '{"organisation":"Acme","subdomain":"acme","email":"lead@acme.test","password":"correct horse battery"}'
  2. Confirm: the confirmation e-mail is a file in .data/mail/ — open its link (curl it).
  3. Sign in and create a token (README.md "From signup to a published pact" has the commands):
       curl -s -c .data/cookies localhost:9393/api/login --json '{"email":"lead@acme.test","password":"correct horse battery"}'
       curl -s -b .data/cookies -H 'X-CSRF-Token: <csrfToken>' localhost:9393/api/settings/tokens --json '{"name":"ci","scope":"read-write"}'
  4. Let tools resolve acme.localhost:   make hosts SUBDOMAIN=acme
  5. Publish with the Pact CLI:
       pact-broker publish ./pacts --broker-base-url http://acme.localhost:9292 \\
         --broker-token <readWrite token> --consumer-app-version 1.0.0 --branch main

  Ctrl-C stops everything.
MSG

# Running until Ctrl-C or until one of them exits; then the other is stopped too.
while true; do
  kill -0 "$cp_pid" 2>/dev/null || failed "control plane" "$cp_pid" "$cp_log"
  kill -0 "$api_pid" 2>/dev/null || failed "tenant API" "$api_pid" "$api_log"
  sleep 0.5
done
