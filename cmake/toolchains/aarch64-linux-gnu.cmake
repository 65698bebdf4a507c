# Cross-compiling qdq for aarch64-linux-gnu (arm-64) with Debian's g++-aarch64-linux-gnu; tests under qemu-aarch64.
set(QDQ_CROSS_TRIPLE aarch64-linux-gnu)
set(QDQ_CROSS_PROCESSOR aarch64)
set(QDQ_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
