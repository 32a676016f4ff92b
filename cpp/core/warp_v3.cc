// ImageProjectiveTransformV3's arithmetic (warp_v3.h states the rules): the
// "scalar" row loops, used when GILFREE_SIMD=scalar forces the scalar
// reference, and the SSE2 ones (x86-64; scalar elsewhere) for every other
// target. An 8-lane AVX2 build of the same loops measured no faster.
// Built with -ffp-contract=off: a * b + c must round twice, as in TensorFlow's
// x86-64 build, which has no FMA.
#include "warp_v3.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "half.h"
#include "simd/kernels.h"

namespace gilfree {
namespace v3 {

namespace scalar {
#define GILFREE_V3_LANES 0
#include "warp_v3_impl.inc"
#undef GILFREE_V3_LANES
}  // namespace scalar

namespace baseline {
#if defined(__SSE2__)
#define GILFREE_V3_LANES 4
#else
#define GILFREE_V3_LANES 0
#endif
#include "warp_v3_impl.inc"
#undef GILFREE_V3_LANES
}  // namespace baseline

}  // namespace v3

bool UsesV3Arithmetic(const Transform& transform, const WarpParams& params) {
  return transform.kind == TransformKind::kProjective && params.tf_compat && !params.has_nodata &&
         params.interpolation != Interpolation::kBicubic;
}

bool IsV3DType(DType dtype) {
  return IsImageDType(dtype) || dtype == DType::kInt64 || dtype == DType::kFloat64;
}

void WarpV3(const ConstImage& src, const Transform& transform, const WarpParams& params,
            int64_t out_h, int64_t out_w, void* dst, const ParallelFor* parallel_for) {
  const std::string level = simd::SimdLevel();
  if (level == "scalar") {
    v3::scalar::Run(src, transform, params, out_h, out_w, dst, parallel_for);
    return;
  }
  v3::baseline::Run(src, transform, params, out_h, out_w, dst, parallel_for);
}

}  // namespace gilfree
