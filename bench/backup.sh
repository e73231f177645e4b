#!/usr/bin/env bash
# The continuous-backup bench (docs/benchmarks.md, "Backup"): archive lag under
# the write-heavy workload, and restore speed for a database of MB megabytes
# written as TX transactions, with Litestream 0.3 restoring the same data as a
# peer row. Loopback and temp dirs only; everything started is stopped.
#
#   bench/backup.sh [--build-dir DIR] [--mb 200] [--tx 100000] [--duration 10]
#                   [--out DIR] [--smoke]
#
# Both sides get the same SQL: TX autocommit INSERTs of a deterministic,
# incompressible payload (SHA3-512 digests of the row number: 31 of them,
# 1984 bytes, at the defaults), in WAL mode with synchronous=NORMAL. walship archives to a
# directory (backup.type file, delay 1s); Litestream 0.3.13
# (@flydotio/litestream-linux-x64 from npm, installed by scripts/setup.sh)
# replicates a native database to a file replica. Each restore is timed to the
# end of the command and checked (row count and payload checksum equal).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"

mb=200 tx=100000 duration=10 out="" build_dir=${WALSHIP_BENCH_BUILD:-$root/build}
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --mb) mb=$2; shift 2 ;;
    --tx) tx=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --smoke) mb=2 tx=1000 duration=1; shift ;;
    -h | --help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
walship_bin=$build_dir/walship
bench_bin=$build_dir/bench/walship-bench
litestream=$root/tools/node/node_modules/@flydotio/litestream-linux-x64/litestream
out=${out:-$build_dir/bench-results}
mkdir -p "$out"
base=$(mktemp -d "${TMPDIR:-/tmp}/walship-backup-bench.XXXXXX")
ls_pid=""
cleanup() {
  [[ -n $ls_pid ]] && { kill -TERM "$ls_pid" 2>/dev/null || true; wait "$ls_pid" 2>/dev/null || true; }
  walship_nodes_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM
started=$SECONDS
phase() { echo "[$((SECONDS - started)) s] $*" >&2; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# A node with continuous backup into $base/archive.
start_node() {
  walship_node_start bk "$walship_bin" "$base/node" alone
  cat >>"$base/node/walship.yml" <<YAML
backup: {type: file, path: "$base/archive", delay: 1s}
YAML
  walship_node_stop bk
  "$walship_bin" mount --config "$base/node/walship.yml" >>"$base/node/walship.log" 2>&1 &
  NODE_PID[bk]=$!
  walship_node_wait_mounted bk
}

info() { curl -fsS --max-time 2 "http://127.0.0.1:${NODE_PORT[bk]}/info"; }
# "lagMs archivedTXID txid" of database DB from /info.
backup_state() {
  info | tr '{' '\n' | grep -A1 "\"name\":\"$1\"" | tr -d '\n' |
    sed -n 's/.*"txid":\([0-9]*\).*"archivedTXID":\([0-9]*\),"error":"[^"]*","lagMs":\([0-9]*\).*/\3 \2 \1/p;
           s/.*"archivedTXID":\([0-9]*\),"error":"[^"]*","lagMs":\([0-9]*\).*"txid":\([0-9]*\).*/\2 \1 \3/p' |
    head -1
}

wait_archived() {
  local db=$1 state
  for _ in $(seq 1 6000); do
    state=$(backup_state "$db")
    read -r _ archived local <<<"$state"
    [[ -n ${archived:-} && $archived -gt 0 && $archived == "$local" ]] && return 0
    sleep 0.05
  done
  echo "the archive of $db did not catch up: $state" >&2
  return 1
}

percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print 0; exit }
  i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'; }

sql_script() {
  # One 64-byte digest less than the size per transaction allows, so that
  # rows pack into pages and the database is about MB megabytes.
  local payload_digests=$((mb * 1048576 / tx / 64 - 1))
  ((payload_digests >= 1)) || payload_digests=1
  echo "PRAGMA journal_mode=wal; PRAGMA synchronous=normal;"
  echo "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, seq INTEGER, payload BLOB);"
  awk -v n="$tx" -v d="$payload_digests" 'BEGIN {
    for (k = 1; k <= n; k++)
      printf "INSERT INTO t(seq, payload) VALUES(%d, (WITH RECURSIVE r(i, b) AS (SELECT 0, sha3(\"%d-0\", 512) UNION ALL SELECT i + 1, b || sha3(\"%d-\" || (i + 1), 512) FROM r WHERE i < %d) SELECT b FROM r WHERE i = %d));\n", k, k, k, d - 1, d - 1 }'
}

fingerprint() { sqlite3 "$1" "SELECT count(*), sum(seq), (SELECT hex(sha3_query('SELECT payload FROM t ORDER BY id'))) FROM t"; }

phase "walship node with backup to a directory"
start_node

phase "archive lag under the insert workload (${duration} s)"
samples="$base/lag-samples"
: >"$samples"
"$bench_bin" --dir "$base/node/mnt" --workload insert --duration "$duration" --warmup 0 --keep \
  >"$base/insert.json" &
bench_pid=$!
while kill -0 "$bench_pid" 2>/dev/null; do
  state=$(backup_state bench_insert.db || true)
  [[ -n $state ]] && echo "${state%% *}" >>"$samples"
  sleep 0.1
done
wait "$bench_pid"
drain_start=$(now_ms)
wait_archived bench_insert.db
drain_ms=$(($(now_ms) - drain_start))
insert_ops=$(bench_field "$(cat "$base/insert.json")" ops_per_sec || true)
lag_line="{\"kind\":\"archive_lag\",\"samples\":$(wc -l <"$samples"),\"p50_ms\":$(percentile 50 <"$samples"),\"p99_ms\":$(percentile 99 <"$samples"),\"max_ms\":$(percentile 100 <"$samples"),\"drain_ms\":$drain_ms,\"insert_ops_per_sec\":${insert_ops:-0}}"
echo "$lag_line"

phase "writing $tx transactions ($mb MB) through the mount"
sql_script >"$base/load.sql"
t0=$(now_ms)
sqlite3 -cmd ".timeout 30000" "$base/node/mnt/restore.db" <"$base/load.sql" >/dev/null
write_ms=$(($(now_ms) - t0))
wait_archived restore.db
size=$(stat -c %s "$base/node/data/dbs/restore.db/database")
want=$(fingerprint "$base/node/mnt/restore.db")
walship_node_stop bk

phase "walship restore --latest"
t0=$(now_ms)
"$walship_bin" restore --name restore.db --latest --backup "$base/archive" "$base/walship-restored.db" \
  >"$base/restore.log" 2>&1
restore_ms=$(($(now_ms) - t0))
[[ $(fingerprint "$base/walship-restored.db") == "$want" ]] ||
  { echo "walship's restore differs from the database" >&2; exit 1; }
objects=$(find "$base/archive" -type f | wc -l)
walship_line=$(awk -v ms="$restore_ms" -v size="$size" -v tx="$tx" -v w="$write_ms" -v o="$objects" \
  'BEGIN { printf "{\"kind\":\"restore\",\"tool\":\"walship\",\"ms\":%d,\"mb_per_s\":%.1f,\"tx_per_s\":%.0f,\"bytes\":%d,\"objects\":%d,\"write_ms\":%d}\n",
    ms, size / 1048576 / (ms / 1000), tx / (ms / 1000), size, o, w }')
echo "$walship_line"

if [[ -x $litestream ]]; then
  phase "Litestream $("$litestream" version): the same transactions on a native database"
  mkdir -p "$base/native"
  sqlite3 "$base/native/restore.db" \
    "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, seq INTEGER, payload BLOB);" >/dev/null
  "$litestream" replicate "$base/native/restore.db" "file://$base/ls-replica" >"$base/litestream.log" 2>&1 &
  ls_pid=$!
  sleep 1
  t0=$(now_ms)
  sqlite3 -cmd ".timeout 30000" "$base/native/restore.db" <"$base/load.sql" >/dev/null
  ls_write_ms=$(($(now_ms) - t0))
  sleep 2  # Litestream syncs every second
  kill -INT "$ls_pid"
  wait "$ls_pid" 2>/dev/null || true
  ls_pid=""
  t0=$(now_ms)
  "$litestream" restore -o "$base/ls-restored.db" "file://$base/ls-replica" >>"$base/litestream.log" 2>&1
  ls_ms=$(($(now_ms) - t0))
  ls_ok=1
  [[ $(fingerprint "$base/ls-restored.db") == "$want" ]] || ls_ok=0
  ls_objects=$(find "$base/ls-replica" -type f | wc -l)
  awk -v ms="$ls_ms" -v size="$size" -v tx="$tx" -v w="$ls_write_ms" -v ok="$ls_ok" -v o="$ls_objects" \
    'BEGIN { printf "{\"kind\":\"restore\",\"tool\":\"litestream\",\"ms\":%d,\"mb_per_s\":%.1f,\"tx_per_s\":%.0f,\"bytes\":%d,\"objects\":%d,\"write_ms\":%d,\"same_data\":%d}\n",
      ms, size / 1048576 / (ms / 1000), tx / (ms / 1000), size, o, w, ok }'
else
  echo "{\"kind\":\"restore\",\"tool\":\"litestream\",\"skipped\":\"not installed; run scripts/setup.sh\"}"
fi
phase "done"
