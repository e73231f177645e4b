# shellcheck shell=bash
# Shared by compare.sh and smoke.sh: start and stop one walship node on a
# temp FUSE mount. Source it; it defines functions and touches nothing else.
#
#   walship_start WALSHIP_BIN BASE_DIR [extra mount args...]
#       creates BASE_DIR/{mnt,data}, a config, starts `walship mount` in the
#       background and waits for BASE_DIR/mnt/.lag. Sets WALSHIP_PID,
#       WALSHIP_MNT and WALSHIP_LOG.
#   walship_stop
#       SIGTERM to WALSHIP_PID (SIGKILL after 10 s), then a lazy unmount if
#       the mount is still there. Safe to call twice and before a start.

WALSHIP_PID=""
WALSHIP_MNT=""
WALSHIP_LOG=""

# A loopback TCP port nobody listens on right now.
walship_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

walship_start() {
  local bin=$1 base=$2
  shift 2
  WALSHIP_MNT=$base/mnt
  WALSHIP_LOG=$base/walship.log
  mkdir -p "$WALSHIP_MNT" "$base/data"
  cat >"$base/walship.yml" <<YAML
fuse: {dir: "$WALSHIP_MNT"}
data: {dir: "$base/data"}
http: {addr: "127.0.0.1:$(walship_free_port)"}
YAML
  "$bin" mount --config "$base/walship.yml" "$@" >"$WALSHIP_LOG" 2>&1 &
  WALSHIP_PID=$!
  for _ in $(seq 1 200); do
    [[ -e $WALSHIP_MNT/.lag ]] && return 0
    if ! kill -0 "$WALSHIP_PID" 2>/dev/null; then
      echo "walship exited before mounting; its log:" >&2
      cat "$WALSHIP_LOG" >&2
      WALSHIP_PID=""
      return 1
    fi
    sleep 0.1
  done
  echo "walship did not mount $WALSHIP_MNT within 20 s; its log:" >&2
  cat "$WALSHIP_LOG" >&2
  return 1
}

walship_stop() {
  if [[ -n $WALSHIP_PID ]] && kill -0 "$WALSHIP_PID" 2>/dev/null; then
    kill -TERM "$WALSHIP_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$WALSHIP_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$WALSHIP_PID" 2>/dev/null || true
    wait "$WALSHIP_PID" 2>/dev/null || true
  fi
  WALSHIP_PID=""
  if [[ -n $WALSHIP_MNT ]] && mountpoint -q "$WALSHIP_MNT" 2>/dev/null; then
    umount -l "$WALSHIP_MNT" 2>/dev/null || fusermount3 -uz "$WALSHIP_MNT" 2>/dev/null || true
  fi
}

# The value of numeric FIELD in one walship-bench JSON line.
bench_field() {
  sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" <<<"$1"
}
