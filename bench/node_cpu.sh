#!/usr/bin/env bash
# One walship-bench workload on a walship primary, alone or with one replica,
# and the CPU each walship process used meanwhile: a quick A/B of two
# binaries (alternate them: the VM's speed drifts between runs). Loopback
# only; every mount and process it starts is gone when it exits.
#
# usage: bench/node_cpu.sh [--walship BIN] [--build-dir DIR] [--workload W]
#                          [--duration S] [--replica]
# Prints walship-bench's JSON line, then "primary_cpu_s X" (and
# "replica_cpu_s Y"), user plus system time from /proc/PID/stat.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"

duration=4
node_bench_args "$@"

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-node-cpu.XXXXXX")
cleanup() {
  walship_nodes_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

if $replica; then
  walship_node_start p "$walship_bin" "$base/p" primary
  walship_node_start r "$walship_bin" "$base/r" replica "${NODE_PORT[p]}"
else
  walship_node_start p "$walship_bin" "$base/p" alone
fi

# Clock ticks of user plus system time (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
nodes=(p)
$replica && nodes+=(r)
declare -A before=()
for n in "${nodes[@]}"; do before[$n]=$(cpu_ticks "${NODE_PID[$n]}"); done
"$bench_bin" --dir "$base/p/mnt" --workload "$workload" --duration "$duration" --warmup 1
hz=$(getconf CLK_TCK)
for n in "${nodes[@]}"; do
  ticks=$(($(cpu_ticks "${NODE_PID[$n]}") - before[$n]))
  name=primary
  [[ $n == r ]] && name=replica
  awk -v t="$ticks" -v hz="$hz" -v n="$name" 'BEGIN { printf "%s_cpu_s %.2f\n", n, t / hz }'
done
