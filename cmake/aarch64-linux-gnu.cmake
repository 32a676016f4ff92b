# Cross build for 64-bit Arm Linux with Debian's GNU cross compiler
# (apt-get install g++-aarch64-linux-gnu); its sysroot is /usr/aarch64-linux-gnu.
# Test binaries run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so CTest
# runs them as it would natively. .ci/aarch64 uses this file:
#
#   cmake -S . -B build/aarch64/core -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(GILFREE_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${GILFREE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${GILFREE_CROSS_TRIPLE}-g++)

set(GILFREE_CROSS_SYSROOT /usr/${GILFREE_CROSS_TRIPLE})
# Libraries, headers and CMake packages come from the target's sysroot (and
# from prefixes listed in CMAKE_FIND_ROOT_PATH by the caller, such as a
# cross-built GoogleTest); programs from the build machine.
list(APPEND CMAKE_FIND_ROOT_PATH ${GILFREE_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu-user runs aarch64 binaries on the build machine; -L points its dynamic
# loader at the sysroot's libc and libstdc++.
find_program(GILFREE_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(GILFREE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${GILFREE_QEMU_AARCH64} -L ${GILFREE_CROSS_SYSROOT})
endif()
