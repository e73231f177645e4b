#!/usr/bin/env bash
# The application's side of durability: one walship-bench workload run under
# strace, tracing only fsync and fdatasync (seccomp filter: the other system
# calls run untraced), on native SQLite and on a walship primary (alone, or
# with one replica): how many syncs of each file the application made and how
# long they took. SQLite syncs its WAL before every checkpoint; on walship
# that sync is a FUSE request that also makes the LTX log durable
# (docs/benchmarks.md, "Checkpoint stalls"). Loopback only; every mount and
# process it starts is gone when it exits.
#
# usage: bench/app_syncs.sh [--build-dir DIR] [--walship BIN] [--workload W]
#                           [--duration S] [--replica]
# Prints, per target: walship-bench's rate, then one line per file synced:
# "  FILE syncs N total S s avg MS ms".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"

duration=3
node_bench_args "$@"
command -v strace >/dev/null || { echo "strace is not installed" >&2; exit 1; }

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-app-syncs.XXXXXX")
cleanup() {
  walship_nodes_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

# Runs the workload in DIR under strace; prints the rate and the syncs by file.
measure() {
  local name=$1 dir=$2 trace=$base/$1.strace rate
  rate=$(strace -f -y -T --seccomp-bpf -e trace=fsync,fdatasync -o "$trace" \
    "$bench_bin" --dir "$dir" --workload "$workload" --duration "$duration" --warmup 0 --name "$name" |
    sed 's/.*"ops_per_sec":\([0-9.]*\).*/\1/')
  echo "$name: $rate ops/s"
  # Lines look like: PID fdatasync(4</dir/file>) = 0 <0.003>
  sed -nE 's/^[0-9]+ +f(data)?sync\([0-9]+<[^>]*\/([^/>]*)>\) += 0 <([0-9.]+)>$/\2 \3/p' "$trace" |
    awk '{n[$1]++; t[$1] += $2}
         END {for (f in n) printf "  %s syncs %d total %.3f s avg %.2f ms\n", f, n[f], t[f], 1000 * t[f] / n[f]}' |
    sort
}

mkdir -p "$base/native"
measure native "$base/native"
walship_node_start p "$walship_bin" "$base/p" primary
$replica && walship_node_start r "$walship_bin" "$base/r" replica "${NODE_PORT[p]}"
measure walship "$base/p/mnt"
