# shellcheck shell=bash
# The dqlite peer for compare.sh: runs Debian's `dqlite-benchmark` (package
# go-dqlite) on loopback and turns its result files into one walship-bench
# style JSON line. Source it; it defines functions and touches nothing else.
#
#   dqlite_available
#       0 when dqlite-benchmark is on PATH.
#   dqlite_start_cluster NODES DIR / dqlite_stop_all
#       NODES (3 or more: go-dqlite makes voters of joiners only from three
#       nodes on) plain nodes, all voters once it returns 0; their addresses
#       are in DQLITE_ADDRS. dqlite_stop_all ends them and empties DQLITE_ADDRS.
#   dqlite_run WORKLOAD WORKERS DURATION_S DIR VALUE_SIZE
#       one more node drives WORKLOAD: it joins the cluster of DQLITE_ADDRS,
#       or with none stands alone (a 1-node dqlite). Prints
#       {"workload":..., "ops":..., "ops_per_sec":..., "p50_us":...,
#       "p99_us":..., "max_us":..., "errors":...}. WORKLOAD is kvwrite
#       (autocommit INSERT OR REPLACE of a new key) or kvreadwrite (50% point
#       SELECT of a key it wrote, 50% kvwrite).
#
# dqlite-benchmark has no warm-up and no read-only workload, its duration is
# whole seconds, and each commit is a Raft log entry fsynced on a quorum
# (durable per transaction, unlike SQLite's synchronous=NORMAL in WAL mode).

DQLITE_PIDS=()
DQLITE_ADDRS=()

dqlite_available() { command -v dqlite-benchmark >/dev/null 2>&1; }

# Ends the nodes of dqlite_start_cluster.
dqlite_stop_all() {
  local pid
  for pid in "${DQLITE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${DQLITE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  DQLITE_PIDS=()
  DQLITE_ADDRS=()
}

# Summarizes result files (one per worker and kind: header lines, then
# "<timestamp ns> <latency ms>" lines) over DURATION_S seconds.
dqlite_summarize() {
  local workload=$1 duration=$2
  shift 2
  awk -v w="$workload" -v d="$duration" '
    $1 == "n" && NF == 2 { n += $2; next }
    $1 == "n_err" { err += $2; next }
    NF == 2 && $1 ~ /^[0-9]+$/ && $1 > 1000000000 { print $2 * 1000 > "/dev/stderr" }
    END { printf "{\"workload\":\"%s\",\"ops\":%d,\"seconds\":%.3f,\"ops_per_sec\":%.1f,\"errors\":%d", w, n, d, n / d, err }
  ' "$@" 2>"$DQLITE_LAT" >"$DQLITE_HEAD"
  sort -n "$DQLITE_LAT" | awk -v head="$(cat "$DQLITE_HEAD")" '
    { v[NR] = $1 }
    function rank(q,  r) { r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; return v[r] }
    END {
      if (NR == 0) { print head ",\"p50_us\":0,\"p99_us\":0,\"max_us\":0}"; exit }
      printf "%s,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n", head, rank(0.5), rank(0.99), v[NR]
    }'
}

# Waits until the cluster behind ADDR lists N voters (go-dqlite promotes
# joiners from spare once three nodes are in).
dqlite_wait_voters() {
  local addr=$1 n=$2
  local pid
  for _ in $(seq 1 150); do
    [[ $(timeout 5 dqlite -s "$addr" bench .cluster 2>/dev/null | grep -c '|voter$') -ge $n ]] &&
      return 0
    for pid in "${DQLITE_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "a dqlite node exited while starting" >&2; return 1; }
    done
    sleep 0.2
  done
  echo "dqlite cluster at $addr did not reach $n voters in 30 s" >&2
  return 1
}

# Starts NODES plain nodes, all joined to the first, and waits until they are
# all voters.
dqlite_start_cluster() {
  local nodes=$1 dir=$2 i
  DQLITE_ADDRS=()
  mkdir -p "$dir"
  for i in $(seq 1 "$nodes"); do DQLITE_ADDRS+=("127.0.0.1:$(walship_free_port)"); done
  dqlite-benchmark --db "${DQLITE_ADDRS[0]}" --dir "$dir" >"$dir/node1.log" 2>&1 &
  DQLITE_PIDS+=($!)
  for i in $(seq 1 $((nodes - 1))); do
    sleep 0.2  # one configuration change at a time
    dqlite-benchmark --db "${DQLITE_ADDRS[$i]}" --join "${DQLITE_ADDRS[0]}" --dir "$dir" \
      >"$dir/node$((i + 1)).log" 2>&1 &
    DQLITE_PIDS+=($!)
  done
  dqlite_wait_voters "${DQLITE_ADDRS[0]}" "$nodes"
}

# dqlite_run WORKLOAD WORKERS DURATION_S DIR VALUE_SIZE; see the top.
dqlite_run() {
  local workload=$1 workers=$2 duration=$3 dir=$4 value_size=$5
  local status=0 driver_addr cluster
  local -a join=()
  mkdir -p "$dir"
  driver_addr=127.0.0.1:$(walship_free_port)
  cluster=$(IFS=,; echo "${DQLITE_ADDRS[*]:+${DQLITE_ADDRS[*]},}$driver_addr")
  [[ ${#DQLITE_ADDRS[@]} -gt 0 ]] && join=(--join "${DQLITE_ADDRS[0]}")
  timeout $((duration + 90)) dqlite-benchmark --db "$driver_addr" "${join[@]}" --driver \
    --cluster "$cluster" --cluster-timeout 60 --dir "$dir" --duration "$duration" \
    --workers "$workers" --value-size "$value_size" --workload "$workload" \
    >"$dir/driver.log" 2>&1 || status=$?
  local results=$dir/$driver_addr/results
  if [[ $status -ne 0 ]] || ! compgen -G "$results/*" >/dev/null; then
    echo "dqlite-benchmark $workload failed (status $status):" >&2
    tail -n 5 "$dir/driver.log" >&2
    echo "{\"workload\":\"$workload\",\"ops\":0,\"ops_per_sec\":0,\"errors\":1}"
    return 0
  fi
  DQLITE_LAT=$dir/latencies DQLITE_HEAD=$dir/head dqlite_summarize "$workload" "$duration" \
    "$results"/*
}
