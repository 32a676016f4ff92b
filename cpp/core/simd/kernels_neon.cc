// Kernels compiled for the "neon" target (aarch64, where Advanced SIMD is part
// of the base instruction set, so no extra compiler flags); see kernels_impl.inc.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "../elements.h"
#include "../warp_taps.h"
#include "kernels.h"

#define GILFREE_SIMD_TARGET_NAME "neon"
// Selects the NEON vector code. Not __ARM_NEON: every aarch64 file has it,
// and the baseline table, built from the same source, must stay scalar.
#define GILFREE_SIMD_TARGET_NEON 1

namespace gilfree {
namespace simd {
namespace neon {

#include "kernels_impl.inc"

const KernelTable* Table() { return &kTable; }

}  // namespace neon
}  // namespace simd
}  // namespace gilfree
