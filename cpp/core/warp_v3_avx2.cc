// ImageProjectiveTransformV3's arithmetic (warp_v3.h): the row loops on
// 8-lane AVX vectors (AVX2 for the integer lanes), for the "avx2" and
// "avx512" targets. Built with -mavx2 -mf16c -ffp-contract=off and without
// -mfma, so no product and sum can fuse.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <immintrin.h>

#include "half.h"
#include "warp_v3.h"

namespace gilfree {
namespace v3 {
namespace avx2 {
#define GILFREE_V3_LANES 8
#include "warp_v3_impl.inc"
#undef GILFREE_V3_LANES
}  // namespace avx2
}  // namespace v3
}  // namespace gilfree
