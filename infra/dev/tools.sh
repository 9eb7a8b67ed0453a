#!/usr/bin/env bash
# Installs the third-party tools the tests drive, into .tools/ (idempotent, pinned):
#   - the Pact CLI (npm @pact-foundation/pact-cli): `pact-broker`, `pact verifier`
#   - moto server (PyPI): AWS KMS and RDS emulation
#   - the legacy Ruby `pact-broker` client (PyPI pact-python-cli 2.6.4.0, pact_broker-client 1.78.0)
#     in its own venv: a second, independent client implementation
# Nothing here is needed to *run* Treaty; `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$PWD/.tools
mkdir -p "$tools"

PACT_CLI_VERSION=18.1.2
MOTO_VERSION=5.2.5
LEGACY_PACT_CLI_VERSION=2.6.4.0

if [ "$(cat "$tools/npm/.pact-cli-version" 2>/dev/null)" != "$PACT_CLI_VERSION" ]; then
  command -v npm >/dev/null || { echo "npm is required (apt-get install -y nodejs npm)" >&2; exit 1; }
  mkdir -p "$tools/npm"
  [ -f "$tools/npm/package.json" ] || echo '{}' > "$tools/npm/package.json"
  npm install --prefix "$tools/npm" --no-audit --no-fund --loglevel=error \
    "@pact-foundation/pact-cli@$PACT_CLI_VERSION" "@pact-foundation/pact-cli-linux-x64@$PACT_CLI_VERSION"
  echo "$PACT_CLI_VERSION" > "$tools/npm/.pact-cli-version"
fi

if [ "$(cat "$tools/venv/.moto-version" 2>/dev/null)" != "$MOTO_VERSION" ]; then
  [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  echo "$MOTO_VERSION" > "$tools/venv/.moto-version"
fi

if [ "$(cat "$tools/venv-legacy/.pact-python-cli-version" 2>/dev/null)" != "$LEGACY_PACT_CLI_VERSION" ]; then
  [ -x "$tools/venv-legacy/bin/python" ] || python3 -m venv "$tools/venv-legacy"
  "$tools/venv-legacy/bin/pip" install --quiet --disable-pip-version-check "pact-python-cli==$LEGACY_PACT_CLI_VERSION"
  echo "$LEGACY_PACT_CLI_VERSION" > "$tools/venv-legacy/.pact-python-cli-version"
fi
