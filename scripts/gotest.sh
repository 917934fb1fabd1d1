#!/usr/bin/env bash
# Runs `go test` over the given packages; when some fail, runs the failed
# packages once more, alone. The local AWS emulator sometimes drops a
# connection under the load of parallel packages, and the SDK's retry of a
# request whose first attempt went through then meets its own effect (a
# subnet "already exists"): a failure that passes alone is such a flake, one
# that fails again is real. Every run's output stays in the log.
set -uo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0
failed=$(grep -E '^FAIL[[:space:]]+[^[:space:]]+' "$out" | awk '{print $2}' | sort -u)
[ -n "$failed" ] || exit "$rc"
# The flags again, each with its value (-timeout 75m), without the package
# patterns and without -p (the re-run is alone).
flags=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a=${args[i]}
  case "$a" in
    -p|-p=*) [ "$a" = -p ] && i=$((i + 1));;
    -timeout|-run|-skip|-count|-tags|-bench|-benchtime|-parallel) flags+=("$a" "${args[i + 1]}"); i=$((i + 1));;
    -*) flags+=("$a");;
  esac
done
echo
echo "gotest: re-running the failed packages alone: $(echo $failed)"
go test "${flags[@]}" -count=1 -p 1 $failed
rc=$?
echo "gotest: packages that needed the re-run: $(echo $failed) (exit $rc)"
exit $rc
