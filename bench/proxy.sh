#!/usr/bin/env bash
# The proxy's overhead (docs/benchmarks.md, "Proxy"): requests/s and latency
# of GETs through walship's proxy against the same GETs straight to the
# application, and of POSTs (one SQLite INSERT each) straight to the
# application on the primary, through the primary's proxy, and through a
# replica's proxy (forwarded to the primary). The application is
# walship-test-app (built with the tests) on a walship primary and replica;
# the load tool is wrk (Debian package wrk). Loopback only; everything started
# is stopped.
#
#   bench/proxy.sh [--build-dir DIR] [--duration S] [--connections N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/lib.sh"

build_dir=${WALSHIP_BENCH_BUILD:-$root/build} duration=5 connections=10
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    -h | --help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
walship_bin=$build_dir/walship
app_bin=$build_dir/tests/integration/proxy/walship-test-app
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -x $app_bin ]] || { echo "no $app_bin: build with the tests" >&2; exit 1; }

base=$(mktemp -d "${TMPDIR:-/tmp}/walship-proxy-bench.XXXXXX")
app_pids=()
cleanup() {
  for pid in "${app_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  walship_nodes_stop_all
  rm -rf "$base"
}
trap cleanup EXIT
trap "exit 130" INT TERM

# node NAME ROLE [PRIMARY_PORT]: a walship node with a proxy in front of its
# own walship-test-app. Sets PROXY_PORT[NAME] and APP_PORT[NAME].
declare -A PROXY_PORT=() APP_PORT=()
node() {
  local name=$1 role=$2 primary_port=${3:-}
  PROXY_PORT[$name]=$(walship_free_port)
  APP_PORT[$name]=$(walship_free_port)
  walship_node_start "$name" "$walship_bin" "$base/$name" "$role" $primary_port
  walship_node_stop "$name"
  cat >>"$base/$name/walship.yml" <<YAML
proxy: {addr: "127.0.0.1:${PROXY_PORT[$name]}", target: "127.0.0.1:${APP_PORT[$name]}", db: app.db}
YAML
  "$walship_bin" mount --config "$base/$name/walship.yml" >>"$base/$name/walship.log" 2>&1 &
  NODE_PID[$name]=$!
  walship_node_wait_mounted "$name"
}

node p primary
node r replica "${NODE_PORT[p]}"
sqlite3 "$base/p/mnt/app.db" \
  "PRAGMA journal_mode=wal; CREATE TABLE rows(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO rows(v) VALUES('x');" >/dev/null
walship_wait_caught_up "$base/p/mnt" "$base/r/mnt" 10
for n in p r; do
  "$app_bin" "127.0.0.1:${APP_PORT[$n]}" "$base/$n/mnt/app.db" >"$base/app-$n.log" 2>&1 &
  app_pids+=($!)
done
sleep 0.5

cat >"$base/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "bench"
wrk.headers["Content-Type"] = "text/plain"
LUA

# run LABEL URL [wrk args]: one wrk run; prints a JSON line.
run() {
  local label=$1 url=$2 out
  shift 2
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" "$url" 2>&1)
  awk -v label="$label" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    /Socket errors/ { errs = 1 }
    END { printf "{\"kind\":\"proxy\",\"case\":\"%s\",\"rps\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"non2xx\":%d,\"errors\":%d}\n",
          label, rps, p50, p99, bad + 0, errs + 0 }' <<<"$out"
}

run get_direct_app "http://127.0.0.1:${APP_PORT[r]}/count"
run get_replica_proxy "http://127.0.0.1:${PROXY_PORT[r]}/count"
run post_direct_primary_app "http://127.0.0.1:${APP_PORT[p]}/rows" -s "$base/post.lua"
run post_primary_proxy "http://127.0.0.1:${PROXY_PORT[p]}/rows" -s "$base/post.lua"
run post_replica_proxy "http://127.0.0.1:${PROXY_PORT[r]}/rows" -s "$base/post.lua"
