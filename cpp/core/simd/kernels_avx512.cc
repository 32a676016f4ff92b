// Kernels compiled for the "avx512" target; see kernels_impl.inc.
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

#define GILFREE_SIMD_TARGET_NAME "avx512"

namespace gilfree {
namespace simd {
namespace avx512 {

#include "kernels_impl.inc"

const KernelTable* Table() { return &kTable; }

}  // namespace avx512
}  // namespace simd
}  // namespace gilfree
