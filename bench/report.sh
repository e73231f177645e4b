# shellcheck shell=bash
# Tables and chart of compare.sh. Source it after lib.sh. It reads the
# caller's globals and defines functions only:
#   WORKLOADS, TARGETS, TARGET_LABEL[target]; FLOOR_TARGETS (fuse fuse-wb, or
#   none when the bare-FUSE floor was not measured)
#   RESULT[target/workload]   one walship-bench (or dqlite_run) JSON line
#   CATCHUP[target/workload]  "9000 tx, 19.2 s (470 tx/s)": replicas after the run
#   LAG (one walship-lag JSON line per rate), SNAPSHOT, STARTUP, STARTUP_FULL

# The ops/s of a result line that did operations; nothing for any other.
report_ops() {
  local v
  v=$(bench_field "$1" ops_per_sec)
  if [[ -n $v && $(bench_field "$1" ops) != 0 ]]; then echo "$v"; fi
}

# "56%" (or "0.5%"): the ops/s of result LINE as a share of BASE's; "n/a"
# when either did no operations.
report_ratio() {
  awk -v w="$(report_ops "$1")" -v n="$(report_ops "$2")" 'BEGIN {
    if (w == "" || n <= 0) { print "n/a"; exit }
    r = 100 * w / n; printf(r < 1 ? "%.1f%%\n" : "%.0f%%\n", r) }'
}

# "1234 (56%)": ops/s and the ratio to native.
report_cell() {
  local line=$1 native=$2 ops
  [[ -n $line ]] || { echo "n/a"; return; }
  ops=$(report_ops "$line")
  [[ -n $ops ]] || { echo "error"; return; }
  awk -v w="$ops" 'BEGIN { printf "%.0f", w }'
  if [[ -n $(report_ops "$native") ]]; then echo " ($(report_ratio "$line" "$native"))"; else echo; fi
}

# The two header lines of a table with one column per workload.
report_header() {
  echo "| $1 | $(printf '%s | ' "${WORKLOADS[@]}")"
  echo "|---|$(printf -- '---:|%.0s' "${WORKLOADS[@]}")"
}

# A latency in µs as "12 µs", "3.4 ms" or "1.2 s".
report_us() {
  awk -v v="$1" 'BEGIN {
    if (v == "") print "n/a"
    else if (v >= 1e6) printf "%.1f s", v / 1e6
    else if (v >= 1e4) printf "%.0f ms", v / 1e3
    else if (v >= 1e3) printf "%.1f ms", v / 1e3
    else printf "%.0f µs", v }'
}

report_throughput_table() {
  local t w row
  report_header "ops/s (ratio to native)"
  for t in "${TARGETS[@]}"; do
    row="| ${TARGET_LABEL[$t]} |"
    for w in "${WORKLOADS[@]}"; do
      row+=" $(report_cell "${RESULT[$t/$w]:-}" "${RESULT[native/$w]:-}") |"
    done
    echo "$row"
  done
}

# walship (and the writeback floor) as a share of native and of the
# bare-FUSE floor with its defaults, both measured in this run; a blank line
# after it. Nothing when the floor was not measured.
report_floor_table() {
  local t w row
  [[ ${#FLOOR_TARGETS[@]} -gt 0 ]] || return 0
  report_header "% of native / % of bare FUSE (passthrough_ll, defaults)"
  for t in "${TARGETS[@]}"; do
    [[ $t == walship* || $t == fuse-wb ]] || continue
    row="| ${TARGET_LABEL[$t]} |"
    for w in "${WORKLOADS[@]}"; do
      row+=" $(report_ratio "${RESULT[$t/$w]:-}" "${RESULT[native/$w]:-}") /"
      row+=" $(report_ratio "${RESULT[$t/$w]:-}" "${RESULT[fuse/$w]:-}") |"
    done
    echo "$row"
  done
  echo
}

report_latency_table() {
  local t w row line
  report_header "p50 / p99 / max"
  for t in "${TARGETS[@]}"; do
    row="| ${TARGET_LABEL[$t]} |"
    for w in "${WORKLOADS[@]}"; do
      line=${RESULT[$t/$w]:-}
      if [[ -z $line || -z $(bench_field "$line" p50_us) ]]; then
        row+=" n/a |"
      else
        row+=" $(report_us "$(bench_field "$line" p50_us)") / $(report_us "$(bench_field "$line" p99_us)")"
        row+=" / $(report_us "$(bench_field "$line" max_us)") |"
      fi
    done
    echo "$row"
  done
}

# Seconds the replicas needed after each run to reach the primary's position.
report_catchup_table() {
  local t w row any=0
  for t in "${TARGETS[@]}"; do [[ -n ${CATCHUP[$t/insert]:-} ]] && any=1; done
  [[ $any -eq 1 ]] || return 0
  report_header "replicas behind at the end of the run, time to catch up (apply rate)"
  for t in "${TARGETS[@]}"; do
    [[ -n ${CATCHUP[$t/insert]:-} ]] || continue
    row="| ${TARGET_LABEL[$t]} |"
    for w in "${WORKLOADS[@]}"; do row+=" ${CATCHUP[$t/$w]:-n/a} |"; done
    echo "$row"
  done
}

# One row per workload, one column per target: ops/s, "?" where not measured.
report_chart_data() {
  local t w v
  echo "# workload ${TARGETS[*]}"
  for w in "${WORKLOADS[@]}"; do
    printf '%s' "$w"
    for t in "${TARGETS[@]}"; do
      v=$(report_ops "${RESULT[$t/$w]:-}")
      printf ' %s' "${v:-?}"
    done
    echo
  done
}

# report_chart DATA_FILE PNG TITLE: a clustered bar chart, log scale.
report_chart() {
  local data=$1 png=$2 title=$3 i n=${#TARGETS[@]} plot=""
  for i in $(seq 2 $((n + 1))); do
    local t=${TARGETS[$((i - 2))]}
    plot+="${plot:+, }'$data' using $i:xtic(1) title \"${TARGET_LABEL[$t]}\" noenhanced"
  done
  gnuplot <<GP
set terminal pngcairo size 1100,600 font "sans,10"
set output "$png"
set title "$title" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "?"
set logscale y
set format y "%.0f"
set yrange [1:*]
set ylabel "operations per second (log scale)"
set grid ytics
set key outside right top vertical
plot $plot
GP
}

report_ms() { awk -v v="$1" 'BEGIN { printf(v >= 100 ? "%.0f ms" : "%.1f ms", v) }'; }

report_lag_table() {
  local line rate
  echo "| write rate (achieved) | lag p50 | lag p99 | lag max | rows seen | commit p50 / p99 |"
  echo "|---:|---:|---:|---:|---:|---:|"
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    rate=$(bench_field "$line" rate)
    if [[ $(bench_field "$line" errors) != 0 || -z $(bench_field "$line" p50_ms) ]]; then
      echo "| ${rate:-?} tx/s | failed | | | | |"
      continue
    fi
    echo "| $rate tx/s ($(bench_field "$line" achieved_rate)) |" \
      "$(report_ms "$(bench_field "$line" p50_ms)") | $(report_ms "$(bench_field "$line" p99_ms)") |" \
      "$(report_ms "$(bench_field "$line" max_ms)") |" \
      "$(bench_field "$line" seen) of $(bench_field "$line" writes) |" \
      "$(report_ms "$(bench_field "$line" commit_p50_ms)") /" \
      "$(report_ms "$(bench_field "$line" commit_p99_ms)") |"
  done <<<"$LAG"
}

report_snapshot() {
  local line=$SNAPSHOT
  [[ -n $line ]] || { echo "- snapshot throughput: not measured (--quick)"; return; }
  awk -v b="$(bench_field "$line" bytes)" -v s="$(bench_field "$line" seconds)" \
    -v r="$(bench_field "$line" mb_per_s)" -v m="$(bench_field "$line" replica_mount_s)" \
    -v build="$(bench_field "$line" build_s)" -v e="$(bench_field "$line" errors)" 'BEGIN {
      if (e != 0) { print "- snapshot throughput: failed"; exit }
      printf "- snapshot throughput: **%.0f MB/s**. A fresh replica reached the position of" \
        " a %.0f MB database on the primary %.2f s after it was started (it had mounted" \
        " after %.2f s). Building that database through the primary'"'"'s mount, one" \
        " transaction, took %.1f s.\n", r, b / 1048576, s, m, build }'
}

# report_startup LINE WHAT WHY_NOT
report_startup() {
  local line=$1 what=$2
  [[ -n $line ]] || { echo "- start-up, $what: not measured ($3)"; return; }
  awk -v b="$(bench_field "$line" bytes)" -v w="$(bench_field "$line" warm_s)" \
    -v c="$(bench_field "$line" cold_s)" -v e="$(bench_field "$line" errors)" \
    -v what="$what" 'BEGIN {
      if (e != 0) { print "- start-up, " what ": failed"; exit }
      printf "- start-up, %s (%.0f MB): from `walship mount` to `.lag` **%.2f s** with its" \
        " files in the page cache, %.2f s with them dropped from it\n", what, b / 1048576, w, c }'
}

# The failover line(s) from failover_measure's JSON lines.
report_failover() {
  local summary
  summary=$(grep '"failover_p50_ms"' <<<"$1" || true)
  if [[ -z $1 ]]; then
    echo "- failover: not measured (--failover-trials 0)."
  elif grep -q '"skipped"' <<<"$1"; then
    echo "- failover: not measured: $(sed -n 's/.*"skipped":"\([^"]*\)".*/\1/p' <<<"$1")."
  elif [[ -z $summary ]]; then
    echo "- failover: the measurement failed (see raw.jsonl)."
  else
    echo "- failover (etcd, TTL 2 s, 3 nodes; kill -9 of the primary to the first successful" \
      "INSERT on a survivor): p50 $(bench_field "$summary" failover_p50_ms) ms, max" \
      "$(bench_field "$summary" failover_max_ms) ms over $(bench_field "$summary" trials) trials."
    echo "- handoff (\`walship run --promote\` under a writer retrying on every node): writes" \
      "unavailable for at most $(bench_field "$summary" handoff_gap_ms) ms (the longest gap" \
      "between successful INSERTs; $(bench_field "$summary" normal_gap_p50_ms) ms normally);" \
      "promote returned in $(bench_field "$summary" promote_ms) ms."
  fi
}
