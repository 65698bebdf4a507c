# Shared by the per-target toolchain files, which set QDQ_CROSS_TRIPLE, QDQ_CROSS_PROCESSOR and
# QDQ_CROSS_QEMU first: Debian's g++-<triple> cross compiler and sysroot /usr/<triple>. The kernels come
# from the host build's generators (-Dqdq-halide_generators_ROOT=<host build>); tests run under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${QDQ_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${QDQ_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${QDQ_CROSS_TRIPLE}-g++)

set(CMAKE_FIND_ROOT_PATH /usr/${QDQ_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages: the host's Halide (for its GenRT tool and runtime headers) and the host build's generators.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_CROSSCOMPILING_EMULATOR ${QDQ_CROSS_QEMU} -L /usr/${QDQ_CROSS_TRIPLE})
