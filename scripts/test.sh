#!/usr/bin/env bash
# README command 2: build and run every test (doctest suites natively and under ASan+UBSan,
# TensorFlow's vectors and bad inputs, the comparison against real TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/configure.sh
.venv/bin/cmake --build build
cd build
../.venv/bin/ctest --output-on-failure --timeout 1800
