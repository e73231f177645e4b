#!/usr/bin/env bash
# Failover and handoff on the etcd lease. compare.sh sources it (then it only
# defines functions); run directly it measures on its own:
#   bench/failover.sh [WALSHIP_BIN] [TRIALS]   (default build/walship, 5)
# Needs lib.sh and `etcd` (Debian package etcd-server).
#
#   failover_measure WALSHIP_BIN BASE_DIR TRIALS
#       Starts a real etcd and three walship nodes (all candidates, TTL 2 s).
#       Each trial kills the primary with SIGKILL and times, from the kill, the
#       first INSERT that succeeds on any survivor (the sqlite3 CLI, retried
#       round-robin), then restarts the killed node and lets it catch up.
#       Then one handoff (`walship run --promote`) with a writer retrying on
#       every node: the longest gap between two successful INSERTs around it
#       is the time writes were unavailable. Prints JSON lines:
#         {"trial":N,"failover_ms":X,"errors":0}
#         {"failover_p50_ms":X,"failover_max_ms":Y,"trials":N,
#          "handoff_gap_ms":G,"normal_gap_p50_ms":H,"promote_ms":P,"errors":E}
#   failover_etcd_start DIR
#       a real etcd on free loopback ports; sets FAILOVER_ETCD_URL and
#       FAILOVER_ETCD_PID
#   failover_stop_all   stops etcd and the nodes (for an EXIT trap)

FAILOVER_ETCD_PID="" FAILOVER_ETCD_URL=""

failover_now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

failover_etcd_start() {
  local dir=$1 client peer
  client=$(walship_free_port) && peer=$(walship_free_port) || return 1
  mkdir -p "$dir"
  env -u ETCD_DATA_DIR etcd --name bench --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench=http://127.0.0.1:$peer" \
    --heartbeat-interval 10 --election-timeout 100 >"$dir/etcd.log" 2>&1 &
  FAILOVER_ETCD_PID=$!
  for _ in $(seq 1 500); do
    curl -fsS "http://127.0.0.1:$client/health" 2>/dev/null | grep -q '"health":"true"' &&
      { FAILOVER_ETCD_URL="http://127.0.0.1:$client"; return 0; }
    sleep 0.02
  done
  echo "etcd did not become healthy; its log:" >&2
  tail -20 "$dir/etcd.log" >&2
  return 1
}

failover_stop_all() {
  walship_nodes_stop_all
  if [[ -n $FAILOVER_ETCD_PID ]]; then
    kill -TERM "$FAILOVER_ETCD_PID" 2>/dev/null || true
    wait "$FAILOVER_ETCD_PID" 2>/dev/null || true
    FAILOVER_ETCD_PID=""
  fi
}

# failover_node_start NAME BIN DIR ETCD_URL [PORT [PASSTHROUGH]]: a node on
# the etcd lease (fuse.passthrough: PASSTHROUGH, default true).
failover_node_start() {
  local name=$1 bin=$2 dir=$3 etcd=$4 port=${5:-} passthrough=${6:-true}
  [[ -n $port ]] || port=$(walship_free_port) || return 1
  mkdir -p "$dir/mnt" "$dir/data"
  cat >"$dir/walship.yml" <<YAML
fuse: {dir: "$dir/mnt", passthrough: $passthrough}
data: {dir: "$dir/data"}
http: {addr: "127.0.0.1:$port"}
lease:
  type: etcd
  hostname: $name
  advertise-url: "http://127.0.0.1:$port"
  reconnect-delay: 100ms
  etcd: {endpoints: ["$etcd"], key: bench/primary, ttl: 2s}
YAML
  "$bin" mount --config "$dir/walship.yml" >>"$dir/walship.log" 2>&1 &
  NODE_PID[$name]=$!
  NODE_DIR[$name]=$dir
  NODE_PORT[$name]=$port
  walship_node_wait_mounted "$name"
}

# The name of the node whose /info says it is the primary; waits up to 10 s.
failover_primary() {
  local name
  for _ in $(seq 1 1000); do
    for name in "$@"; do
      [[ -n ${NODE_PID[$name]:-} ]] || continue
      curl -fsS --max-time 1 "http://127.0.0.1:${NODE_PORT[$name]}/info" 2>/dev/null |
        grep -q '"role":"primary"' && { echo "$name"; return 0; }
    done
    sleep 0.01
  done
  return 1
}

failover_insert() {
  sqlite3 -cmd ".timeout 0" "$1/fo.db" "INSERT INTO t(v) VALUES(1)" >/dev/null 2>&1
}

failover_measure() {
  local bin=$1 base=$2 trials=$3 etcd name p t0 t1 i errors=0 done_at
  local -a names=(fo1 fo2 fo3) times=()
  # Not in a $(...): the PID it keeps is what failover_stop_all stops.
  failover_etcd_start "$base/etcd" || { echo '{"errors":1}'; return 0; }
  etcd=$FAILOVER_ETCD_URL
  for name in "${names[@]}"; do
    failover_node_start "$name" "$bin" "$base/$name" "$etcd" || { echo '{"errors":1}'; return 0; }
  done
  p=$(failover_primary "${names[@]}") || { echo '{"errors":1}'; return 0; }
  sqlite3 "${NODE_DIR[$p]}/mnt/fo.db" \
    "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v);" >/dev/null
  sleep 0.5
  for i in $(seq 1 "$trials"); do
    p=$(failover_primary "${names[@]}") || { errors=$((errors + 1)); break; }
    t0=$(failover_now_ms)
    kill -KILL "${NODE_PID[$p]}"
    wait "${NODE_PID[$p]}" 2>/dev/null || true
    NODE_PID[$p]=""
    t1=""
    done_at=$((t0 + 20000))
    while [[ -z $t1 && $(failover_now_ms) -lt $done_at ]]; do
      for name in "${names[@]}"; do
        [[ $name == "$p" ]] && continue
        failover_insert "${NODE_DIR[$name]}/mnt" && { t1=$(failover_now_ms); break; }
      done
    done
    if [[ -z $t1 ]]; then
      errors=$((errors + 1))
      echo "{\"trial\":$i,\"failover_ms\":0,\"errors\":1}"
    else
      times+=($((t1 - t0)))
      echo "{\"trial\":$i,\"failover_ms\":$((t1 - t0)),\"errors\":0}"
    fi
    umount -l "${NODE_DIR[$p]}/mnt" 2>/dev/null || true
    failover_node_start "$p" "$bin" "${NODE_DIR[$p]}" "$etcd" "${NODE_PORT[$p]}" ||
      errors=$((errors + 1))
    sleep 1
  done
  # Handoff with a writer retrying round-robin on every node.
  local succ="$base/handoff-successes" target promote_ms=0 t_promote
  : >"$succ"
  p=$(failover_primary "${names[@]}") || errors=$((errors + 1))
  for name in "${names[@]}"; do [[ $name != "$p" ]] && target=$name && break; done
  (
    end=$(($(failover_now_ms) + 3000))
    while [[ $(failover_now_ms) -lt $end ]]; do
      for name in "${names[@]}"; do
        failover_insert "${NODE_DIR[$name]}/mnt" && failover_now_ms >>"$succ"
      done
    done
  ) &
  local writer=$!
  sleep 1
  t_promote=$(failover_now_ms)
  if "$bin" run --promote --url "http://127.0.0.1:${NODE_PORT[$target]}" -- true >/dev/null 2>&1; then
    promote_ms=$(($(failover_now_ms) - t_promote))
  else
    errors=$((errors + 1))
  fi
  wait "$writer" 2>/dev/null || true
  local gaps p50=0 max=0 n=${#times[@]} sorted
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  if [[ $n -gt 0 ]]; then
    p50=$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")
    max=$(tail -1 <<<"$sorted")
  fi
  gaps=$(awk 'NR > 1 { print $1 - prev } { prev = $1 }' "$succ" | sort -n)
  local m max_gap=0 normal=0
  m=$(grep -c . <<<"$gaps" || true)
  if [[ $m -gt 0 ]]; then
    max_gap=$(tail -1 <<<"$gaps")
    normal=$(sed -n "$(((m + 1) / 2))p" <<<"$gaps")
  fi
  echo "{\"failover_p50_ms\":$p50,\"failover_max_ms\":$max,\"trials\":$n,\"handoff_gap_ms\":$max_gap,\"normal_gap_p50_ms\":$normal,\"promote_ms\":$promote_ms,\"errors\":$errors}"
  failover_stop_all
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  here=$(cd "$(dirname "$0")" && pwd)
  source "$here/lib.sh"
  fo_base=$(mktemp -d "${TMPDIR:-/tmp}/walship-failover.XXXXXX")
  trap 'failover_stop_all; rm -rf "$fo_base"' EXIT
  trap "exit 130" INT TERM
  failover_measure "${1:-$here/../build/walship}" "$fo_base" "${2:-5}"
fi
