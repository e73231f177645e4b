#!/usr/bin/env bash
# walship demo: installs, builds, starts a node with a FUSE mount in a temp dir,
# writes with the sqlite3 CLI, and shows every transaction becoming an LTX file
# with the next TXID and checksum. Tears everything down at the end or on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bin=$PWD/build/walship

work=$(mktemp -d /tmp/walship-demo.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  umount -l "$work/mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/walship.yml" <<YAML
fuse:
  dir: $work/mnt
data:
  dir: $work/data
http:
  addr: "127.0.0.1:$port"
YAML

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting walship (mount $work/mnt, node API on port $port)"
"$bin" mount --config "$work/walship.yml" > "$work/walship.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$work/mnt/.lag" ] && break; sleep 0.1; done
[ -e "$work/mnt/.lag" ] || { cat "$work/walship.log"; exit 1; }

db=$work/mnt/demo.db
show() {
  echo "demo.db-pos: $(cat "$db-pos")"
  ls "$work/data/dbs/demo.db/ltx" | sed 's/^/  ltx\//'
}

step "create a table in WAL mode"
sqlite3 "$db" "PRAGMA journal_mode=wal; CREATE TABLE greetings(id INTEGER PRIMARY KEY, text TEXT);" >/dev/null
show
for word in hello world from walship; do
  step "INSERT '$word' (one transaction, one LTX file)"
  sqlite3 "$db" "INSERT INTO greetings(text) VALUES('$word');"
  show
done

step "a rolled-back transaction leaves no LTX file"
sqlite3 "$db" "BEGIN; INSERT INTO greetings(text) VALUES('never'); ROLLBACK;"
show

step "rows read back through the mount"
sqlite3 -box "$db" "SELECT * FROM greetings;" 2>/dev/null || sqlite3 "$db" "SELECT * FROM greetings;"

step "walship status"
"$bin" status --url "http://127.0.0.1:$port"

step "export a consistent copy and check it"
"$bin" export --name demo.db --url "http://127.0.0.1:$port" "$work/export.db"
sqlite3 "$work/export.db" "PRAGMA integrity_check; SELECT count(*) || ' rows' FROM greetings;"

step "done; unmounting"
