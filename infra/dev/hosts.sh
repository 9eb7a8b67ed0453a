#!/usr/bin/env bash
# Makes <subdomain>.localhost resolve to 127.0.0.1 for every client on this machine.
#
#   infra/dev/hosts.sh add acme [more…]   # adds "127.0.0.1 acme.localhost" to /etc/hosts
#   infra/dev/hosts.sh prune [MARK]       # removes the lines this script added
#
# Why /etc/hosts: the Pact CLI (npm @pact-foundation/pact-cli) is a static musl binary that reads
# /etc/hosts and then asks DNS; it never consults glibc's NSS, so libnss-myhostname (which
# resolves *.localhost for glibc programs) does not help it. curl resolves *.localhost by itself.
set -euo pipefail

hosts=${HOSTS_FILE:-/etc/hosts}
mark=${HOSTS_MARK:-treaty-dev}
sudo_if_needed() { if [ -w "$hosts" ]; then "$@"; else sudo "$@"; fi; }

case "${1:-}" in
  add)
    shift
    for sub in "$@"; do
      name="$sub.${TENANT_BASE_DOMAIN:-localhost}"
      if ! grep -qE "^127\.0\.0\.1[[:space:]]+$name([[:space:]]|\$)" "$hosts"; then
        echo "127.0.0.1 $name # $mark" | sudo_if_needed tee -a "$hosts" >/dev/null
      fi
    done
    ;;
  prune)
    m=${2:-$mark}
    tmp=$(mktemp)
    grep -v "# $m\$" "$hosts" > "$tmp" || true
    sudo_if_needed cp "$tmp" "$hosts"
    rm -f "$tmp"
    ;;
  *)
    echo "usage: hosts.sh add SUBDOMAIN… | prune [MARK]" >&2
    exit 2
    ;;
esac
