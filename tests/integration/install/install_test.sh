#!/usr/bin/env bash
# Usage: install_test.sh BUILD_DIR. Fails with a message naming what is missing.
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/walship-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$prefix/install.log" 2>&1 ||
  { cat "$prefix/install.log" >&2; fail "cmake --install failed"; }

bin=$prefix/bin/walship
[ -x "$bin" ] || fail "no $bin"
"$bin" version >/dev/null || fail "the installed binary does not run"
readelf -S "$bin" | grep -q '\.debug_info' && fail "$bin still has debug info"
debug=$prefix/lib/debug/bin/walship.debug
readelf -S "$debug" 2>/dev/null | grep -q '\.debug_info' || fail "no debug info in $debug"
readelf --string-dump=.gnu_debuglink "$bin" | grep -q 'walship.debug' ||
  fail "$bin does not name its debug file"
echo "installed binary: $(stat -c %s "$bin") bytes (debug info: $(stat -c %s "$debug") bytes)"

# A man page for walship and for every command its --help lists.
commands=$("$bin" --help | awk '/^Subcommands:/ {on = 1; next} on && !NF {exit} on {print $1}')
[ -n "$commands" ] || fail "walship --help lists no command"
for page in walship $(for c in $commands; do [ "$c" = version ] || echo "walship-$c"; done); do
  file=$prefix/share/man/man1/$page.1
  [ -f "$file" ] || fail "no man page $page(1)"
  warnings=$(groff -man -ww -z "$file" 2>&1)
  [ -z "$warnings" ] || fail "$page(1): $warnings"
done

unit=$prefix/lib/systemd/system/walship.service
[ -f "$unit" ] || fail "no systemd unit"
grep -q '^ExecStart=/.*/walship mount --config /etc/walship.yml$' "$unit" ||
  fail "the unit does not start walship mount: $(grep ExecStart "$unit")"
echo "install test: ok"
