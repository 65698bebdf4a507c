#!/usr/bin/env bash
# Cross-compiles qdq for ARM Linux and tests it under emulation:
#
#   scripts/cross-build.sh arm64|arm32 [--no-test]
#
# Halide's two-stage pattern: the host build (build/) holds the generators; this build, with
# Debian's cross compiler, imports them (-Dqdq-halide_generators_ROOT=build) and compiles the
# kernels for the ARM target. Then: the doctest suite under qemu-aarch64 / qemu-arm (CTest's
# CMAKE_CROSSCOMPILING_EMULATOR), an install to build-<arch>/install, and examples/consumer, a
# separate project that links that install, built and run under qemu too.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    arm64) triple=aarch64-linux-gnu ;;
    arm32) triple=arm-linux-gnueabihf ;;
    *) echo "usage: $0 arm64|arm32 [--no-test]" >&2; exit 2 ;;
esac
run_tests=1
[[ "${2:-}" == --no-test ]] && run_tests=0
root=$PWD
dir=build-$1
export PATH="$root/.venv/bin:$PATH"
if [[ ! -f build/build.ninja ]]; then
    echo "qdq: the host build (build/) comes first: scripts/configure.sh" >&2
    exit 1
fi
cmake --build build --target qdq_generators  # the host-side generators this build imports

toolchain=$root/cmake/toolchains/$triple.cmake
halide_cmake=$(python -c 'import halide, os; print(os.path.join(os.path.dirname(halide.__file__), "lib64", "cmake"))')
if [[ ! -f $dir/build.ninja ]]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
        -Dqdq-halide_generators_ROOT="$root/build" -DHalideHelpers_DIR="$halide_cmake/HalideHelpers" \
        -DCMAKE_INSTALL_PREFIX="$root/$dir/install"
fi
cmake --build "$dir"
cmake --install "$dir" >/dev/null

# The consumer: its own project against the install, as an application would build.
if [[ ! -f $dir/consumer/build.ninja ]]; then
    cmake -S examples/consumer -B "$dir/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_TOOLCHAIN_FILE="$toolchain" -Dqdq_ROOT="$root/$dir/install"
fi
cmake --build "$dir/consumer"

if ((run_tests)); then
    (cd "$dir" && ctest --output-on-failure --timeout 1800)
    (cd "$dir/consumer" && ctest --output-on-failure)
fi
