#!/usr/bin/env bash
# Writes on a primary under the etcd lease, with FUSE passthrough (the fence
# keeper holds SQLite's write lock once the lease is not renewed) and on the
# request path (fuse.passthrough: false), against native SQLite in the same
# run (docs/benchmarks.md, "FUSE passthrough under the etcd lease"). One node,
# a real etcd on loopback ports chosen here; everything it starts is gone
# when it exits.
#
# usage: bench/etcd_fence.sh [--build-dir DIR] [--workload W] [--duration S] [--runs N]
# Prints one line per run and configuration: "run N <config> <ops/s> <ratio to native>".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"
source "$here/failover.sh"

build_dir=$root/build workload=insert duration=4 runs=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--workload W] [--duration S] [--runs N]" >&2; exit 2 ;;
  esac
done
walship_bin=$build_dir/walship
bench_bin=$build_dir/bench/walship-bench
[[ -x $walship_bin && -x $bench_bin ]] || { echo "no $walship_bin or $bench_bin: build first" >&2; exit 1; }

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-etcd-fence.XXXXXX")
cleanup() {
  failover_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

failover_etcd_start "$base/etcd"
etcd=$FAILOVER_ETCD_URL
rate() {
  "$bench_bin" --dir "$1" --workload "$workload" --duration "$duration" --warmup 1 |
    sed -n 's/.*"ops_per_sec":\([0-9.]*\).*/\1/p'
}

for run in $(seq 1 "$runs"); do
  mkdir -p "$base/native"
  native=$(rate "$base/native")
  rm -rf "$base/native"
  echo "run $run native $native 1.00"
  for config in passthrough:true request-path:false; do
    name=${config%%:*} dir=$base/$run-${config%%:*}
    failover_node_start "$name" "$walship_bin" "$dir" "$etcd" "" "${config##*:}"
    node_wait_ready "$name" "$dir/walship.log" grep -q "this node is now the primary" "$dir/walship.log"
    r=$(rate "$dir/mnt")
    walship_node_stop "$name"
    awk -v c="$name" -v r="$r" -v n="$native" -v i="$run" \
      'BEGIN { printf "run %s %s %.0f %.2f\n", i, c, r, r / n }'
  done
done
