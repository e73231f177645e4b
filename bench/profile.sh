#!/usr/bin/env bash
# Profiles walship on the insert path: a primary with one replica, the insert
# workload for a fixed number of transactions on the primary, then the
# replica's catch-up. One node runs under valgrind's callgrind (instructions
# in user space; what the kernel does for it, such as fsync, is not counted)
# and the function summary is printed. Loopback only; every mount and
# process it starts is gone when it exits.
#
# usage: bench/profile.sh [--node primary|replica] [--ops N] [--build-dir DIR] [--out DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"

node=primary ops=2000 build_dir=${WALSHIP_BENCH_BUILD:-$root/build-bench} out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --node) node=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--node primary|replica] [--ops N] [--build-dir DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
[[ $node == primary || $node == replica ]] || { echo "--node is primary or replica" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
build_dir=$(cd "$build_dir" && pwd)
out=${out:-$build_dir/bench-results}
mkdir -p "$out"
walship_bin=$build_dir/walship
bench_bin=$build_dir/bench/walship-bench
profile=$out/callgrind.$node.out

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-profile.XXXXXX")
cleanup() {
  walship_nodes_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

# The profiled node runs through this wrapper; exec keeps its PID, so the
# SIGTERM of walship_node_stop reaches walship and callgrind writes on exit.
cat >"$base/under-callgrind" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$profile" "$walship_bin" "\$@"
EOF
chmod +x "$base/under-callgrind"
primary_bin=$walship_bin replica_bin=$walship_bin
[[ $node == primary ]] && primary_bin=$base/under-callgrind || replica_bin=$base/under-callgrind

export WALSHIP_START_TIMEOUT=120
walship_node_start p "$primary_bin" "$base/p" primary
walship_node_start r "$replica_bin" "$base/r" replica "${NODE_PORT[p]}"
"$bench_bin" --dir "$base/p/mnt" --workload insert --ops "$ops" --warmup 0 --duration 600 --keep
walship_wait_caught_up "$base/p/mnt" "$base/r/mnt" 600 || echo "the replica did not catch up" >&2
walship_nodes_stop_all

echo "profile: $profile"
callgrind_annotate --inclusive=no "$profile" 2>/dev/null | sed -n '1,/^$/p;/Ir/,+30p' | head -60
echo "--- inclusive ---"
callgrind_annotate --inclusive=yes "$profile" 2>/dev/null | grep -E 'walship::' | head -40
