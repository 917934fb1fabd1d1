#!/usr/bin/env bash
# Invokes a built Lambda bootstrap once, as Lambda would: it starts the AWS
# Lambda Runtime Interface Emulator on 127.0.0.1 with the bootstrap (through
# qemu-aarch64 on a host that is not arm64), posts the event, prints the
# response on stdout and stops the emulator. The function's logs go to stderr.
# The function reads its settings (CITADEL_TABLE, CITADEL_BUCKET ...) and its
# AWS endpoint (AWS_ENDPOINT_URL, e.g. from scripts/with-moto.sh) from this
# environment. Exits 1 when the function returns an error.
#
#   scripts/invoke.sh bin/plan/bootstrap events/plan/api.json
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 <bootstrap> <event.json>" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
bootstrap=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
event=$2
[ -x "$bootstrap" ] || { echo "invoke: $bootstrap is not built (make build)" >&2; exit 2; }
[ -f "$event" ] || { echo "invoke: no event file $event" >&2; exit 2; }

rie=${CITADEL_RIE:-$root/.tools/bin/aws-lambda-rie}
[ -x "$rie" ] || rie=$(command -v aws-lambda-rie || true)
[ -n "$rie" ] || { echo "invoke: aws-lambda-rie not found; run 'make tools'" >&2; exit 2; }
prefix=()
if [ "$(uname -m)" != aarch64 ] && [ "$(uname -m)" != arm64 ]; then
  q=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
  [ -n "$q" ] || { echo "invoke: qemu-aarch64-static not found; run 'make tools'" >&2; exit 2; }
  prefix=("$q")
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
api=$(free_port)
(cd "$(dirname "$bootstrap")" && exec "$rie" --runtime-interface-emulator-address "127.0.0.1:$port" \
  --runtime-api-address "127.0.0.1:$api" --log-level error "${prefix[@]}" "$bootstrap") >&2 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "invoke: the emulator exited" >&2; exit 1; }
  sleep 0.1
done
resp=$(curl -sS --fail-with-body -X POST --data-binary "@$event" \
  "http://127.0.0.1:$port/2015-03-31/functions/function/invocations")
printf '%s\n' "$resp"
if printf '%s' "$resp" | python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(1 if isinstance(d, dict) and d.get("errorType") else 0)' 2>/dev/null; then
  exit 0
fi
exit 1
