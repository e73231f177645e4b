#!/usr/bin/env bash
# Installs every system dependency of walship (idempotent) and builds build/walship.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git ca-certificates
  libfuse3-dev fuse3
  libsqlite3-dev sqlite3
  liblz4-dev
  libboost-dev
  libcurl4-openssl-dev libssl-dev
  openssl  # the TLS tests make their certificates at run time
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev wrk
  etcd-server etcd-client
  psmisc procps
  prometheus  # promtool: the /metrics test lints the exposition
  groff-base  # the install test renders the man pages
  gnuplot-nox go-dqlite valgrind strace  # bench/compare.sh: chart, the dqlite peer; bench/profile.sh; bench/app_syncs.sh
  tcl-dev dpkg-dev  # scripts/build-testfixture.sh: SQLite's testfixture (label sqlite-tcl)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from elsewhere (its npm conflicts with Debian's): only add it when absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# S3 test server and the Litestream peer of the backup bench, into a project
# folder (not global).
if [ ! -x tools/node/node_modules/.bin/s3rver ] ||
   [ ! -x tools/node/node_modules/@flydotio/litestream-linux-x64/litestream ]; then
  mkdir -p tools/node
  (cd tools/node && [ -f package.json ] || echo '{"name":"walship-test-tools","private":true}' > package.json)
  (cd tools/node && npm install --no-audit --no-fund --silent s3rver@3.7.1 \
    @flydotio/litestream-linux-x64@1.0.1)
fi

if [ "${1:-}" != "--no-build" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)"
fi
