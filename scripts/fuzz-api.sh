#!/usr/bin/env bash
# Fuzzes the HTTP API against its contract: serves the real handler of
# shared/httpapi over the local AWS server (TestServeForFuzzing, on a free
# port of 127.0.0.1) and runs schemathesis on every operation of
# openapi.yaml against it, with bounded examples. Fails on any server error
# (5xx) or any response that does not match the document. Run it beside
# moto: scripts/with-moto.sh scripts/fuzz-api.sh (make fuzz-api does).
#   FUZZ_MAX_EXAMPLES   examples per operation and phase (30)
#   FUZZ_SEED           the generator's seed (fixed, so a run can be replayed)
#   FUZZ_TIMEOUT        seconds before schemathesis is stopped (900); a stopped run fails
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
st="$root/.venv/bin/schemathesis"
[ -x "$st" ] || { echo "fuzz-api: $st is missing; run 'make venv'" >&2; exit 1; }
[ -n "${CITADEL_TEST_ENDPOINT:-}" ] || { echo "fuzz-api: no local AWS server; run it under scripts/with-moto.sh" >&2; exit 1; }
run="$root/.run/fuzz-api"
rm -rf "$run" && mkdir -p "$run"
go test -c -o "$run/httpapi.test" ./shared/httpapi/
export CITADEL_FUZZ_ADDR_FILE="$run/addr"
(cd shared/httpapi && exec "$run/httpapi.test" -test.run '^TestServeForFuzzing$' -test.v -test.count=1) >"$run/server.log" 2>&1 &
server=$!
stop() { kill -TERM "$server" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq 1 300); do
  [ -s "$run/addr" ] && break
  kill -0 "$server" 2>/dev/null || { echo "fuzz-api: the server exited; see $run/server.log" >&2; tail -20 "$run/server.log" >&2; exit 1; }
  sleep 0.2
done
[ -s "$run/addr" ] || { echo "fuzz-api: the server did not start" >&2; exit 1; }
url=$(cat "$run/addr")
echo "fuzz-api: schemathesis on $url" >&2
set +e
start=$(date +%s)
# Checks: no 5xx, every response (status, headers, body) as the document
# declares it, bad input (a value the document refuses) never a 2xx.
# From .run/fuzz-api, where schemathesis and hypothesis keep their state.
# One worker: schemathesis's workers are threads, and CPython 3.11's ast.parse
# (hypothesis describes each filter lambda with it) is not safe across threads
# before 3.11.8: two at once fail with "SystemError: AST constructor recursion
# depth mismatch", an error of the fuzzer, not of the API.
(cd "$run" && exec timeout "${FUZZ_TIMEOUT:-900}" "$st" --no-color --config-file "$root/scripts/fuzz-api.toml" run "$root/shared/httpapi/openapi.yaml" --url "$url" \
  --checks "${FUZZ_CHECKS:-all}" --exclude-checks "${FUZZ_EXCLUDE:-ignored_auth,missing_required_header,positive_data_acceptance}" \
  --generation-with-security-parameters false --generation-database none \
  --max-examples "${FUZZ_MAX_EXAMPLES:-30}" --seed "${FUZZ_SEED:-12}" \
  --workers 1 --request-timeout 30 --suppress-health-check all \
  --report junit --report-dir "$run")
rc=$?
echo "fuzz-api: schemathesis took $(( $(date +%s) - start )) s (exit $rc)" >&2
stop
wait "$server"
src=$?
trap - EXIT
grep -E '^\s+fuzzserve_test.go|^(--- |ok|FAIL|PASS)' "$run/server.log" >&2 || true
if [ "$src" -ne 0 ]; then
  echo "fuzz-api: the server reported failures; see $run/server.log" >&2
  [ "$rc" -ne 0 ] || rc=$src
fi
exit "$rc"
