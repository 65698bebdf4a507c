#!/usr/bin/env bash
# Installs everything qdq needs on Debian 12 (run as root): Debian packages, then the pinned
# Python packages (Halide, CMake, Ninja, TensorFlow) in the project-local venv .venv/.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and tests; PoCL runs the GPU (OpenCL) schedules on the CPU in the test suite; Eigen and
# XNNPACK are benchmark peers; the ARM cross compilers and qemu-user build and run the arm-64 and
# arm-32 builds (scripts/cross-build.sh).
APT_PACKAGES=(g++ make git python3 python3-venv python3-pip doctest-dev nlohmann-json3-dev libbenchmark-dev
              pocl-opencl-icd ocl-icd-libopencl1 libeigen3-dev libxnnpack-dev libpthreadpool-dev
              g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "qdq: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The venv is (re)filled whenever requirements.txt changes.
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ ! -x .venv/bin/python || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    echo "qdq: installing the pinned Python packages into .venv"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r requirements.txt
    echo "$want" >"$stamp"
fi
