#!/bin/sh
# Regenerates snapshot-4096.ltx and increment-4096.ltx with the LTX reference
# implementation (github.com/superfly/ltx), offline, on Debian 12, as root.
# See README.md. Needs bare git clones of github.com/superfly/ltx ($LTX_GIT)
# and github.com/pierrec/lz4 ($LZ4_GIT); works in $WORK (default
# /tmp/walship-golden-ltx) and writes the files there, in out/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W=${WORK:-/tmp/walship-golden-ltx}
: "${LTX_GIT:?bare clone of github.com/superfly/ltx}" "${LZ4_GIT:?bare clone of github.com/pierrec/lz4}"
# 1. Go 1.23 from bookworm-backports, unpacked locally (system apt sources untouched).
mkdir -p $W/apt/lists/partial $W/apt/debs $W/toolchain $W/out
echo 'deb http://deb.debian.org/debian bookworm-backports main' > $W/apt/sources.list
O="-o Dir::Etc::SourceList=$W/apt/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$W/apt/lists"
apt-get $O update
(cd $W/apt/debs && apt-get $O download golang-1.23-go golang-1.23-src)
for d in $W/apt/debs/*.deb; do dpkg-deb -x "$d" $W/toolchain; done
# 2. Sources: superfly/ltx at 8cb8f8e (4 commits after v0.5.2; encoder and
#    decoder as in v0.5.2), pierrec/lz4 at v4.1.21 (ltx pins v4.1.23, which
#    was not available here).
rm -rf $W/deps && mkdir -p $W/deps/ltx $W/deps/lz4
git --git-dir="$LTX_GIT" archive 8cb8f8ebaf8f57c9b0e1041a27d5444032ea0643 | tar -x -C $W/deps/ltx
git --git-dir="$LZ4_GIT" archive 294e7659e17723306ebf3a44cd7ad2c11f456c37 -- . \
  ':(exclude)fuzz' ':(exclude)testdata' ':(exclude)cmd' | tar -x -C $W/deps/lz4
sed -i 's/^go 1.24$/go 1.23/' $W/deps/ltx/go.mod   # the only change to the reference sources
# 3. Generate, and read back with the reference decoder.
cp "$here/generate.go" "$here/go.mod" $W/out/
export GOROOT=$W/toolchain/usr/lib/go-1.23 PATH=$W/toolchain/usr/lib/go-1.23/bin:$PATH \
  GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod GOPATH=$W/gopath GOCACHE=$W/gocache
cd $W/out && go run . .
sha256sum snapshot-4096.ltx increment-4096.ltx
