#!/usr/bin/env bash
# Configures the build folder build/ with the venv's CMake, Ninja and Halide.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [[ ! -f build/build.ninja ]]; then
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQDQ_PYTHON="$PWD/.venv/bin/python" "$@"
fi
