#!/usr/bin/env bash
# Runs a command beside a fresh moto server (the local AWS: DynamoDB, S3, EC2,
# IAM, STS, EventBridge ...) on a free loopback port, then stops the server,
# whatever the command's outcome. The command sees the endpoint in
# CITADEL_TEST_ENDPOINT and AWS_ENDPOINT_URL, with test credentials.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
moto="$root/.venv/bin/moto_server"
[ -x "$moto" ] || { echo "with-moto: $moto is missing; run 'make venv'" >&2; exit 1; }
mkdir -p "$root/.run"
# MOTO_PORT asks for a port (the demo's, so the URLs moto hands out, such as
# SQS queue URLs, are the same on every run); when it is taken, any free one.
port=$(python3 -c '
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: a port in TIME_WAIT is free
try:
    s.bind(("127.0.0.1", int(os.environ.get("MOTO_PORT") or 0)))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
# MOTO_FAKETIME pins the server's wall clock (libfaketime's faketime), so an
# estate seeded again gets the same creation times: the demo's reruns are
# then true rescans. Monotonic time is left alone, so timeouts still work.
prefix=()
if [ -n "${MOTO_FAKETIME:-}" ]; then
  if command -v faketime >/dev/null; then
    prefix=(env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$MOTO_FAKETIME")
  else
    echo "with-moto: faketime is not installed; the server's clock is not pinned" >&2
  fi
fi
# Its own process group (setsid), so stopping it stops every process it is
# made of (faketime's child too); KILL if it has not gone within 5 s.
setsid "${prefix[@]}" "$moto" -H 127.0.0.1 -p "$port" >"$root/.run/moto-$port.log" 2>&1 &
pid=$!
cleanup() {
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "with-moto: moto exited; see .run/moto-$port.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null || { echo "with-moto: moto did not answer on port $port" >&2; exit 1; }
echo "with-moto: moto on http://127.0.0.1:$port (pid $pid)" >&2
export CITADEL_TEST_ENDPOINT="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
unset AWS_PROFILE
set +e
"$@"
rc=$?
exit $rc
