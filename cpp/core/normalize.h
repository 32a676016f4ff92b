// Normalization kernels: normalize, standardize, minmax_scale,
// percentile_stretch. Framework-free; called by the TensorFlow and NumPy
// adapters, which validate types, allocate the output and pass a ParallelFor.
//
// Layout (image.h): x is a batch of images [N, H, W, C] with byte strides;
// y is dense [N, H, W, C] of dtype float32, float16 or bfloat16. Statistics
// are per image, over all channels or (per_channel) per channel. Computation is
// in float32 for the per-element transform and float64 for statistics.
// Zero-size input: parameters are validated, nothing is written, OK returned.
//
// normalize:           y = (x * scale - mean[c]) / std[c]
//   mean/std have 1 value (broadcast) or C values. Errors: other lengths, a
//   std that is 0 or not finite, a mean that is not finite, a scale that is
//   0 or not finite. NaN in x propagates.
//   Example: x uint8 [1, 1, 2, 3] = {0, 128, 255, 255, 128, 0}, mean = {127.5},
//   std = {127.5}, scale = 1  ->  y = {-1, 0.00392157, 1, 1, 0.00392157, -1}.
//
// standardize:         y = (x - m) / max(s, floor)
//   m, s: mean and population standard deviation of the image (or the
//   image's channel); floor = epsilon when has_epsilon (epsilon > 0 and
//   finite, else an error), otherwise 1 / sqrt(n) with n the number of
//   elements the statistics cover: the rule of tf.image.per_image_standardization.
//   NaN in x makes the statistics NaN (no masking).
//   Example: x [1, 1, 4, 1] = {1, 2, 3, 4}: m = 2.5, s = 1.1180340,
//   y = {-1.3416408, -0.4472136, 0.4472136, 1.3416408}. A constant image
//   {7, 7, 7, 7} has s = 0 < floor = 0.5, so y = {0, 0, 0, 0}.
//
// minmax_scale:        y = (x - lo) / (hi - lo)
//   lo/hi: min/max over the valid elements. Invalid: NaN, or equal to nodata
//   (exact comparison; an integer nodata the dtype cannot hold matches
//   nothing). Invalid elements are written as `fill` and left out of the
//   statistics. hi == lo: valid elements map to 0. No valid element: all fill.
//   Results are clamped to [0, 1] (float32 rounding never gives 1.0000001).
//   Example: x uint16 [1, 1, 4, 1] = {0, 10, 20, 30}, nodata = 0 ->
//   lo = 10, hi = 30, y = {fill, 0, 0.5, 1}.
//
// percentile_stretch:  y = clamp((x - lo) / (hi - lo), 0, 1)
//   lo/hi: the low/high percentiles of the valid elements, exactly as
//   numpy.percentile(method="linear"): with the valid values sorted as
//   v[0..n-1], position q/100 * (n - 1) interpolated linearly between its
//   neighbours. Validity and fill as for minmax_scale. hi == lo: valid
//   elements map to 0 where x <= lo and 1 where x > lo. Errors: low/high not
//   finite, outside [0, 100], or low >= high. The percentiles are exact and
//   never sort: they are counted over order-preserving keys of the valid
//   elements. An image with at least 16384 elements per group (any uint8
//   image) takes a histogram of the keys' top 16 bits (all of an 8- or 16-bit
//   key): one counting pass; int32/float32 then gather the keys of the (at
//   most four) buckets holding the requested ranks in a second pass. Smaller
//   images take a radix select: one counting pass per 8 (or 11) key bits.
//   Example: x [1, 1, 5, 1] = {0, 1, 2, 3, 100}, low = 25, high = 75 ->
//   lo = 1, hi = 3, y = {0, 0, 0.5, 1, 1}.
#ifndef GILFREE_CORE_NORMALIZE_H_
#define GILFREE_CORE_NORMALIZE_H_

#include <cstdint>

#include "image.h"
#include "parallel.h"
#include "status.h"

namespace gilfree {

struct NormalizeParams {
  const double* mean = nullptr;
  int64_t mean_size = 0;
  const double* std = nullptr;
  int64_t std_size = 0;
  double scale = 1.0;
};

struct StandardizeParams {
  bool per_channel = false;
  bool has_epsilon = false;
  double epsilon = 0.0;
};

struct MaskParams {
  bool per_channel = true;
  bool has_nodata = false;
  double nodata = 0.0;
  double fill = 0.0;
};

struct PercentileParams {
  double low = 2.0;
  double high = 98.0;
  MaskParams mask;
};

// Each returns InvalidArgument for bad parameters or an unsupported output
// dtype (the message names the argument, the value and what was expected).
// `parallel_for` may be null (serial).
Status Normalize(const ConstImage& x, const NormalizeParams& params, const DenseImage& y,
                 const ParallelFor* parallel_for);
Status Standardize(const ConstImage& x, const StandardizeParams& params, const DenseImage& y,
                   const ParallelFor* parallel_for);
Status MinMaxScale(const ConstImage& x, const MaskParams& params, const DenseImage& y,
                   const ParallelFor* parallel_for);
Status PercentileStretch(const ConstImage& x, const PercentileParams& params, const DenseImage& y,
                         const ParallelFor* parallel_for);

// Gradients with respect to x, for automatic differentiation: `grad` is
// d loss / d y and `dx` receives d loss / d x, both dense float32 [N, H, W, C]
// (x's shape). Parameters are checked as by the ops above.
//   normalize:          dx = grad * scale / std[c].
//   standardize:        the full derivative, through the mean and the
//     standard deviation: dx = (grad - mean(grad) - y * mean(grad * y)) / s
//     over each image (or channel) with s = max(std, floor); where the floor
//     is taken (std < floor), s does not depend on x and the y term drops.
//   minmax_scale, percentile_stretch: lo and hi are held constant (their
//     dependence on x is ignored): dx = grad / (hi - lo) for every valid
//     element whose y was not clamped (percentile_stretch: lo <= x <= hi),
//     0 for masked and clamped elements and where hi == lo.
//   Example (standardize): x = {1, 2, 3, 4} (m = 2.5, s = 1.1180340),
//   grad = {1, 0, 0, 0}: dx = {0.2683282, -0.3577709, -0.0894427, 0.1788854}.
Status NormalizeGradient(const ConstImage& x, const NormalizeParams& params, const float* grad,
                         float* dx, const ParallelFor* parallel_for);
Status StandardizeGradient(const ConstImage& x, const StandardizeParams& params, const float* grad,
                           float* dx, const ParallelFor* parallel_for);
Status MinMaxScaleGradient(const ConstImage& x, const MaskParams& params, const float* grad,
                           float* dx, const ParallelFor* parallel_for);
Status PercentileStretchGradient(const ConstImage& x, const PercentileParams& params,
                                 const float* grad, float* dx, const ParallelFor* parallel_for);

// Checks only the parameters, without data: what the ops above check before
// touching x. Adapters may call these to fail before allocating, and a Keras
// layer when it is made. ValidateNormalize's `channels` < 0 means the channel
// count is not known yet: mean and std need at least one value each, and
// their lengths are checked against x's channels only once it is known.
Status ValidateNormalize(const NormalizeParams& params, int64_t channels);
Status ValidateStandardize(const StandardizeParams& params);
Status ValidatePercentile(const PercentileParams& params);

}  // namespace gilfree

#endif  // GILFREE_CORE_NORMALIZE_H_
