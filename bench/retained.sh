#!/usr/bin/env bash
# Does the primary's CPU per insert grow with the number of retained LTX
# files? (issue "Speed, part 1": 10k vs 100k files within 10%.)
#
# A primary and one replica (static lease) run with the test hook
# WALSHIP_TEST_SEAL_TXIDS=1, which seals the LTX log after every
# transaction, so each commit leaves one file in DATA/dbs/NAME/ltx/ (without
# it a file holds 4096 transactions and 100k files would take 400 million
# inserts). The sqlite3 CLI fills the database with single-row transactions
# until SMALL files are retained, then makes MEASURE more while the
# primary's and the replica's CPU time (utime + stime, /proc/PID/stat) is
# read before and after; then fills up to LARGE files and measures again.
# Retention (data.retention, 10 minutes) drops nothing during the run.
#
# usage: bench/retained.sh [--build-dir DIR] [--small N] [--large N] [--measure N]
# Prints one JSON line per measurement and a summary line with the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build_dir=$here/../build
small=10000
large=100000
measure=10000
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --small) small=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    --measure) measure=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--small N] [--large N] [--measure N]" >&2; exit 2 ;;
  esac
done
bin=$build_dir/walship
[[ -x $bin ]] || { echo "no walship binary at $bin (build first)" >&2; exit 2; }

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-retained.XXXXXX")
cleanup() {
  walship_nodes_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

export WALSHIP_TEST_SEAL_TXIDS=1
walship_node_start p "$bin" "$base/primary" primary
walship_node_start r "$bin" "$base/replica" replica "${NODE_PORT[p]}"
db=$base/primary/mnt/retained.db
ltx_dir=$base/primary/data/dbs/retained.db/ltx
sqlite3 "$db" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);" >/dev/null

# insert N: N single-row transactions (WAL, synchronous=NORMAL) through one
# sqlite3 process.
insert() {
  local n=$1
  {
    echo "PRAGMA synchronous=normal;"
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) print "INSERT INTO t(v) VALUES (randomblob(100));" }'
  } | sqlite3 -bail "$db" >/dev/null
}

files() { find "$ltx_dir" -maxdepth 1 -name '*.ltx' | wc -l; }

# CPU time of PID in microseconds.
cpu_us() {
  local ticks
  ticks=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
  echo $((ticks * 1000000 / $(getconf CLK_TCK)))
}

# fill_to N: inserts until N files are retained.
fill_to() {
  local have
  have=$(files)
  while [[ $have -lt $1 ]]; do
    insert $(($1 - have))
    have=$(files)
  done
}

# measure LABEL: MEASURE inserts, CPU per insert on both nodes.
measure() {
  local before p0 r0 t0 p1 r1 t1
  walship_wait_caught_up "$base/primary/mnt" "$base/replica/mnt" 120 ||
    { echo "replica did not catch up before measuring" >&2; exit 1; }
  before=$(files)
  p0=$(cpu_us "${NODE_PID[p]}") r0=$(cpu_us "${NODE_PID[r]}") t0=${EPOCHREALTIME/./}
  insert "$measure"
  walship_wait_caught_up "$base/primary/mnt" "$base/replica/mnt" 120 ||
    { echo "replica did not catch up after measuring" >&2; exit 1; }
  p1=$(cpu_us "${NODE_PID[p]}") r1=$(cpu_us "${NODE_PID[r]}") t1=${EPOCHREALTIME/./}
  printf '{"label":"%s","files_before":%d,"inserts":%d,"seconds":%.2f,"primary_cpu_us_per_insert":%.1f,"replica_cpu_us_per_insert":%.1f}\n' \
    "$1" "$before" "$measure" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e6 }')" \
    "$(awk -v a="$p0" -v b="$p1" -v n="$measure" 'BEGIN { print (b - a) / n }')" \
    "$(awk -v a="$r0" -v b="$r1" -v n="$measure" 'BEGIN { print (b - a) / n }')"
}

fill_to "$small"
small_line=$(measure small)
echo "$small_line"
fill_to "$large"
large_line=$(measure large)
echo "$large_line"
ratio=$(awk -v a="$(bench_field "$small_line" primary_cpu_us_per_insert)" \
            -v b="$(bench_field "$large_line" primary_cpu_us_per_insert)" 'BEGIN { printf "%.3f", b / a }')
echo "{\"summary\":\"primary CPU per insert at $large files / at $small files\",\"ratio\":$ratio}"
