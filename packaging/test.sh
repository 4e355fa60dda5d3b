#!/usr/bin/env bash
# Installs the Debian packages, builds everything (GUI included) and runs every test with CTest.
# Tests read ../shared (reference fixtures and datasets) beside the checkout; set SUPERSAM_SHARED_DIR otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake --preset release
cmake --build --preset release
ctest --preset release --timeout 600 -j2
