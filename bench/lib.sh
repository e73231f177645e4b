# shellcheck shell=bash
# Shared by compare.sh and smoke.sh: start and stop walship nodes on temp FUSE
# mounts. Source it; it defines functions and touches nothing else.
#
#   walship_node_start NAME BIN DIR ROLE [PRIMARY_PORT]
#       ROLE is alone (no lease), primary (static lease, candidate) or replica
#       (of the primary whose node API listens on PRIMARY_PORT). Creates
#       DIR/{mnt,data} and DIR/walship.yml with a free loopback port, starts
#       `walship mount` in the background and waits for DIR/mnt/.lag. Sets
#       NODE_PID[NAME], NODE_DIR[NAME], NODE_PORT[NAME]; the node's log is
#       DIR/walship.log.
#       WALSHIP_START_TIMEOUT (seconds, default 30) bounds the wait.
#   node_wait_ready NAME LOG CHECK...
#       waits for the command CHECK... while NODE_PID[NAME] runs.
#   walship_node_stop NAME
#       SIGTERM (SIGKILL after 10 s), then a lazy unmount if the mount is still
#       there. Safe to call twice and for a node never started. It stops any
#       process kept in NODE_PID[NAME] whose mount is NODE_DIR[NAME]/mnt:
#       failover.sh, proxy.sh, backup.sh and floor.sh keep theirs there too.
#   walship_nodes_stop_all
#   walship_wait_caught_up PRIMARY_MNT REPLICA_MNT TIMEOUT
#       waits until every *.db on the primary has the same -pos on the replica.
#
#   node_bench_args ARGS...
#       the options of node_cpu.sh and app_syncs.sh (see the function).
#
#   walship_start WALSHIP_BIN BASE_DIR / walship_stop
#       one standalone node (smoke.sh): sets WALSHIP_PID, WALSHIP_MNT, WALSHIP_LOG.

declare -gA NODE_PID=() NODE_DIR=() NODE_PORT=()
WALSHIP_PID=""
WALSHIP_MNT=""
WALSHIP_LOG=""

# A loopback TCP port no socket uses right now, below Linux's ephemeral range
# (32768 on) so that no outgoing connection takes it before it is bound.
walship_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 12000))
    if ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# The config of a node; a static lease when it is a primary or a replica.
walship_node_config() {
  local dir=$1 port=$2 primary_port=$3 candidate=$4
  echo "fuse: {dir: \"$dir/mnt\"}"
  echo "data: {dir: \"$dir/data\"}"
  echo "http: {addr: \"127.0.0.1:$port\"}"
  [[ -n $primary_port ]] || return 0
  echo "lease: {type: static, hostname: primary, candidate: $candidate,"
  echo "        advertise-url: \"http://127.0.0.1:$primary_port\"}"
}

# walship_node_start NAME BIN DIR ROLE [PRIMARY_PORT]; see the top of the file.
walship_node_start() {
  local name=$1 bin=$2 dir=$3 role=$4 primary_port=${5:-} port candidate=false
  port=$(walship_free_port) || return 1
  case $role in
    alone) primary_port="" ;;
    primary) primary_port=$port candidate=true ;;
    replica) [[ -n $primary_port ]] || { echo "replica $name needs PRIMARY_PORT" >&2; return 1; } ;;
    *) echo "walship_node_start: unknown role $role" >&2; return 1 ;;
  esac
  mkdir -p "$dir/mnt" "$dir/data"
  walship_node_config "$dir" "$port" "$primary_port" "$candidate" >"$dir/walship.yml"
  "$bin" mount --config "$dir/walship.yml" >"$dir/walship.log" 2>&1 &
  NODE_PID[$name]=$!
  NODE_DIR[$name]=$dir
  NODE_PORT[$name]=$port
  walship_node_wait_mounted "$name"
}

walship_node_wait_mounted() {
  local dir=${NODE_DIR[$1]}
  node_wait_ready "$1" "$dir/walship.log" test -e "$dir/mnt/.lag"
}

# node_wait_ready NAME LOG CHECK...: 0 once the command CHECK... succeeds;
# 1, with LOG on stderr, when NODE_PID[NAME] exits first or
# WALSHIP_START_TIMEOUT seconds (default 30) pass.
node_wait_ready() {
  local name=$1 log=$2 pid=${NODE_PID[$1]}
  local tries=$((${WALSHIP_START_TIMEOUT:-30} * 100))
  shift 2
  for _ in $(seq 1 "$tries"); do
    "$@" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "node $name exited before it was ready; its log:" >&2
      cat "$log" >&2
      NODE_PID[$name]=""
      return 1
    fi
    sleep 0.01
  done
  echo "node $name was not ready ($*) within ${WALSHIP_START_TIMEOUT:-30} s; its log:" >&2
  tail -n 50 "$log" >&2
  return 1
}

walship_node_stop() {
  local name=$1 pid=${NODE_PID[$1]:-} dir=${NODE_DIR[$1]:-}
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  NODE_PID[$name]=""
  if [[ -n $dir ]] && mountpoint -q "$dir/mnt" 2>/dev/null; then
    umount -l "$dir/mnt" 2>/dev/null || fusermount3 -uz "$dir/mnt" 2>/dev/null || true
  fi
}

walship_nodes_stop_all() {
  local name
  for name in "${!NODE_PID[@]}"; do walship_node_stop "$name"; done
}

# The TXID/checksum line of one database's -pos file, or "none".
walship_pos() { cat "$1-pos" 2>/dev/null || echo none; }

# walship_wait_caught_up PRIMARY_MNT REPLICA_MNT TIMEOUT_S: 0 once every
# database of the primary shows the same position on the replica, 1 when
# TIMEOUT_S (may be fractional) ran out first.
walship_wait_caught_up() {
  local primary=$1 replica=$2 deadline db behind
  deadline=$((${EPOCHREALTIME/./} + $(awk -v t="$3" 'BEGIN { printf "%d", t * 1e6 }')))
  while :; do
    behind=0
    for db in "$primary"/*.db; do
      [[ -e $db ]] || continue
      [[ $(walship_pos "$db") == $(walship_pos "$replica/${db##*/}") ]] || { behind=1; break; }
    done
    [[ $behind -eq 0 ]] && return 0
    [[ ${EPOCHREALTIME/./} -lt $deadline ]] || return 1
    sleep 0.01
  done
}

walship_start() {
  walship_node_start main "$1" "$2" alone || return 1
  WALSHIP_PID=${NODE_PID[main]}
  WALSHIP_MNT=$2/mnt
  WALSHIP_LOG=$2/walship.log
}

walship_stop() {
  walship_node_stop main
  WALSHIP_PID=""
}

# The value of numeric FIELD in one JSON line.
bench_field() {
  sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" <<<"$1"
}

# node_bench_args ARGS...: the options of the one-node scripts (node_cpu.sh,
# app_syncs.sh): --build-dir DIR, --walship BIN, --workload W, --duration S,
# --replica. Sets build_dir, walship_bin, bench_bin, workload, duration and
# replica (true/false), checks the binaries exist; exits 2 on a bad option.
node_bench_args() {
  build_dir=${build_dir:-$root/build} walship_bin="" workload=insert duration=${duration:-4} replica=false
  while [[ $# -gt 0 ]]; do
    case $1 in
      --build-dir) build_dir=$2; shift 2 ;;
      --walship) walship_bin=$2; shift 2 ;;
      --workload) workload=$2; shift 2 ;;
      --duration) duration=$2; shift 2 ;;
      --replica) replica=true; shift ;;
      *) echo "usage: $0 [--build-dir DIR] [--walship BIN] [--workload W] [--duration S] [--replica]" >&2
         exit 2 ;;
    esac
  done
  walship_bin=${walship_bin:-$build_dir/walship}
  bench_bin=$build_dir/bench/walship-bench
  [[ -x $walship_bin && -x $bench_bin ]] || { echo "no $walship_bin or $bench_bin: build first" >&2; exit 1; }
}
