#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, with password (SCRAM) authentication.
#
#   infra/dev/postgres.sh start DIR   # init on first use, start; prints the superuser URL
#   infra/dev/postgres.sh stop DIR
#   infra/dev/postgres.sh url DIR     # prints the superuser URL of a running cluster
#
# Installs PostgreSQL from Debian's packages when its binaries are missing. initdb refuses to run
# as root, so as root the cluster belongs to the `postgres` user (created by the package).
# PG_EXTRA_OPTS adds server options (tests pass fsync=off; data there is disposable).
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop|url DIR}
dir=$(realpath -m "${2:?usage: postgres.sh start|stop|url DIR}")

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pgbin=$(find_bin)
if [ -z "$pgbin" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "installing PostgreSQL from Debian's packages…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  pgbin=$(find_bin)
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

url() {
  printf 'postgres://postgres:%s@127.0.0.1:%s/postgres\n' "$(cat "$dir/password")" "$(cat "$dir/port")"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      rm -rf "$dir/data"
      mkdir -p "$dir/data"
      umask 077
      python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$dir/password"
      free_port > "$dir/port"
      [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
      as_owner "$pgbin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      # The recorded port first, always: services started earlier know only that one. PostgreSQL
      # binds with SO_REUSEADDR, so connections of its previous run lingering in TIME-WAIT do not
      # stop it; only if the server itself cannot listen there does the cluster move.
      start_on() {
        as_owner "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
          -o "-p $1 -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 ${PG_EXTRA_OPTS:-}" start >/dev/null
      }
      port=$(cat "$dir/port")
      if ! start_on "$port"; then
        if tail -n 20 "$dir/server.log" | grep -q 'could not bind\|could not create any TCP/IP sockets'; then
          old=$port
          free_port > "$dir/port"
          port=$(cat "$dir/port")
          echo "!!! PostgreSQL could not listen on its recorded port $old (in use by another program);" >&2
          echo "!!! the cluster in $dir now runs on port $port: restart services that use the old URL." >&2
          start_on "$port"
        else
          echo "PostgreSQL did not start; see $dir/server.log" >&2
          exit 1
        fi
      fi
    fi
    url
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_owner "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  url)
    url
    ;;
  *)
    echo "usage: postgres.sh start|stop|url DIR" >&2
    exit 2
    ;;
esac
