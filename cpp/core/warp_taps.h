// The per-pixel arithmetic of the warps, shared by the forward kernels (one
// copy per SIMD target) and the gradient: source points, tap indices through
// the fill modes, interpolation weights. Internal linkage, like elements.h.
#ifndef GILFREE_CORE_WARP_TAPS_H_
#define GILFREE_CORE_WARP_TAPS_H_

#include <cmath>
#include <cstdint>

#include "warp.h"

namespace gilfree {
namespace {

// Coordinates are clamped to this magnitude before any integer conversion;
// beyond it every fill mode's answer is already decided.
constexpr float kCoordLimit = 1.0e9f;

// Resolves tap index k on an axis of length n; -1 means "read fill_value".
inline int64_t FoldIndex(int64_t k, int64_t n, FillMode mode) {
  if (k >= 0 && k < n) return k;
  switch (mode) {
    case FillMode::kConstant: return -1;
    case FillMode::kNearest: return k < 0 ? 0 : n - 1;
    case FillMode::kReflect: {
      const int64_t period = 2 * n;
      int64_t m = k % period;
      if (m < 0) m += period;
      return m < n ? m : period - 1 - m;
    }
    case FillMode::kReflect101: {
      if (n == 1) return 0;
      const int64_t period = 2 * n - 2;
      int64_t m = k % period;
      if (m < 0) m += period;
      return m < n ? m : period - m;
    }
    case FillMode::kWrap: {
      int64_t m = k % n;
      return m < 0 ? m + n : m;
    }
  }
  return -1;
}

// TensorFlow's ImageProjectiveTransformV3 folding of a continuous coordinate
// into [0, n - 1] (constant leaves it alone), in float32 like TensorFlow.
inline float FoldCoordinateTf(float c, int64_t n, FillMode mode) {
  const float last = static_cast<float>(n - 1);
  // Reflect and wrap divide c by the span and convert the quotient to an
  // integer, which must fit in int64_t: clamp first, as AxisTapsFor does (a
  // float this large is an integer far beyond any image either way).
  c = c < -kCoordLimit ? -kCoordLimit : (c > kCoordLimit ? kCoordLimit : c);
  switch (mode) {
    case FillMode::kConstant: return c;
    case FillMode::kNearest: break;
    case FillMode::kReflect:
      if (c < 0.0f) {
        if (n <= 1) {
          c = 0.0f;
        } else {
          const int64_t span = 2 * n;
          const float fspan = static_cast<float>(span);
          if (c < fspan) c = fspan * static_cast<float>(static_cast<int64_t>(-c / fspan)) + c;
          c = c < static_cast<float>(-n) ? c + fspan : -c - 1.0f;
        }
      } else if (c > last) {
        if (n <= 1) {
          c = 0.0f;
        } else {
          const float fspan = static_cast<float>(2 * n);
          c -= fspan * static_cast<float>(static_cast<int64_t>(c / fspan));
          if (c >= static_cast<float>(n)) c = fspan - c - 1.0f;
        }
      }
      break;
    case FillMode::kWrap:
      if (c < 0.0f) {
        if (n <= 1) {
          c = 0.0f;
        } else {
          const float size = static_cast<float>(n - 1);
          c += static_cast<float>(n) * (static_cast<float>(static_cast<int64_t>(-c / size)) + 1.0f);
        }
      } else if (c > last) {
        if (n <= 1) {
          c = 0.0f;
        } else {
          const float size = static_cast<float>(n - 1);
          c -= static_cast<float>(n) * static_cast<float>(static_cast<int64_t>(c / size));
        }
      }
      break;
    case FillMode::kReflect101: break;
  }
  return c < 0.0f ? 0.0f : (c > last ? last : c);
}

// Keys' cubic convolution weights (a = -0.75) for fraction f in [0, 1): taps
// at floor - 1, floor, floor + 1, floor + 2.
inline void CubicWeights(float f, float* w) {
  constexpr float a = -0.75f;
  const float t0 = f + 1.0f, t1 = f, t2 = 1.0f - f;
  w[0] = ((a * t0 - 5.0f * a) * t0 + 8.0f * a) * t0 - 4.0f * a;
  w[1] = ((a + 2.0f) * t1 - (a + 3.0f)) * t1 * t1 + 1.0f;
  w[2] = ((a + 2.0f) * t2 - (a + 3.0f)) * t2 * t2 + 1.0f;
  w[3] = 1.0f - w[0] - w[1] - w[2];
}

// The taps of one axis for one source coordinate: up to 4 indices (-1 reads
// fill_value) with their weights, plus the bilinear fraction that bicubic's
// nodata fallback uses.
struct AxisTaps {
  int64_t index[4];
  float weight[4];
  int count;
  float frac;  // s - floor(s)
};

// Floor, and rounding for nearest: ties to even (OpenCV) or away from zero
// (TensorFlow). Each equals std::floor, std::rint and std::round for
// every float (NaN, infinities and the sign of zero included). Without SSE4.1
// (x86-64's baseline) std::floor and std::rint are library calls, which keep
// the loops over them from vectorizing; there they are computed branch-free.
constexpr float kIntegerFloats = 8388608.0f;  // 2^23: from here on, floats are integers
#if defined(__SSE4_1__) || defined(__aarch64__)
inline float FloorFloat(float v) { return std::floor(v); }
inline float RoundHalfEven(float v) { return std::rint(v); }
#else
inline float FloorFloat(float v) {
  const float a = std::fabs(v);
  const float c = a < kIntegerFloats ? v : 0.0f;  // in int32 range (NaN -> 0)
  const float t = static_cast<float>(static_cast<int32_t>(c));  // truncated
  const float f = t > c ? t - 1.0f : t;
  return std::copysign(a < kIntegerFloats ? f : v, v);  // floor keeps the sign
}
inline float RoundHalfEven(float v) {
  const float a = std::fabs(v);
  const float r = (a + kIntegerFloats) - kIntegerFloats;  // ties to even, as 2^23 is even
  return std::copysign(a < kIntegerFloats ? r : a, v);
}
#endif
inline float RoundHalfAway(float v) {  // std::round
  const float a = std::fabs(v);
  const float r = FloorFloat(a);  // a - r is exact (not a + 0.5f: 0.49999997f + 0.5f rounds to 1)
  return std::copysign(a < kIntegerFloats ? (a - r >= 0.5f ? r + 1.0f : r) : a, v);
}
inline float RoundCoordinate(float s, bool tf_compat) {
  return tf_compat ? RoundHalfAway(s) : RoundHalfEven(s);
}

inline void AxisTapsFor(float s, int64_t n, Interpolation interp, FillMode mode, bool tf_compat,
                        AxisTaps* t) {
  s = s < -kCoordLimit ? -kCoordLimit : (s > kCoordLimit ? kCoordLimit : s);
  const FillMode fold = tf_compat ? FillMode::kConstant : mode;
  if (interp == Interpolation::kNearest) {
    t->count = 1;
    t->index[0] = FoldIndex(static_cast<int64_t>(RoundCoordinate(s, tf_compat)), n, fold);
    t->weight[0] = 1.0f;
    t->frac = 0.0f;
    return;
  }
  const float fl = std::floor(s);
  const int64_t k = static_cast<int64_t>(fl);
  const float f = s - fl;
  t->frac = f;
  if (interp == Interpolation::kBilinear) {
    t->count = 2;
    t->index[0] = FoldIndex(k, n, fold);
    t->index[1] = FoldIndex(k + 1, n, fold);
    t->weight[0] = 1.0f - f;
    t->weight[1] = f;
    return;
  }
  t->count = 4;
  for (int i = 0; i < 4; ++i) t->index[i] = FoldIndex(k - 1 + i, n, fold);
  CubicWeights(f, t->weight);
}

// Source point of output pixel (x, y) for the matrix kinds; NaN when outside
// (perspective denominator 0).
inline void MatrixPoint(TransformKind kind, const float* c, float x, float y, float* sx, float* sy) {
  if (kind == TransformKind::kAffine) {
    *sx = c[0] * x + c[1] * y + c[2];
    *sy = c[3] * x + c[4] * y + c[5];
    return;
  }
  const float w = kind == TransformKind::kProjective ? c[6] * x + c[7] * y + 1.0f
                                                     : c[6] * x + c[7] * y + c[8];
  if (w == 0.0f) {
    *sx = *sy = NAN;
    return;
  }
  *sx = (c[0] * x + c[1] * y + c[2]) / w;
  *sy = (c[3] * x + c[4] * y + c[5]) / w;
}

// MatrixPoint without the branch, so that a loop over it vectorizes: the
// same arithmetic, and NaN selected where the denominator is 0.
inline void MatrixPointSelect(TransformKind kind, const float* c, float x, float y, float* sx,
                              float* sy) {
  const float w = kind == TransformKind::kProjective ? c[6] * x + c[7] * y + 1.0f
                                                     : c[6] * x + c[7] * y + c[8];
  const float px = (c[0] * x + c[1] * y + c[2]) / w;
  const float py = (c[3] * x + c[4] * y + c[5]) / w;
  *sx = w == 0.0f ? NAN : px;
  *sy = w == 0.0f ? NAN : py;
}

// The source-point generator of one image, in the form the row loops use.
struct PointSource {
  TransformKind kind = TransformKind::kAffine;
  float c[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  const double* poly = nullptr;
  int terms = 0;
  const float* map_x = nullptr;  // this image's maps
  const float* map_y = nullptr;
  int64_t map_stride_h = 0, map_stride_w = 0;
  // TensorFlow folding (tf_compat with a fill mode other than constant).
  bool tf_fold = false;
  FillMode fill_mode = FillMode::kConstant;
  int64_t src_h = 0, src_w = 0;
};

inline PointSource PointSourceFor(const Transform& t, const WarpParams& p, int64_t image,
                                  int64_t src_h, int64_t src_w) {
  PointSource s;
  s.kind = t.kind;
  s.src_h = src_h;
  s.src_w = src_w;
  s.fill_mode = p.fill_mode;
  s.tf_fold = p.tf_compat && p.fill_mode != FillMode::kConstant;
  switch (t.kind) {
    case TransformKind::kAffine:
    case TransformKind::kPerspective:
    case TransformKind::kProjective: {
      const int size = t.kind == TransformKind::kAffine ? 6 : (t.kind == TransformKind::kProjective ? 8 : 9);
      const double* c = t.coefficients + (t.count == 1 ? 0 : image) * size;
      for (int i = 0; i < size; ++i) s.c[i] = static_cast<float>(c[i]);
      break;
    }
    case TransformKind::kMaps: {
      const int64_t m = t.map_batch == 1 ? 0 : image;
      s.map_x = t.map_x + m * t.map_stride_n;
      s.map_y = t.map_y + m * t.map_stride_n;
      s.map_stride_h = t.map_stride_h;
      s.map_stride_w = t.map_stride_w;
      break;
    }
    case TransformKind::kPolynomial:
      s.poly = t.coefficients;
      s.terms = t.terms;
      break;
  }
  return s;
}

inline double EvalPolynomial(const double* c, int terms, double x, double y) {
  double v = c[0] + c[1] * x + c[2] * y;
  if (terms > 3) v += (c[3] * x + c[4] * y) * x + c[5] * y * y;
  if (terms > 6) v += ((c[6] * x + c[7] * y) * x + c[8] * y * y) * x + c[9] * y * y * y;
  return v;
}

// Source points of output pixels (j0 .. j0 + count - 1, row): NaN where the
// point is outside (perspective denominator 0, NaN map entry).
inline void SegmentPoints(const PointSource& s, int64_t row, int64_t j0, int64_t count,
                          float* __restrict sx, float* __restrict sy) {
  const float y = static_cast<float>(row);
  switch (s.kind) {
    case TransformKind::kAffine: {
      const float bx = s.c[1] * y + s.c[2], by = s.c[4] * y + s.c[5];
      const float ax = s.c[0], ay = s.c[3];
      // Columns are below 2^20 (warp.h's limits): int32 converts to float
      // in vector registers, int64 does not on x86 before AVX-512.
      const int32_t x0 = static_cast<int32_t>(j0);
      for (int32_t i = 0; i < static_cast<int32_t>(count); ++i) {
        const float x = static_cast<float>(x0 + i);
        sx[i] = ax * x + bx;
        sy[i] = ay * x + by;
      }
      break;
    }
    case TransformKind::kPerspective:
    case TransformKind::kProjective: {
      const int32_t x0 = static_cast<int32_t>(j0);
      for (int32_t i = 0; i < static_cast<int32_t>(count); ++i) {
        MatrixPointSelect(s.kind, s.c, static_cast<float>(x0 + i), y, &sx[i], &sy[i]);
      }
      break;
    }
    case TransformKind::kMaps: {
      const float* mx = s.map_x + row * s.map_stride_h + j0 * s.map_stride_w;
      const float* my = s.map_y + row * s.map_stride_h + j0 * s.map_stride_w;
      if (s.map_stride_w == 1) {
        for (int64_t i = 0; i < count; ++i) {
          sx[i] = mx[i];
          sy[i] = my[i];
        }
      } else {
        for (int64_t i = 0; i < count; ++i) {
          sx[i] = mx[i * s.map_stride_w];
          sy[i] = my[i * s.map_stride_w];
        }
      }
      break;
    }
    case TransformKind::kPolynomial: {
      const double yd = static_cast<double>(row);
      for (int64_t i = 0; i < count; ++i) {
        const double x = static_cast<double>(j0 + i);
        sx[i] = static_cast<float>(EvalPolynomial(s.poly, s.terms, x, yd));
        sy[i] = static_cast<float>(EvalPolynomial(s.poly + s.terms, s.terms, x, yd));
      }
      break;
    }
  }
  if (s.tf_fold) {
    for (int64_t i = 0; i < count; ++i) {
      if (sx[i] == sx[i] && sy[i] == sy[i]) {
        sx[i] = FoldCoordinateTf(sx[i], s.src_w, s.fill_mode);
        sy[i] = FoldCoordinateTf(sy[i], s.src_h, s.fill_mode);
      }
    }
  }
}

}  // namespace
}  // namespace gilfree

#endif  // GILFREE_CORE_WARP_TAPS_H_
