#!/usr/bin/env bash
# README command 1: install what is missing, build, run the demo on built-in data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/configure.sh
.venv/bin/cmake --build build --target qdq_cli
build/bin/qdq demo
