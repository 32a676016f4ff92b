// Geometric warps: affine, perspective, TensorFlow-style projective, dense
// coordinate maps and ground-control-point polynomials. Framework-free; the
// TensorFlow and NumPy adapters validate types, allocate the output and pass a
// ParallelFor. docs/geometry-spec.md is the user-facing statement of the same
// rules.
//
// Layout: the source is a batch [N, H, W, C] with byte strides (image.h); the
// output is dense [N, H', W', C] of the source's dtype. Pixel (row i, column j)
// has its centre at x = j, y = i. For each output pixel the op computes a
// source point (sx, sy) (see Transform) and samples the source there:
//
//   nearest   the pixel at (round(sx), round(sy)): ties to even, or away
//             from zero with tf_compat (TensorFlow's std::round);
//   bilinear  2x2 taps floor(s), floor(s) + 1 with weights 1 - f, f;
//   bicubic   4x4 taps floor(s) - 1 .. floor(s) + 2, Keys' cubic with
//             a = -0.75 (OpenCV's INTER_CUBIC).
//
// A tap index k outside [0, n) is resolved per axis by the fill mode:
// constant (the tap reads fill_value[c]), nearest (clamp), reflect
// (dcba|abcd|dcba), reflect_101 (dcb|abcd|cba), wrap (k mod n). With
// tf_compat the continuous coordinate is first folded into [0, n - 1] by
// TensorFlow's ImageProjectiveTransformV3 rules and taps still outside read
// fill_value. A source point that is NaN (a NaN map entry, a perspective
// denominator of 0) gives fill_value.
//
// nodata: when set, a tap is invalid if it equals nodata or is NaN (fill taps
// included). Per channel, nearest gives nodata for an invalid tap; bilinear is
// sum(w v) / sum(w) over valid taps with w != 0 (nodata when there are none);
// bicubic is the cubic when all 16 taps are valid and the renormalized
// bilinear of the inner 2x2 otherwise.
//
// Arithmetic is float32 (coordinates too, except polynomials, evaluated in
// float64). Integer outputs round to nearest even and saturate.
//
// Kind projective with nearest or bilinear interpolation and no nodata is
// computed by warp_v3.h instead: ImageProjectiveTransformV3's arithmetic bit
// for bit (integer results truncate), for its dtypes (int32, int64 and
// float64 too, which no other kind takes).
//
// Example: a 1x4 float32 image {10, 20, 30, 40}, affine dst->src matrix
// [[1, 0, 0.25], [0, 1, 0]], bilinear, fill constant 0 gives
// {12.5, 22.5, 32.5, 30} (the last pixel blends 40 with the fill 0 at x = 4);
// with fill_mode nearest the last pixel is 40, with wrap 32.5 (40 and 10).
#ifndef GILFREE_CORE_WARP_H_
#define GILFREE_CORE_WARP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "image.h"
#include "parallel.h"
#include "status.h"

namespace gilfree {

enum class Interpolation : int { kNearest = 0, kBilinear = 1, kBicubic = 2 };
enum class FillMode : int { kConstant = 0, kNearest = 1, kReflect = 2, kReflect101 = 3, kWrap = 4 };

// Parses "nearest", "bilinear", "bicubic" / "constant", "nearest", "reflect",
// "reflect_101", "wrap" (case-insensitive). `tf_modes` restricts them to
// what ImageProjectiveTransformV3 has (nearest, bilinear; four fill modes).
Status ParseInterpolation(const std::string& name, bool tf_modes, Interpolation* out);
Status ParseFillMode(const std::string& name, bool tf_modes, FillMode* out);

// Output size limits: each of H', W' at most kMaxOutputSide, the whole output
// at most kMaxOutputBytes.
constexpr int64_t kMaxOutputSide = int64_t{1} << 20;
constexpr int64_t kMaxOutputBytes = int64_t{1} << 32;
// `arg` names the argument the size comes from in messages. `allow_empty`:
// a side may be 0 (the default output size of a zero-size image is its own).
Status CheckOutputShape(int64_t batch, int64_t height, int64_t width, int64_t channels,
                        DType dtype, const char* arg = "output_shape", bool allow_empty = false);

enum class TransformKind : int {
  kAffine = 0,       // coefficients [6] per image: sx = c0 x + c1 y + c2, sy = c3 x + c4 y + c5
  kPerspective = 1,  // [9]: w = c6 x + c7 y + c8, sx = (c0 x + c1 y + c2) / w, ...
  kProjective = 2,   // [8], TensorFlow's rows: k = c6 x + c7 y + 1
  kMaps = 3,         // dense maps
  kPolynomial = 4,   // [2 * terms] float64, see FitPolynomial
};

// Where source points come from. Coefficients map output to source
// (PrepareMatrices turns the user's matrices into this form).
struct Transform {
  TransformKind kind = TransformKind::kAffine;
  // kAffine / kPerspective / kProjective: `count` sets of coefficients, one per
  // image or a single one for every image (count == 1).
  const double* coefficients = nullptr;
  int64_t count = 1;
  // kPolynomial: 3, 6 or 10 terms per axis; coefficients[0..terms) give sx,
  // [terms..2 terms) give sy, one set for every image.
  int terms = 0;
  // kMaps: float32 map_x / map_y of shape [map_batch, H', W'], element strides.
  const float* map_x = nullptr;
  const float* map_y = nullptr;
  int64_t map_batch = 1;
  int64_t map_stride_n = 0, map_stride_h = 0, map_stride_w = 0;
};

struct WarpParams {
  Interpolation interpolation = Interpolation::kBilinear;
  FillMode fill_mode = FillMode::kConstant;
  // ImageProjectiveTransformV3's rules (kind projective): set by MatrixTransform,
  // and by the adapters before ValidateWarpParams (it admits V3's dtypes).
  bool tf_compat = false;
  const double* fill_value = nullptr;  // 1 or `channels` values
  int64_t fill_size = 0;               // 0 means 0 (or nodata when has_nodata)
  bool has_nodata = false;
  double nodata = 0.0;
};

// Validates the parameters against the source's dtype and channel count:
// the dtype (int32, int64, float64 only with tf_compat, nearest or bilinear,
// no nodata), fill_value length and finiteness (integer images), nodata
// representable.
Status ValidateWarpParams(const WarpParams& params, DType dtype, int64_t channels);

// Converts user matrices to output->source coefficients. `matrices` holds
// `count` row-major matrices of `rows` x 3 (rows 2: affine, rows 3:
// perspective); unless `inverse`, each is inverted. Errors: non-finite entries,
// a singular matrix: |det| <= 1e-12 * the product of the row norms of the part
// inverted (the 2x2 linear part, or the whole 3x3), a row shorter than the
// smallest normal double counting as zero. The test and the inverse work on rows
// scaled to unit length, so they hold for any common scale of the entries and do
// not change when the thread flushes subnormal numbers to zero.
// `out` receives count * 6 (affine) or count * 9 values.
Status PrepareMatrices(const double* matrices, int64_t count, int rows, bool inverse, double* out);
// Checks TensorFlow-style transform rows ([count, 8]): finite, within float32.
Status CheckProjective(const double* transforms, int64_t count);

// Least-squares polynomial f of total degree `order` (1..3) with
// f(src[k]) ~= dst[k], points as (x, y) pairs. Terms: 1, x, y, x^2, x y, y^2,
// x^3, x^2 y, x y^2, y^3. Writes 2 * PolynomialTerms(order) coefficients (x'
// terms, then y' terms, in raw coordinates) and the RMS of the Euclidean
// residuals. Errors: order outside 1..3, too few or non-finite points, a
// degenerate point set.
int PolynomialTerms(int order);
// src_arg / dst_arg name the points in messages.
Status FitPolynomial(const double* src, const double* dst, int64_t count, int order,
                     double* coefficients, double* rms, const char* src_arg = "src_points",
                     const char* dst_arg = "dst_points");

// Shape checks shared by the adapters; messages name the argument.
// An image of rank 2 [H, W], 3 [H, W, C] or 4 [N, H, W, C] (image.h's rules).
Status DescribeWarpImage(const char* arg, int rank, const int64_t* shape,
                         const int64_t* byte_strides, DType dtype, ImageGeometry* out);
// A matrix argument of shape [rows, cols] (one for every image) or
// [count, rows, cols] (rank-4 images, count 1 or the batch); rows == 0 means
// rows of `cols` values, [count, cols] (TensorFlow's transforms).
Status CheckMatrixShape(const char* arg, int rank, const int64_t* shape, int rows, int cols,
                        int image_rank, int64_t batch, int64_t* count);
// map_x and map_y: equal shapes [H', W'] or [N, H', W'] (rank-4 image, N = batch).
Status CheckMapShapes(int rank_x, const int64_t* shape_x, int rank_y, const int64_t* shape_y,
                      int image_rank, int64_t batch);
// src_points and dst_points: [K, 2] each, the same K.
Status CheckPointShapes(int rank_src, const int64_t* shape_src, int rank_dst,
                        const int64_t* shape_dst);

// Builders of a Transform from the ops' arguments, shared by the adapters.
// `storage` keeps what the Transform points to.
//
// kind "affine" / "perspective" / "projective": `matrix` of `shape` (see
// CheckMatrixShape), inverted unless `inverse` (affine, perspective); for
// "projective" params->tf_compat is set.
Status MatrixTransform(const std::string& kind, const double* matrix, int rank,
                       const int64_t* shape, bool inverse, int image_rank, int64_t batch,
                       std::vector<double>* storage, Transform* out, WarpParams* params);
// polynomial_warp: fits f(dst) ~= src (output pixels map back to the source).
Status PolynomialTransform(const double* src, int rank_src, const int64_t* shape_src,
                           const double* dst, int rank_dst, const int64_t* shape_dst, int order,
                           std::vector<double>* storage, Transform* out);
// remap: dense float32 maps (C-contiguous); the output shape is theirs.
Status MapsTransform(const float* map_x, int rank_x, const int64_t* shape_x, const float* map_y,
                     int rank_y, const int64_t* shape_y, int image_rank, int64_t batch,
                     Transform* out, int64_t* out_h, int64_t* out_w);

// Warps `src` into the dense `dst` ([src.batch, out_h, out_w, channels], src's dtype).
Status Warp(const ConstImage& src, const Transform& transform, const WarpParams& params,
            int64_t out_h, int64_t out_w, void* dst, const ParallelFor* parallel_for);

// Gradient of Warp with respect to the source: grad_src ([N, H, W, C], dense,
// float32) receives the sum over output pixels of grad_out * tap weight, for
// every tap that reads the source (fill taps take no gradient). With nodata,
// each tap's validity is read from `src` and held constant. grad_out is dense
// [N, out_h, out_w, C] float32.
Status WarpGradient(const ConstImage& src, const Transform& transform, const WarpParams& params,
                    int64_t out_h, int64_t out_w, const float* grad_out, float* grad_src,
                    const ParallelFor* parallel_for);

}  // namespace gilfree

#endif  // GILFREE_CORE_WARP_H_
