#!/usr/bin/env bash
# SQLite's own TCL tests in a walship mount (CTest label sqlite-tcl, DESIGN.md
# §4). For each test file named, runs SQLite's harness (`testfixture`) twice:
# in a bare FUSE passthrough mount (libfuse's passthrough_ll example over an
# empty directory) and in the mount of a single walship primary node (static
# lease, candidate), each fresh and started for that file. The file passes
# when walship's run has no more errors than passthrough's; otherwise it fails
# naming the file, both error counts and the tests that failed on walship,
# with their messages. Both runs must finish (print SQLite's "N errors out of
# M tests" line) within SQLITE_TCL_TIMEOUT seconds (default 300); walship must
# still run afterwards.
#
# Usage: run.sh WALSHIP_BIN FIXTURE_DIR [TEST...]
#   WALSHIP_BIN  the walship binary
#   FIXTURE_DIR  where testfixture, SQLite's source and passthrough_ll are
#                built (scripts/build-testfixture.sh; cached) and where each
#                run's logs are kept: FIXTURE_DIR/logs/TEST.{passthrough,walship}.log
#                and TEST.walship-node.log
#   TEST         a file of SQLite's test/ directory without ".test" (wal,
#                trans, ...). With none, only builds testfixture and
#                passthrough_ll (the CTest fixture SqliteTcl.Build).
#
# The tests run from the mount's root (tester.tcl's --testdir=, which 3.40.1
# has: it cds there; its default is a subdirectory "testdir", which a flat
# walship mount cannot hold). Mounts, nodes and their temp directories (under
# $TMPDIR) are always unmounted, stopped by PID and removed, even on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# bench/lib.sh starts and stops walship nodes (walship_node_start/_stop);
# bench/floor.sh builds and mounts passthrough_ll (floor_build/floor_start).
# shellcheck source-path=SCRIPTDIR source=../../../bench/lib.sh
source "$repo/bench/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../../bench/floor.sh
source "$repo/bench/floor.sh"

die() {
  echo "sqlite-tcl: error: $*" >&2
  exit 1
}

[[ $# -ge 2 ]] || die "usage: $0 WALSHIP_BIN FIXTURE_DIR [TEST...]"
walship=$1
fixture_dir=$2
shift 2
timeout_s=${SQLITE_TCL_TIMEOUT:-300}

# --- build (cached) ----------------------------------------------------------
why=$(floor_unavailable)
[[ -z $why ]] || die "cannot build passthrough_ll: $why"
"$repo/scripts/build-testfixture.sh" "$fixture_dir" ||
  die "cannot build testfixture (scripts/build-testfixture.sh $fixture_dir)"
testfixture=$fixture_dir/testfixture
sqlite_tests=$fixture_dir/sqlite-src/test
passthrough=$fixture_dir/passthrough_ll
(
  # Two tests may build it at once; the loser waits and finds it done.
  flock 9
  floor_build "$passthrough"
) 9>"$fixture_dir/.passthrough.lock" || die "cannot build passthrough_ll from $FLOOR_SRC"
[[ $# -gt 0 ]] || exit 0

[[ -x $walship ]] || die "no walship binary at $walship (build it first)"
for name in "$@"; do
  [[ -f $sqlite_tests/$name.test ]] || die "no test file $sqlite_tests/$name.test"
done

# --- mounts ------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/walship-sqlite-tcl-XXXXXX")
logs=$fixture_dir/logs
mkdir -p "$logs"
run_pid=""  # the running `timeout testfixture ...`, if any
cleanup() {
  # timeout passes SIGTERM on to testfixture's process group.
  if [[ -n $run_pid ]]; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  # Stops each mount's process by its PID (SIGTERM, then SIGKILL after 10 s)
  # and lazily unmounts what is left; see bench/lib.sh.
  walship_nodes_stop_all
  unmount_dead "$work"
  rm -rf "$work"
}
# unmount_dead DIR: lazily unmounts every mount under DIR. The mount of a FUSE
# process that died is still listed, but `mountpoint` (which bench/lib.sh
# asks) cannot stat it ("Transport endpoint is not connected"), so
# walship_node_stop leaves it behind.
unmount_dead() {
  local mnt
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
  done < <(awk -v dir="$1/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts)
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- one testfixture run -------------------------------------------------------
# run_file NAME MOUNT LOG: runs test/NAME.test from MOUNT's root; sets
# run_errors (the count SQLite printed, empty when it printed none), run_total,
# run_status (testfixture's exit status; 124 after a timeout) and run_seconds.
run_file() {
  local name=$1 mount=$2 log=$3 start=$EPOCHREALTIME summary
  run_status=0
  # timeout signals its whole process group, so the child testfixtures that
  # the locking and crash tests start go too. In the background, so that a
  # signal to this script runs its trap now (bash waits for a foreground
  # child before it runs a trap).
  timeout -k 10 "$timeout_s" "$testfixture" "$sqlite_tests/$name.test" \
    --testdir="$mount" </dev/null >"$log" 2>&1 &
  run_pid=$!
  wait "$run_pid" || run_status=$?
  run_pid=""
  run_seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  summary=$(grep -Eo '^[0-9]+ errors out of [0-9]+ tests' "$log" | tail -n 1) || true
  run_errors=${summary%% *}
  run_total=$(awk '{ print $5 }' <<<"$summary")
}

# describe_unfinished LOG STATUS: why a run printed no summary, in a sentence.
describe_unfinished() {
  local log=$1 status=$2
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "timed out after $timeout_s s (last line: $(tail -n 1 "$log"))"
  else
    # A Tcl error that escaped the test file: "PATH/testfixture: MESSAGE",
    # then its stack trace ("while executing ...").
    local error
    error=$(grep -m1 -A6 -F "$testfixture: " "$log") || error=$(tail -n 8 "$log")
    local last
    last=$(grep -Eo '^[^ ]+\.\.\.' "$log" | tail -n 1) || true
    [[ -n $last ]] && last="in or after test ${last%...}" || last="before its first test"
    echo "exited with status $status before its summary, $last:"
    printf '%s\n' "$error" | sed 's/^/    /'
  fi
}

# The failed tests of a log, one a line: "NAME: MESSAGE". A do_test failure is
# either "NAME..." then "Error: MESSAGE" (the test threw), or
# "! NAME expected: [...]" and "! NAME got: [...]" (wrong result).
failures_of() {
  awk '
    /^! [^ ]+ expected: / { name = $2; sub(/^! [^ ]+ expected: /, ""); expected = $0; next }
    /^! [^ ]+ got: +/ {
      sub(/^! [^ ]+ got: +/, "")
      print name ": got " $0 ", expected " expected
      next
    }
    /^Error: / && prev ~ /\.\.\.$/ {
      n = prev; sub(/\.\.\.$/, "", n); sub(/^.* /, "", n)
      sub(/^Error: /, ""); print n ": " $0
    }
    { prev = $0 }
  ' "$1"
}

# --- the files -------------------------------------------------------------------
failed=()
for name in "$@"; do
  dir=$work/$name
  mkdir -p "$dir"
  pt_log=$logs/$name.passthrough.log
  ws_log=$logs/$name.walship.log

  floor_start "pt-$name" "$passthrough" "$dir/passthrough" ||
    die "$name: passthrough_ll did not mount"
  run_file "$name" "$dir/passthrough/mnt" "$pt_log"
  pt_errors=$run_errors pt_total=$run_total pt_seconds=$run_seconds pt_status=$run_status
  walship_node_stop "pt-$name"
  if [[ -z $pt_errors ]]; then
    echo "sqlite-tcl: $name: FAIL: the passthrough run $(describe_unfinished "$pt_log" "$pt_status")" >&2
    echo "  (passthrough must finish for the comparison to mean anything; log: $pt_log)" >&2
    failed+=("$name")
    continue
  fi

  walship_node_start "ws-$name" "$walship" "$dir/walship" primary ||
    die "$name: walship did not mount"
  run_file "$name" "$dir/walship/mnt" "$ws_log"
  ws_errors=$run_errors ws_total=$run_total ws_seconds=$run_seconds ws_status=$run_status
  ws_alive=yes
  kill -0 "${NODE_PID[ws-$name]}" 2>/dev/null || ws_alive=no
  walship_node_stop "ws-$name"
  unmount_dead "$dir"
  cp "$dir/walship/walship.log" "$logs/$name.walship-node.log"

  echo "sqlite-tcl: $name: passthrough ${pt_errors} errors of ${pt_total} tests" \
    "(${pt_seconds} s, status $pt_status); walship ${ws_errors:-?} errors of ${ws_total:-?}" \
    "(${ws_seconds} s, status $ws_status)"
  problems=()
  [[ $ws_alive == yes ]] ||
    problems+=("walship exited during the run (log: $logs/$name.walship-node.log)")
  if [[ -z $ws_errors ]]; then
    problems+=("the walship run $(describe_unfinished "$ws_log" "$ws_status")")
  elif [[ $ws_errors -gt $pt_errors ]]; then
    problems+=("walship has $ws_errors errors, passthrough $pt_errors")
  fi
  # Tests failing on walship only, reported even when the counts pass.
  walship_only=$(comm -23 <(failures_of "$ws_log" | cut -d: -f1 | sort -u) \
                          <(failures_of "$pt_log" | cut -d: -f1 | sort -u))
  if [[ ${#problems[@]} -gt 0 ]]; then
    failed+=("$name")
    for p in "${problems[@]}"; do echo "sqlite-tcl: $name: FAIL: $p" >&2; done
    echo "sqlite-tcl: $name: tests failed on walship (first 30; log: $ws_log):" >&2
    # Into a file first: head closing a pipe early would fail the pipeline.
    failures_of "$ws_log" >"$dir/walship-failures"
    head -n 30 "$dir/walship-failures" | sed 's/^/    /' >&2
    echo "sqlite-tcl: $name: last lines of walship's log:" >&2
    tail -n 15 "$logs/$name.walship-node.log" | sed 's/^/    /' >&2
  elif [[ -n $walship_only ]]; then
    echo "sqlite-tcl: $name: note: failed on walship only (counts still pass):" \
      "$(tr '\n' ' ' <<<"$walship_only")"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "sqlite-tcl: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "sqlite-tcl: ok: $*"
