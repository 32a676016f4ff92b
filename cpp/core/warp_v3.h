// Internal to the core: the projective warp with ImageProjectiveTransformV3's
// arithmetic, operation for operation, so that gilfree's projective_transform
// gives TensorFlow's numbers bit for bit. Warp() (warp.h) takes this path for
// kind "projective" with nearest or bilinear interpolation and no nodata.
//
// For output pixel (x, y) of image n, with the float32 row t = transforms[n]
// (or [0]) and x, y converted to float32, evaluated in float32 left to right
// and never fused (the file is built with -ffp-contract=off):
//   k  = t6 * x + t7 * y + 1;                 k == 0 gives the fill value
//   sx = (t0 * x + t1 * y + t2) / k,  sy = (t3 * x + t4 * y + t5) / k
//   sx, sy mapped by the fill mode (TensorFlow's MapCoordinate: reflect with
//     period 2n, wrap in steps of n counted in units of n - 1, nearest clamps,
//     each then clamped to [0, n - 1]; constant leaves the coordinate);
//   nearest:  the source element at (std::round(sy), std::round(sx));
//   bilinear: with the taps read as float32 (a tap outside reads the fill),
//     top = (x1 - sx) * v00 + (sx - x0) * v01, bottom likewise, and
//     (y1 - sy) * top + (sy - y0) * bottom, x0 = floor(sx), x1 = x0 + 1;
//   the result converted to the image's dtype as TensorFlow's T(float) does:
//     integers truncate toward zero (an out-of-range value converts as x86's
//     cvttss2si: through int32 for types up to 32 bits, wrapping to the type),
//     float16 and bfloat16 round to nearest even, float64 widens.
// Tap indices are the float coordinates truncated to int64 (NaN and values
// beyond int64 give INT64_MIN, outside the image). The fill value is
// T(float(fill_value[c])), read back as float32 by bilinear.
//
// The row loops (warp_v3_impl.inc) are built scalar (GILFREE_SIMD=scalar,
// the reference) and with SSE2 steps (every other target on x86-64); both
// give the same bits.
//
// Example: a 1x1x3x1 float32 image {10, 20, 30}, t = {1, 0, 0.5, 0, 1, 0, 0, 0},
// bilinear, constant fill 0: sx = 0.5, 1.5, 2.5 -> {15, 25, 15} (the last
// blends 30 with the fill). As uint8 {10, 20, 31}: 15.5 truncates to 15.
#ifndef GILFREE_CORE_WARP_V3_H_
#define GILFREE_CORE_WARP_V3_H_

#include <cstdint>

#include "image.h"
#include "parallel.h"
#include "status.h"
#include "warp.h"

namespace gilfree {

// Whether Warp() computes this transform and these parameters here.
bool UsesV3Arithmetic(const Transform& transform, const WarpParams& params);

// The image dtypes this path takes: the geometry dtypes plus int32, int64 and
// float64 (those of ImageProjectiveTransformV3).
bool IsV3DType(DType dtype);

// Writes dense [N, out_h, out_w, C] of src's dtype. Parameters are validated by Warp().
void WarpV3(const ConstImage& src, const Transform& transform, const WarpParams& params,
            int64_t out_h, int64_t out_w, void* dst, const ParallelFor* parallel_for);

}  // namespace gilfree

#endif  // GILFREE_CORE_WARP_V3_H_
