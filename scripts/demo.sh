#!/usr/bin/env bash
# walship demo: installs, builds, starts a local 3-node cluster (static lease)
# with FUSE mounts under a temp dir, writes on the primary with the sqlite3 CLI,
# shows the rows arriving on the replicas (read by connections that stay open),
# prints cluster status, and tears everything down at the end or on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bin=${WALSHIP_BIN:-$PWD/build/walship}

work=$(mktemp -d /tmp/walship-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for n in 1 2 3; do umount -l "$work/node$n/mnt" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

ports=("" "$(free_port)" "$(free_port)" "$(free_port)")
for n in 1 2 3; do
  candidate=false
  [ "$n" = 1 ] && candidate=true
  mkdir -p "$work/node$n"
  cat > "$work/node$n/walship.yml" <<YAML
fuse:
  dir: $work/node$n/mnt
data:
  dir: $work/node$n/data
http:
  addr: "127.0.0.1:${ports[$n]}"
lease:
  type: static
  hostname: node1
  advertise-url: "http://127.0.0.1:${ports[1]}"
  candidate: $candidate
YAML
done

step "starting node1 (primary) and node2, node3 (replicas) under $work"
for n in 1 2 3; do
  "$bin" mount --config "$work/node$n/walship.yml" > "$work/node$n/walship.log" 2>&1 &
  pids+=($!)
done
for n in 1 2 3; do
  for _ in $(seq 100); do [ -e "$work/node$n/mnt/.lag" ] && break; sleep 0.1; done
  [ -e "$work/node$n/mnt/.lag" ] || { cat "$work/node$n/walship.log"; exit 1; }
done
echo "node2's .primary: $(cat "$work/node2/mnt/.primary")"

primary=$work/node1/mnt/demo.db
step "create a table on the primary (WAL mode)"
sqlite3 "$primary" "PRAGMA journal_mode=wal; CREATE TABLE greetings(id INTEGER PRIMARY KEY, text TEXT);" >/dev/null
# Wait (up to 10 s) until each replica is at the primary's position: the table exists there.
for n in 2 3; do
  for _ in $(seq 200); do
    [ "$(cat "$work/node$n/mnt/demo.db-pos" 2>/dev/null)" = "$(cat "$work/node1/mnt/demo.db-pos")" ] && break
    sleep 0.05
  done
  [ "$(cat "$work/node$n/mnt/demo.db-pos" 2>/dev/null)" = "$(cat "$work/node1/mnt/demo.db-pos")" ] ||
    { echo "node$n did not catch up"; cat "$work/node$n/walship.log"; exit 1; }
done

step "replicas read through connections that stay open while the primary writes"
python3 - "$work" <<'PY'
import sqlite3, subprocess, sys, time
work = sys.argv[1]
readers = {n: sqlite3.connect(f"file:{work}/node{n}/mnt/demo.db?mode=ro", uri=True) for n in (2, 3)}
for word in ["hello", "world", "from", "walship"]:
    subprocess.run(["sqlite3", f"{work}/node1/mnt/demo.db",
                    f"INSERT INTO greetings(text) VALUES('{word}')"], check=True)
    deadline = time.time() + 5
    while time.time() < deadline:
        counts = {n: r.execute("SELECT count(*) FROM greetings").fetchone()[0] for n, r in readers.items()}
        if all(c >= 1 and r.execute("SELECT text FROM greetings ORDER BY id DESC LIMIT 1").fetchone()[0] == word
               for n, r in readers.items() for c in [counts[n]]):
            break
        time.sleep(0.01)
    print(f"primary wrote {word!r:10} -> node2 sees {counts[2]} rows, node3 sees {counts[3]} rows")
PY

step "a write on a replica is refused"
sqlite3 "$work/node2/mnt/demo.db" "INSERT INTO greetings(text) VALUES('nope');" || true

step "positions (TXID/checksum) on every node"
for n in 1 2 3; do echo "node$n: $(cat "$work/node$n/mnt/demo.db-pos")"; done

step "walship status"
for n in 1 2 3; do "$bin" status --url "http://127.0.0.1:${ports[$n]}"; done

step "done; stopping the cluster"
