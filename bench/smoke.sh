#!/usr/bin/env bash
# Runs every walship-bench workload for 1 s against a fresh walship mount and
# fails if any workload reports errors or no operations. CTest: bench_smoke.
#
# usage: bench/smoke.sh WALSHIP_BIN WALSHIP_BENCH_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
[[ $# -eq 2 ]] || { echo "usage: $0 WALSHIP_BIN WALSHIP_BENCH_BIN" >&2; exit 2; }
walship_bin=$1
bench_bin=$2

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-bench-smoke.XXXXXX")
cleanup() {
  walship_stop
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

walship_start "$walship_bin" "$base"

# --keep: walship refuses to delete a database (EPERM); the temp dir goes anyway.
status=0
out=$(timeout 90 "$bench_bin" --dir "$WALSHIP_MNT" --workload all --duration 1 --warmup 0.2 \
        --rows 2000 --keep) || status=$?
echo "$out"

failed=0
lines=0
while IFS= read -r line; do
  [[ -n $line ]] || continue
  lines=$((lines + 1))
  ops=$(bench_field "$line" ops)
  errors=$(bench_field "$line" errors)
  if [[ $ops == 0 || $errors != 0 ]]; then
    echo "FAIL: $line" >&2
    failed=1
  fi
done <<<"$out"

if [[ $lines -ne 4 || $status -ne 0 || $failed -ne 0 ]]; then
  echo "bench smoke failed: $lines of 4 workloads reported, exit status $status" >&2
  echo "--- walship log ---" >&2
  tail -n 50 "$WALSHIP_LOG" >&2
  exit 1
fi
echo "bench smoke passed"
