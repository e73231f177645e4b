#!/usr/bin/env bash
# Builds SQLite's TCL test harness, `testfixture`, from Debian 12's sqlite3
# source package (the version of the installed libsqlite3-dev, 3.40.1), for
# the sqlite-tcl tests (tests/integration/sqlite_tcl, DESIGN.md §4).
#
# Usage: scripts/build-testfixture.sh OUTDIR
#
# Everything goes under OUTDIR (a build directory, never the source tree):
#   OUTDIR/testfixture        the harness
#   OUTDIR/sqlite-src         the unpacked source (its test/ holds the test files)
#   OUTDIR/deb/               what `apt-get source` downloaded and unpacked
#   OUTDIR/obj/               configure and make's working directory
#   OUTDIR/build.log          their output
#
# Idempotent: when OUTDIR/testfixture exists, is newer than the unpacked source
# and was built from the installed libsqlite3-dev's source version with the
# same flags, it does nothing. Concurrent runs on one OUTDIR wait for each
# other (flock). TESTFIXTURE_CFLAGS overrides the compiler flags (-O1).
#
# Needs dpkg-dev (dpkg-source), tcl-dev, build-essential (scripts/setup.sh
# installs them) and a deb-src entry for Debian bookworm: when apt knows no
# source for sqlite3, it writes /etc/apt/sources.list.d/walship-deb-src.sources
# (deb822) and runs `apt-get update`, as root or through `sudo -n`.
set -euo pipefail

die() {
  echo "build-testfixture: error: $*" >&2
  exit 1
}
say() { echo "build-testfixture: $*"; }

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 OUTDIR"
mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)

for tool in apt-get dpkg-source make cc tclsh; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing (scripts/setup.sh installs dpkg-dev, tcl-dev, build-essential)"
done
[[ -r /usr/lib/tcl8.6/tclConfig.sh ]] ||
  die "/usr/lib/tcl8.6/tclConfig.sh is missing (Debian package tcl-dev)"

# The source version of the installed library, e.g. 3.40.1-2+deb12u2.
version=$(dpkg-query -W -f='${source:Version}' libsqlite3-dev 2>/dev/null) || version=""
[[ -n $version ]] || die "libsqlite3-dev is not installed (scripts/setup.sh installs it)"
upstream=${version%-*}
# -O1: see build_testfixture. A different TESTFIXTURE_CFLAGS rebuilds.
cflags=${TESTFIXTURE_CFLAGS:--O1}
stamp="$version CFLAGS=$cflags"

# One build at a time per OUTDIR: ctest may start several tests that need it.
exec 9>"$out/.lock"
flock 9

src=$out/sqlite-src
if [[ -x $out/testfixture && -f $src/.unpacked && $out/testfixture -nt $src/.unpacked &&
      $(cat "$out/testfixture.version" 2>/dev/null) == "$stamp" ]]; then
  exit 0
fi

# Runs a command as root: directly, or through a sudo that asks no password.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "need root to run: $* (run this script as root once, or add the deb-src entry yourself)"
  fi
}

# apt knows a source package when `apt-cache showsrc` prints a Version line.
source_versions() {
  apt-cache showsrc sqlite3 2>/dev/null | sed -n 's/^Version: //p'
}

# The deb-src entry, only when apt has no source for sqlite3 at all. The
# suites mirror the binary ones of debian.sources, so that a point release or
# a security update of libsqlite3-dev has its source too.
ensure_deb_src() {
  [[ -n $(source_versions) ]] && return 0
  local list=/etc/apt/sources.list.d/walship-deb-src.sources
  if [[ ! -e $list ]]; then
    say "adding $list (deb-src for Debian bookworm main)"
    as_root tee "$list" >/dev/null <<'EOF'
# Added by walship's scripts/build-testfixture.sh: the sqlite3 source package
# (SQLite's TCL tests). Remove this file to undo.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  say "apt-get update"
  as_root apt-get update -qq || die "apt-get update failed"
  [[ -n $(source_versions) ]] ||
    die "apt still knows no source package sqlite3 after adding $list"
}

# Downloads and unpacks the source package (Debian's patches applied) into
# OUTDIR/deb, and points OUTDIR/sqlite-src at it.
fetch_source() {
  local want=$version dir=$out/deb/sqlite3-$upstream
  if [[ -f $dir/.unpacked && $(cat "$dir/.unpacked") == "$version" ]]; then
    ln -sfn "$dir" "$src"
    return 0
  fi
  ensure_deb_src
  if ! source_versions | grep -qxF "$version"; then
    # The exact revision may be missing (a security update whose source is not
    # in the suites above); any revision of the same upstream release will do:
    # testfixture compiles its own copy of SQLite, not the installed library.
    want=$(source_versions | grep -m1 "^${upstream//./\\.}-") ||
      die "no sqlite3 source package $upstream in apt (it has: $(source_versions | tr '\n' ' '))"
    say "warning: source $version is not in apt; using $want"
  fi
  rm -rf "$out/deb"
  mkdir -p "$out/deb"
  say "apt-get source sqlite3=$want (about 14 MB)"
  (cd "$out/deb" && apt-get source -q "sqlite3=$want") >>"$out/build.log" 2>&1 ||
    { tail -n 20 "$out/build.log" >&2; die "apt-get source sqlite3=$want failed (log: $out/build.log)"; }
  [[ -f $dir/test/tester.tcl ]] || die "$dir/test/tester.tcl is missing after apt-get source"
  echo "$version" >"$dir/.unpacked"
  ln -sfn "$dir" "$src"
}

# configure + `make testfixture` out of tree. One compiler command builds the
# whole harness, amalgamation included; with -O1 that takes about 30 s on this
# 2-core VM, with configure's default -g -O2 about 75 s (sqlite3.c alone 49 s,
# against 17 s). The tests wait on the file system far more than on the CPU.
build_testfixture() {
  local obj=$out/obj
  rm -rf "$obj"
  mkdir -p "$obj"
  say "building testfixture (CFLAGS=$cflags; under a minute; log: $out/build.log)"
  (cd "$obj" && CFLAGS=$cflags "$src/configure" --with-tcl=/usr/lib/tcl8.6 --disable-shared) \
    >>"$out/build.log" 2>&1 ||
    { tail -n 20 "$out/build.log" >&2; die "configure failed (log: $out/build.log)"; }
  make -C "$obj" -j"$(nproc)" testfixture >>"$out/build.log" 2>&1 ||
    { tail -n 20 "$out/build.log" >&2; die "make testfixture failed (log: $out/build.log)"; }
  "$obj/testfixture" <<<'puts [sqlite3 -version]; exit' >/dev/null ||
    die "the new testfixture does not run"
  mv "$obj/testfixture" "$out/testfixture"
  echo "$stamp" >"$out/testfixture.version"
  rm -rf "$obj"  # the amalgamation and objects: 30 MB nobody needs again
}

start=$SECONDS
: >"$out/build.log"
fetch_source
build_testfixture
say "built $out/testfixture (SQLite $version) in $((SECONDS - start)) s"
