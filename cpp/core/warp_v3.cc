// ImageProjectiveTransformV3's arithmetic (warp_v3.h states the rules). Built
// with -ffp-contract=off: a * b + c must round twice, as in TensorFlow's
// x86-64 build, which has no FMA.
#include "warp_v3.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "half.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gilfree {
namespace {

// Conversions of TensorFlow's T(float) on x86-64 (cvttss2si): NaN and values
// outside the integer's range give its minimum; narrower types take the low
// bits of the int32 result.
int64_t ToInt64(float v) {
  return (v >= -0x1p63f && v < 0x1p63f) ? static_cast<int64_t>(v)
                                        : std::numeric_limits<int64_t>::min();
}
int32_t ToInt32(float v) {
  const bool in_range = v >= -0x1p31f && v < 0x1p31f;
  const int32_t r = static_cast<int32_t>(in_range ? v : 0.0f);  // selects, not branches
  return in_range ? r : std::numeric_limits<int32_t>::min();
}

struct F16 {};
struct BF16 {};

// Storage type, T(float) and float(T) of each dtype.
template <typename T>
struct V3Type {
  using Raw = T;
  static Raw FromFloat(float v) {
    if constexpr (std::is_same_v<T, float>) {
      return v;
    } else if constexpr (std::is_same_v<T, double>) {
      return static_cast<double>(v);
    } else if constexpr (std::is_same_v<T, int64_t>) {
      return ToInt64(v);
    } else {
      return static_cast<T>(static_cast<uint32_t>(ToInt32(v)));  // wraps, as the low bits
    }
  }
  static float ToFloat(Raw r) { return static_cast<float>(r); }
};
template <>
struct V3Type<F16> {
  using Raw = uint16_t;
  static Raw FromFloat(float v) { return FloatToHalf(v); }
  static float ToFloat(Raw r) { return HalfToFloat(r); }
};
template <>
struct V3Type<BF16> {
  using Raw = uint16_t;
  static Raw FromFloat(float v) { return FloatToBFloat16(v); }
  static float ToFloat(Raw r) { return BFloat16ToFloat(r); }
};

// An element as float32.
template <typename T>
float Load(const unsigned char* p) {
  typename V3Type<T>::Raw r;
  std::memcpy(&r, p, sizeof r);
  return V3Type<T>::ToFloat(r);
}

// std::min(std::max(v, 0), n - 1) in float32 (NaN stays NaN).
float Clamp(float v, int64_t n) {
  const float hi = static_cast<float>(n - 1);
  v = v < 0.0f ? 0.0f : v;
  return hi < v ? hi : v;
}

// Products of int64 values wrap (as the machine's multiply does) rather than
// overflow, which C++ leaves undefined.
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// TensorFlow's MapCoordinate of a continuous coordinate on an axis of n pixels.
float MapCoordinate(float c, int64_t n, FillMode mode) {
  switch (mode) {
    case FillMode::kConstant: return c;
    case FillMode::kNearest: return Clamp(c, n);
    case FillMode::kReflect:
      if (c < 0) {
        if (n <= 1) {
          c = 0;
        } else {
          const int64_t sz2 = 2 * n;
          if (c < static_cast<float>(sz2)) {
            c = static_cast<float>(WrapMul(sz2, ToInt64(-c / static_cast<float>(sz2)))) + c;
          }
          c = c < static_cast<float>(-n) ? c + static_cast<float>(sz2) : -c - 1.0f;
        }
      } else if (c > static_cast<float>(n - 1)) {
        if (n <= 1) {
          c = 0;
        } else {
          const int64_t sz2 = 2 * n;
          c -= static_cast<float>(WrapMul(sz2, ToInt64(c / static_cast<float>(sz2))));
          if (c >= static_cast<float>(n)) c = static_cast<float>(sz2) - c - 1.0f;
        }
      }
      return Clamp(c, n);
    case FillMode::kWrap:
      if (c < 0) {
        if (n <= 1) {
          c = 0;
        } else {
          const int64_t sz = n - 1;
          c += static_cast<float>(WrapMul(n, ToInt64(-c / static_cast<float>(sz)) + 1));
        }
      } else if (c > static_cast<float>(n - 1)) {
        if (n <= 1) {
          c = 0;
        } else {
          const int64_t sz = n - 1;
          c -= static_cast<float>(WrapMul(n, ToInt64(c / static_cast<float>(sz))));
        }
      }
      return Clamp(c, n);
    default: return c;  // not a TensorFlow mode: refused by ParseFillMode
  }
}

// floor and std::round (halves away from zero) of a float, exact, without
// SSE4.1's rounding instructions and without branches (the row loops
// vectorize): values of magnitude 2^23 and above, NaN and infinities are
// already integers and pass through.
float Floor(float v) {
  const bool small = std::fabs(v) < 0x1p23f;
  const float c = small ? v : 0.0f;
  const float t = static_cast<float>(static_cast<int32_t>(c));
  const float f = t > c ? t - 1.0f : t;
  return small ? f : v;
}
float RoundHalfAway(float v) {
  const bool small = std::fabs(v) < 0x1p23f;
  const float c = small ? v : 0.0f;
  const float t = static_cast<float>(static_cast<int32_t>(c));  // trunc
  const float step = c < 0 ? -1.0f : 1.0f;
  const float r = std::fabs(c - t) >= 0.5f ? t + step : t;
  return small ? r : v;
}

// An integral coordinate as an index clamped to [-1, n] (NaN gives -1).
int32_t Index(float v, float n) {
  const float lo = v >= -1.0f ? v : -1.0f;
  return static_cast<int32_t>(lo < n ? lo : n);
}

// Per-row scratch: one entry per output pixel.
struct RowScratch {
  std::vector<float> xs, sx, sy, wx0, wx1, wy0, wy1;
  std::vector<int32_t> ix, iy;   // the first tap's indices, clamped to [-1, n]
  std::vector<int32_t> flags;    // kFill, or which taps are inside
  explicit RowScratch(int64_t w)
      : xs(w), sx(w), sy(w), wx0(w), wx1(w), wy0(w), wy1(w), ix(w), iy(w), flags(w) {
    for (int64_t i = 0; i < w; ++i) xs[i] = static_cast<float>(i);
  }
};
constexpr int32_t kX0 = 1, kX1 = 2, kY0 = 4, kY1 = 8, kFill = 16;

// The source coordinates of row `oy`, in TensorFlow's order of operations:
// ((t6 x + t7 y) + 1), ((t0 x + t1 y) + t2) / k, ... (t7 y etc. are the same
// products whether computed per pixel or once per row).
void RowCoordinates(const float* t, float fy, int64_t w, RowScratch* r) {
  const float ky = t[7] * fy, xy = t[1] * fy, yy = t[4] * fy;
  const float* xs = r->xs.data();
  float* sx = r->sx.data();
  float* sy = r->sy.data();
  int32_t* flags = r->flags.data();
  if (t[6] == 0 && t[7] == 0) {
    // k = (0 x + 0) + 1 is exactly 1 and dividing by it changes nothing.
    for (int64_t i = 0; i < w; ++i) {
      sx[i] = t[0] * xs[i] + xy + t[2];
      sy[i] = t[3] * xs[i] + yy + t[5];
      flags[i] = 0;
    }
    return;
  }
  for (int64_t i = 0; i < w; ++i) {
    const float k = t[6] * xs[i] + ky + 1.0f;
    const float kk = k == 0 ? 1.0f : k;
    sx[i] = (t[0] * xs[i] + xy + t[2]) / kk;
    sy[i] = (t[3] * xs[i] + yy + t[5]) / kk;
    flags[i] = k == 0 ? kFill : 0;
  }
}

// Maps the row's coordinates by the fill mode; coordinates already inside
// [0, n - 1] are left as they are by every mode.
void MapRow(FillMode mode, int64_t width, int64_t height, int64_t w, RowScratch* r) {
  if (mode == FillMode::kConstant) return;
  const float last_x = static_cast<float>(width - 1), last_y = static_cast<float>(height - 1);
  for (int64_t i = 0; i < w; ++i) {
    const float x = r->sx[i], y = r->sy[i];
    if (!(x >= 0 && x <= last_x)) r->sx[i] = MapCoordinate(x, width, mode);
    if (!(y >= 0 && y <= last_y)) r->sy[i] = MapCoordinate(y, height, mode);
  }
}

// Tap indices, weights and which taps fall inside the source (nearest: the
// tap at the rounded coordinates, in ix, iy and kX0 | kY0). A tap index is
// inside exactly when its integral float coordinate lies in [0, n).
template <bool kBilinear>
void RowTaps(int64_t width, int64_t height, int64_t w, RowScratch* r) {
  const float fw = static_cast<float>(width), fh = static_cast<float>(height);
  const float* sx = r->sx.data();
  const float* sy = r->sy.data();
  float* wx0 = r->wx0.data();
  float* wx1 = r->wx1.data();
  float* wy0 = r->wy0.data();
  float* wy1 = r->wy1.data();
  int32_t* ix = r->ix.data();
  int32_t* iy = r->iy.data();
  int32_t* flags = r->flags.data();
  int64_t i = 0;
#if defined(__SSE2__)
  // Four pixels a step: the same operations on vectors (cvttps2dq truncates,
  // as the scalar int32 conversion does; maxps(NaN, -1) is -1).
  const __m128 one = _mm_set1_ps(1.0f), half = _mm_set1_ps(0.5f), zero = _mm_setzero_ps();
  const __m128 big = _mm_set1_ps(0x1p23f), minus_one = _mm_set1_ps(-1.0f);
  const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128 vw = _mm_set1_ps(fw), vh = _mm_set1_ps(fh);
  auto integral = [&](__m128 v) {
    const __m128 small = _mm_cmplt_ps(_mm_and_ps(v, abs_mask), big);
    const __m128 c = _mm_and_ps(small, v);
    const __m128 t = _mm_cvtepi32_ps(_mm_cvttps_epi32(c));
    __m128 r;
    if (kBilinear) {
      r = _mm_sub_ps(t, _mm_and_ps(_mm_cmpgt_ps(t, c), one));
    } else {
      const __m128 step = _mm_or_ps(one, _mm_andnot_ps(abs_mask, c));
      const __m128 away = _mm_cmpge_ps(_mm_and_ps(_mm_sub_ps(c, t), abs_mask), half);
      r = _mm_add_ps(t, _mm_and_ps(away, step));
    }
    return _mm_or_ps(_mm_and_ps(small, r), _mm_andnot_ps(small, v));
  };
  auto inside = [&](__m128 v, __m128 n, int32_t bit) {
    const __m128 in = _mm_and_ps(_mm_cmpge_ps(v, zero), _mm_cmplt_ps(v, n));
    return _mm_and_si128(_mm_castps_si128(in), _mm_set1_epi32(bit));
  };
  auto index = [&](__m128 v, __m128 n) {
    return _mm_cvttps_epi32(_mm_min_ps(_mm_max_ps(v, minus_one), n));
  };
  for (; i + 4 <= w; i += 4) {
    const __m128 x = _mm_loadu_ps(sx + i), y = _mm_loadu_ps(sy + i);
    const __m128 x0 = integral(x), y0 = integral(y);
    const __m128 x1 = _mm_add_ps(x0, one), y1 = _mm_add_ps(y0, one);
    if (kBilinear) {
      _mm_storeu_ps(wx0 + i, _mm_sub_ps(x1, x));
      _mm_storeu_ps(wx1 + i, _mm_sub_ps(x, x0));
      _mm_storeu_ps(wy0 + i, _mm_sub_ps(y1, y));
      _mm_storeu_ps(wy1 + i, _mm_sub_ps(y, y0));
    }
    __m128i f = _mm_loadu_si128(reinterpret_cast<const __m128i*>(flags + i));
    f = _mm_or_si128(f, _mm_or_si128(inside(x0, vw, kX0), inside(x1, vw, kX1)));
    f = _mm_or_si128(f, _mm_or_si128(inside(y0, vh, kY0), inside(y1, vh, kY1)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(flags + i), f);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(ix + i), index(x0, vw));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(iy + i), index(y0, vh));
  }
#endif
  for (; i < w; ++i) {
    const float x = sx[i], y = sy[i];
    const float x0 = kBilinear ? Floor(x) : RoundHalfAway(x);
    const float y0 = kBilinear ? Floor(y) : RoundHalfAway(y);
    const float x1 = x0 + 1, y1 = y0 + 1;
    if (kBilinear) {
      wx0[i] = x1 - x;
      wx1[i] = x - x0;
      wy0[i] = y1 - y;
      wy1[i] = y - y0;
    }
    const int32_t in_x0 = (x0 >= 0) & (x0 < fw), in_x1 = (x1 >= 0) & (x1 < fw);
    const int32_t in_y0 = (y0 >= 0) & (y0 < fh), in_y1 = (y1 >= 0) & (y1 < fh);
    ix[i] = Index(x0, fw);
    iy[i] = Index(y0, fh);
    flags[i] |= in_x0 * kX0 + in_x1 * kX1 + in_y0 * kY0 + in_y1 * kY1;
  }
}

#if defined(__SSE2__)
// Bilinear for pixels i..i+3, all of whose taps are inside (no kFill):
// top = wx0 v00 + wx1 v01, bottom likewise, wy0 top + wy1 bottom, each
// product and sum rounded to float32 as in the scalar loop.
template <typename T>
void Blend4(const unsigned char* base, const ImageGeometry& g, const RowScratch& r, int64_t i,
            int64_t C, typename V3Type<T>::Raw* o) {
  const unsigned char* p[4];
  for (int j = 0; j < 4; ++j) p[j] = base + r.iy[i + j] * g.stride_h + r.ix[i + j] * g.stride_w;
  const __m128 wx0 = _mm_loadu_ps(&r.wx0[i]), wx1 = _mm_loadu_ps(&r.wx1[i]);
  const __m128 wy0 = _mm_loadu_ps(&r.wy0[i]), wy1 = _mm_loadu_ps(&r.wy1[i]);
  const int64_t sw = g.stride_w, sh = g.stride_h;
  for (int64_t c = 0; c < C; ++c) {
    const int64_t k = c * g.stride_c;
    auto taps = [&](int64_t off) {
      return _mm_setr_ps(Load<T>(p[0] + off), Load<T>(p[1] + off), Load<T>(p[2] + off),
                         Load<T>(p[3] + off));
    };
    const __m128 top = _mm_add_ps(_mm_mul_ps(wx0, taps(k)), _mm_mul_ps(wx1, taps(k + sw)));
    const __m128 bottom =
        _mm_add_ps(_mm_mul_ps(wx0, taps(k + sh)), _mm_mul_ps(wx1, taps(k + sh + sw)));
    alignas(16) float v[4];
    _mm_store_ps(v, _mm_add_ps(_mm_mul_ps(wy0, top), _mm_mul_ps(wy1, bottom)));
    for (int j = 0; j < 4; ++j) o[j * C + c] = V3Type<T>::FromFloat(v[j]);
  }
}
#endif

template <typename T>
void WarpRowsV3(const ConstImage& src, const float* t, const WarpParams& p, int64_t n,
                int64_t row_begin, int64_t row_end, int64_t out_w,
                const typename V3Type<T>::Raw* fill, const float* fill_f,
                typename V3Type<T>::Raw* out) {
  using Raw = typename V3Type<T>::Raw;
  const ImageGeometry& g = src.geometry;
  const int64_t C = g.channels, H = g.height, W = g.width;
  const auto* base = static_cast<const unsigned char*>(src.data) + n * g.stride_n;
  auto at = [&](int64_t y, int64_t x, int64_t c) {
    Raw r;
    std::memcpy(&r, base + y * g.stride_h + x * g.stride_w + c * g.stride_c, sizeof r);
    return r;
  };
  auto value = [&](bool inside, int64_t y, int64_t x, int64_t c) {
    return inside ? V3Type<T>::ToFloat(at(y, x, c)) : fill_f[c];
  };
  const bool bilinear = p.interpolation == Interpolation::kBilinear;
  RowScratch r(out_w);
  for (int64_t oy = row_begin; oy < row_end; ++oy) {
    Raw* o = out + (oy * out_w) * C;
    RowCoordinates(t, static_cast<float>(oy), out_w, &r);
    MapRow(p.fill_mode, W, H, out_w, &r);
    if (bilinear) {
      RowTaps<true>(W, H, out_w, &r);
    } else {
      RowTaps<false>(W, H, out_w, &r);
    }
    for (int64_t i = 0; i < out_w; ++i, o += C) {
      const int32_t f = r.flags[i];
#if defined(__SSE2__)
      // Four pixels whose taps are all inside (none k == 0): on vectors.
      if (bilinear && i + 4 <= out_w) {
        const int32_t* fl = &r.flags[i];
        if ((fl[0] & fl[1] & fl[2] & fl[3]) == (kX0 | kX1 | kY0 | kY1) &&
            !((fl[0] | fl[1] | fl[2] | fl[3]) & kFill)) {
          Blend4<T>(base, g, r, i, C, o);
          i += 3;
          o += 3 * C;
          continue;
        }
      }
#endif
      const int64_t x0 = r.ix[i], y0 = r.iy[i];
      if (!bilinear) {
        if ((f & (kFill | kX0 | kY0)) == (kX0 | kY0)) {
          const unsigned char* px = base + y0 * g.stride_h + x0 * g.stride_w;
          for (int64_t c = 0; c < C; ++c) std::memcpy(&o[c], px + c * g.stride_c, sizeof(Raw));
        } else {
          for (int64_t c = 0; c < C; ++c) o[c] = fill[c];
        }
        continue;
      }
      if (f & kFill) {
        for (int64_t c = 0; c < C; ++c) o[c] = fill[c];
        continue;
      }
      const float wx0 = r.wx0[i], wx1 = r.wx1[i], wy0 = r.wy0[i], wy1 = r.wy1[i];
      constexpr int32_t kAll = kX0 | kX1 | kY0 | kY1;
      if (f == kAll) {  // the common case: all four taps inside
        const unsigned char* p00 = base + y0 * g.stride_h + x0 * g.stride_w;
        const unsigned char* p10 = p00 + g.stride_h;
        for (int64_t c = 0; c < C; ++c) {
          const int64_t off = c * g.stride_c;
          const float top = wx0 * Load<T>(p00 + off) + wx1 * Load<T>(p00 + g.stride_w + off);
          const float bottom = wx0 * Load<T>(p10 + off) + wx1 * Load<T>(p10 + g.stride_w + off);
          o[c] = V3Type<T>::FromFloat(wy0 * top + wy1 * bottom);
        }
        continue;
      }
      const bool a = (f & (kX0 | kY0)) == (kX0 | kY0), b = (f & (kX1 | kY0)) == (kX1 | kY0);
      const bool c0 = (f & (kX0 | kY1)) == (kX0 | kY1), d = (f & (kX1 | kY1)) == (kX1 | kY1);
      for (int64_t c = 0; c < C; ++c) {
        const float top = wx0 * value(a, y0, x0, c) + wx1 * value(b, y0, x0 + 1, c);
        const float bottom = wx0 * value(c0, y0 + 1, x0, c) + wx1 * value(d, y0 + 1, x0 + 1, c);
        o[c] = V3Type<T>::FromFloat(wy0 * top + wy1 * bottom);
      }
    }
  }
}

template <typename T>
void WarpV3Typed(const ConstImage& src, const Transform& transform, const WarpParams& p,
                 int64_t out_h, int64_t out_w, void* dst, const ParallelFor* parallel_for) {
  using Raw = typename V3Type<T>::Raw;
  const ImageGeometry& g = src.geometry;
  const int64_t C = g.channels;
  // TensorFlow's transforms and fill value are float32.
  std::vector<float> rows(static_cast<size_t>(transform.count * 8));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(transform.coefficients[i]);
  std::vector<Raw> fill(static_cast<size_t>(C));
  std::vector<float> fill_f(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double v = p.fill_size == 0 ? 0.0 : p.fill_value[p.fill_size == 1 ? 0 : c];
    fill[c] = V3Type<T>::FromFloat(static_cast<float>(v));
    fill_f[c] = V3Type<T>::ToFloat(fill[c]);
  }
  Raw* out = static_cast<Raw*>(dst);
  const int64_t rows_per_unit = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(out_w, 1));
  const int64_t units_per_image = (out_h + rows_per_unit - 1) / rows_per_unit;
  const int64_t cost = rows_per_unit * out_w * (C * 8 + 20);
  RunParallel(parallel_for, g.batch * units_per_image, cost, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t n = u / units_per_image;
      const int64_t r0 = (u % units_per_image) * rows_per_unit;
      const float* t = rows.data() + (transform.count == 1 ? 0 : n * 8);
      WarpRowsV3<T>(src, t, p, n, r0, std::min(out_h, r0 + rows_per_unit), out_w, fill.data(),
                    fill_f.data(), out + n * out_h * out_w * C);
    }
  });
}

}  // namespace

bool UsesV3Arithmetic(const Transform& transform, const WarpParams& params) {
  return transform.kind == TransformKind::kProjective && params.tf_compat && !params.has_nodata &&
         params.interpolation != Interpolation::kBicubic;
}

bool IsV3DType(DType dtype) {
  return IsImageDType(dtype) || dtype == DType::kInt64 || dtype == DType::kFloat64;
}

void WarpV3(const ConstImage& src, const Transform& transform, const WarpParams& params,
            int64_t out_h, int64_t out_w, void* dst, const ParallelFor* parallel_for) {
  auto run = [&](auto tag) {
    WarpV3Typed<decltype(tag)>(src, transform, params, out_h, out_w, dst, parallel_for);
  };
  switch (src.dtype) {
    case DType::kUInt8: run(uint8_t{}); break;
    case DType::kUInt16: run(uint16_t{}); break;
    case DType::kInt16: run(int16_t{}); break;
    case DType::kInt32: run(int32_t{}); break;
    case DType::kInt64: run(int64_t{}); break;
    case DType::kFloat16: run(F16{}); break;
    case DType::kBFloat16: run(BF16{}); break;
    case DType::kFloat32: run(float{}); break;
    case DType::kFloat64: run(double{}); break;
    default: break;  // refused by Warp()
  }
}

}  // namespace gilfree
