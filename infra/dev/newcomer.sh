#!/usr/bin/env bash
# The newcomer's first run, as the README tells it, ROUNDS times over (default 3), in a copy of
# this checkout: stop the copy's private PostgreSQL, delete its .data/, `make run`, sign up,
# confirm through the .eml link, log in, create a token and reach the tenant with it (the broker
# index on <subdomain>.localhost). The first round has no .env; the others run with
# `cp .env.sample .env`. Then a control plane that cannot start must make `make run` exit
# non-zero within a minute with its error last. Fails if any start or step fails; prints each
# round's and the whole wall time. Run by .ci/run (not by `make test`: it takes minutes).
#
#   infra/dev/newcomer.sh [ROUNDS]
#
# The copy has the checkout's tracked files with their timestamps and shares its cargo target
# directory, so it builds nothing that is already built. Ports are free ones, not 9393/9292, so
# it can run beside a developer's `make run`.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}
copy=$(mktemp -d /tmp/treaty-newcomer.XXXXXX)
# As root, the private cluster belongs to the `postgres` user, which must reach into it.
chmod 755 "$copy"
run_pid=''
cleanup() {
  if [ -n "$run_pid" ]; then kill -- "-$run_pid" 2>/dev/null || true; wait "$run_pid" 2>/dev/null || true; fi
  [ -d "$copy/.data/pg" ] && (cd "$copy" && infra/dev/postgres.sh stop .data/pg) || true
  rm -rf "$copy"
}
trap cleanup EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$copy"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

started=$SECONDS
for round in $(seq "$rounds"); do
  round_started=$SECONDS
  (cd "$copy" && infra/dev/postgres.sh stop .data/pg && rm -rf .data .env)
  [ "$round" -eq 1 ] || cp "$copy/.env.sample" "$copy/.env"
  cp_port=$(free_port)
  api_port=$(free_port)
  log=$(mktemp /tmp/treaty-newcomer-run.XXXXXX)
  # Its own process group, so that stopping it stops both services.
  (cd "$copy" && exec env -u DATABASE_URL \
    CONTROL_PLANE_LISTEN=127.0.0.1:$cp_port TENANT_API_LISTEN=127.0.0.1:$api_port \
    CONTROL_PLANE_PUBLIC_URL=http://localhost:$cp_port TENANT_URL_PORT=$api_port \
    setsid make run) >"$log" 2>&1 &
  run_pid=$!
  until grep -q "Treaty is running" "$log"; do
    if ! kill -0 "$run_pid" 2>/dev/null; then
      echo "newcomer round $round: make run failed to start:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
    if [ $((SECONDS - round_started)) -gt 600 ]; then
      echo "newcomer round $round: make run did not start within 600 s" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
  if ! python3 - "$copy/.data/mail" "$cp_port" "$api_port" "newcomer$round" <<'PY'
import email, email.policy, glob, http.cookiejar, json, os, re, sys, time, urllib.request, urllib.error

mail_dir, cp_port, api_port, subdomain = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
control = f"http://localhost:{cp_port}"
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

def call(method, url, body=None, headers=None, expect=(200, 201, 202)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with opener.open(req, timeout=30) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    if status not in expect:
        sys.exit(f"{method} {url}: {status} {text}")
    return json.loads(text) if text.strip().startswith(("{", "[")) else text

email_address = f"lead@{subdomain}.test"
password = "correct horse battery"
call("POST", f"{control}/api/signup", {"organisation": "Newcomer", "subdomain": subdomain,
     "email": email_address, "password": password})

link = None
deadline = time.time() + 30
while link is None and time.time() < deadline:
    for path in glob.glob(os.path.join(mail_dir, "*.eml")):
        with open(path, "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        if email_address not in str(message["To"]):
            continue
        body = message.get_body(preferencelist=("plain", "html")).get_content()
        found = re.search(r"http://\S+/api/signup/confirm\?token=[A-Za-z0-9_-]+", body)
        if found:
            link = found.group(0)
    time.sleep(0.2)
if link is None:
    sys.exit(f"no confirmation e-mail for {email_address} in {mail_dir}")
call("GET", link)

session = call("POST", f"{control}/api/login", {"email": email_address, "password": password})
token = call("POST", f"{control}/api/settings/tokens", {"name": "ci", "scope": "read-write"},
             {"X-CSRF-Token": session["csrfToken"]})["value"]

# <subdomain>.localhost is loopback (RFC 6761); connect there, name the tenant in Host.
deadline = time.time() + 60
while True:
    req = urllib.request.Request(f"http://127.0.0.1:{api_port}/",
                                 headers={"Host": f"{subdomain}.localhost:{api_port}",
                                          "Authorization": f"Bearer {token}",
                                          "Accept": "application/hal+json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            index = json.loads(resp.read())
            if "_links" in index:
                break
            sys.exit(f"the broker index has no _links: {index}")
    except urllib.error.HTTPError as err:
        if time.time() > deadline:
            sys.exit(f"GET the broker index: {err.code} {err.read().decode()}")
    time.sleep(0.5)
print(f"  {subdomain}: signed up, confirmed, logged in, token created, broker index served")
PY
  then
    echo "newcomer round $round failed; make run's output:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  kill -- "-$run_pid" 2>/dev/null || true
  wait "$run_pid" 2>/dev/null || true
  run_pid=''
  rm -f "$log"
  echo "newcomer round $round: served in $((SECONDS - round_started)) s"
done
echo "newcomer: $rounds fresh starts from an empty .data/, all served, in $((SECONDS - started)) s"

# A control plane that cannot start (a Stripe key without webhook secrets): `make run` must not
# say Treaty runs; it must exit non-zero soon, with the control plane's error at the end.
failing_started=$SECONDS
log=$(mktemp /tmp/treaty-newcomer-run.XXXXXX)
status=0
(cd "$copy" && env -u DATABASE_URL STRIPE_SECRET_KEY=sk_test_newcomer \
  CONTROL_PLANE_LISTEN=127.0.0.1:$(free_port) TENANT_API_LISTEN=127.0.0.1:$(free_port) \
  timeout 120 make run) >"$log" 2>&1 || status=$?
took=$((SECONDS - failing_started))
if [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || grep -q "Treaty is running" "$log" ||
  ! tail -n 8 "$log" | grep -q STRIPE_WEBHOOK_SECRETS || [ "$took" -gt 60 ]; then
  echo "newcomer: a control plane that cannot start was not reported (status $status, ${took} s):" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
rm -f "$log"
echo "newcomer: a failing control plane stopped make run in ${took} s with its error last"
