# Project-wide options and small helpers.
# Cross builds (ARM, Android) build the library and the doctest suite; the benchmarks, the
# sanitizer build and the GPU variants are for the x86-64 host.
if (CMAKE_CROSSCOMPILING)
    set(_qdq_host_build OFF)
else ()
    set(_qdq_host_build ON)
endif ()
option(QDQ_BUILD_TESTS "Build the doctest suites" ON)
option(QDQ_BUILD_BENCHMARKS "Build the benchmarks" ${_qdq_host_build})
option(QDQ_GPU_KERNELS "Build the CUDA and OpenCL kernel variants (x86-64 Linux hosts)" ${_qdq_host_build})
option(QDQ_ANDROID_KERNELS "Emit the arm-64/arm-32 Android kernels under build/android (x86-64 hosts)" ${_qdq_host_build})
option(QDQ_SANITIZED_TESTS "Also build the test suite against an ASan+UBSan build of the library" ${_qdq_host_build})
set(QDQ_SPEC_DIR "${PROJECT_SOURCE_DIR}/../shared/spec" CACHE PATH "Folder holding tf_cases.json")
set(QDQ_PYTHON "" CACHE FILEPATH "Python with tensorflow-cpu, for the comparison against TF (empty: skip)")

# Warnings on for every target of ours.
function(qdq_enable_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wno-unused-parameter
                                             # GCC's note that arm-32's ABI for some arguments changed in GCC 7
                                             $<$<CXX_COMPILER_ID:GNU>:-Wno-psabi>)
endfunction()

set(QDQ_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
function(qdq_sanitize target)
    target_compile_options(${target} PRIVATE ${QDQ_SANITIZER_FLAGS})
    target_link_options(${target} PRIVATE ${QDQ_SANITIZER_FLAGS})
endfunction()
