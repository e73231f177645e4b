#!/usr/bin/env bash
# Measures every walship-bench workload on a native directory and on a walship
# mount in one run, interleaved per workload, and prints a markdown table.
#
# usage: bench/compare.sh [--duration S] [--warmup S] [--rows N] [--no-build]
#   WALSHIP_BENCH_BUILD  build directory (default: <repo>/build-bench)
#   TMPDIR               where the native directory and the mount live
# Whole run: 4 workloads x 2 targets x (warm-up + duration) + setup, about
# 90 s with the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"

duration=8
warmup=1
rows=100000
build=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: $0 [--duration S] [--warmup S] [--rows N] [--no-build]" >&2; exit 2 ;;
  esac
done

build_dir=${WALSHIP_BENCH_BUILD:-$root/build-bench}
walship_bin=$build_dir/walship  # DESIGN.md §1.1; older trees built it in src/cli/
[[ -x $walship_bin || ! -x $build_dir/src/cli/walship ]] || walship_bin=$build_dir/src/cli/walship
bench_bin=$build_dir/bench/walship-bench
if [[ $build -eq 1 ]]; then
  [[ -f $build_dir/CMakeCache.txt ]] ||
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  cmake --build "$build_dir" -j"$(nproc)" --target walship walship-bench >&2
fi

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-bench.XXXXXX")
cleanup() {
  walship_stop
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

mkdir -p "$base/native"
walship_start "$walship_bin" "$base"

# One workload on one directory; prints its JSON line. The mount run keeps its
# files: walship refuses to delete a database, and the temp dir goes at exit.
run_one() {
  local dir=$1 workload=$2
  shift 2
  timeout $((3 * (${duration%.*} + ${warmup%.*}) + 120)) \
    "$bench_bin" --dir "$dir" --workload "$workload" --duration "$duration" \
    --warmup "$warmup" --rows "$rows" "$@" || true
}

declare -A native mounted
for w in read insert mixed concurrent; do
  native[$w]=$(run_one "$base/native" "$w")
  mounted[$w]=$(run_one "$WALSHIP_MNT" "$w" --keep)
  echo "native  ${native[$w]}" >&2
  echo "walship ${mounted[$w]}" >&2
done

# "12345.6" -> "12346"; "" -> "error".
rate() { local v; v=$(bench_field "$1" ops_per_sec); [[ -n $v ]] && printf '%.0f' "$v" || echo error; }
# latency FIELD of a JSON line, in µs (ms from 10 ms on).
lat() {
  local v
  v=$(bench_field "$1" "$2")
  [[ -n $v ]] || { echo error; return; }
  awk -v v="$v" 'BEGIN { if (v >= 10000) printf "%.0f ms", v / 1000; else printf "%.0f µs", v }'
}
ratio() {
  local n w
  n=$(bench_field "$1" ops_per_sec)
  w=$(bench_field "$2" ops_per_sec)
  awk -v n="${n:-0}" -v w="${w:-0}" 'BEGIN { if (n > 0) printf "%.0f%%", 100 * w / n; else print "n/a" }'
}

echo
echo "| workload | native ops/s | walship ops/s | ratio | native p99 | walship p99 | walship max |"
echo "|---|---:|---:|---:|---:|---:|---:|"
failed=0
for w in read insert mixed concurrent; do
  n=${native[$w]} m=${mounted[$w]}
  echo "| $w | $(rate "$n") | $(rate "$m") | $(ratio "$n" "$m") | $(lat "$n" p99_us)" \
    "| $(lat "$m" p99_us) | $(lat "$m" max_us) |"
  for line in "$n" "$m"; do
    [[ $(bench_field "$line" errors) == 0 && $(bench_field "$line" ops) != 0 ]] || failed=1
  done
done
# Replication is not built yet, so there is no "walship + 1 replica" column;
# it joins this table (LiteFS publishes 40-55% of native there) when it lands.
echo
echo "walship with one replica: n/a (replication not built yet)"
echo "duration ${duration} s + warm-up ${warmup} s per workload and target; rows ${rows};" \
  "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $failed -ne 0 ]]; then
  echo "some runs reported errors or no operations (see the JSON lines above)" >&2
  exit 1
fi
