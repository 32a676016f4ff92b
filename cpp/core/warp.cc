// Geometric warps: validation, matrix preparation, polynomial fitting, the
// parallel driver of the row loops (simd/warp_impl.inc) and the gradient.
#include "warp.h"
#include "warp_v3.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#include "elements.h"
#include "simd/kernels.h"
#include "warp_taps.h"

namespace gilfree {

namespace {

std::string Lower(const std::string& s) {
  std::string out = s;
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string Number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

Status ParseInterpolation(const std::string& name, bool tf_modes, Interpolation* out) {
  const std::string n = Lower(name);
  if (n == "nearest") *out = Interpolation::kNearest;
  else if (n == "bilinear") *out = Interpolation::kBilinear;
  else if (n == "bicubic" && !tf_modes) *out = Interpolation::kBicubic;
  else {
    return Status::InvalidArgument(std::string("interpolation must be one of 'nearest', ") +
                                   (tf_modes ? "'bilinear'" : "'bilinear', 'bicubic'") +
                                   ", got '" + name + "'");
  }
  return Status::Ok();
}

Status ParseFillMode(const std::string& name, bool tf_modes, FillMode* out) {
  const std::string n = Lower(name);
  if (n == "constant") *out = FillMode::kConstant;
  else if (n == "nearest") *out = FillMode::kNearest;
  else if (n == "reflect") *out = FillMode::kReflect;
  else if (n == "wrap") *out = FillMode::kWrap;
  else if (n == "reflect_101" && !tf_modes) *out = FillMode::kReflect101;
  else {
    return Status::InvalidArgument(
        std::string("fill_mode must be one of 'constant', 'nearest', 'reflect', ") +
        (tf_modes ? "'wrap'" : "'reflect_101', 'wrap'") + ", got '" + name + "'");
  }
  return Status::Ok();
}

Status CheckOutputShape(int64_t batch, int64_t height, int64_t width, int64_t channels,
                        DType dtype, const char* arg, bool allow_empty) {
  const int64_t least = allow_empty ? 0 : 1;
  if (height < least || width < least || height > kMaxOutputSide || width > kMaxOutputSide) {
    return Status::InvalidArgument(std::string(arg) +
                                   " must give a positive output height and width of at most "
                                   "2^20, got (" +
                                   std::to_string(height) + ", " + std::to_string(width) + ")");
  }
  // Each factor is below 2^21 and channels/batch come from an existing
  // array, so the division test below cannot overflow.
  const long double bytes = static_cast<long double>(batch) * height * width * channels *
                            static_cast<long double>(DTypeSize(dtype));
  if (bytes > static_cast<long double>(kMaxOutputBytes)) {
    return Status::InvalidArgument(
        std::string(arg) + " (" + std::to_string(height) + ", " + std::to_string(width) +
        ") gives an output of " + Number(static_cast<double>(bytes)) +
        " bytes, above the limit of 2^32 bytes (4 GiB)");
  }
  return Status::Ok();
}

Status ValidateWarpParams(const WarpParams& params, DType dtype, int64_t channels) {
  const bool v3_only = dtype == DType::kInt32 || dtype == DType::kInt64 || dtype == DType::kFloat64;
  if (!IsV3DType(dtype)) {
    return Status::InvalidArgument(std::string("image dtype must be one of uint8, uint16, int16, "
                                               "float16, bfloat16, float32 (projective_transform "
                                               "also int32, int64, float64), got ") +
                                   DTypeName(dtype));
  }
  if (v3_only && (!params.tf_compat || params.has_nodata ||
                  params.interpolation == Interpolation::kBicubic)) {
    return Status::InvalidArgument(
        std::string("image dtype ") + DTypeName(dtype) +
        " is supported only by projective_transform, with nearest or bilinear interpolation "
        "and no nodata; expected uint8, uint16, int16, float16, bfloat16 or float32");
  }
  if (params.fill_size != 0 && params.fill_size != 1 && params.fill_size != channels) {
    return Status::InvalidArgument("fill_value must have 1 value or one per channel (" +
                                   std::to_string(channels) + "), got " +
                                   std::to_string(params.fill_size) + " values");
  }
  const bool integer = !IsFloating(dtype);
  for (int64_t i = 0; i < params.fill_size; ++i) {
    if (integer && !std::isfinite(params.fill_value[i])) {
      return Status::InvalidArgument("fill_value must be finite for " +
                                     std::string(DTypeName(dtype)) + " images, got " +
                                     Number(params.fill_value[i]));
    }
  }
  if (params.has_nodata && integer) {
    const double v = params.nodata;
    double lo = 0, hi = 255;
    if (dtype == DType::kUInt16) hi = 65535;
    if (dtype == DType::kInt16) lo = -32768, hi = 32767;
    if (!(v >= lo && v <= hi && v == std::floor(v))) {
      return Status::InvalidArgument("nodata must be an integer in [" + Number(lo) + ", " +
                                     Number(hi) + "] for " + DTypeName(dtype) + " images, got " +
                                     Number(v));
    }
  }
  return Status::Ok();
}

namespace {

// Euclidean length of n finite numbers, without overflow or underflow in the
// squares (the terms are scaled by the largest). Written out rather than
// std::hypot, whose 3-argument form and newer 2-argument symbol would tie the
// built library to a newer C library than the wheel's platform tag allows
// (README, "Build a wheel").
double RowNorm(const double* x, int n) {
  double m = 0;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  if (m == 0) return 0;
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += (x[i] / m) * (x[i] / m);
  return m * std::sqrt(sum);
}

// x to a small non-negative integer power by multiplication (the polynomial
// terms' exponents, at most 6), for the same reason as RowNorm.
double IntPow(double x, int n) {
  double r = 1;
  for (int i = 0; i < n; ++i) r *= x;
  return r;
}

}  // namespace

Status PrepareMatrices(const double* m, int64_t count, int rows, bool inverse, double* out) {
  const char* shape = rows == 2 ? "[2, 3]" : "[3, 3]";
  const int size = rows * 3;
  for (int64_t k = 0; k < count; ++k) {
    const double* a = m + k * size;
    double* o = out + k * size;
    for (int i = 0; i < size; ++i) {
      if (!std::isfinite(a[i])) {
        return Status::InvalidArgument("matrix " + std::to_string(k) + " " + shape +
                                       " must be finite, got " + Number(a[i]) + " at entry " +
                                       std::to_string(i));
      }
    }
    if (inverse) {
      std::memcpy(o, a, sizeof(double) * size);
      continue;
    }
    // Rows of the part that is inverted (the 2x2 linear part, or all of a 3x3)
    // scaled to unit length: the singularity test and the inverse work on
    // numbers near 1, so they do not depend on a common scale of the entries or
    // on whether the caller's thread flushes subnormal numbers to zero (as
    // TensorFlow's threads do). A row shorter than the smallest normal double
    // counts as zero. A = D * U with D = diag(norms), so A^-1 = U^-1 * D^-1:
    // column j of U's inverse is divided by norm j.
    double u[9], norm[3];
    for (int r = 0; r < rows; ++r) {
      const double* row = a + r * 3;
      norm[r] = RowNorm(row, rows == 2 ? 2 : 3);
      if (!(norm[r] >= std::numeric_limits<double>::min())) norm[r] = 0;
      for (int c = 0; c < 3; ++c) u[r * 3 + c] = norm[r] > 0 ? row[c] / norm[r] : 0.0;
    }
    double det;
    if (rows == 2) {
      det = u[0] * u[4] - u[1] * u[3];
    } else {
      det = u[0] * (u[4] * u[8] - u[5] * u[7]) + u[1] * (u[5] * u[6] - u[3] * u[8]) +
            u[2] * (u[3] * u[7] - u[4] * u[6]);
    }
    // Singular: |det(U)| <= 1e-12, that is |det(A)| <= 1e-12 * the product of
    // the row norms (Hadamard's bound on |det(A)|).
    if (!(std::fabs(det) > 1e-12)) {
      double det_a = 1;
      for (int r = 0; r < rows; ++r) det_a *= norm[r];
      return Status::InvalidArgument("matrix " + std::to_string(k) +
                                     " is singular (determinant " + Number(det * det_a) +
                                     "); pass an invertible source-to-destination matrix, or "
                                     "inverse=True with a destination-to-source one");
    }
    if (rows == 2) {
      const double i00 = u[4] / det / norm[0], i01 = -u[1] / det / norm[1];
      const double i10 = -u[3] / det / norm[0], i11 = u[0] / det / norm[1];
      o[0] = i00, o[1] = i01, o[2] = -(i00 * a[2] + i01 * a[5]);
      o[3] = i10, o[4] = i11, o[5] = -(i10 * a[2] + i11 * a[5]);
      continue;
    }
    // 3x3: adjugate of U / det(U), column j divided by norm j.
    const double adj[9] = {u[4] * u[8] - u[5] * u[7], u[2] * u[7] - u[1] * u[8],
                           u[1] * u[5] - u[2] * u[4], u[5] * u[6] - u[3] * u[8],
                           u[0] * u[8] - u[2] * u[6], u[2] * u[3] - u[0] * u[5],
                           u[3] * u[7] - u[4] * u[6], u[1] * u[6] - u[0] * u[7],
                           u[0] * u[4] - u[1] * u[3]};
    for (int i = 0; i < 9; ++i) o[i] = adj[i] / det / norm[i % 3];
  }
  return Status::Ok();
}

Status CheckProjective(const double* t, int64_t count) {
  for (int64_t i = 0; i < count * 8; ++i) {
    if (!std::isfinite(t[i]) || std::fabs(t[i]) > std::numeric_limits<float>::max()) {
      return Status::InvalidArgument("transforms must be finite float32 values, got " +
                                     Number(t[i]) + " in row " + std::to_string(i / 8));
    }
  }
  return Status::Ok();
}

int PolynomialTerms(int order) { return (order + 1) * (order + 2) / 2; }

namespace {

// Exponents (a, b) of term t: degree d = a + b in increasing order, then b.
void TermExponents(int t, int* a, int* b) {
  int d = 0;
  while ((d + 1) * (d + 2) / 2 <= t) ++d;
  *b = t - d * (d + 1) / 2;
  *a = d - *b;
}

int TermIndex(int a, int b) {
  const int d = a + b;
  return d * (d + 1) / 2 + b;
}

double Binomial(int n, int k) {
  double r = 1.0;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

}  // namespace

Status FitPolynomial(const double* src, const double* dst, int64_t count, int order,
                     double* coefficients, double* rms, const char* src_arg, const char* dst_arg) {
  const std::string src_name = src_arg, dst_name = dst_arg;
  if (order < 1 || order > 3) {
    return Status::InvalidArgument("order must be 1, 2 or 3, got " + std::to_string(order));
  }
  const int terms = PolynomialTerms(order);
  if (count < terms) {
    return Status::InvalidArgument(src_name + ": order " + std::to_string(order) + " needs at least " +
                                   std::to_string(terms) + " points, got " + std::to_string(count));
  }
  for (int64_t i = 0; i < 2 * count; ++i) {
    if (!std::isfinite(src[i])) {
      return Status::InvalidArgument(src_name + " must be finite, got " + Number(src[i]) +
                                     " at point " + std::to_string(i / 2));
    }
    if (!std::isfinite(dst[i])) {
      return Status::InvalidArgument(dst_name + " must be finite, got " + Number(dst[i]) +
                                     " at point " + std::to_string(i / 2));
    }
  }
  // Centre and scale the source points, so the powers stay near 1.
  double cx = 0, cy = 0;
  for (int64_t k = 0; k < count; ++k) cx += src[2 * k], cy += src[2 * k + 1];
  cx /= count, cy /= count;
  double spread = 0;
  for (int64_t k = 0; k < count; ++k) {
    spread = std::max({spread, std::fabs(src[2 * k] - cx), std::fabs(src[2 * k + 1] - cy)});
  }
  if (!(spread > 0)) {
    return Status::InvalidArgument(src_name + " are degenerate: all points coincide");
  }
  const double s = spread;
  // Design matrix A [count, terms] (column-major) and right-hand sides B [count, 2].
  std::vector<double> A(count * terms), B(count * 2);
  for (int64_t k = 0; k < count; ++k) {
    const double u = (src[2 * k] - cx) / s, v = (src[2 * k + 1] - cy) / s;
    for (int t = 0; t < terms; ++t) {
      int a, b;
      TermExponents(t, &a, &b);
      A[t * count + k] = IntPow(u, a) * IntPow(v, b);
    }
    B[k] = dst[2 * k];
    B[count + k] = dst[2 * k + 1];
  }
  // Householder QR, applied to B as it goes.
  std::vector<double> diag(terms);
  double max_diag = 0;
  for (int j = 0; j < terms; ++j) {
    double* col = &A[j * count];
    double norm = 0;
    for (int64_t k = j; k < count; ++k) norm += col[k] * col[k];
    norm = std::sqrt(norm);
    const double alpha = col[j] > 0 ? -norm : norm;
    diag[j] = alpha;
    max_diag = std::max(max_diag, std::fabs(alpha));
    if (norm == 0) continue;
    col[j] -= alpha;  // v = x - alpha e1, stored in place
    double vnorm2 = 0;
    for (int64_t k = j; k < count; ++k) vnorm2 += col[k] * col[k];
    if (vnorm2 == 0) continue;
    auto reflect = [&](double* y) {
      double dot = 0;
      for (int64_t k = j; k < count; ++k) dot += col[k] * y[k];
      const double f = 2 * dot / vnorm2;
      for (int64_t k = j; k < count; ++k) y[k] -= f * col[k];
    };
    for (int jj = j + 1; jj < terms; ++jj) reflect(&A[jj * count]);
    reflect(&B[0]);
    reflect(&B[count]);
  }
  for (int j = 0; j < terms; ++j) {
    if (!(std::fabs(diag[j]) > 1e-10 * max_diag)) {
      return Status::InvalidArgument(src_name + " are degenerate for order " + std::to_string(order) +
                                     ": they do not determine the polynomial (collinear or "
                                     "repeated points?)");
    }
  }
  // Back substitution: R c = Q^T b, in normalized coordinates.
  std::vector<double> norm_coef(2 * terms);
  for (int axis = 0; axis < 2; ++axis) {
    const double* rhs = &B[axis * count];
    double* c = &norm_coef[axis * terms];
    for (int j = terms - 1; j >= 0; --j) {
      double v = rhs[j];
      for (int jj = j + 1; jj < terms; ++jj) v -= A[jj * count + j] * c[jj];
      c[j] = v / diag[j];
    }
  }
  // Residuals in normalized coordinates.
  double sq = 0;
  for (int64_t k = 0; k < count; ++k) {
    const double u = (src[2 * k] - cx) / s, v = (src[2 * k + 1] - cy) / s;
    const double ex = EvalPolynomial(&norm_coef[0], terms, u, v) - dst[2 * k];
    const double ey = EvalPolynomial(&norm_coef[terms], terms, u, v) - dst[2 * k + 1];
    sq += ex * ex + ey * ey;
  }
  *rms = std::sqrt(sq / count);
  // Expand u = (x - cx) / s, v = (y - cy) / s into raw monomials.
  for (int axis = 0; axis < 2; ++axis) {
    const double* c = &norm_coef[axis * terms];
    double* o = coefficients + axis * terms;
    for (int t = 0; t < terms; ++t) o[t] = 0;
    for (int t = 0; t < terms; ++t) {
      int a, b;
      TermExponents(t, &a, &b);
      const double f = c[t] / IntPow(s, a + b);
      for (int i = 0; i <= a; ++i) {
        for (int j = 0; j <= b; ++j) {
          o[TermIndex(i, j)] += f * Binomial(a, i) * IntPow(-cx, a - i) * Binomial(b, j) *
                                IntPow(-cy, b - j);
        }
      }
    }
  }
  return Status::Ok();
}

namespace {

std::string ShapeText(int rank, const int64_t* shape) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

Status DescribeWarpImage(const char* arg, int rank, const int64_t* shape,
                         const int64_t* byte_strides, DType dtype, ImageGeometry* out) {
  if (rank < 2 || rank > 4) {
    return Status::InvalidArgument(std::string(arg) +
                                   " must have rank 2 [H, W], 3 [H, W, C] or 4 [N, H, W, C], got "
                                   "shape " + ShapeText(rank, shape));
  }
  return DescribeImage(rank, shape, byte_strides, dtype, out);
}

Status CheckMatrixShape(const char* arg, int rank, const int64_t* shape, int rows, int cols,
                        int image_rank, int64_t batch, int64_t* count) {
  const std::string one = rows ? "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]"
                               : "[1, " + std::to_string(cols) + "]";
  const std::string many = rows ? "[N, " + std::to_string(rows) + ", " + std::to_string(cols) + "]"
                                : "[N, " + std::to_string(cols) + "]";
  const int inner = rows ? 2 : 1;
  const bool single = rows && rank == 2 && shape[0] == rows && shape[1] == cols;
  const bool batched = rank == inner + 1 && shape[rank - 1] == cols && (!rows || shape[1] == rows);
  if (!single && !batched) {
    return Status::InvalidArgument(std::string(arg) + " must have shape " + one + " or " + many +
                                   ", got " + ShapeText(rank, shape));
  }
  *count = single ? 1 : shape[0];
  if (batched && *count != 1 && *count != batch) {
    return Status::InvalidArgument(std::string(arg) + " has " + std::to_string(*count) +
                                   " transforms but the image batch has " + std::to_string(batch) +
                                   " images (expected 1 or " + std::to_string(batch) + ")");
  }
  if (batched && rows && *count != 1 && image_rank != 4) {
    return Status::InvalidArgument(std::string(arg) + " of shape " + ShapeText(rank, shape) +
                                   " needs a rank-4 image batch [N, H, W, C]");
  }
  return Status::Ok();
}

Status CheckMapShapes(int rank_x, const int64_t* shape_x, int rank_y, const int64_t* shape_y,
                      int image_rank, int64_t batch) {
  if (rank_x != 2 && rank_x != 3) {
    return Status::InvalidArgument("map_x must have shape [H', W'] or [N, H', W'], got " +
                                   ShapeText(rank_x, shape_x));
  }
  if (rank_x != rank_y || !std::equal(shape_x, shape_x + rank_x, shape_y)) {
    return Status::InvalidArgument("map_x and map_y must have the same shape, got " +
                                   ShapeText(rank_x, shape_x) + " and " +
                                   ShapeText(rank_y, shape_y));
  }
  if (rank_x == 3 && (image_rank != 4 || shape_x[0] != batch)) {
    return Status::InvalidArgument(
        "map_x of shape " + ShapeText(rank_x, shape_x) +
        " needs a rank-4 image batch of the same N, got an image of rank " +
        std::to_string(image_rank) + (image_rank == 4 ? " with N = " + std::to_string(batch) : ""));
  }
  return Status::Ok();
}

Status CheckPointShapes(int rank_src, const int64_t* shape_src, int rank_dst,
                        const int64_t* shape_dst) {
  if (rank_src != 2 || shape_src[1] != 2) {
    return Status::InvalidArgument("src_points must have shape [K, 2] of (x, y), got " +
                                   ShapeText(rank_src, shape_src));
  }
  if (rank_dst != 2 || shape_dst[1] != 2) {
    return Status::InvalidArgument("dst_points must have shape [K, 2] of (x, y), got " +
                                   ShapeText(rank_dst, shape_dst));
  }
  if (shape_src[0] != shape_dst[0]) {
    return Status::InvalidArgument("src_points and dst_points must have the same number of points, "
                                   "got " + std::to_string(shape_src[0]) + " and " +
                                   std::to_string(shape_dst[0]));
  }
  return Status::Ok();
}

Status MatrixTransform(const std::string& kind, const double* matrix, int rank,
                       const int64_t* shape, bool inverse, int image_rank, int64_t batch,
                       std::vector<double>* storage, Transform* out, WarpParams* params) {
  const bool projective = kind == "projective";
  const int rows = kind == "affine" ? 2 : (kind == "perspective" ? 3 : 0);
  if (!projective && rows == 0) {
    return Status::InvalidArgument("unknown transform kind '" + kind + "'");
  }
  if (projective && image_rank != 4) {
    return Status::InvalidArgument("images must have rank 4 [N, H, W, C], got rank " +
                                   std::to_string(image_rank));
  }
  int64_t count = 0;
  GILFREE_RETURN_IF_ERROR(CheckMatrixShape(projective ? "transforms" : "matrix", rank, shape, rows,
                                           projective ? 8 : 3, image_rank, batch, &count));
  out->count = count;
  if (projective) {
    GILFREE_RETURN_IF_ERROR(CheckProjective(matrix, count));
    storage->assign(matrix, matrix + count * 8);
    out->kind = TransformKind::kProjective;
    params->tf_compat = true;
  } else {
    storage->resize(count * rows * 3);
    GILFREE_RETURN_IF_ERROR(PrepareMatrices(matrix, count, rows, inverse, storage->data()));
    out->kind = rows == 2 ? TransformKind::kAffine : TransformKind::kPerspective;
  }
  out->coefficients = storage->data();
  return Status::Ok();
}

Status PolynomialTransform(const double* src, int rank_src, const int64_t* shape_src,
                           const double* dst, int rank_dst, const int64_t* shape_dst, int order,
                           std::vector<double>* storage, Transform* out) {
  GILFREE_RETURN_IF_ERROR(CheckPointShapes(rank_src, shape_src, rank_dst, shape_dst));
  storage->assign(2 * PolynomialTerms(std::clamp(order, 1, 3)), 0.0);
  double rms = 0;
  GILFREE_RETURN_IF_ERROR(FitPolynomial(dst, src, shape_src[0], order, storage->data(), &rms,
                                        "dst_points", "src_points"));
  out->kind = TransformKind::kPolynomial;
  out->coefficients = storage->data();
  out->terms = PolynomialTerms(order);
  return Status::Ok();
}

Status MapsTransform(const float* map_x, int rank_x, const int64_t* shape_x, const float* map_y,
                     int rank_y, const int64_t* shape_y, int image_rank, int64_t batch,
                     Transform* out, int64_t* out_h, int64_t* out_w) {
  GILFREE_RETURN_IF_ERROR(CheckMapShapes(rank_x, shape_x, rank_y, shape_y, image_rank, batch));
  const int64_t h = shape_x[rank_x - 2], w = shape_x[rank_x - 1];
  if (h == 0 || w == 0) {
    return Status::InvalidArgument("map_x must not be empty, got shape " + ShapeText(rank_x, shape_x));
  }
  out->kind = TransformKind::kMaps;
  out->map_x = map_x;
  out->map_y = map_y;
  out->map_batch = rank_x == 3 ? shape_x[0] : 1;
  out->map_stride_w = 1;
  out->map_stride_h = w;
  out->map_stride_n = h * w;
  *out_h = h;
  *out_w = w;
  return Status::Ok();
}

namespace {

// fill_value per channel, rounded to the image's dtype (what a fill tap
// reads is a pixel value the image could hold).
std::vector<float> ResolveFill(const WarpParams& p, int64_t channels, DType dtype) {
  std::vector<float> fill(std::max<int64_t>(channels, 1));
  for (int64_t c = 0; c < channels; ++c) {
    double v = p.has_nodata ? p.nodata : 0.0;
    if (p.fill_size == 1) v = p.fill_value[0];
    if (p.fill_size == channels && p.fill_size > 0) v = p.fill_value[c];
    float f = static_cast<float>(v);
    switch (dtype) {
      case DType::kFloat16: f = HalfToFloat(FloatToHalf(f)); break;
      case DType::kBFloat16: f = BFloat16ToFloat(FloatToBFloat16(f)); break;
      case DType::kFloat32: break;
      default: {
        const double lo = dtype == DType::kInt16 ? -32768.0 : 0.0;
        const double hi = dtype == DType::kUInt8 ? 255.0 : (dtype == DType::kUInt16 ? 65535.0 : 32767.0);
        f = static_cast<float>(std::min(hi, std::max(lo, std::nearbyint(v))));
      }
    }
    fill[c] = f;
  }
  return fill;
}

Status CheckTransform(const ConstImage& src, const Transform& t) {
  if (t.kind == TransformKind::kMaps) {
    if (t.map_batch != 1 && t.map_batch != src.geometry.batch) {
      return Status::InvalidArgument("map_x has " + std::to_string(t.map_batch) +
                                     " maps but the image batch has " +
                                     std::to_string(src.geometry.batch) + " images");
    }
  } else if (t.kind != TransformKind::kPolynomial) {
    if (t.count != 1 && t.count != src.geometry.batch) {
      return Status::InvalidArgument("matrix has " + std::to_string(t.count) +
                                     " transforms but the image batch has " +
                                     std::to_string(src.geometry.batch) + " images");
    }
  }
  return Status::Ok();
}

}  // namespace

Status Warp(const ConstImage& src, const Transform& transform, const WarpParams& params,
            int64_t out_h, int64_t out_w, void* dst, const ParallelFor* parallel_for) {
  const ImageGeometry& g = src.geometry;
  GILFREE_RETURN_IF_ERROR(ValidateWarpParams(params, src.dtype, g.channels));
  // An empty (H', W') only as the default output size of a zero-size image
  // (the adapters refuse an explicit output_shape with a zero side).
  GILFREE_RETURN_IF_ERROR(CheckOutputShape(
      g.batch, out_h, out_w, g.channels, src.dtype,
      transform.kind == TransformKind::kMaps ? "map_x" : "output_shape",
      /*allow_empty=*/g.height == 0 || g.width == 0));
  GILFREE_RETURN_IF_ERROR(CheckTransform(src, transform));
  const int64_t channels = g.channels;
  if (g.batch == 0 || channels == 0 || out_h == 0 || out_w == 0) return Status::Ok();
  if (UsesV3Arithmetic(transform, params)) {
    WarpV3(src, transform, params, out_h, out_w, dst, parallel_for);
    return Status::Ok();
  }
  const std::vector<float> fill = ResolveFill(params, channels, src.dtype);
  simd::WarpRowsArgs args;
  args.src = &src;
  args.transform = &transform;
  args.params = &params;
  args.fill = fill.data();
  args.nodata = static_cast<float>(params.nodata);
  args.out_h = out_h;
  args.out_w = out_w;
  args.dst = dst;
  if (g.height == 0 || g.width == 0) {
    // Nothing to sample: every tap is a fill tap. A NaN source point gives
    // exactly that, so let the row loops write it through a NaN map.
    std::vector<float> nan_map(1, NAN);
    Transform empty;
    empty.kind = TransformKind::kMaps;
    empty.map_x = empty.map_y = nan_map.data();
    args.transform = &empty;
    std::vector<float> scratch(channels);
    args.scratch = scratch.data();
    for (int64_t n = 0; n < g.batch; ++n) simd::Kernels().warp_rows(args, n, 0, out_h);
    return Status::Ok();
  }
  const int64_t rows_per_unit = std::max<int64_t>(1, (int64_t{1} << 15) / out_w);
  const int64_t units_per_image = (out_h + rows_per_unit - 1) / rows_per_unit;
  const int64_t cost = rows_per_unit * out_w * channels *
                       (params.interpolation == Interpolation::kBicubic ? 40 : 10);
  const simd::KernelTable& kernels = simd::Kernels();
  RunParallel(parallel_for, g.batch * units_per_image, cost, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(channels);
    simd::WarpRowsArgs local = args;
    local.scratch = scratch.data();
    for (int64_t u = begin; u < end; ++u) {
      const int64_t n = u / units_per_image;
      const int64_t r0 = (u % units_per_image) * rows_per_unit;
      kernels.warp_rows(local, n, r0, std::min(out_h, r0 + rows_per_unit));
    }
  });
  return Status::Ok();
}

namespace {

template <typename T>
void GradientImage(const ConstImage& src, const Transform& transform, const WarpParams& p,
                   int64_t image, int64_t out_h, int64_t out_w, const float* grad_out,
                   float* grad_src) {
  using Raw = typename Element<T>::Raw;
  const ImageGeometry& g = src.geometry;
  const int64_t C = g.channels;
  const uint8_t* base = static_cast<const uint8_t*>(src.data) + image * g.stride_n;
  float* gs = grad_src + image * g.height * g.width * C;
  const float* go = grad_out + image * out_h * out_w * C;
  const std::vector<float> fill = ResolveFill(p, C, src.dtype);
  const NodataMatcher<T> nodata(p.has_nodata, p.nodata);
  const PointSource source = PointSourceFor(transform, p, image, g.height, g.width);
  constexpr int64_t kSeg = 256;
  float sx[kSeg], sy[kSeg];
  auto invalid = [&](int64_t iy, int64_t ix, int64_t c) {
    if (!p.has_nodata) return false;
    if (iy < 0 || ix < 0) return nodata.Invalid(Raw{}, fill[c]);
    const Raw* px = reinterpret_cast<const Raw*>(base + iy * g.stride_h + ix * g.stride_w +
                                                 c * g.stride_c);
    return nodata.Invalid(*px, Element<T>::ToFloat(*px));
  };
  for (int64_t row = 0; row < out_h; ++row) {
    for (int64_t j0 = 0; j0 < out_w; j0 += kSeg) {
      const int64_t count = std::min(kSeg, out_w - j0);
      SegmentPoints(source, row, j0, count, sx, sy);
      for (int64_t i = 0; i < count; ++i) {
        if (sx[i] != sx[i] || sy[i] != sy[i]) continue;
        AxisTaps tx, ty;
        AxisTapsFor(sx[i], g.width, p.interpolation, p.fill_mode, p.tf_compat, &tx);
        AxisTapsFor(sy[i], g.height, p.interpolation, p.fill_mode, p.tf_compat, &ty);
        const float* gpix = go + (row * out_w + j0 + i) * C;
        for (int64_t c = 0; c < C; ++c) {
          const float gv = gpix[c];
          if (gv == 0.0f) continue;
          // Which taps, with which weights: as in the forward pass.
          int first = 0, n = tx.count;
          float wx[4], wy[4];
          std::copy(tx.weight, tx.weight + 4, wx);
          std::copy(ty.weight, ty.weight + 4, wy);
          float total = 1.0f;
          if (p.has_nodata) {
            bool all_valid = true;
            for (int j = 0; j < ty.count; ++j)
              for (int k = 0; k < tx.count; ++k)
                all_valid = all_valid && !invalid(ty.index[j], tx.index[k], c);
            if (p.interpolation == Interpolation::kBicubic && !all_valid) {
              first = 1, n = 2;
              wx[1] = 1.0f - tx.frac, wx[2] = tx.frac;
              wy[1] = 1.0f - ty.frac, wy[2] = ty.frac;
            }
            total = 0.0f;
            for (int j = first; j < first + n; ++j)
              for (int k = first; k < first + n; ++k) {
                const float w = wy[j] * wx[k];
                if (w != 0.0f && !invalid(ty.index[j], tx.index[k], c)) total += w;
              }
            if (total == 0.0f) continue;
          }
          for (int j = first; j < first + n; ++j) {
            for (int k = first; k < first + n; ++k) {
              const int64_t iy = ty.index[j], ix = tx.index[k];
              const float w = wy[j] * wx[k];
              if (iy < 0 || ix < 0 || w == 0.0f || invalid(iy, ix, c)) continue;
              gs[(iy * g.width + ix) * C + c] += gv * w / total;
            }
          }
        }
      }
    }
  }
}

}  // namespace

Status WarpGradient(const ConstImage& src, const Transform& transform, const WarpParams& params,
                    int64_t out_h, int64_t out_w, const float* grad_out, float* grad_src,
                    const ParallelFor* parallel_for) {
  const ImageGeometry& g = src.geometry;
  GILFREE_RETURN_IF_ERROR(ValidateWarpParams(params, src.dtype, g.channels));
  GILFREE_RETURN_IF_ERROR(CheckTransform(src, transform));
  std::fill(grad_src, grad_src + g.num_elements(), 0.0f);
  if (g.height == 0 || g.width == 0 || g.channels == 0 || out_h == 0 || out_w == 0) {
    return Status::Ok();
  }
  RunParallel(parallel_for, g.batch, out_h * out_w * g.channels * 20,
              [&](int64_t begin, int64_t end) {
                for (int64_t n = begin; n < end; ++n) {
                  VisitInput(src.dtype, [&](auto tag) {
                    using T = decltype(tag);
                    if constexpr (!std::is_same_v<T, int32_t>) {
                      GradientImage<T>(src, transform, params, n, out_h, out_w, grad_out,
                                       grad_src);
                    }
                  });
                }
              });
  return Status::Ok();
}

}  // namespace gilfree
