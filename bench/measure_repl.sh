# shellcheck shell=bash
# The replication measurements of compare.sh: lag at a fixed write rate,
# snapshot throughput to a fresh replica, start-up time of a large database.
# Source it after lib.sh; it defines functions and touches nothing else.
# Each function prints one JSON line and stops every node it started.
#
#   repl_lag WALSHIP_BIN LAG_BIN DIR RATES DURATION_S
#   repl_snapshot WALSHIP_BIN DIR MB
#   repl_startup WALSHIP_BIN DIR MB
#   repl_startup_existing NAME WALSHIP_BIN DIR ROLE

# Seconds since the epoch, with nanoseconds.
repl_now() { date +%s.%N; }
repl_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# A database of about MB megabytes on a walship mount, built by the sqlite3
# CLI in one transaction of incompressible 4000-byte rows (about one per
# 4096-byte page). Prints the seconds it took.
repl_make_db() {
  local db=$1 mb=$2 rows t0
  rows=$((mb * 1024 * 1024 / 4096))
  t0=$(repl_now)
  sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=wal;
PRAGMA synchronous=normal;
CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows)
INSERT INTO big(b) SELECT randomblob(4000) FROM c;
SQL
  repl_elapsed "$t0" "$(repl_now)"
}

# Lag: a primary and one replica; walship-lag writes at each of RATES (a
# comma list, tx/s) on the primary in turn and polls the replica. Prints one
# walship-lag JSON line per rate.
repl_lag() {
  local bin=$1 lag_bin=$2 dir=$3 rates=$4 duration=$5 rate out
  walship_node_start lag_p "$bin" "$dir/primary" primary &&
    walship_node_start lag_r "$bin" "$dir/replica" replica "${NODE_PORT[lag_p]}" || {
    walship_node_stop lag_r
    walship_node_stop lag_p
    echo '{"errors":1}'
    return 0
  }
  for rate in ${rates//,/ }; do
    out=$(timeout $((${duration%.*} + 60)) "$lag_bin" --primary "$dir/primary/mnt/lag_$rate.db" \
      --replica "$dir/replica/mnt/lag_$rate.db" --rate "$rate" --duration "$duration") || true
    [[ -n $out ]] || out="{\"rate\":$rate,\"errors\":1}"
    echo "$out"
  done
  walship_node_stop lag_r
  walship_node_stop lag_p
}

# Snapshot: a primary with an MB database; then a fresh replica starts and the
# time from its start to the same position as the primary is the snapshot's.
repl_snapshot() {
  local bin=$1 dir=$2 mb=$3 build_s bytes t0 t_mount t_done status=0
  walship_node_start snap_p "$bin" "$dir/primary" primary || { echo '{"errors":1}'; return 0; }
  build_s=$(repl_make_db "$dir/primary/mnt/snap.db" "$mb")
  bytes=$(stat -c %s "$dir/primary/mnt/snap.db")
  t0=$(repl_now)
  walship_node_start snap_r "$bin" "$dir/replica" replica "${NODE_PORT[snap_p]}" || status=1
  t_mount=$(repl_now)
  [[ $status -eq 0 ]] && { walship_wait_caught_up "$dir/primary/mnt" "$dir/replica/mnt" 300 || status=1; }
  t_done=$(repl_now)
  walship_node_stop snap_r
  walship_node_stop snap_p
  awk -v b="$bytes" -v build="$build_s" -v m="$(repl_elapsed "$t0" "$t_mount")" \
    -v s="$(repl_elapsed "$t0" "$t_done")" -v e="$status" 'BEGIN {
      printf "{\"bytes\":%d,\"build_s\":%.3f,\"replica_mount_s\":%.3f,\"seconds\":%.3f,", b, build, m, s
      printf "\"mb_per_s\":%.1f,\"errors\":%d}\n", (s > 0 ? b / 1048576 / s : 0), e }'
}

# Drops the page cache of every file in the data directory (POSIX_FADV_DONTNEED
# through dd), so the next start reads them from the disk.
repl_drop_cache() {
  find "$1" -type f -exec dd if={} iflag=nocache count=0 status=none \; 2>/dev/null || true
}

# Seconds from `walship mount` start to .lag, starting node NAME in DIR as
# ROLE again (-1 if it did not mount); the node is stopped again afterwards.
repl_restart_time() {
  local name=$1 bin=$2 dir=$3 role=$4 t0 t status=0
  t0=$(repl_now)
  WALSHIP_START_TIMEOUT=300 walship_node_start "$name" "$bin" "$dir" "$role" || status=1
  t=$(repl_elapsed "$t0" "$(repl_now)")
  walship_node_stop "$name"
  [[ $status -eq 0 ]] && echo "$t" || echo -1
}

# Start-up of the node NAME (ROLE) whose directory DIR already holds its
# databases: it is started twice, with the files in the page cache (warm) and
# without (cold); the time is from `walship mount` start to its .lag file.
repl_startup_existing() {
  local name=$1 bin=$2 dir=$3 role=$4 bytes warm cold
  bytes=$(stat -c %s "$dir"/data/dbs/*/database 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
  warm=$(repl_restart_time "$name" "$bin" "$dir" "$role")
  repl_drop_cache "$dir/data"
  cold=$(repl_restart_time "$name" "$bin" "$dir" "$role")
  awk -v b="$bytes" -v w="$warm" -v c="$cold" 'BEGIN {
      printf "{\"bytes\":%d,\"warm_s\":%.3f,\"cold_s\":%.3f,\"errors\":%d}\n",
        b, w, c, (w < 0 || c < 0) }'
}

# Start-up of a node whose one database of about MB megabytes is built first
# through its mount (one transaction), as repl_startup_existing.
repl_startup() {
  local bin=$1 dir=$2 mb=$3 build_s line
  walship_node_start boot "$bin" "$dir" alone || { echo '{"errors":1}'; return 0; }
  build_s=$(repl_make_db "$dir/mnt/boot.db" "$mb")
  walship_node_stop boot
  line=$(repl_startup_existing boot "$bin" "$dir" alone)
  echo "{\"build_s\":$build_s,${line#\{}"
}
