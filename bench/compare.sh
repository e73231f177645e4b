#!/usr/bin/env bash
# One run on one machine: the four walship-bench workloads on a native
# directory, on the bare-FUSE floor (libfuse's passthrough_ll with its defaults
# and with -o writeback), on a walship mount with no replica, on a walship
# primary with one replica and on one with two (interleaved per workload), the
# reads again on that one replica, the same kind of workloads on dqlite (Debian's dqlite-benchmark) as a peer; then replication
# lag at a fixed write rate, snapshot throughput to a fresh replica,
# start-up time, and failover and handoff on the etcd lease. Prints markdown tables; writes OUT/results.md, OUT/raw.jsonl,
# OUT/chart.dat and OUT/compare.png (gnuplot). Loopback only; every mount and
# process it starts is gone when it exits. --help lists the options.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"
source "$here/floor.sh"
source "$here/peer_dqlite.sh"
source "$here/measure_repl.sh"
source "$here/report.sh"
source "$here/failover.sh"

usage() {
  cat <<EOF
usage: bench/compare.sh [options]
  --duration S        measured seconds per workload and target (default 2)
  --warmup S          unmeasured seconds before each (default 0.5)
  --rows N            prefilled rows for read and mixed (default 50000)
  --quick             skip the dqlite 3-voter cluster, the snapshot and the start-up
  --full              also measure the start-up of a 1 GB database (about 2 minutes more)
  --no-peer           skip dqlite
  --lag-rates N,M     write rates (tx/s) of the lag measurement (default 50,200)
  --lag-duration S    seconds of writing at each (default 4)
  --snapshot-mb N     size of the snapshot database (default 200)
  --startup-mb N      size of the --full start-up database (default 1024)
  --catchup-window S  how long to watch replicas catch up after a run (default 3)
  --failover-trials N kill -9 trials of the failover measurement (default 5; 0 skips it)
  --smoke             tiny sizes and durations, to check that the script works
  --out DIR           where results go (default BUILD_DIR/bench-results)
  --build-dir DIR     build directory (default \$WALSHIP_BENCH_BUILD or <repo>/build-bench)
  --no-build          use the binaries already in the build directory (passthrough_ll,
                      the bare-FUSE floor, is still compiled when missing or stale)
EOF
}

duration=2 warmup=0.5 rows=50000 quick=0 full=0 smoke=0 peer=1 build=1
lag_rates=50,200 lag_duration=4 snapshot_mb=200 startup_mb=1024 catchup_window=3
failover_trials=5
dqlite_nodes=(1 3) out="" build_dir=${WALSHIP_BENCH_BUILD:-$root/build-bench}
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --full) full=1; shift ;;
    --no-peer) peer=0; shift ;;
    --lag-rates) lag_rates=$2; shift 2 ;;
    --lag-duration) lag_duration=$2; shift 2 ;;
    --snapshot-mb) snapshot_mb=$2; shift 2 ;;
    --startup-mb) startup_mb=$2; shift 2 ;;
    --catchup-window) catchup_window=$2; shift 2 ;;
    --failover-trials) failover_trials=$2; shift 2 ;;
    --smoke)
      duration=0.3 warmup=0 rows=1000 lag_rates=50 lag_duration=1 snapshot_mb=2 startup_mb=2
      failover_trials=1
      smoke=1
      shift ;;
    --out) out=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ $quick -eq 1 || $smoke -eq 1 ]] && dqlite_nodes=(1)
build_dir=$(cd "$build_dir" 2>/dev/null && pwd || echo "$build_dir")
out=${out:-$build_dir/bench-results}
walship_bin=$build_dir/walship
bench_bin=$build_dir/bench/walship-bench
lag_bin=$build_dir/bench/walship-lag
floor_bin=$build_dir/bench/passthrough_ll

if [[ $build -eq 1 ]]; then
  [[ -f $build_dir/CMakeCache.txt ]] ||
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  cmake --build "$build_dir" -j"$(nproc)" --target walship walship-bench walship-lag >&2
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$SECONDS
base=$(mktemp -d "${TMPDIR:-/tmp}/walship-compare.XXXXXX")
cleanup() {
  failover_stop_all
  walship_nodes_stop_all
  dqlite_stop_all
  echo "[$((SECONDS - started)) s] removing $(find "$base" | wc -l) files" >&2
  rm -rf "$base"
  echo "[$((SECONDS - started)) s] cleaned up" >&2
}
trap cleanup EXIT
trap "exit 130" INT TERM
mkdir -p "$out"
: >"$out/raw.jsonl"

WORKLOADS=(read insert mixed concurrent)
TARGETS=(native walship walship_r1 walship_r1_reads walship_r2)
# The bare-FUSE floor (floor.sh): each target's passthrough_ll options.
FLOOR_TARGETS=(fuse fuse-wb)
declare -A FLOOR_OPTIONS=([fuse]="" [fuse-wb]=writeback)
declare -A TARGET_LABEL=(
  [native]="SQLite, native directory"
  [fuse]="bare FUSE (passthrough_ll)" [fuse-wb]="bare FUSE, writeback cache"
  [walship]="walship, no replica"
  [walship_r1]="walship + 1 replica" [walship_r2]="walship + 2 replicas"
  [walship_r1_reads]="walship, reads on that replica"
  [dqlite_1]="dqlite, 1 node" [dqlite_3]="dqlite, 3 voters")
declare -A RESULT=() CATCHUP=()
LAG="" SNAPSHOT="" STARTUP="" STARTUP_FULL="" FAILOVER="" PEER_NOTE="" DQ_SECONDS=""
FLOOR_NOTE=""

phase() { echo "[$((SECONDS - started)) s] $*" >&2; }

# Keeps one result line, tagged with its target, in RESULT and raw.jsonl.
record() {
  local target=$1 workload=$2 line=$3
  [[ -n $line ]] || line="{\"workload\":\"$workload\",\"ops\":0,\"errors\":1}"
  RESULT[$target/$workload]=$line
  echo "{\"target\":\"$target\",${line#\{}" >>"$out/raw.jsonl"
  echo "$target $line" >&2
}

record_other() {
  local kind=$1 line
  while IFS= read -r line; do
    [[ -n $line ]] && echo "{\"target\":\"$kind\",${line#\{}" >>"$out/raw.jsonl"
    echo "$kind $line" >&2
  done <<<"$2"
}

run_bench() {
  local dir=$1 workload=$2
  shift 2
  timeout $((3 * (${duration%.*} + ${warmup%.*}) + 120)) \
    "$bench_bin" --dir "$dir" --workload "$workload" --duration "$duration" \
    --warmup "$warmup" --rows "$rows" "$@" || true
}

# The TXID in a database's -pos file (0 when it has none).
pos_txid() {
  local pos
  pos=$(walship_pos "$1")
  [[ $pos == none ]] && echo 0 || echo $((16#${pos%%/*}))
}

# catch_up PRIMARY_MNT DB REPLICA_MNT...: how far behind the primary the
# slowest replica was on DB when the run ended, and either how long it took to
# reach the primary or, if that takes longer than catchup_window seconds, how
# fast it applied meanwhile and so how long it would need.
catch_up() {
  local primary=$1 db=$2 t0 r behind=0 start_txid end_txid target caught=1
  shift 2
  t0=$(repl_now)
  target=$(pos_txid "$primary/$db")
  start_txid=$target
  for r in "$@"; do
    (($(pos_txid "$r/$db") < start_txid)) && start_txid=$(pos_txid "$r/$db")
  done
  behind=$((target - start_txid))
  for r in "$@"; do
    walship_wait_caught_up "$primary" "$r" "$catchup_window" || { caught=0; break; }
  done
  end_txid=$target
  for r in "$@"; do
    (($(pos_txid "$r/$db") < end_txid)) && end_txid=$(pos_txid "$r/$db")
  done
  awk -v s="$(repl_elapsed "$t0" "$(repl_now)")" -v b="$behind" -v c="$caught" \
    -v applied=$((end_txid - start_txid)) -v left=$((target - end_txid)) 'BEGIN {
      if (b == 0) { printf "0 tx"; exit }
      if (c) { printf "%d tx, %.1f s (%.0f tx/s)", b, s, b / s; exit }
      r = applied / s
      if (r > 0) printf "%d tx, ~%.0f s (%.0f tx/s)", b, s + left / r, r
      else printf "%d tx, none applied in %.0f s", b, s }'
}

# One walship primary with N replicas, fresh for one run of WORKLOAD, then
# the replicas' catch-up, then all of them stopped, so that a backlog never
# reaches into the next run.
run_replicated() {
  local target=$1 n=$2 w=$3 i
  local -a replicas=()
  walship_node_start "$target-p" "$walship_bin" "$base/$target-$w/p" primary
  for i in $(seq 1 "$n"); do
    walship_node_start "$target-r$i" "$walship_bin" "$base/$target-$w/r$i" replica \
      "${NODE_PORT[$target-p]}"
    replicas+=("$base/$target-$w/r$i/mnt")
  done
  record "$target" "$w" "$(run_bench "$base/$target-$w/p/mnt" "$w" --keep)"
  CATCHUP[$target/$w]=$(catch_up "$base/$target-$w/p/mnt" "bench_$w.db" "${replicas[@]}")
  # The same reads on the replica, of the database the primary's run filled.
  if [[ $n == 1 && $w == read ]]; then
    record walship_r1_reads read "$(run_bench "${replicas[0]}" read --read-only)"
  fi
  for i in $(seq 1 "$n"); do walship_node_stop "$target-r$i"; done
  walship_node_stop "$target-p"
}

# Builds passthrough_ll and puts the floor's targets after native, or says
# in FLOOR_NOTE why there is no floor in this run.
prepare_floor() {
  local why
  why=$(floor_unavailable)
  if [[ -n $why ]]; then
    FLOOR_NOTE="Bare-FUSE floor: not measured: $why."
    FLOOR_TARGETS=()
    return 0
  fi
  floor_build "$floor_bin" >&2
  TARGETS=(native "${FLOOR_TARGETS[@]}" "${TARGETS[@]:1}")
}

# The four workloads on native, the floor and walship, interleaved per workload.
run_workloads() {
  local w t
  phase "starting walship nodes and the bare-FUSE mounts"
  mkdir -p "$base/native"
  walship_node_start w0 "$walship_bin" "$base/w0" alone
  for t in "${FLOOR_TARGETS[@]}"; do
    floor_start "$t" "$floor_bin" "$base/$t" "${FLOOR_OPTIONS[$t]}"
  done
  for w in "${WORKLOADS[@]}"; do
    phase "workload $w"
    record native "$w" "$(run_bench "$base/native" "$w")"
    for t in "${FLOOR_TARGETS[@]}"; do
      record "$t" "$w" "$(run_bench "$base/$t/mnt" "$w")"
    done
    # --keep: walship refuses to delete a database; the temp dir goes at exit.
    record walship "$w" "$(run_bench "$base/w0/mnt" "$w" --keep)"
    run_replicated walship_r1 1 "$w"
    run_replicated walship_r2 2 "$w"
  done
  walship_nodes_stop_all
}

# The peer: dqlite-benchmark with the same value size, in whole seconds.
run_peer() {
  local n
  if [[ $peer -eq 0 ]]; then
    PEER_NOTE="dqlite: not measured (--no-peer)."
    return
  fi
  if ! dqlite_available; then
    PEER_NOTE="dqlite: not measured: dqlite-benchmark is not installed (Debian package go-dqlite)."
    return
  fi
  DQ_SECONDS=$(awk -v d="$duration" 'BEGIN { s = int(d); if (s < d) s++; print (s < 1 ? 1 : s) }')
  for n in "${dqlite_nodes[@]}"; do
    phase "dqlite, $n node(s)"
    TARGETS+=("dqlite_$n")
    # One node: each workload on a fresh node of its own. More: one cluster,
    # and each workload's driver joins it.
    if [[ $n -gt 1 ]] && ! dqlite_start_cluster "$n" "$base/dq$n"; then
      dqlite_stop_all
      continue
    fi
    record "dqlite_$n" insert "$(dqlite_run kvwrite 1 "$DQ_SECONDS" "$base/dq$n/i" 100)"
    record "dqlite_$n" mixed "$(dqlite_run kvreadwrite 1 "$DQ_SECONDS" "$base/dq$n/m" 100)"
    record "dqlite_$n" concurrent "$(dqlite_run kvwrite 10 "$DQ_SECONDS" "$base/dq$n/c" 100)"
    dqlite_stop_all
  done
}

# Replication lag, snapshot throughput, start-up time.
run_replication() {
  phase "replication lag at $lag_rates tx/s"
  LAG=$(repl_lag "$walship_bin" "$lag_bin" "$base/lag" "$lag_rates" "$lag_duration")
  record_other lag "$LAG"
  if [[ $quick -eq 0 ]]; then
    phase "snapshot of ${snapshot_mb} MB"
    SNAPSHOT=$(repl_snapshot "$walship_bin" "$base/snap" "$snapshot_mb")
    record_other snapshot "$SNAPSHOT"
    phase "start-up of the snapshot database"
    STARTUP=$(repl_startup_existing snap_p "$walship_bin" "$base/snap/primary" primary)
    record_other startup "$STARTUP"
  fi
  if [[ $full -eq 1 ]]; then
    phase "start-up of a ${startup_mb} MB database"
    STARTUP_FULL=$(repl_startup "$walship_bin" "$base/boot" "$startup_mb")
    record_other startup_full "$STARTUP_FULL"
  fi
}

# Failover and handoff with three nodes on a real etcd (bench/failover.sh).
run_failover() {
  [[ $failover_trials -gt 0 ]] || return 0
  if ! command -v etcd >/dev/null 2>&1; then
    FAILOVER='{"skipped":"etcd is not installed (Debian package etcd-server)","errors":0}'
    return 0
  fi
  phase "failover: $failover_trials kill -9 trials and a handoff (etcd, TTL 2 s)"
  FAILOVER=$(failover_measure "$walship_bin" "$base/failover" "$failover_trials")
  record_other failover "$FAILOVER"
}

# "dqlite, 1 node: 42511; dqlite, 3 voters: 24449"
dqlite_refusals() {
  local t list=""
  for t in "${TARGETS[@]}"; do
    [[ $t == dqlite_* ]] || continue
    list+="${list:+; }${TARGET_LABEL[$t]}: $(bench_field "${RESULT[$t/concurrent]}" errors)"
  done
  echo "$list"
}

print_machine() {
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
    "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($(git -C "$root" status --porcelain 2>/dev/null | wc -l) paths changed in the work tree)."
  echo
  echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
    "kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')," \
    "SQLite $(sqlite3 --version | cut -d' ' -f1)," \
    "libfuse $(pkg-config --modversion fuse3 2>/dev/null || echo '?')$(dqlite_available &&
      echo ", go-dqlite $(dpkg-query -W -f='${Version}' go-dqlite 2>/dev/null)");" \
    "temp files on $(df -T "$base" | awk 'NR == 2 { print $2 " (" $1 ")" }')."
  echo "Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  if awk -v l="${load_before%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "**The machine was loaded (load above half its CPUs): these figures are preliminary.**"
  fi
  echo
  echo "Settings: ${duration} s measured after ${warmup} s warm-up per workload and target;" \
    "${rows} prefilled rows; WAL, synchronous=NORMAL, 100-byte values."
}

print_peer_note() {
  if [[ -n $PEER_NOTE ]]; then
    echo "$PEER_NOTE"
  else
    echo "dqlite rows: \`dqlite-benchmark\` with 100-byte values: insert = kvwrite, 1 worker" \
      "(autocommit INSERT OR REPLACE); mixed = kvreadwrite, 1 worker (50% reads, not 70%);" \
      "concurrent = kvwrite, 10 workers; no read-only workload; no warm-up;" \
      "${DQ_SECONDS} s each. Every dqlite commit is fsynced to its Raft log on a quorum." \
      "Operations dqlite refused in concurrent (\"database is locked\"; dqlite-benchmark" \
      "does not retry): $(dqlite_refusals)."
  fi
  echo "LiteFS and rqlite are not packaged in Debian 12, so they are not measured here."
}

print_floor_note() {
  if [[ -n $FLOOR_NOTE ]]; then
    echo "$FLOOR_NOTE"
  else
    echo "Bare-FUSE floor: libfuse's passthrough_ll example (compiled from" \
      "\`$FLOOR_SRC\`) over a plain directory on the same file system; \`fuse\` with" \
      "its defaults (every write reaches it; the kernel keeps the POSIX locks), \`fuse-wb\`" \
      "with \`-o writeback\` (the kernel's writeback cache). walship's % of the floor is" \
      "against \`fuse\`."
  fi
}

print_results() {
  print_machine
  echo
  report_throughput_table
  echo
  report_floor_table
  report_latency_table
  echo
  report_catchup_table
  echo
  report_lag_table
  echo
  report_snapshot
  report_startup "$STARTUP" "the snapshot database" "--quick"
  report_startup "$STARTUP_FULL" "a ${startup_mb} MB database" "pass --full"
  report_failover "$FAILOVER"
  echo
  print_floor_note
  print_peer_note
  echo
  echo "Whole run until this report: $((SECONDS - started)) s. Chart: compare.png."
}

# 0 when every walship and native run did operations without errors.
all_ok() {
  local key line
  for key in "${!RESULT[@]}"; do
    [[ $key == dqlite_* ]] && continue  # the peer's refusals are its own
    line=${RESULT[$key]}
    [[ $(bench_field "$line" errors) == 0 && $(bench_field "$line" ops) != 0 ]] || return 1
  done
  while IFS= read -r line; do
    [[ -z $line || $(bench_field "$line" errors) == 0 ]] || return 1
  done <<<"$LAG"$'\n'"$SNAPSHOT"$'\n'"$STARTUP"$'\n'"$STARTUP_FULL"$'\n'"$FAILOVER"
}

prepare_floor
run_workloads
run_peer
run_replication
run_failover
phase "report"
print_results | tee "$out/results.md"
report_chart_data >"$out/chart.dat"
if command -v gnuplot >/dev/null 2>&1; then
  report_chart "$out/chart.dat" "$out/compare.png" \
    "walship-bench workloads, $(nproc) CPUs, load $load_before, $(date -u +%Y-%m-%d)"
  echo "chart: $out/compare.png" >&2
else
  echo "no chart: gnuplot is not installed (Debian package gnuplot-nox)" >&2
fi
if ! all_ok; then
  echo "some measurements reported errors or no operations (see $out/raw.jsonl)" >&2
  exit 1
fi
