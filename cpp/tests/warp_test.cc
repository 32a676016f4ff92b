// Geometric warps (core/warp.h). Expected values are hand computed from the
// header's rules (stated in the comments) or follow from identities: the
// identity warp returns its input, integer translations shift exactly, a
// transpose matrix transposes.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "core/warp.h"
#include "core/warp_taps.h"
#include "test_util.h"

namespace gilfree {
namespace {

using testing::Dense;
using testing::ReversedChunks;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Transform Affine(const std::vector<double>& c) {  // c: 6 dst->src coefficients, kept alive by caller
  Transform t;
  t.kind = TransformKind::kAffine;
  t.coefficients = c.data();
  t.count = 1;
  return t;
}

WarpParams Params(Interpolation interp, FillMode mode, const std::vector<double>* fill = nullptr) {
  WarpParams p;
  p.interpolation = interp;
  p.fill_mode = mode;
  if (fill != nullptr) {
    p.fill_value = fill->data();
    p.fill_size = static_cast<int64_t>(fill->size());
  }
  return p;
}

template <typename Raw>
std::vector<Raw> WarpTo(const std::vector<Raw>& src, DType dtype, int64_t n, int64_t h, int64_t w, int64_t c,
                     const Transform& t, const WarpParams& p, int64_t out_h, int64_t out_w,
                     const ParallelFor* pf = nullptr) {
  std::vector<Raw> dst(static_cast<size_t>(n * out_h * out_w * c));
  const Status s = Warp(Dense(src.data(), dtype, n, h, w, c), t, p, out_h, out_w, dst.data(), pf);
  EXPECT_TRUE(s.ok()) << s.message();
  return dst;
}

std::vector<float> RunF(const std::vector<float>& src, int64_t h, int64_t w, const Transform& t,
                        const WarpParams& p, int64_t out_h = -1, int64_t out_w = -1) {
  return WarpTo<float>(src, DType::kFloat32, 1, h, w, 1, t, p, out_h < 0 ? h : out_h, out_w < 0 ? w : out_w);
}

void ExpectFloats(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol * std::max(1.0f, std::fabs(want[i]))) << "at " << i;
    }
  }
}

const Interpolation kInterps[] = {Interpolation::kNearest, Interpolation::kBilinear, Interpolation::kBicubic};
const FillMode kModes[] = {FillMode::kConstant, FillMode::kNearest, FillMode::kReflect, FillMode::kReflect101,
                           FillMode::kWrap};

// ---------------------------------------------------------------------------
// identities

TEST(Warp, IdentityReturnsInputForEveryDTypeInterpolationAndMode) {
  // At integer source points bilinear weights are {1, 0} and Keys' cubic
  // weights {0, 1, 0, 0}: every interpolation returns the pixel itself.
  const std::vector<double> id = {1, 0, 0, 0, 1, 0};
  const int64_t H = 5, W = 7, C = 3;
  std::vector<uint8_t> u8(H * W * C);
  std::vector<uint16_t> u16(u8.size());
  std::vector<int16_t> i16(u8.size());
  std::vector<float> f32(u8.size());
  for (size_t i = 0; i < u8.size(); ++i) {
    u8[i] = static_cast<uint8_t>(i * 37 % 256);
    u16[i] = static_cast<uint16_t>(i * 4099 % 65536);
    i16[i] = static_cast<int16_t>(static_cast<int>(i * 911 % 65536) - 32768);
    f32[i] = static_cast<float>(i) * 0.37f - 11.0f;
  }
  for (Interpolation interp : kInterps) {
    for (FillMode mode : kModes) {
      const WarpParams p = Params(interp, mode);
      EXPECT_EQ(WarpTo(u8, DType::kUInt8, 1, H, W, C, Affine(id), p, H, W), u8);
      EXPECT_EQ(WarpTo(u16, DType::kUInt16, 1, H, W, C, Affine(id), p, H, W), u16);
      EXPECT_EQ(WarpTo(i16, DType::kInt16, 1, H, W, C, Affine(id), p, H, W), i16);
      EXPECT_EQ(WarpTo(f32, DType::kFloat32, 1, H, W, C, Affine(id), p, H, W), f32);
      // float16 / bfloat16 bit patterns of finite values round-trip.
      std::vector<uint16_t> h16(u8.size()), b16(u8.size());
      for (size_t i = 0; i < h16.size(); ++i) {
        h16[i] = static_cast<uint16_t>((i * 2557) % 0x7c00) | (i % 2 ? 0x8000 : 0);
        b16[i] = static_cast<uint16_t>((i * 2557) % 0x7f80) | (i % 2 ? 0x8000 : 0);
      }
      EXPECT_EQ(WarpTo(h16, DType::kFloat16, 1, H, W, C, Affine(id), p, H, W), h16);
      EXPECT_EQ(WarpTo(b16, DType::kBFloat16, 1, H, W, C, Affine(id), p, H, W), b16);
    }
  }
}

TEST(Warp, IntegerTranslationShiftsExactly) {
  // Source-to-destination matrix [[1, 0, 2], [0, 1, -1]] (inverted by
  // PrepareMatrices): dst(x, y) = src(x - 2, y + 1); fill 0 elsewhere.
  const std::vector<double> m = {1, 0, 2, 0, 1, -1};
  std::vector<double> inv(6);
  ASSERT_OK(PrepareMatrices(m.data(), 1, 2, /*inverse=*/false, inv.data()));
  const int64_t H = 4, W = 5;
  std::vector<float> src(H * W);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i + 1);
  for (Interpolation interp : kInterps) {
    const std::vector<float> out = RunF(src, H, W, Affine(inv), Params(interp, FillMode::kConstant));
    for (int64_t y = 0; y < H; ++y) {
      for (int64_t x = 0; x < W; ++x) {
        const int64_t sx = x - 2, sy = y + 1;
        const float want = (sx >= 0 && sx < W && sy >= 0 && sy < H) ? src[sy * W + sx] : 0.0f;
        EXPECT_EQ(out[y * W + x], want) << "interp " << static_cast<int>(interp) << " at " << y << "," << x;
      }
    }
  }
}

TEST(Warp, TransposeMatrix) {
  // dst->src [[0, 1, 0], [1, 0, 0]]: sx = y, sy = x, the transpose.
  const std::vector<double> c = {0, 1, 0, 1, 0, 0};
  const std::vector<float> src = {1, 2, 3, 4, 5, 6};  // 2 x 3
  const std::vector<float> out = RunF(src, 2, 3, Affine(c), Params(Interpolation::kNearest, FillMode::kConstant), 3, 2);
  EXPECT_EQ(out, (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

// ---------------------------------------------------------------------------
// interpolation and fill modes on a row

TEST(Warp, HeaderExampleQuarterPixel) {
  // {10, 20, 30, 40}, sx = x + 0.25: 0.75 a + 0.25 b; the last pixel blends
  // 40 with the tap at x = 4: fill 0 -> 30, nearest -> 40, wrap (10) -> 32.5.
  const std::vector<float> src = {10, 20, 30, 40};
  const std::vector<double> c = {1, 0, 0.25, 0, 1, 0};
  ExpectFloats(RunF(src, 1, 4, Affine(c), Params(Interpolation::kBilinear, FillMode::kConstant)),
               {12.5f, 22.5f, 32.5f, 30});
  ExpectFloats(RunF(src, 1, 4, Affine(c), Params(Interpolation::kBilinear, FillMode::kNearest)),
               {12.5f, 22.5f, 32.5f, 40});
  ExpectFloats(RunF(src, 1, 4, Affine(c), Params(Interpolation::kBilinear, FillMode::kWrap)),
               {12.5f, 22.5f, 32.5f, 32.5f});
}

TEST(Warp, BilinearAtHalfPixelIsTheMean) {
  const std::vector<float> src = {1, 3, 7, 15};
  const std::vector<double> c = {1, 0, 0.5, 0, 1, 0};
  ExpectFloats(RunF(src, 1, 4, Affine(c), Params(Interpolation::kBilinear, FillMode::kNearest)), {2, 5, 11, 15});
}

TEST(Warp, FillModesResolveOutsideTaps) {
  // Row {1, 2, 3, 4} read at sx = x - 2, nearest: taps -2, -1, 0, 1.
  //   constant (9):  9 9 | 1 2     nearest (clamp): 1 1 | 1 2
  //   reflect  (dcba|abcd): -1 -> a, -2 -> b: 2 1 | 1 2
  //   reflect_101 (dcb|abcd): -1 -> b, -2 -> c: 3 2 | 1 2
  //   wrap: -2 -> c, -1 -> d: 3 4 | 1 2
  const std::vector<float> src = {1, 2, 3, 4};
  const std::vector<double> c = {1, 0, -2, 0, 1, 0};
  const std::vector<double> fill = {9};
  const auto run = [&](FillMode m) { return RunF(src, 1, 4, Affine(c), Params(Interpolation::kNearest, m, &fill)); };
  EXPECT_EQ(run(FillMode::kConstant), (std::vector<float>{9, 9, 1, 2}));
  EXPECT_EQ(run(FillMode::kNearest), (std::vector<float>{1, 1, 1, 2}));
  EXPECT_EQ(run(FillMode::kReflect), (std::vector<float>{2, 1, 1, 2}));
  EXPECT_EQ(run(FillMode::kReflect101), (std::vector<float>{3, 2, 1, 2}));
  EXPECT_EQ(run(FillMode::kWrap), (std::vector<float>{3, 4, 1, 2}));
  // Far beyond the right edge, sx = x + 9 on n = 4: reflect has period 8
  // (9 -> 1 -> b, 10 -> 2 -> c, 11 -> 3, 12 -> 4 -> 8-1-4 = 3 -> d);
  // wrap: 9 % 4 = 1 -> b, 2, 3, 0.
  const std::vector<double> far = {1, 0, 9, 0, 1, 0};
  EXPECT_EQ(RunF(src, 1, 4, Affine(far), Params(Interpolation::kNearest, FillMode::kReflect)),
            (std::vector<float>{2, 3, 4, 4}));
  EXPECT_EQ(RunF(src, 1, 4, Affine(far), Params(Interpolation::kNearest, FillMode::kWrap)),
            (std::vector<float>{2, 3, 4, 1}));
}

TEST(Warp, NearestRoundsTiesToEven) {
  // sx = x + 0.5: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (clamped to 3).
  const std::vector<float> src = {10, 20, 30, 40};
  const std::vector<double> c = {1, 0, 0.5, 0, 1, 0};
  EXPECT_EQ(RunF(src, 1, 4, Affine(c), Params(Interpolation::kNearest, FillMode::kNearest)),
            (std::vector<float>{10, 30, 30, 40}));
}

TEST(Warp, BicubicKeysWeights) {
  // Keys a = -0.75 at f = 0.5: w = {-0.09375, 0.59375, 0.59375, -0.09375}.
  // An impulse at 3 read at sx = 2.5 (taps 1..4) gives 0.59375; at sx = 1.5
  // (taps 0..3) -0.09375. A linear ramp is reproduced exactly inside.
  const std::vector<float> impulse = {0, 0, 0, 1, 0, 0, 0, 0};
  const std::vector<double> c = {1, 0, 0.5, 0, 1, 0};
  const std::vector<float> out = RunF(impulse, 1, 8, Affine(c), Params(Interpolation::kBicubic, FillMode::kConstant));
  EXPECT_NEAR(out[2], 0.59375f, 1e-6f);
  EXPECT_NEAR(out[1], -0.09375f, 1e-6f);
  EXPECT_NEAR(out[3], 0.59375f, 1e-6f);
  EXPECT_NEAR(out[4], -0.09375f, 1e-6f);
  EXPECT_NEAR(out[6], 0.0f, 1e-6f);
  std::vector<float> ramp(8);
  for (int i = 0; i < 8; ++i) ramp[i] = 10.0f * i;
  const std::vector<float> r = RunF(ramp, 1, 8, Affine(c), Params(Interpolation::kBicubic, FillMode::kConstant));
  for (int x = 1; x <= 5; ++x) EXPECT_NEAR(r[x], 10.0f * x + 5.0f, 1e-4f) << x;
}

// FloorFloat, RoundHalfEven and RoundHalfAway against the C library's floor,
// rint and round (in double: exact for floats) bit for bit, over every 251st float bit pattern plus the
// values around the cases that matter: zeros, halves, 2^22..2^23, NaN, inf.
TEST(Warp, FloatRoundingMatchesTheLibrary) {
  auto bits = [](float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    return b;
  };
  auto same = [&](float a, float b) { return (std::isnan(a) && std::isnan(b)) || bits(a) == bits(b); };
  auto half_away = [](float v) { return static_cast<float>(std::round(static_cast<double>(v))); };
  std::vector<float> values = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f,
                               4194303.5f, -4194303.5f, 8388607.5f, -8388607.5f, 8388608.0f, -8388609.0f,
                               std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::quiet_NaN(), 3e9f, -3e9f, 1e-40f, -1e-40f};
  for (uint64_t b = 0; b <= 0xffffffffull; b += 251) {
    const uint32_t u = static_cast<uint32_t>(b);
    float v;
    std::memcpy(&v, &u, 4);
    values.push_back(v);
  }
  for (int i = -70000; i <= 70000; ++i) values.push_back(static_cast<float>(i) * 0.25f);
  int failures = 0;
  for (float v : values) {
    const bool ok = same(FloorFloat(v), std::floor(v)) && same(RoundHalfEven(v), std::rint(v)) &&
                    same(RoundHalfAway(v), half_away(v));
    if (!ok && ++failures <= 5) {
      ADD_FAILURE() << "v = " << v << " (bits " << bits(v) << "): floor " << FloorFloat(v) << " vs " << std::floor(v)
                    << ", half even " << RoundHalfEven(v) << " vs " << std::rint(v) << ", half away "
                    << RoundHalfAway(v) << " vs " << half_away(v);
    }
  }
}

TEST(Warp, IntegerOutputsRoundHalfEvenAndSaturate) {
  // uint8 {1, 2, 2, 3} at half pixels: 1.5 -> 2, 2, 2.5 -> 2.
  const std::vector<uint8_t> src = {1, 2, 2, 3};
  const std::vector<double> c = {1, 0, 0.5, 0, 1, 0};
  const WarpParams bl = Params(Interpolation::kBilinear, FillMode::kNearest);
  EXPECT_EQ(WarpTo(src, DType::kUInt8, 1, 1, 4, 1, Affine(c), bl, 1, 3), (std::vector<uint8_t>{2, 2, 2}));
  // A step 0 0 0 255 255 255 read bicubic at 3.5 - 1 = 2.5 (taps 1..4):
  // 0.59375 * 255 * 2 - 0.09375 * 255 = 278.9 -> 255; at 1.5 (taps 0..3):
  // -0.09375 * 255 = -23.9 -> 0. float32 keeps both.
  const std::vector<uint8_t> step = {0, 0, 0, 255, 255, 255};
  const WarpParams bc = Params(Interpolation::kBicubic, FillMode::kNearest);
  const std::vector<uint8_t> u = WarpTo(step, DType::kUInt8, 1, 1, 6, 1, Affine(c), bc, 1, 6);
  EXPECT_EQ(u[1], 0);
  EXPECT_EQ(u[3], 255);
  const std::vector<float> f(step.begin(), step.end());
  const std::vector<float> g = RunF(f, 1, 6, Affine(c), bc);
  EXPECT_NEAR(g[3], 278.90625f, 1e-3f);
  EXPECT_NEAR(g[1], -23.90625f, 1e-3f);
  // int16 saturates at both ends.
  const std::vector<int16_t> s16 = {-32768, -32768, -32768, 32767, 32767, 32767};
  const std::vector<int16_t> o16 = WarpTo(s16, DType::kInt16, 1, 1, 6, 1, Affine(c), bc, 1, 6);
  EXPECT_EQ(o16[1], -32768);
  EXPECT_EQ(o16[3], 32767);
}

TEST(Warp, PerChannelFillValue) {
  const std::vector<uint8_t> src = {1, 2, 3};  // one pixel, 3 channels
  const std::vector<double> c = {1, 0, 5, 0, 1, 0};
  const std::vector<double> fill = {7, 8, 300};  // 300 saturates to 255 for uint8
  const WarpParams p = Params(Interpolation::kBilinear, FillMode::kConstant, &fill);
  EXPECT_EQ(WarpTo(src, DType::kUInt8, 1, 1, 1, 3, Affine(c), p, 1, 1), (std::vector<uint8_t>{7, 8, 255}));
}

// ---------------------------------------------------------------------------
// nodata

TEST(Warp, NodataIsLeftOutOfTheBlend) {
  // {10, nodata 0, 30, 40} at half pixels: (10, -) -> 10, (-, 30) -> 30,
  // (30, 40) -> 35. Nearest onto the invalid pixel gives nodata.
  const std::vector<float> src = {10, 0, 30, 40};
  const std::vector<double> half = {1, 0, 0.5, 0, 1, 0}, id = {1, 0, 0, 0, 1, 0};
  WarpParams p = Params(Interpolation::kBilinear, FillMode::kNearest);
  p.has_nodata = true;
  p.nodata = 0;
  ExpectFloats(RunF(src, 1, 4, Affine(half), p, 1, 3), {10, 30, 35});
  p.interpolation = Interpolation::kNearest;
  ExpectFloats(RunF(src, 1, 4, Affine(id), p), {10, 0, 30, 40});
  // All taps invalid: nodata. NaN taps are invalid too.
  const std::vector<float> bad = {0, kNaN, 0, 0};
  p.interpolation = Interpolation::kBilinear;
  ExpectFloats(RunF(bad, 1, 4, Affine(half), p, 1, 3), {0, 0, 0});
}

TEST(Warp, NodataBicubicFallsBackToBilinear) {
  // One invalid tap among 16: bicubic uses the renormalized bilinear of the
  // inner 2x2. Row {1, 2, 3, 4, 0=nodata, 6, 7, 8} at sx = 2.5: the cubic's
  // outer tap 4 is invalid -> bilinear of taps 2, 3 = 3.5.
  const std::vector<float> src = {1, 2, 3, 4, 0, 6, 7, 8};
  const std::vector<double> c = {1, 0, 2.5, 0, 1, 0};
  WarpParams p = Params(Interpolation::kBicubic, FillMode::kNearest);
  p.has_nodata = true;
  p.nodata = 0;
  ExpectFloats(RunF(src, 1, 8, Affine(c), p, 1, 1), {3.5f});
  // Without nodata the same point is the cubic: 2 w0 + 3 w1 + 4 w2 + 0 w3
  // with w = {-0.09375, 0.59375, 0.59375, -0.09375} = 3.96875.
  ExpectFloats(RunF(src, 1, 8, Affine(c), Params(Interpolation::kBicubic, FillMode::kNearest), 1, 1), {3.96875f});
}

TEST(Warp, IntegerNodataAndFillDefault) {
  // uint16 nodata 7: fill defaults to nodata, a fill tap is invalid.
  const std::vector<uint16_t> src = {100, 200};
  const std::vector<double> c = {1, 0, 1, 0, 1, 0};  // sx = x + 1
  WarpParams p = Params(Interpolation::kNearest, FillMode::kConstant);
  p.has_nodata = true;
  p.nodata = 7;
  EXPECT_EQ(WarpTo(src, DType::kUInt16, 1, 1, 2, 1, Affine(c), p, 1, 2), (std::vector<uint16_t>{200, 7}));
}

// ---------------------------------------------------------------------------
// perspective, projective, maps, polynomial

TEST(Warp, PerspectiveTransform) {
  // dst->src c = [1, 0, 0, 0, 1, 0, 0.5, 0, 1] on a 1-row image:
  // sx = x / (0.5 x + 1): x = 0 -> 0, x = 1 -> 2/3, x = 2 -> 1, x = 6 -> 1.5.
  const std::vector<float> src = {0, 30, 60, 90};
  const std::vector<double> c = {1, 0, 0, 0, 1, 0, 0.5, 0, 1};
  Transform t;
  t.kind = TransformKind::kPerspective;
  t.coefficients = c.data();
  ExpectFloats(RunF(src, 1, 4, t, Params(Interpolation::kBilinear, FillMode::kConstant), 1, 7),
               {0, 20, 30, 36, 40, 300.0f / 7, 45}, 1e-4f);
}

TEST(Warp, PerspectiveScaledIdentityAndZeroDenominator) {
  const std::vector<float> src = {1, 2, 3, 4};
  // 2 * identity: w = 2 everywhere, the identity.
  const std::vector<double> two = {2, 0, 0, 0, 2, 0, 0, 0, 2};
  Transform t;
  t.kind = TransformKind::kPerspective;
  t.coefficients = two.data();
  EXPECT_EQ(RunF(src, 1, 4, t, Params(Interpolation::kBilinear, FillMode::kNearest)), src);
  // w = 1 - x is 0 at x = 1: that pixel is fill (5) even with fill mode nearest.
  const std::vector<double> zero = {1, 0, 0, 0, 1, 0, -1, 0, 1};
  t.coefficients = zero.data();
  const std::vector<double> fill = {5};
  const std::vector<float> out = RunF(src, 1, 4, t, Params(Interpolation::kNearest, FillMode::kNearest, &fill));
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 5);
}

TEST(Warp, PrepareMatricesInverts) {
  // [[2, 0, 4], [0, 4, 8]]^-1 = [[0.5, 0, -2], [0, 0.25, -2]].
  const double a[6] = {2, 0, 4, 0, 4, 8};
  double o[6];
  ASSERT_OK(PrepareMatrices(a, 1, 2, false, o));
  const double want[6] = {0.5, 0, -2, 0, 0.25, -2};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(o[i], want[i], 1e-15) << i;
  // 3x3: M * PrepareMatrices(M) = I for a general matrix.
  const double m[9] = {1, 2, 3, 0, 1, 4, 5, 6, 0};
  double inv[9];
  ASSERT_OK(PrepareMatrices(m, 1, 3, false, inv));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += m[i * 3 + k] * inv[k * 3 + j];
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-12);
    }
  }
  // inverse=true copies.
  ASSERT_OK(PrepareMatrices(m, 1, 3, true, inv));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(inv[i], m[i]);
}

// A rotation scaled by 1e-159 has determinant 1e-318, a subnormal number that a
// thread flushing subnormals to zero (TensorFlow's do) sees as 0. Its inverse is
// the rotation by the opposite angle scaled by 1e159, with or without flushing.
TEST(Warp, PrepareMatricesIgnoreFlushToZero) {
  const double s = 1e-159, c = std::cos(0.3) * s, n = std::sin(0.3) * s;
  const double a[6] = {c, n, 2, -n, c, 3};
  const double want[4] = {c / s / s, -n / s / s, n / s / s, c / s / s};
  double o[6];
  for (const bool flush : {false, true}) {
#if defined(__SSE2__)
    const unsigned csr = _mm_getcsr();
    if (flush) _mm_setcsr(csr | 0x8040);  // FTZ and DAZ
#else
    if (flush) continue;
#endif
    const Status st = PrepareMatrices(a, 1, 2, false, o);
#if defined(__SSE2__)
    _mm_setcsr(csr);
#endif
    ASSERT_OK(st);
    const int linear[4] = {0, 1, 3, 4};
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(o[linear[i]] / want[i], 1.0, 1e-14) << flush << i;
    // The translation maps (2, 3) back to the origin.
    EXPECT_NEAR(o[0] * 2 + o[1] * 3 + o[2], 0, 1e-3) << flush;
    EXPECT_NEAR(o[3] * 2 + o[4] * 3 + o[5], 0, 1e-3) << flush;
  }
  // A row shorter than the smallest normal double is zero: singular either way.
  const double tiny[6] = {1e-310, 0, 0, 0, 1, 0};
  EXPECT_INVALID(PrepareMatrices(tiny, 1, 2, false, o), "matrix 0 is singular");
  const double tiny3[9] = {1, 0, 0, 0, 1e-310, 0, 0, 0, 1};
  EXPECT_INVALID(PrepareMatrices(tiny3, 1, 3, false, o), "matrix 0 is singular");
  // A 3x3 scaled by 1e-120 (determinant 1e-360 underflows to 0) still inverts.
  const double m[9] = {2e-120, 1e-120, 0, 0, 1e-120, 0, 1e-120, 0, 3e-120};
  double inv[9];
  ASSERT_OK(PrepareMatrices(m, 1, 3, false, inv));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double sum = 0;
      for (int k = 0; k < 3; ++k) sum += m[i * 3 + k] * inv[k * 3 + j];
      EXPECT_NEAR(sum, i == j ? 1.0 : 0.0, 1e-12);
    }
  }
}

TEST(Warp, PrepareMatricesErrors) {
  const double singular2[6] = {1, 2, 0, 2, 4, 0};
  double o[9];
  EXPECT_INVALID(PrepareMatrices(singular2, 1, 2, false, o), "matrix 0 is singular");
  const double singular3[9] = {1, 2, 3, 2, 4, 6, 0, 0, 1};
  EXPECT_INVALID(PrepareMatrices(singular3, 1, 3, false, o), "is singular");
  const double two[12] = {1, 0, 0, 0, 1, 0, 1, 0, NAN, 0, 1, 0};
  EXPECT_INVALID(PrepareMatrices(two, 2, 2, false, o), "matrix 1 [2, 3] must be finite, got nan at entry 2");
  const double inf[9] = {1, 0, 0, 0, 1, 0, 0, INFINITY, 1};
  EXPECT_INVALID(PrepareMatrices(inf, 1, 3, true, o), "matrix 0 [3, 3] must be finite");
}

TEST(Warp, ProjectiveTensorFlowRowsRoundHalfAwayAndFold) {
  // TF rows [a0, a1, a2, b0, b1, b2, c0, c1]: sx = x + 0.5 (no denominator).
  // tf_compat nearest rounds half away from zero: 0.5 -> 1, 1.5 -> 2, 2.5 -> 3.
  const std::vector<float> src = {10, 20, 30, 40};
  const std::vector<double> c = {1, 0, 0.5, 0, 1, 0, 0, 0};
  Transform t;
  t.kind = TransformKind::kProjective;
  t.coefficients = c.data();
  WarpParams p = Params(Interpolation::kNearest, FillMode::kConstant);
  p.tf_compat = true;
  EXPECT_EQ(RunF(src, 1, 4, t, p, 1, 3), (std::vector<float>{20, 30, 40}));
  // sx = x - 1 with TensorFlow's reflect folding: -1 -> -(-1) - 1 = 0.
  const std::vector<double> back = {1, 0, -1, 0, 1, 0, 0, 0};
  t.coefficients = back.data();
  p.fill_mode = FillMode::kReflect;
  EXPECT_EQ(RunF(src, 1, 4, t, p), (std::vector<float>{10, 10, 20, 30}));
  // wrap folds -1 by adding n: 3 -> 40.
  p.fill_mode = FillMode::kWrap;
  EXPECT_EQ(RunF(src, 1, 4, t, p), (std::vector<float>{40, 10, 20, 30}));
}

TEST(Warp, ProjectivePerImageTransforms) {
  // Two images, two transforms: image 0 identity, image 1 sx = x + 1.
  const std::vector<float> src = {1, 2, 3, 4, 5, 6};  // [2, 1, 3, 1]
  const std::vector<double> c = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0};
  Transform t;
  t.kind = TransformKind::kProjective;
  t.coefficients = c.data();
  t.count = 2;
  WarpParams p = Params(Interpolation::kBilinear, FillMode::kConstant);
  p.tf_compat = true;
  EXPECT_EQ(WarpTo(src, DType::kFloat32, 2, 1, 3, 1, t, p, 1, 3), (std::vector<float>{1, 2, 3, 5, 6, 0}));
}

TEST(Warp, MapsWithNaNAndBatch) {
  // 2 images [2, 1, 2, 1]; maps [2, 1, 3]: image 0 reads x = 1, 0.5, NaN;
  // image 1 reads x = 0, 1, 7 (outside: fill 9).
  const std::vector<float> src = {10, 20, 100, 300};
  const std::vector<float> mx = {1, 0.5f, kNaN, 0, 1, 7}, my = {0, 0, 0, 0, 0, 0};
  const int64_t shape[3] = {2, 1, 3};
  Transform t;
  int64_t oh = 0, ow = 0;
  ASSERT_OK(MapsTransform(mx.data(), 3, shape, my.data(), 3, shape, 4, 2, &t, &oh, &ow));
  EXPECT_EQ(oh, 1);
  EXPECT_EQ(ow, 3);
  const std::vector<double> fill = {9};
  const std::vector<float> out =
      WarpTo(src, DType::kFloat32, 2, 1, 2, 1, t, Params(Interpolation::kBilinear, FillMode::kConstant, &fill), oh, ow);
  ExpectFloats(out, {20, 15, 9, 100, 300, 9});
}

TEST(Warp, PolynomialTransformKind) {
  // terms 3: sx = 1 + x, sy = y: a shift left by one.
  const std::vector<double> c = {1, 1, 0, 0, 0, 1};
  Transform t;
  t.kind = TransformKind::kPolynomial;
  t.coefficients = c.data();
  t.terms = 3;
  EXPECT_EQ(RunF({1, 2, 3}, 1, 3, t, Params(Interpolation::kBilinear, FillMode::kNearest)),
            (std::vector<float>{2, 3, 3}));
  // sx = x^2 (terms 6: 1, x, y, x^2, xy, y^2), nearest: 0, 1, 4 -> clamp 3.
  const std::vector<double> q = {0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0};
  t.coefficients = q.data();
  t.terms = 6;
  EXPECT_EQ(RunF({5, 6, 7, 8}, 1, 4, t, Params(Interpolation::kNearest, FillMode::kNearest), 1, 3),
            (std::vector<float>{5, 6, 8}));
}

TEST(Warp, PolynomialTransformFromPoints) {
  // Control points with dst = src + (1, 0): output pixel x reads x - 1.
  const double src[8] = {0, 0, 4, 0, 0, 4, 4, 4};
  const double dst[8] = {1, 0, 5, 0, 1, 4, 5, 4};
  const int64_t shape[2] = {4, 2};
  std::vector<double> storage;
  Transform t;
  ASSERT_OK(PolynomialTransform(src, 2, shape, dst, 2, shape, 1, &storage, &t));
  EXPECT_EQ(t.terms, 3);
  ExpectFloats(RunF({1, 2, 3}, 1, 3, t, Params(Interpolation::kBilinear, FillMode::kConstant)), {0, 1, 2}, 1e-4f);
}

// ---------------------------------------------------------------------------
// FitPolynomial

TEST(FitPolynomial, RecoversExactPolynomialsOfEachOrder) {
  // Terms 1, x, y, x^2, xy, y^2, x^3, x^2 y, x y^2, y^3.
  const double cx[10] = {1, 2, 3, 0.5, -1, 0.25, 0.01, -0.02, 0.03, 0.04};
  const double cy[10] = {-4, 0.5, 1, -0.1, 0.2, 0.3, -0.01, 0.02, 0.015, -0.005};
  for (int order = 1; order <= 3; ++order) {
    const int T = PolynomialTerms(order);
    EXPECT_EQ(T, order == 1 ? 3 : order == 2 ? 6 : 10);
    std::vector<double> src, dst;
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < 5; ++j) {
        const double x = 10.0 * i + 3, y = 7.0 * j - 5;
        const double mono[10] = {1, x, y, x * x, x * y, y * y, x * x * x, x * x * y, x * y * y, y * y * y};
        double px = 0, py = 0;
        for (int t = 0; t < T; ++t) px += cx[t] * mono[t], py += cy[t] * mono[t];
        src.insert(src.end(), {x, y});
        dst.insert(dst.end(), {px, py});
      }
    }
    std::vector<double> coef(2 * T);
    double rms = -1;
    ASSERT_OK(FitPolynomial(src.data(), dst.data(), 25, order, coef.data(), &rms));
    EXPECT_LT(rms, 1e-8);
    for (int t = 0; t < T; ++t) {
      EXPECT_NEAR(coef[t], cx[t], 1e-9 * std::max(1.0, std::fabs(cx[t]))) << "order " << order << " x term " << t;
      EXPECT_NEAR(coef[T + t], cy[t], 1e-9 * std::max(1.0, std::fabs(cy[t]))) << "order " << order << " y term " << t;
    }
  }
}

TEST(FitPolynomial, LeastSquaresResidual) {
  // A plane through the unit square's corners with one corner raised by d:
  // the residual is d/4 * (1, -1, -1, 1) (orthogonal to 1, x, y), so the RMS
  // of the Euclidean residuals is d / 4. Fitted x' = -d/4 + d/2 x + d/2 y.
  const double d = 2.0;
  const double src[8] = {0, 0, 1, 0, 0, 1, 1, 1};
  const double dst[8] = {0, 0, 0, 0, 0, 0, d, 0};
  double coef[6], rms = 0;
  ASSERT_OK(FitPolynomial(src, dst, 4, 1, coef, &rms));
  EXPECT_NEAR(rms, d / 4, 1e-12);
  EXPECT_NEAR(coef[0], -d / 4, 1e-12);
  EXPECT_NEAR(coef[1], d / 2, 1e-12);
  EXPECT_NEAR(coef[2], d / 2, 1e-12);
  for (int t = 3; t < 6; ++t) EXPECT_NEAR(coef[t], 0, 1e-12);
}

TEST(FitPolynomial, Errors) {
  const double pts[8] = {0, 0, 1, 0, 0, 1, 1, 1};
  double coef[20], rms;
  EXPECT_INVALID(FitPolynomial(pts, pts, 4, 0, coef, &rms), "order must be 1, 2 or 3, got 0");
  EXPECT_INVALID(FitPolynomial(pts, pts, 4, 4, coef, &rms), "got 4");
  EXPECT_INVALID(FitPolynomial(pts, pts, 2, 1, coef, &rms), "src_points: order 1 needs at least 3 points, got 2");
  EXPECT_INVALID(FitPolynomial(pts, pts, 4, 2, coef, &rms, "a", "b"), "a: order 2 needs at least 6");
  const double nan_pts[8] = {0, 0, 1, NAN, 0, 1, 1, 1};
  EXPECT_INVALID(FitPolynomial(nan_pts, pts, 4, 1, coef, &rms), "src_points must be finite, got nan at point 1");
  EXPECT_INVALID(FitPolynomial(pts, nan_pts, 4, 1, coef, &rms), "dst_points must be finite");
  const double same[6] = {2, 3, 2, 3, 2, 3};
  EXPECT_INVALID(FitPolynomial(same, same, 3, 1, coef, &rms), "src_points are degenerate: all points coincide");
  const double line[8] = {0, 0, 1, 1, 2, 2, 3, 3};
  EXPECT_INVALID(FitPolynomial(line, line, 4, 1, coef, &rms), "degenerate for order 1");
}

// ---------------------------------------------------------------------------
// argument checks

TEST(WarpArgs, ParseNames) {
  Interpolation i;
  FillMode m;
  ASSERT_OK(ParseInterpolation("BiCubic", false, &i));
  EXPECT_EQ(i, Interpolation::kBicubic);
  ASSERT_OK(ParseInterpolation("nearest", true, &i));
  EXPECT_EQ(i, Interpolation::kNearest);
  EXPECT_INVALID(ParseInterpolation("bicubic", true, &i), "interpolation must be one of 'nearest', 'bilinear', got 'bicubic'");
  EXPECT_INVALID(ParseInterpolation("area", false, &i), "got 'area'");
  ASSERT_OK(ParseFillMode("REFLECT_101", false, &m));
  EXPECT_EQ(m, FillMode::kReflect101);
  ASSERT_OK(ParseFillMode("wrap", true, &m));
  EXPECT_EQ(m, FillMode::kWrap);
  EXPECT_INVALID(ParseFillMode("reflect_101", true, &m), "fill_mode must be one of");
  EXPECT_INVALID(ParseFillMode("mirror", false, &m), "got 'mirror'");
}

TEST(WarpArgs, OutputSizeLimits) {
  EXPECT_OK(CheckOutputShape(1, 1, kMaxOutputSide, 1, DType::kUInt8));
  EXPECT_INVALID(CheckOutputShape(1, 0, 5, 1, DType::kUInt8), "output_shape must give a positive output height");
  EXPECT_INVALID(CheckOutputShape(1, 5, -1, 1, DType::kUInt8), "got (5, -1)");
  EXPECT_INVALID(CheckOutputShape(1, kMaxOutputSide + 1, 1, 1, DType::kUInt8, "map_x"), "map_x must give");
  // 2^16 x 2^16 x 1 x float32 = 2^34 bytes > 2^32.
  EXPECT_INVALID(CheckOutputShape(1, 65536, 65536, 1, DType::kFloat32), "above the limit of 2^32 bytes");
  EXPECT_OK(CheckOutputShape(1, 65536, 65536, 1, DType::kUInt8));  // exactly 2^32
  // Warp itself refuses before touching memory.
  const std::vector<double> id = {1, 0, 0, 0, 1, 0};
  float px = 0, out = 0;
  EXPECT_INVALID(Warp(Dense(&px, DType::kFloat32, 1, 1, 1, 1), Affine(id), WarpParams{}, 65536, 65536, &out, nullptr),
                 "output_shape (65536, 65536) gives an output of");
  EXPECT_INVALID(Warp(Dense(&px, DType::kFloat32, 1, 1, 1, 1), Affine(id), WarpParams{}, 0, 3, &out, nullptr),
                 "output_shape");
}

TEST(WarpArgs, ValidateWarpParams) {
  WarpParams p;
  EXPECT_INVALID(ValidateWarpParams(p, DType::kInt8, 1), "image dtype must be one of uint8");
  EXPECT_INVALID(ValidateWarpParams(p, DType::kUInt64, 1), "got uint64");
  // ImageProjectiveTransformV3's other dtypes: only for its kind, nearest or
  // bilinear, without nodata.
  EXPECT_INVALID(ValidateWarpParams(p, DType::kInt32, 1), "int32 is supported only by projective_transform");
  EXPECT_INVALID(ValidateWarpParams(p, DType::kFloat64, 1), "float64 is supported only by projective_transform");
  p.tf_compat = true;
  EXPECT_OK(ValidateWarpParams(p, DType::kInt64, 1));
  p.has_nodata = true;
  EXPECT_INVALID(ValidateWarpParams(p, DType::kInt64, 1), "and no nodata");
  p = WarpParams{};
  const std::vector<double> two = {1, 2};
  p.fill_value = two.data();
  p.fill_size = 2;
  EXPECT_INVALID(ValidateWarpParams(p, DType::kUInt8, 3), "fill_value must have 1 value or one per channel (3), got 2");
  const std::vector<double> nan = {NAN};
  p.fill_value = nan.data();
  p.fill_size = 1;
  EXPECT_INVALID(ValidateWarpParams(p, DType::kUInt16, 1), "fill_value must be finite for uint16 images");
  EXPECT_OK(ValidateWarpParams(p, DType::kFloat32, 1));  // NaN fill is fine for float images
  p.fill_size = 0;
  p.has_nodata = true;
  for (double bad : {256.0, -1.0, 1.5, static_cast<double>(NAN)}) {
    p.nodata = bad;
    EXPECT_INVALID(ValidateWarpParams(p, DType::kUInt8, 1), "nodata must be an integer in [0, 255] for uint8");
  }
  p.nodata = -32769;
  EXPECT_INVALID(ValidateWarpParams(p, DType::kInt16, 1), "[-32768, 32767]");
  p.nodata = 65535;
  EXPECT_OK(ValidateWarpParams(p, DType::kUInt16, 1));
}

TEST(WarpArgs, ShapeChecks) {
  int64_t count = 0;
  const int64_t m23[2] = {2, 3}, m33[3] = {4, 3, 3}, bad[2] = {3, 2}, t8[2] = {3, 8};
  ASSERT_OK(CheckMatrixShape("matrix", 2, m23, 2, 3, 3, 1, &count));
  EXPECT_EQ(count, 1);
  ASSERT_OK(CheckMatrixShape("matrix", 3, m33, 3, 3, 4, 4, &count));
  EXPECT_EQ(count, 4);
  EXPECT_INVALID(CheckMatrixShape("matrix", 2, bad, 2, 3, 3, 1, &count),
                 "matrix must have shape [2, 3] or [N, 2, 3], got [3, 2]");
  EXPECT_INVALID(CheckMatrixShape("matrix", 3, m33, 3, 3, 4, 5, &count),
                 "matrix has 4 transforms but the image batch has 5 images");
  const int64_t m33_4[3] = {4, 3, 3};
  EXPECT_INVALID(CheckMatrixShape("matrix", 3, m33_4, 3, 3, 3, 4, &count), "needs a rank-4 image batch");
  EXPECT_INVALID(CheckMatrixShape("transforms", 2, t8, 0, 8, 4, 2, &count), "transforms has 3 transforms");

  const int64_t a[2] = {4, 5}, b[2] = {4, 6}, a3[3] = {2, 4, 5};
  EXPECT_OK(CheckMapShapes(2, a, 2, a, 3, 1));
  EXPECT_INVALID(CheckMapShapes(1, a, 1, a, 3, 1), "map_x must have shape [H', W'] or [N, H', W'], got [4]");
  EXPECT_INVALID(CheckMapShapes(2, a, 2, b, 3, 1), "map_x and map_y must have the same shape, got [4, 5] and [4, 6]");
  EXPECT_INVALID(CheckMapShapes(3, a3, 3, a3, 4, 3), "with N = 3");
  EXPECT_INVALID(CheckMapShapes(3, a3, 3, a3, 3, 2), "got an image of rank 3");

  const int64_t p3[2] = {3, 2}, p4[2] = {4, 2}, p3x3[2] = {3, 3};
  EXPECT_OK(CheckPointShapes(2, p3, 2, p3));
  EXPECT_INVALID(CheckPointShapes(2, p3x3, 2, p3), "src_points must have shape [K, 2]");
  EXPECT_INVALID(CheckPointShapes(2, p3, 2, p3x3), "dst_points must have shape [K, 2]");
  EXPECT_INVALID(CheckPointShapes(2, p3, 2, p4), "the same number of points, got 3 and 4");

  ImageGeometry g;
  const int64_t s1[1] = {5};
  EXPECT_INVALID(DescribeWarpImage("images", 1, s1, nullptr, DType::kUInt8, &g), "images must have rank 2");
}

TEST(WarpArgs, TransformBuilders) {
  std::vector<double> storage;
  Transform t;
  WarpParams p;
  const double m[6] = {2, 0, 0, 0, 2, 0};
  const int64_t s23[2] = {2, 3};
  ASSERT_OK(MatrixTransform("affine", m, 2, s23, false, 3, 1, &storage, &t, &p));
  EXPECT_EQ(t.kind, TransformKind::kAffine);
  EXPECT_DOUBLE_EQ(t.coefficients[0], 0.5);
  EXPECT_INVALID(MatrixTransform("shear", m, 2, s23, false, 3, 1, &storage, &t, &p), "unknown transform kind 'shear'");
  const double tf[8] = {1, 0, 0, 0, 1, 0, 0, 0};
  const int64_t s18[2] = {1, 8};
  EXPECT_INVALID(MatrixTransform("projective", tf, 2, s18, false, 3, 1, &storage, &t, &p),
                 "images must have rank 4 [N, H, W, C], got rank 3");
  ASSERT_OK(MatrixTransform("projective", tf, 2, s18, false, 4, 1, &storage, &t, &p));
  EXPECT_TRUE(p.tf_compat);
  const double huge[8] = {1, 0, 1e39, 0, 1, 0, 0, 0};
  EXPECT_INVALID(MatrixTransform("projective", huge, 2, s18, false, 4, 1, &storage, &t, &p),
                 "transforms must be finite float32 values, got 9.99");
  const double sing[6] = {0, 0, 0, 0, 0, 0};
  EXPECT_INVALID(MatrixTransform("affine", sing, 2, s23, false, 3, 1, &storage, &t, &p), "singular");

  const float map[1] = {0};
  const int64_t empty[2] = {0, 3};
  int64_t oh, ow;
  EXPECT_INVALID(MapsTransform(map, 2, empty, map, 2, empty, 3, 1, &t, &oh, &ow), "map_x must not be empty");

  const double pts[4] = {0, 0, 1, 1};
  const int64_t k2[2] = {2, 2}, bad[2] = {2, 3};
  EXPECT_INVALID(PolynomialTransform(pts, 2, bad, pts, 2, k2, 1, &storage, &t), "src_points must have shape");
  EXPECT_INVALID(PolynomialTransform(pts, 2, k2, pts, 2, k2, 1, &storage, &t), "dst_points: order 1 needs at least 3");
  EXPECT_INVALID(PolynomialTransform(pts, 2, k2, pts, 2, k2, 7, &storage, &t), "order must be 1, 2 or 3, got 7");
}

TEST(WarpArgs, TransformCountMustMatchBatch) {
  const std::vector<float> src(3 * 2, 1.0f);
  std::vector<float> dst(6);
  const std::vector<double> c(18, 0.0);
  Transform t;
  t.kind = TransformKind::kAffine;
  t.coefficients = c.data();
  t.count = 2;
  EXPECT_INVALID(Warp(Dense(src.data(), DType::kFloat32, 3, 1, 2, 1), t, WarpParams{}, 1, 2, dst.data(), nullptr),
                 "matrix has 2 transforms but the image batch has 3 images");
  Transform m;
  m.kind = TransformKind::kMaps;
  m.map_x = m.map_y = src.data();
  m.map_batch = 2;
  m.map_stride_h = 2;
  m.map_stride_w = 1;
  m.map_stride_n = 2;
  EXPECT_INVALID(Warp(Dense(src.data(), DType::kFloat32, 3, 1, 2, 1), m, WarpParams{}, 1, 2, dst.data(), nullptr),
                 "map_x has 2 maps but the image batch has 3 images");
}

// ---------------------------------------------------------------------------
// edge cases

TEST(Warp, EmptySourceGivesFill) {
  const std::vector<double> id = {1, 0, 0, 0, 1, 0}, fill = {4, 5};
  std::vector<uint8_t> dst(2 * 3 * 2, 0);
  const uint8_t dummy = 0;
  ASSERT_OK(Warp(Dense(&dummy, DType::kUInt8, 1, 0, 0, 2), Affine(id),
                 Params(Interpolation::kBicubic, FillMode::kReflect, &fill), 2, 3, dst.data(), nullptr));
  for (size_t i = 0; i < dst.size(); ++i) EXPECT_EQ(dst[i], i % 2 ? 5 : 4);
}

TEST(Warp, HugeAndInfiniteCoordinatesAreSafe) {
  // Points far outside (1e30, and infinity from a perspective denominator
  // near 0) read fill in constant mode; any mode gives a pixel of the image.
  const std::vector<float> src = {1, 2, 3, 4, 5, 6};
  const std::vector<double> big = {1e30, 0, 0, 0, -1e30, 0};
  for (Interpolation interp : kInterps) {
    for (FillMode mode : kModes) {
      const std::vector<double> fill = {-7};
      const std::vector<float> out = RunF(src, 2, 3, Affine(big), Params(interp, mode, &fill));
      for (size_t i = 0; i < out.size(); ++i) {
        if (i == 0) {
          EXPECT_EQ(out[i], 1.0f);  // x = y = 0 maps to (0, 0)
        } else if (mode == FillMode::kConstant) {
          EXPECT_EQ(out[i], -7.0f) << i;
        } else {
          EXPECT_TRUE(out[i] >= -1.0f && out[i] <= 8.0f) << "mode " << static_cast<int>(mode) << " got " << out[i];
        }
      }
    }
  }
  const std::vector<double> persp = {1, 0, 0, 0, 1, 0, 1e-30, 0, 1e-38};
  Transform t;
  t.kind = TransformKind::kPerspective;
  t.coefficients = persp.data();
  for (FillMode mode : kModes) {
    const std::vector<float> out = RunF(src, 2, 3, t, Params(Interpolation::kBilinear, mode));
    for (float v : out) EXPECT_FALSE(std::isinf(v));
  }
}

TEST(Warp, TensorFlowFoldingOfHugeCoordinates) {
  // tf_compat folds the continuous coordinate (reflect, wrap) before the
  // taps: a coordinate of 1e30 or infinity must still give a pixel value,
  // except where TensorFlow's own arithmetic gives NaN: bilinear at an
  // infinite coordinate in constant mode (weights inf - inf).
  const std::vector<float> src = {1, 2, 3, 4, 5, 6};
  for (const std::vector<double>& c : {std::vector<double>{1e30, 0, 0, 0, 1, 0, 0, 0},
                                       std::vector<double>{-3e38, 0, 0, 0, 3e38, 0, 0, 0},
                                       std::vector<double>{1, 0, 0, 0, 1, 0, -1, 0}}) {
    Transform t;
    t.kind = TransformKind::kProjective;
    t.coefficients = c.data();
    for (FillMode mode : {FillMode::kConstant, FillMode::kNearest, FillMode::kReflect, FillMode::kWrap}) {
      for (Interpolation interp : {Interpolation::kNearest, Interpolation::kBilinear}) {
        WarpParams p = Params(interp, mode);
        p.tf_compat = true;
        const std::vector<float> out = RunF(src, 2, 3, t, p);
        const bool nan_allowed = mode == FillMode::kConstant && interp == Interpolation::kBilinear;
        for (float v : out) EXPECT_TRUE((v >= 0.0f && v <= 6.0f) || (nan_allowed && std::isnan(v))) << v;
      }
    }
  }
}

TEST(Warp, SplitWorkGivesTheSameResult) {
  // Rows are cut into units of 2^15 / out_w rows: 600 rows of width 64 make
  // several units; running them in reverse order changes nothing. The
  // expected result is the integer shift sx = x + 1, sy = y - 2.
  const int64_t H = 600, W = 64;
  std::vector<uint16_t> src(H * W);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i % 60000);
  const std::vector<double> c = {1, 0, 1, 0, 1, -2};
  const ParallelFor pf = ReversedChunks(1);
  const std::vector<uint16_t> out = WarpTo(src, DType::kUInt16, 1, H, W, 1, Affine(c),
                                        Params(Interpolation::kBilinear, FillMode::kConstant), H, W, &pf);
  for (int64_t y = 0; y < H; ++y) {
    for (int64_t x = 0; x < W; ++x) {
      const int64_t sx = x + 1, sy = y - 2;
      const uint16_t want = (sx < W && sy >= 0) ? src[sy * W + sx] : 0;
      ASSERT_EQ(out[y * W + x], want) << y << "," << x;
    }
  }
}

TEST(Warp, StridedSource) {
  // A 2x2 view, every other column of a 2x4 uint8 buffer, shifted by sx = x + 1.
  const uint8_t buf[8] = {1, 99, 2, 99, 3, 99, 4, 99};
  ConstImage x;
  x.data = buf;
  x.dtype = DType::kUInt8;
  x.geometry = ImageGeometry{1, 2, 2, 1, 8, 4, 2, 1};
  const std::vector<double> c = {1, 0, 1, 0, 1, 0};
  uint8_t out[4];
  ASSERT_OK(Warp(x, Affine(c), Params(Interpolation::kNearest, FillMode::kNearest), 2, 2, out, nullptr));
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(out[2], 4);
  EXPECT_EQ(out[3], 4);
}

// ---------------------------------------------------------------------------
// gradient

TEST(WarpGradient, BilinearQuarterPixel) {
  // sx = x + 0.25 on {.,.,.,.}: output x takes 0.75 of tap x and 0.25 of
  // tap x + 1; with grad_out = 1 the source gets {0.75, 1, 1, 1} (the last
  // output's second tap is a fill tap and takes nothing).
  const std::vector<float> src = {10, 20, 30, 40}, go = {1, 1, 1, 1};
  const std::vector<double> c = {1, 0, 0.25, 0, 1, 0};
  std::vector<float> gs(4, -1.0f);
  ASSERT_OK(WarpGradient(Dense(src.data(), DType::kFloat32, 1, 1, 4, 1), Affine(c),
                         Params(Interpolation::kBilinear, FillMode::kConstant), 1, 4, go.data(), gs.data(), nullptr));
  ExpectFloats(gs, {0.75f, 1, 1, 1});
  // nodata at pixel 1: outputs 0 and 1 renormalize onto their valid tap.
  WarpParams p = Params(Interpolation::kBilinear, FillMode::kConstant);
  p.has_nodata = true;
  p.nodata = 20;
  ASSERT_OK(WarpGradient(Dense(src.data(), DType::kFloat32, 1, 1, 4, 1), Affine(c), p, 1, 4, go.data(), gs.data(),
                         nullptr));
  // out0: tap 0 only -> 1; out1: tap 2 only -> 1; out2: 0.75 / 0.25 to 2, 3;
  // out3: tap 3 valid (0.75), tap 4 is fill = nodata (invalid) -> 1.
  ExpectFloats(gs, {1, 0, 1.75f, 1.25f});
}

TEST(WarpGradient, BicubicWeightsSumToOne) {
  // Keys' weights sum to 1 on each axis, so with grad_out = 1 and every tap
  // inside, the source gradient sums to the number of output pixels. With a
  // nodata pixel, each output renormalizes over its valid taps (bicubic falls
  // back to the inner bilinear): the sum is unchanged and the nodata pixel
  // gets nothing.
  const int64_t H = 8, W = 9, OH = 3, OW = 4;
  std::vector<float> src(H * W);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i % 7) + 1.0f;
  const std::vector<double> c = {1, 0, 2.3, 0, 1, 2.6};  // taps x 1..6, y 1..5 stay inside
  const std::vector<float> go(OH * OW, 1.0f);
  std::vector<float> gs(H * W);
  WarpParams p = Params(Interpolation::kBicubic, FillMode::kConstant);
  const ParallelFor pf = ReversedChunks(1);
  ASSERT_OK(WarpGradient(Dense(src.data(), DType::kFloat32, 1, H, W, 1), Affine(c), p, OH, OW, go.data(), gs.data(),
                         &pf));
  double sum = 0;
  for (float g : gs) sum += g;
  EXPECT_NEAR(sum, OH * OW, 1e-4);
  src[4 * W + 4] = -1;
  p.has_nodata = true;
  p.nodata = -1;
  ASSERT_OK(WarpGradient(Dense(src.data(), DType::kFloat32, 1, H, W, 1), Affine(c), p, OH, OW, go.data(), gs.data(),
                         nullptr));
  sum = 0;
  for (float g : gs) sum += g;
  EXPECT_NEAR(sum, OH * OW, 1e-4);
  EXPECT_EQ(gs[4 * W + 4], 0.0f);
}

TEST(WarpGradient, Errors) {
  const std::vector<float> src(4, 1.0f), go(4, 1.0f);
  std::vector<float> gs(4);
  const std::vector<double> c(12, 1.0);
  Transform t = Affine(c);
  t.count = 2;
  EXPECT_INVALID(WarpGradient(Dense(src.data(), DType::kFloat32, 1, 2, 2, 1), t, WarpParams{}, 2, 2, go.data(),
                              gs.data(), nullptr),
                 "matrix has 2 transforms but the image batch has 1 images");
  const std::vector<int32_t> i32(4, 1);
  EXPECT_INVALID(WarpGradient(Dense(i32.data(), DType::kInt32, 1, 2, 2, 1), Affine(c), WarpParams{}, 2, 2, go.data(),
                              gs.data(), nullptr),
                 "int32 is supported only by projective_transform");
}

// ---------------------------------------------------------------------------
// kind projective: ImageProjectiveTransformV3's arithmetic (core/warp_v3.h)

namespace v3 {

Transform Projective(const std::vector<double>& rows) {
  Transform t;
  t.kind = TransformKind::kProjective;
  t.coefficients = rows.data();
  t.count = static_cast<int64_t>(rows.size() / 8);
  return t;
}

WarpParams V3Params(Interpolation interp, FillMode mode, const std::vector<double>* fill = nullptr) {
  WarpParams p = Params(interp, mode, fill);
  p.tf_compat = true;
  return p;
}

}  // namespace v3

TEST(WarpV3, HeaderExample) {
  // sx = x + 0.5: bilinear midpoints {15, 25}, the last blends 30 with the fill 0.
  const std::vector<double> rows = {1, 0, 0.5, 0, 1, 0, 0, 0};
  const WarpParams p = v3::V3Params(Interpolation::kBilinear, FillMode::kConstant);
  const auto f = WarpTo<float>({10, 20, 30}, DType::kFloat32, 1, 1, 3, 1, v3::Projective(rows), p, 1, 3);
  EXPECT_EQ(f, (std::vector<float>{15, 25, 15}));
  // uint8 {10, 21, 31}: 15.5 and 26 and 15.5; results truncate: {15, 26, 15}.
  const auto u = WarpTo<uint8_t>({10, 21, 31}, DType::kUInt8, 1, 1, 3, 1, v3::Projective(rows), p, 1, 3);
  EXPECT_EQ(u, (std::vector<uint8_t>{15, 26, 15}));
}

TEST(WarpV3, NearestTiesAwayFromZeroAndNewDTypes) {
  // sx = x - 0.5: -0.5 rounds to -1 (outside: fill 7), 0.5 to 1, 1.5 to 2.
  const std::vector<double> rows = {1, 0, -0.5, 0, 1, 0, 0, 0};
  const std::vector<double> fill = {7};
  const WarpParams p = v3::V3Params(Interpolation::kNearest, FillMode::kConstant, &fill);
  const int64_t big = (int64_t{1} << 62) + 1;  // not a float: nearest copies it exactly
  const auto i64 = WarpTo<int64_t>({big, 2, 3}, DType::kInt64, 1, 1, 3, 1, v3::Projective(rows), p, 1, 3);
  EXPECT_EQ(i64, (std::vector<int64_t>{7, 2, 3}));
  const auto f64 = WarpTo<double>({0.1, 0.2, 0.3}, DType::kFloat64, 1, 1, 3, 1, v3::Projective(rows), p, 1, 3);
  EXPECT_EQ(f64, (std::vector<double>{7, 0.2, 0.3}));
}

TEST(WarpV3, FillConvertsAsTensorFlowOnX86) {
  // Everything outside. uint8 T(float): -1 -> 255 (low bits of int32 -1),
  // 300 -> 44, 2.75 -> 2; int32 T(3e9f) -> INT32_MIN.
  const std::vector<double> rows = {1, 0, 9, 0, 1, 0, 0, 0};
  for (const auto& [value, want] : std::vector<std::pair<double, uint8_t>>{{-1, 255}, {300, 44}, {2.75, 2}}) {
    const std::vector<double> fill = {value};
    const WarpParams p = v3::V3Params(Interpolation::kBilinear, FillMode::kConstant, &fill);
    const auto u = WarpTo<uint8_t>({1, 2}, DType::kUInt8, 1, 1, 2, 1, v3::Projective(rows), p, 1, 2);
    EXPECT_EQ(u, (std::vector<uint8_t>{want, want})) << value;
  }
  const std::vector<double> fill = {3e9};
  const WarpParams p = v3::V3Params(Interpolation::kNearest, FillMode::kConstant, &fill);
  const auto i32 = WarpTo<int32_t>({1, 2}, DType::kInt32, 1, 1, 2, 1, v3::Projective(rows), p, 1, 2);
  EXPECT_EQ(i32[0], std::numeric_limits<int32_t>::min());
}

TEST(WarpV3, ReflectAndWrapMapTheContinuousCoordinate) {
  // W = 4, sx = x - 1.5. reflect: -1.5 -> -(-1.5) - 1 = 0.5, -0.5 -> -0.5,
  // clamped to 0; wrap: -1.5 + 4 * (trunc(1.5 / 3) + 1) = 2.5, -0.5 -> 3.5,
  // clamped to 3. Bilinear on {0, 10, 20, 30}.
  const std::vector<double> rows = {1, 0, -1.5, 0, 1, 0, 0, 0};
  const std::vector<float> src = {0, 10, 20, 30};
  const auto r = WarpTo<float>(src, DType::kFloat32, 1, 1, 4, 1, v3::Projective(rows),
                               v3::V3Params(Interpolation::kBilinear, FillMode::kReflect), 1, 4);
  EXPECT_EQ(r, (std::vector<float>{5, 0, 5, 15}));
  const auto w = WarpTo<float>(src, DType::kFloat32, 1, 1, 4, 1, v3::Projective(rows),
                               v3::V3Params(Interpolation::kBilinear, FillMode::kWrap), 1, 4);
  EXPECT_EQ(w, (std::vector<float>{25, 30, 5, 15}));
}

TEST(WarpV3, KZeroGivesTheFill) {
  // k = 1 - 0.5 x is 0 at x = 2.
  const std::vector<double> rows = {1, 0, 0, 0, 1, 0, -0.5, 0};
  const std::vector<double> fill = {-4};
  const auto y = WarpTo<float>({1, 2, 3, 4}, DType::kFloat32, 1, 1, 4, 1, v3::Projective(rows),
                               v3::V3Params(Interpolation::kNearest, FillMode::kConstant, &fill), 1, 4);
  EXPECT_EQ(y[2], -4.0f);
}

TEST(WarpV3, VectorAndScalarStepsAgree) {
  // The first pixels of a wide row go through the vector step, those of a
  // narrow row (fewer than 4) through the scalar one: the same bits.
  std::vector<float> src(9 * 11 * 2);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>((i * 37) % 101) * 0.37f;
  const std::vector<double> rows = {0.93, 0.21, -2.5, -0.17, 1.08, 1.25, 0.003, -0.002};
  for (Interpolation interp : {Interpolation::kNearest, Interpolation::kBilinear}) {
    for (FillMode mode : {FillMode::kConstant, FillMode::kReflect, FillMode::kWrap, FillMode::kNearest}) {
      const WarpParams p = v3::V3Params(interp, mode);
      const auto wide = WarpTo<float>(src, DType::kFloat32, 1, 9, 11, 2, v3::Projective(rows), p, 12, 13);
      const auto narrow = WarpTo<float>(src, DType::kFloat32, 1, 9, 11, 2, v3::Projective(rows), p, 12, 3);
      for (int64_t y = 0; y < 12; ++y) {
        for (int64_t i = 0; i < 3 * 2; ++i) {
          EXPECT_EQ(std::memcmp(&wide[(y * 13) * 2 + i], &narrow[(y * 3) * 2 + i], 4), 0)
              << "row " << y << " element " << i;
        }
      }
    }
  }
}

TEST(WarpV3, OnlyProjectiveTakesItsDTypes) {
  const std::vector<int32_t> src = {1, 2, 3, 4};
  const std::vector<double> affine = {1, 0, 0, 0, 1, 0};
  std::vector<int32_t> dst(4);
  const Status s = Warp(Dense(src.data(), DType::kInt32, 1, 2, 2, 1), Affine(affine),
                        Params(Interpolation::kBilinear, FillMode::kConstant), 2, 2, dst.data(), nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("int32 is supported only by projective_transform"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace gilfree
