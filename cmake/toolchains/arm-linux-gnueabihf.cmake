# Cross-compiling qdq for arm-linux-gnueabihf (arm-32, ARMv7 NEON) with Debian's g++-arm-linux-gnueabihf; tests
# under qemu-arm.
set(QDQ_CROSS_TRIPLE arm-linux-gnueabihf)
set(QDQ_CROSS_PROCESSOR armv7l)
set(QDQ_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
