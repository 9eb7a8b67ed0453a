#!/usr/bin/env bash
# `make run`: the whole system on this machine — control plane on :9393, tenant API on :9292.
#
# With no DATABASE_URL it starts a private PostgreSQL cluster under .data/pg (password auth) and
# uses a database `treaty` in it. Settings come from the environment and from .env if present
# (see .env.sample). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -f .env ]; then set -a; . ./.env; set +a; fi
mkdir -p .data

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
export ROUTER_LOGIN_PASSWORD=$(cat .data/router-password)
if [ -z "${ROUTER_DATABASE_URL:-}" ]; then
  export ROUTER_DATABASE_URL=$(python3 - "$DATABASE_URL" "$ROUTER_LOGIN_ROLE" "$ROUTER_LOGIN_PASSWORD" <<'PY'
import sys, urllib.parse as u
url, role, password = sys.argv[1:]
p = u.urlsplit(url)
netloc = f"{u.quote(role)}:{u.quote(password, safe='')}@{p.hostname}" + (f":{p.port}" if p.port else "")
print(u.urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment)))
PY
)
fi

profile=${PROFILE:-dev}
cargo build --profile "$profile" -p control-plane -p tenant-api
bin=target/$([ "$profile" = dev ] && echo debug || echo "$profile")

"$bin/control-plane" migrate
"$bin/control-plane" router-login

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
"$bin/control-plane" serve & pids+=($!)
"$bin/tenant-api" & pids+=($!)
sleep 1

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
wait
