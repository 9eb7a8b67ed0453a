#!/usr/bin/env bash
# Installs the third-party tools the tests drive, into .tools/ (idempotent, pinned):
#   - the Pact CLI (npm @pact-foundation/pact-cli): `pact-broker`, `pact verifier`
#   - moto server (PyPI): AWS KMS and RDS emulation
#   - the legacy Ruby `pact-broker` client (PyPI pact-python-cli 2.6.4.0): a second, independent client
#   - pact-js 17 (npm): consumer tests and the FFI verifier from JavaScript
#   - aiosmtpd (PyPI): a real SMTP server the identity tests send mail to
#   - localstripe + stripe (PyPI): a stateful fake Stripe API that sends signed webhooks, and the
#     official Python library the billing tests cross-check webhook signatures with
#   - schemathesis (PyPI): property-based tests of the control plane from its OpenAPI document,
#     in a venv of its own (its dependencies pin versions the other tools' do not share)
# Nothing here is needed to *run* Treaty; `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$PWD/.tools
mkdir -p "$tools"

PACT_CLI_VERSION=18.1.2
MOTO_VERSION=5.2.5
LEGACY_CLI_VERSION=2.6.4.0
PACT_JS_VERSION=17.1.4
AIOSMTPD_VERSION=1.4.6
LOCALSTRIPE_VERSION=1.15.10
STRIPE_PY_VERSION=16.1.0
SCHEMATHESIS_VERSION=4.32.5

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

if [ "$(cat "$tools/venv-legacy/.version" 2>/dev/null)" != "$LEGACY_CLI_VERSION" ]; then
  [ -x "$tools/venv-legacy/bin/python" ] || python3 -m venv "$tools/venv-legacy"
  "$tools/venv-legacy/bin/pip" install --quiet --disable-pip-version-check "pact-python-cli==$LEGACY_CLI_VERSION"
  echo "$LEGACY_CLI_VERSION" > "$tools/venv-legacy/.version"
fi

if [ "$(cat "$tools/pactjs/.version" 2>/dev/null)" != "$PACT_JS_VERSION" ]; then
  mkdir -p "$tools/pactjs"
  [ -f "$tools/pactjs/package.json" ] || echo '{"private": true}' > "$tools/pactjs/package.json"
  SCARF_ANALYTICS=false npm install --prefix "$tools/pactjs" --no-audit --no-fund --loglevel=error \
    "@pact-foundation/pact@$PACT_JS_VERSION"
  echo "$PACT_JS_VERSION" > "$tools/pactjs/.version"
fi

python_tools="aiosmtpd==$AIOSMTPD_VERSION localstripe==$LOCALSTRIPE_VERSION stripe==$STRIPE_PY_VERSION"
if [ "$(cat "$tools/venv/.python-tools" 2>/dev/null)" != "$python_tools" ]; then
  [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
  # shellcheck disable=SC2086
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check $python_tools
  echo "$python_tools" > "$tools/venv/.python-tools"
fi

if [ "$(cat "$tools/venv-schemathesis/.version" 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
  [ -x "$tools/venv-schemathesis/bin/python" ] || python3 -m venv "$tools/venv-schemathesis"
  "$tools/venv-schemathesis/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  echo "$SCHEMATHESIS_VERSION" > "$tools/venv-schemathesis/.version"
fi
