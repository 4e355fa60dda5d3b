#!/usr/bin/env bash
# Installs the Debian packages, builds everything (GUI included) and runs every test with CTest, then builds the
# libFuzzer targets (clang + AddressSanitizer) and runs each parser's target for a fixed number of executions.
# Tests read ../shared (reference fixtures and datasets) beside the checkout; set SUPERSAM_SHARED_DIR otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake --preset release
cmake --build --preset release
# ONNX Runtime for the ONNX export tests (tests/onnx/node_modules, not committed). Without the variable its install
# script tries to download a CUDA build.
(cd tests/onnx && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund)
ctest --preset release --timeout 600 -j2
tests/fuzz/run.sh "${SUPERSAM_FUZZ_RUNS:-2000}" 30
