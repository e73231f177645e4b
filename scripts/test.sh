#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole CTest suite.
# Usage: scripts/test.sh [extra ctest args], e.g. scripts/test.sh -L unit
#        WALSHIP_PRESET=sanitize scripts/test.sh   (ASan+UBSan build in build-sanitize/)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --no-build
preset=${WALSHIP_PRESET:-release}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
ctest --preset "$preset" -j"${WALSHIP_TEST_JOBS:-2}" --timeout 600 "$@"
