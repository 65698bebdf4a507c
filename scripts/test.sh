#!/usr/bin/env bash
# README command 2: build and run every test: the doctest suites natively and under ASan+UBSan,
# TensorFlow's vectors and bad inputs, the comparison against real TensorFlow, the OpenCL schedules
# on PoCL, the Android kernels' checks; then the arm-64 and arm-32 builds with the same suite under
# qemu and the consumer example against their installs (scripts/cross-build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/configure.sh
.venv/bin/cmake --build build
(cd build && ../.venv/bin/ctest --output-on-failure --timeout 1800)
for arch in arm64 arm32; do
    echo "== qdq on $arch (cross-compiled, tests under qemu)"
    scripts/cross-build.sh "$arch"
done
