// Kernels compiled for the "scalar" target: the scalar source alone, without
// the hand-written vector paths. It is the reference every other target is
// tested against, and is chosen only when forced (GILFREE_SIMD=scalar); see
// kernels_impl.inc.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "../elements.h"
#include "../warp_taps.h"
#include "kernels.h"

#define GILFREE_SIMD_TARGET_NAME "scalar"
#define GILFREE_SIMD_SCALAR 1

namespace gilfree {
namespace simd {
namespace scalar {

#include "kernels_impl.inc"

const KernelTable* Table() { return &kTable; }

}  // namespace scalar
}  // namespace simd
}  // namespace gilfree
