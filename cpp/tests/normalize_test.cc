// Normalization kernels (core/normalize.h): normalize, standardize,
// minmax_scale, percentile_stretch, and the image layout rules (core/image.h).
// Expected values are computed by hand (stated in the comments) or, for
// percentiles of random data, by a sort-based implementation of
// numpy.percentile(method="linear") written here.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/normalize.h"
#include "test_util.h"

namespace gilfree {
namespace {

using testing::BFloat16Exact;
using testing::Dense;
using testing::HalfValue;
using testing::ReversedChunks;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

float BitsOf(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

DenseImage Out(std::vector<float>* y) { return DenseImage{y->data(), DType::kFloat32}; }

NormalizeParams Norm(const std::vector<double>& mean, const std::vector<double>& std, double scale = 1.0) {
  NormalizeParams p;
  p.mean = mean.data();
  p.mean_size = static_cast<int64_t>(mean.size());
  p.std = std.data();
  p.std_size = static_cast<int64_t>(std.size());
  p.scale = scale;
  return p;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-6f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": " << got[i];
    } else {
      EXPECT_NEAR(got[i], want[i], tol * std::max(1.0f, std::fabs(want[i]))) << "at " << i;
    }
  }
}

// ---------------------------------------------------------------------------
// normalize

TEST(Normalize, HeaderExampleUInt8) {
  // (x - 127.5) / 127.5: 0 -> -1, 128 -> 0.5 / 127.5 = 0.00392157, 255 -> 1.
  const uint8_t x[6] = {0, 128, 255, 255, 128, 0};
  std::vector<double> mean = {127.5}, sd = {127.5};
  std::vector<float> y(6);
  ASSERT_OK(Normalize(Dense(x, DType::kUInt8, 1, 1, 2, 3), Norm(mean, sd), Out(&y), nullptr));
  ExpectNear(y, {-1, 0.5f / 127.5f, 1, 1, 0.5f / 127.5f, -1});
}

TEST(Normalize, PerChannelMeanStdAndScale) {
  // (x * 0.5 - mean[c]) / std[c]: (5 - 1) / 1 = 4, (10 - 2) / 2 = 4, (15 - 3) / 3 = 4;
  // second pixel (2, 4, 6) * 0.5 = (1, 2, 3) -> 0, 0, 0.
  const float x[6] = {10, 20, 30, 2, 4, 6};
  std::vector<double> mean = {1, 2, 3}, sd = {1, 2, 3};
  std::vector<float> y(6);
  ASSERT_OK(Normalize(Dense(x, DType::kFloat32, 1, 1, 2, 3), Norm(mean, sd, 0.5), Out(&y), nullptr));
  ExpectNear(y, {4, 4, 4, 0, 0, 0});
}

TEST(Normalize, EveryInputDType) {
  std::vector<double> mean = {1}, sd = {2};  // y = (x - 1) / 2
  std::vector<float> y(3);
  {
    const uint16_t x[3] = {1, 65535, 3};
    ASSERT_OK(Normalize(Dense(x, DType::kUInt16, 1, 1, 3, 1), Norm(mean, sd), Out(&y), nullptr));
    ExpectNear(y, {0, 32767, 1});
  }
  {
    const int16_t x[3] = {-32768, -1, 5};
    ASSERT_OK(Normalize(Dense(x, DType::kInt16, 1, 1, 3, 1), Norm(mean, sd), Out(&y), nullptr));
    ExpectNear(y, {-16384.5f, -1, 2});
  }
  {
    // float16 bits: 0x3c00 = 1, 0x4500 = 5, 0xc000 = -2.
    const uint16_t x[3] = {0x3c00, 0x4500, 0xc000};
    ASSERT_OK(Normalize(Dense(x, DType::kFloat16, 1, 1, 3, 1), Norm(mean, sd), Out(&y), nullptr));
    ExpectNear(y, {0, 2, -1.5f});
  }
  {
    const uint16_t x[3] = {BFloat16Exact(1), BFloat16Exact(5), BFloat16Exact(-2)};
    ASSERT_OK(Normalize(Dense(x, DType::kBFloat16, 1, 1, 3, 1), Norm(mean, sd), Out(&y), nullptr));
    ExpectNear(y, {0, 2, -1.5f});
  }
}

TEST(Normalize, Int32KeepsPrecisionBeyondFloat32) {
  // 16777217 = 2^24 + 1 is not a float32; (x - 2^24) / 1 must still be 1.
  const int32_t x[3] = {16777217, 16777216, -16777215};
  std::vector<double> mean = {16777216}, sd = {1};
  std::vector<float> y(3);
  ASSERT_OK(Normalize(Dense(x, DType::kInt32, 1, 1, 3, 1), Norm(mean, sd), Out(&y), nullptr));
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], -33554431.0f);
}

TEST(Normalize, Float16AndBFloat16Outputs) {
  // y = x / 3 for x = 3, -6, 1: 1, -2, 1/3. float16 of 1/3 is 0x3555
  // (1.0101010101b * 2^-2 rounded to 10 fraction bits); bfloat16 of 1/3:
  // float32 0x3eaaaaab, low half 0xaaab > 0x8000 rounds up to 0x3eab.
  const float x[3] = {3, -6, 1};
  std::vector<double> mean = {0}, sd = {3};
  uint16_t h[3], b[3];
  ASSERT_OK(Normalize(Dense(x, DType::kFloat32, 1, 1, 3, 1), Norm(mean, sd),
                      DenseImage{h, DType::kFloat16}, nullptr));
  EXPECT_EQ(h[0], 0x3c00);
  EXPECT_EQ(h[1], 0xc000);
  EXPECT_EQ(h[2], 0x3555);
  ASSERT_OK(Normalize(Dense(x, DType::kFloat32, 1, 1, 3, 1), Norm(mean, sd),
                      DenseImage{b, DType::kBFloat16}, nullptr));
  EXPECT_EQ(b[0], 0x3f80);
  EXPECT_EQ(b[1], 0xc000);
  EXPECT_EQ(b[2], 0x3eab);
}

TEST(Normalize, NaNPropagates) {
  const float x[3] = {1, kNaN, 3};
  std::vector<double> mean = {0}, sd = {1};
  std::vector<float> y(3);
  ASSERT_OK(Normalize(Dense(x, DType::kFloat32, 1, 1, 3, 1), Norm(mean, sd), Out(&y), nullptr));
  ExpectNear(y, {1, kNaN, 3});
}

TEST(Normalize, StridedAndNegativeStrides) {
  // A 2x2 single-channel view of a 2x4 buffer taking every other column,
  // then the same view flipped left-right through a negative stride.
  const float buf[8] = {1, 100, 2, 100, 3, 100, 4, 100};
  std::vector<double> mean = {0}, sd = {1};
  std::vector<float> y(4);
  ConstImage x;
  x.data = buf;
  x.dtype = DType::kFloat32;
  x.geometry = ImageGeometry{1, 2, 2, 1, 32, 16, 8, 4};
  ASSERT_OK(Normalize(x, Norm(mean, sd), Out(&y), nullptr));
  ExpectNear(y, {1, 2, 3, 4});
  x.data = buf + 2;
  x.geometry.stride_w = -8;
  ASSERT_OK(Normalize(x, Norm(mean, sd), Out(&y), nullptr));
  ExpectNear(y, {2, 1, 4, 3});
}

TEST(Normalize, StridedChannels) {
  // Channels 2 floats apart (a [.., 3] slice of a [.., 6] array).
  const float buf[12] = {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0};
  std::vector<double> mean = {1, 2, 3}, sd = {1};
  std::vector<float> y(6);
  ConstImage x;
  x.data = buf;
  x.dtype = DType::kFloat32;
  x.geometry = ImageGeometry{1, 1, 2, 3, 48, 48, 24, 8};
  ASSERT_OK(Normalize(x, Norm(mean, sd), Out(&y), nullptr));
  ExpectNear(y, {0, 0, 0, 3, 3, 3});
}

TEST(Normalize, ManyChannelsAndSplitWork) {
  // 70 channels (period is not a multiple of 64), x[c] = c, mean[c] = c,
  // std 1: every output is 0; any split of the work gives the same.
  const int64_t C = 70, W = 5;
  std::vector<float> x(C * W);
  std::vector<double> mean(C), sd = {1};
  for (int64_t c = 0; c < C; ++c) mean[c] = static_cast<double>(c);
  for (int64_t i = 0; i < C * W; ++i) x[i] = static_cast<float>(i % C);
  std::vector<float> y(C * W, 1.0f);
  const ParallelFor pf = ReversedChunks(1);
  ASSERT_OK(Normalize(Dense(x.data(), DType::kFloat32, 1, 1, W, C), Norm(mean, sd), Out(&y), &pf));
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(Normalize, EmptyInputWritesNothingButValidates) {
  std::vector<double> mean = {0}, sd = {1}, zero = {0};
  float sentinel = 42;
  ConstImage x = Dense(nullptr, DType::kFloat32, 0, 2, 2, 1);
  EXPECT_OK(Normalize(x, Norm(mean, sd), DenseImage{&sentinel, DType::kFloat32}, nullptr));
  EXPECT_EQ(sentinel, 42);
  EXPECT_INVALID(Normalize(x, Norm(mean, zero), DenseImage{&sentinel, DType::kFloat32}, nullptr), "std[0]");
}

TEST(Normalize, Errors) {
  const float x[3] = {1, 2, 3};
  std::vector<float> y(3);
  const ConstImage img = Dense(x, DType::kFloat32, 1, 1, 1, 3);
  std::vector<double> one = {0}, two = {0, 1}, three = {1, 1, 1};
  EXPECT_INVALID(Normalize(img, Norm(two, one), Out(&y), nullptr), "mean has 2 values");
  EXPECT_INVALID(Normalize(img, Norm(one, two), Out(&y), nullptr), "std has 2 values");
  std::vector<double> bad_std = {1, 0, 1};
  EXPECT_INVALID(Normalize(img, Norm(one, bad_std), Out(&y), nullptr), "std[1] is 0");
  std::vector<double> nan_std = {NAN};
  EXPECT_INVALID(Normalize(img, Norm(one, nan_std), Out(&y), nullptr), "std[0]");
  std::vector<double> inf_mean = {0, 0, INFINITY};
  EXPECT_INVALID(Normalize(img, Norm(inf_mean, one), Out(&y), nullptr), "mean[2]");
  EXPECT_INVALID(Normalize(img, Norm(one, three, 0.0), Out(&y), nullptr), "scale is 0");
  EXPECT_INVALID(Normalize(img, Norm(one, three, NAN), Out(&y), nullptr), "scale");
  EXPECT_INVALID(Normalize(img, Norm(one, one), DenseImage{y.data(), DType::kUInt8}, nullptr),
                 "dtype must be float32, float16 or bfloat16, got uint8");
  const double d[3] = {1, 2, 3};
  EXPECT_INVALID(Normalize(Dense(d, DType::kFloat64, 1, 1, 1, 3), Norm(one, one), Out(&y), nullptr),
                 "x has unsupported dtype float64");
  EXPECT_INVALID(ValidateNormalize(Norm(two, one), 3), "expected a scalar or 1 or 3 values");
  // Channel count not known yet (-1): any lengths, but not none; values still checked.
  EXPECT_TRUE(ValidateNormalize(Norm(two, three), -1).ok());
  std::vector<double> none;
  EXPECT_INVALID(ValidateNormalize(Norm(none, one), -1), "mean has no values");
  EXPECT_INVALID(ValidateNormalize(Norm(one, none), 1), "std has no values");
  EXPECT_INVALID(ValidateNormalize(Norm(one, bad_std), -1), "std[1] is 0");
}

// ---------------------------------------------------------------------------
// standardize

TEST(Standardize, HeaderExample) {
  // m = 2.5, population s = sqrt(1.25) = 1.1180340.
  const float x[4] = {1, 2, 3, 4};
  std::vector<float> y(4);
  ASSERT_OK(Standardize(Dense(x, DType::kFloat32, 1, 1, 4, 1), StandardizeParams{}, Out(&y), nullptr));
  const float s = std::sqrt(1.25f);
  ExpectNear(y, {-1.5f / s, -0.5f / s, 0.5f / s, 1.5f / s});
}

TEST(Standardize, ConstantImageIsZero) {
  const uint8_t x[4] = {7, 7, 7, 7};
  std::vector<float> y(4, 1.0f);
  ASSERT_OK(Standardize(Dense(x, DType::kUInt8, 1, 2, 2, 1), StandardizeParams{}, Out(&y), nullptr));
  ExpectNear(y, {0, 0, 0, 0});
}

TEST(Standardize, FloorAndEpsilon) {
  // {0, 0.25}: m = 0.125, s = 0.125 < floor 1/sqrt(2): y = -+0.125 * sqrt(2).
  const float x[2] = {0, 0.25f};
  std::vector<float> y(2);
  ASSERT_OK(Standardize(Dense(x, DType::kFloat32, 1, 1, 2, 1), StandardizeParams{}, Out(&y), nullptr));
  ExpectNear(y, {-0.125f * std::sqrt(2.0f), 0.125f * std::sqrt(2.0f)});
  // {1, 3}: m = 2, s = 1. epsilon 2 > s: y = -+0.5; epsilon 0.5 < s: y = -+1.
  const float z[2] = {1, 3};
  StandardizeParams p;
  p.has_epsilon = true;
  p.epsilon = 2;
  ASSERT_OK(Standardize(Dense(z, DType::kFloat32, 1, 1, 2, 1), p, Out(&y), nullptr));
  ExpectNear(y, {-0.5f, 0.5f});
  p.epsilon = 0.5;
  ASSERT_OK(Standardize(Dense(z, DType::kFloat32, 1, 1, 2, 1), p, Out(&y), nullptr));
  ExpectNear(y, {-1, 1});
}

TEST(Standardize, PerChannelAndGlobal) {
  // Pixels (1, 10), (3, 30). Per channel: c0 m 2 s 1, c1 m 20 s 10 -> -1, -1, 1, 1.
  // Global: {1, 10, 3, 30}: m = 11, var = (100 + 1 + 64 + 361) / 4 = 131.5.
  const int16_t x[4] = {1, 10, 3, 30};
  std::vector<float> y(4);
  StandardizeParams p;
  p.per_channel = true;
  ASSERT_OK(Standardize(Dense(x, DType::kInt16, 1, 1, 2, 2), p, Out(&y), nullptr));
  ExpectNear(y, {-1, -1, 1, 1});
  p.per_channel = false;
  ASSERT_OK(Standardize(Dense(x, DType::kInt16, 1, 1, 2, 2), p, Out(&y), nullptr));
  const float s = std::sqrt(131.5f);
  ExpectNear(y, {-10 / s, -1 / s, -8 / s, 19 / s});
}

TEST(Standardize, StatisticsArePerImage) {
  // Image 0 {0, 2}: m 1, s 1; image 1 {10, 50}: m 30, s 20. Both give -1, 1.
  const uint16_t x[4] = {0, 2, 10, 50};
  std::vector<float> y(4);
  const ParallelFor pf = ReversedChunks(1);
  ASSERT_OK(Standardize(Dense(x, DType::kUInt16, 2, 1, 2, 1), StandardizeParams{}, Out(&y), &pf));
  ExpectNear(y, {-1, 1, -1, 1});
}

TEST(Standardize, LargeOffsetStaysExact) {
  // 1000001 and 1000003 are exact float32 values: m = 1000002, s = 1.
  const float x[2] = {1000001.0f, 1000003.0f};
  std::vector<float> y(2);
  ASSERT_OK(Standardize(Dense(x, DType::kFloat32, 1, 1, 2, 1), StandardizeParams{}, Out(&y), nullptr));
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[1], 1.0f);
}

TEST(Standardize, NaNMakesEverythingNaN) {
  const float x[3] = {1, kNaN, 3};
  std::vector<float> y(3);
  ASSERT_OK(Standardize(Dense(x, DType::kFloat32, 1, 1, 3, 1), StandardizeParams{}, Out(&y), nullptr));
  ExpectNear(y, {kNaN, kNaN, kNaN});
}

TEST(Standardize, Errors) {
  const float x[2] = {1, 2};
  std::vector<float> y(2);
  StandardizeParams p;
  p.has_epsilon = true;
  p.epsilon = 0;
  EXPECT_INVALID(Standardize(Dense(x, DType::kFloat32, 1, 1, 2, 1), p, Out(&y), nullptr), "epsilon is 0");
  p.epsilon = NAN;
  EXPECT_INVALID(ValidateStandardize(p), "epsilon is nan");
  p.epsilon = -1;
  EXPECT_INVALID(ValidateStandardize(p), "expected a finite number > 0");
  EXPECT_INVALID(Standardize(Dense(x, DType::kFloat32, 1, 1, 2, 1), StandardizeParams{},
                             DenseImage{y.data(), DType::kInt16}, nullptr),
                 "dtype must be");
}

// ---------------------------------------------------------------------------
// minmax_scale

TEST(MinMaxScale, HeaderExampleWithNodata) {
  // nodata 0 is masked: lo 10, hi 30 -> {fill, 0, 0.5, 1}.
  const uint16_t x[4] = {0, 10, 20, 30};
  std::vector<float> y(4);
  MaskParams p;
  p.has_nodata = true;
  p.nodata = 0;
  p.fill = -1;
  ASSERT_OK(MinMaxScale(Dense(x, DType::kUInt16, 1, 1, 4, 1), p, Out(&y), nullptr));
  ExpectNear(y, {-1, 0, 0.5f, 1});
}

TEST(MinMaxScale, NaNIsMaskedInFloatInputs) {
  const float x[3] = {kNaN, 2, 4};
  std::vector<float> y(3);
  MaskParams p;
  p.fill = 9;
  ASSERT_OK(MinMaxScale(Dense(x, DType::kFloat32, 1, 1, 3, 1), p, Out(&y), nullptr));
  ExpectNear(y, {9, 0, 1});
  // float16 NaN 0x7e00 and the float nodata -2 (0xc000).
  const uint16_t h[4] = {0x7e00, 0xc000, 0x3c00, 0x4000};  // NaN, -2, 1, 2
  p.has_nodata = true;
  p.nodata = -2;
  std::vector<float> z(4);
  ASSERT_OK(MinMaxScale(Dense(h, DType::kFloat16, 1, 1, 4, 1), p, Out(&z), nullptr));
  ExpectNear(z, {9, 9, 0, 1});
}

TEST(MinMaxScale, ConstantAndAllInvalid) {
  const int32_t x[3] = {5, 5, 5};
  std::vector<float> y(3, 1.0f);
  MaskParams p;
  ASSERT_OK(MinMaxScale(Dense(x, DType::kInt32, 1, 1, 3, 1), p, Out(&y), nullptr));
  ExpectNear(y, {0, 0, 0});
  p.has_nodata = true;
  p.nodata = 5;
  p.fill = -7;
  ASSERT_OK(MinMaxScale(Dense(x, DType::kInt32, 1, 1, 3, 1), p, Out(&y), nullptr));
  ExpectNear(y, {-7, -7, -7});
}

TEST(MinMaxScale, PerChannelOrGlobal) {
  // Pixels (0, 100), (10, 200). Per channel: {0, 0, 1, 1}. Global: lo 0,
  // hi 200: {0, 0.5, 0.05, 1}.
  const uint8_t x[4] = {0, 100, 10, 200};
  std::vector<float> y(4);
  MaskParams p;
  p.per_channel = true;
  ASSERT_OK(MinMaxScale(Dense(x, DType::kUInt8, 1, 1, 2, 2), p, Out(&y), nullptr));
  ExpectNear(y, {0, 0, 1, 1});
  p.per_channel = false;
  ASSERT_OK(MinMaxScale(Dense(x, DType::kUInt8, 1, 1, 2, 2), p, Out(&y), nullptr));
  ExpectNear(y, {0, 0.5f, 0.05f, 1});
}

TEST(MinMaxScale, UnrepresentableNodataMatchesNothing) {
  // 300 and 0.5 are not uint8 values; -1 is not either.
  const uint8_t x[3] = {0, 44, 255};
  std::vector<float> y(3);
  for (double nodata : {300.0, 0.5, -1.0, 44.5}) {
    MaskParams p;
    p.has_nodata = true;
    p.nodata = nodata;
    ASSERT_OK(MinMaxScale(Dense(x, DType::kUInt8, 1, 1, 3, 1), p, Out(&y), nullptr));
    ExpectNear(y, {0, 44.0f / 255.0f, 1});
  }
}

TEST(MinMaxScale, NegativeInt16AndBFloat16) {
  const int16_t x[3] = {-32768, 0, 32767};  // range 65535
  std::vector<float> y(3);
  ASSERT_OK(MinMaxScale(Dense(x, DType::kInt16, 1, 1, 3, 1), MaskParams{}, Out(&y), nullptr));
  ExpectNear(y, {0, 32768.0f / 65535.0f, 1});
  const uint16_t b[3] = {BFloat16Exact(-4), BFloat16Exact(0), BFloat16Exact(12)};
  ASSERT_OK(MinMaxScale(Dense(b, DType::kBFloat16, 1, 1, 3, 1), MaskParams{}, Out(&y), nullptr));
  ExpectNear(y, {0, 0.25f, 1});
}

TEST(MinMaxScale, Errors) {
  const float x[2] = {1, 2};
  uint8_t y[8];
  EXPECT_INVALID(MinMaxScale(Dense(x, DType::kFloat32, 1, 1, 2, 1), MaskParams{},
                             DenseImage{y, DType::kUInt8}, nullptr),
                 "dtype must be float32, float16 or bfloat16");
  const int64_t big[2] = {1, 2};
  float out[2];
  EXPECT_INVALID(MinMaxScale(Dense(big, DType::kInt64, 1, 1, 2, 1), MaskParams{},
                             DenseImage{out, DType::kFloat32}, nullptr),
                 "x has unsupported dtype int64");
}

// ---------------------------------------------------------------------------
// percentile_stretch

PercentileParams Pct(double low, double high) {
  PercentileParams p;
  p.low = low;
  p.high = high;
  return p;
}

TEST(PercentileStretch, HeaderExample) {
  // sorted {0, 1, 2, 3, 100}: 25% at position 1 -> 1, 75% at 3 -> 3.
  const float x[5] = {0, 1, 2, 3, 100};
  std::vector<float> y(5);
  ASSERT_OK(PercentileStretch(Dense(x, DType::kFloat32, 1, 1, 5, 1), Pct(25, 75), Out(&y), nullptr));
  ExpectNear(y, {0, 0, 0.5f, 1, 1});
}

TEST(PercentileStretch, LinearInterpolationBetweenRanks) {
  // {10, 20, 30, 40}: 10% at position 0.3 -> 13, 90% at 2.7 -> 37;
  // y = clamp((x - 13) / 24): {0, 7/24, 17/24, 1}.
  const uint8_t x[4] = {40, 10, 30, 20};
  std::vector<float> y(4);
  ASSERT_OK(PercentileStretch(Dense(x, DType::kUInt8, 1, 1, 4, 1), Pct(10, 90), Out(&y), nullptr));
  ExpectNear(y, {1, 0, 17.0f / 24, 7.0f / 24});
}

TEST(PercentileStretch, EqualBoundsGiveAStep) {
  // {5, 5, 5, 5, 9}: 0% and 50% are both 5 -> 0 where x <= 5, 1 above.
  const int16_t x[5] = {5, 9, 5, 5, 5};
  std::vector<float> y(5);
  ASSERT_OK(PercentileStretch(Dense(x, DType::kInt16, 1, 1, 5, 1), Pct(0, 50), Out(&y), nullptr));
  ExpectNear(y, {0, 1, 0, 0, 0});
}

TEST(PercentileStretch, MaskAndFill) {
  // nodata -1 and NaN are masked: valid {0, 10}: 0% = 0, 100% = 10.
  const float x[4] = {-1, 0, kNaN, 10};
  std::vector<float> y(4);
  PercentileParams p = Pct(0, 100);
  p.mask.has_nodata = true;
  p.mask.nodata = -1;
  p.mask.fill = 0.25;
  ASSERT_OK(PercentileStretch(Dense(x, DType::kFloat32, 1, 1, 4, 1), p, Out(&y), nullptr));
  ExpectNear(y, {0.25f, 0, 0.25f, 1});
  // Every element invalid: all fill.
  const float z[2] = {kNaN, -1};
  ASSERT_OK(PercentileStretch(Dense(z, DType::kFloat32, 1, 1, 2, 1), p, Out(&y), nullptr));
  EXPECT_EQ(y[0], 0.25f);
  EXPECT_EQ(y[1], 0.25f);
}

TEST(PercentileStretch, Errors) {
  const float x[2] = {1, 2};
  std::vector<float> y(2);
  const ConstImage img = Dense(x, DType::kFloat32, 1, 1, 2, 1);
  EXPECT_INVALID(PercentileStretch(img, Pct(-1, 50), Out(&y), nullptr), "low is -1");
  EXPECT_INVALID(PercentileStretch(img, Pct(0, 100.5), Out(&y), nullptr), "high is 100.5");
  EXPECT_INVALID(PercentileStretch(img, Pct(NAN, 50), Out(&y), nullptr), "low is nan");
  EXPECT_INVALID(PercentileStretch(img, Pct(60, 50), Out(&y), nullptr), "low (60) must be less than high (50)");
  EXPECT_INVALID(PercentileStretch(img, Pct(50, 50), Out(&y), nullptr), "must be less than high");
  EXPECT_INVALID(ValidatePercentile(Pct(0, INFINITY)), "expected a percentile in [0, 100]");
}

// numpy.percentile(v, q, method="linear") by sorting.
double NumpyPercentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= v.size()) return v.back();
  const double g = pos - std::floor(pos);
  return v[i] + (v[i + 1] - v[i]) * g;
}

struct Shape4 {
  int64_t n, h, w, c;
};

// Random images of every input dtype, with NaN and nodata, per channel and
// global, against the sort-based reference. Small images take the radix
// select, large ones (16384 or more elements per group) the histogram.
// `with_extremes` false leaves out low = 0, high = 100 (for data with
// infinities, whose stretch between them is moot).
template <typename Raw>
void CheckPercentilesOf(const std::vector<Raw>& x, DType dtype, double (*value)(Raw),
                        bool has_nodata, double nodata, Shape4 shape, const ParallelFor& pf,
                        bool with_extremes = true) {
  const int64_t N = shape.n, H = shape.h, W = shape.w, C = shape.c;
  ASSERT_EQ(static_cast<int64_t>(x.size()), N * H * W * C);
  for (bool per_channel : {true, false}) {
    for (auto [lo_q, hi_q] : {std::pair<double, double>{2, 98}, {0, 100}, {13.7, 50}, {33, 34}}) {
      if (!with_extremes && lo_q == 0) continue;
      PercentileParams p = Pct(lo_q, hi_q);
      p.mask.per_channel = per_channel;
      p.mask.has_nodata = has_nodata;
      p.mask.nodata = nodata;
      p.mask.fill = -5;
      std::vector<float> y(x.size());
      ASSERT_OK(PercentileStretch(Dense(x.data(), dtype, N, H, W, C), p, Out(&y), &pf));
      for (int64_t b = 0; b < N; ++b) {
        for (int64_t c = 0; c < (per_channel ? C : 1); ++c) {
          std::vector<double> valid;
          for (int64_t i = 0; i < H * W * C; ++i) {
            if (per_channel && i % C != c) continue;
            const double v = value(x[b * H * W * C + i]);
            if (std::isnan(v) || (has_nodata && v == nodata)) continue;
            valid.push_back(v);
          }
          ASSERT_FALSE(valid.empty());
          const double lo = NumpyPercentile(valid, lo_q), hi = NumpyPercentile(valid, hi_q);
          for (int64_t i = 0; i < H * W * C; ++i) {
            if (per_channel && i % C != c) continue;
            const double v = value(x[b * H * W * C + i]);
            const float got = y[b * H * W * C + i];
            if (std::isnan(v) || (has_nodata && v == nodata)) {
              EXPECT_EQ(got, -5.0f);
              continue;
            }
            double want = hi > lo ? (v - lo) / (hi - lo) : (v > lo ? 1.0 : 0.0);
            want = std::min(1.0, std::max(0.0, want));
            ASSERT_NEAR(got, want, 2e-5) << DTypeName(dtype) << " v=" << v << " lo=" << lo
                                         << " hi=" << hi << " q=" << lo_q << "," << hi_q;
          }
        }
      }
    }
  }
}

template <typename Raw>
void CheckRandomPercentiles(DType dtype, Raw (*make)(std::mt19937&), double (*value)(Raw),
                            bool has_nodata, double nodata, Shape4 shape = {2, 7, 31, 3},
                            const ParallelFor& pf = ReversedChunks(1)) {
  std::mt19937 rng(1234 + static_cast<int>(dtype));
  std::vector<Raw> x(shape.n * shape.h * shape.w * shape.c);
  for (Raw& r : x) r = make(rng);
  if (has_nodata) {
    // Every 5th element becomes nodata (the first element the generator made
    // equal to it, if any).
    const auto hit = std::find_if(x.begin(), x.end(), [&](Raw r) { return value(r) == nodata; });
    if (hit != x.end()) {
      const Raw r = *hit;
      for (size_t i = 0; i < x.size(); i += 5) x[i] = r;
    }
  }
  CheckPercentilesOf(x, dtype, value, has_nodata, nodata, shape, pf);
}

// Every input dtype: integers with and without nodata, floats with NaN and
// nodata 0 (both zeros), float16 / bfloat16 bit patterns.
void CheckEveryDType(Shape4 shape, const ParallelFor& pf) {
  CheckRandomPercentiles<uint8_t>(
      DType::kUInt8, [](std::mt19937& r) { return static_cast<uint8_t>(r() % 256); },
      [](uint8_t v) { return static_cast<double>(v); }, true, 17, shape, pf);
  CheckRandomPercentiles<uint16_t>(
      DType::kUInt16, [](std::mt19937& r) { return static_cast<uint16_t>(r() % 65536); },
      [](uint16_t v) { return static_cast<double>(v); }, false, 0, shape, pf);
  CheckRandomPercentiles<int16_t>(
      DType::kInt16, [](std::mt19937& r) { return static_cast<int16_t>(static_cast<int>(r() % 2000) - 1000); },
      [](int16_t v) { return static_cast<double>(v); }, true, -3, shape, pf);
  CheckRandomPercentiles<int32_t>(
      DType::kInt32, [](std::mt19937& r) { return static_cast<int32_t>(r()); },
      [](int32_t v) { return static_cast<double>(v); }, false, 0, shape, pf);
  CheckRandomPercentiles<float>(
      DType::kFloat32,
      [](std::mt19937& r) {
        const uint32_t k = r() % 100;
        if (k == 0) return kNaN;
        return std::ldexp(static_cast<float>(static_cast<int>(r() % 20001) - 10000), static_cast<int>(r() % 40) - 20);
      },
      [](float v) { return static_cast<double>(v); }, true, 0.0, shape, pf);
  // float16 / bfloat16 bit patterns: any finite value or NaN, both signs.
  CheckRandomPercentiles<uint16_t>(
      DType::kFloat16,
      [](std::mt19937& r) {
        uint16_t h = static_cast<uint16_t>(r());
        if ((h & 0x7c00) == 0x7c00) h = (r() % 8 == 0) ? 0x7e00 : static_cast<uint16_t>(h & 0xbfff);
        return h;
      },
      [](uint16_t h) { return static_cast<double>(HalfValue(h)); }, false, 0, shape, pf);
  CheckRandomPercentiles<uint16_t>(
      DType::kBFloat16,
      [](std::mt19937& r) {
        // Exponents 2^-100 .. 2^99: the stretch is float32 arithmetic, and a
        // range wider than FLT_MAX is out of its scope.
        const uint16_t b = static_cast<uint16_t>(r());
        return static_cast<uint16_t>((b & 0x807f) | ((27 + r() % 200) << 7));
      },
      [](uint16_t b) { return static_cast<double>(testing::BFloat16Value(b)); }, false, 0, shape, pf);
}


TEST(PercentileStretch, RandomDataEveryDTypeAgainstSortedReference) {
  CheckEveryDType({2, 7, 31, 3}, ReversedChunks(1));
}

// 16384 or more elements per group: the histogram (for 32-bit keys with a
// second pass over the buckets of the requested ranks), per group of three
// channels, one channel, and both with several threads.
TEST(PercentileStretch, LargeRandomImagesEveryDType) {
  CheckEveryDType({2, 128, 130, 3}, ReversedChunks(1));
  CheckEveryDType({1, 100, 170, 1}, testing::Threaded(1, 3));
}

TEST(PercentileStretch, ThirteenBandsInUnitsOfWork) {
  // 13 bands of 300 x 300 (1.17 M elements: two units of work), counted in
  // parallel; structured like satellite bands: a per-band level plus noise.
  std::mt19937 rng(77);
  std::normal_distribution<double> noise(0.0, 300.0);
  std::vector<uint16_t> x(300 * 300 * 13);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = 2000.0 + 400.0 * static_cast<double>(i % 13) + noise(rng);
    x[i] = static_cast<uint16_t>(std::min(10000.0, std::max(0.0, v)));
  }
  CheckPercentilesOf<uint16_t>(x, DType::kUInt16, [](uint16_t v) { return static_cast<double>(v); },
                               true, 2000, {1, 300, 300, 13}, testing::Threaded(1, 2));
}

TEST(PercentileStretch, LargeFloatImagesWithInfinitiesAndNaNPayloads) {
  // NaNs whose top 16 bits are those of an infinity (payload in the low bits
  // only), the infinities themselves, both zeros and nodata 0.
  std::mt19937 rng(5);
  std::vector<float> x(150 * 150 * 2);
  for (float& v : x) {
    const uint32_t k = rng() % 50;
    if (k == 0) {
      v = BitsOf(0x7f800001u + rng() % 0xfffe);
    } else if (k == 1) {
      v = BitsOf(0xff800001u + rng() % 0xfffe);
    } else if (k == 2) {
      v = (rng() % 2) ? kInf : -kInf;
    } else if (k == 3) {
      v = (rng() % 2) ? 0.0f : -0.0f;
    } else {
      v = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 16.0f;
    }
  }
  for (bool nodata : {false, true}) {
    CheckPercentilesOf<float>(x, DType::kFloat32, [](float v) { return static_cast<double>(v); }, nodata,
                              0.0, {1, 150, 150, 2}, ReversedChunks(1), /*with_extremes=*/false);
  }
}

TEST(PercentileStretch, LargeImagesOfFewDistinctValues) {
  // Buckets of far more than 4096 keys: int32 in a narrow range (one bucket)
  // and float32 of 5 values; uint16 of one value (a step, hi == lo).
  std::mt19937 rng(9);
  std::vector<int32_t> a(200 * 200);
  for (int32_t& v : a) v = static_cast<int32_t>(rng() % 20000) - 300;
  CheckPercentilesOf<int32_t>(a, DType::kInt32, [](int32_t v) { return static_cast<double>(v); }, true,
                              17, {1, 200, 200, 1}, ReversedChunks(1));
  std::vector<float> f(200 * 200);
  for (float& v : f) v = static_cast<float>(rng() % 5) * 0.25f - 0.5f;
  CheckPercentilesOf<float>(f, DType::kFloat32, [](float v) { return static_cast<double>(v); }, false, 0,
                            {1, 200, 100, 2}, ReversedChunks(1));
  std::vector<uint16_t> u(200 * 200, 4242);
  CheckPercentilesOf<uint16_t>(u, DType::kUInt16, [](uint16_t v) { return static_cast<double>(v); }, false,
                               0, {1, 200, 200, 1}, ReversedChunks(1));
}

// ---------------------------------------------------------------------------
// gradients: d loss / d x for loss = sum(grad * y). Expected values are worked
// by hand (comments) or are central finite differences of the forward op.

// d/dx[i] of sum(grad * op(x)) by central differences of step h, in float64
// arithmetic over float32 outputs.
template <typename Op>
std::vector<float> FiniteDifferences(std::vector<float> x, const std::vector<float>& grad,
                                     int64_t n, int64_t h, int64_t w, int64_t c, float step, Op op) {
  std::vector<float> dx(x.size()), y(x.size());
  auto loss = [&]() {
    EXPECT_TRUE(op(Dense(x.data(), DType::kFloat32, n, h, w, c), Out(&y)).ok());
    double total = 0;
    for (size_t i = 0; i < y.size(); ++i) total += static_cast<double>(grad[i]) * y[i];
    return total;
  };
  for (size_t i = 0; i < x.size(); ++i) {
    const float keep = x[i];
    x[i] = keep + step;
    const double up = loss();
    x[i] = keep - step;
    const double down = loss();
    x[i] = keep;
    dx[i] = static_cast<float>((up - down) / (2.0 * static_cast<double>(step)));
  }
  return dx;
}

TEST(Gradients, NormalizeIsScaleOverStd) {
  // dx = grad * scale / std[c]: scale 0.5, std {2, 4} -> grad * {0.25, 0.125}.
  const uint8_t x[4] = {1, 2, 3, 4};
  const float grad[4] = {1, 1, 2, -8};
  std::vector<double> mean = {1, 2}, sd = {2, 4};
  std::vector<float> dx(4);
  ASSERT_OK(NormalizeGradient(Dense(x, DType::kUInt8, 1, 1, 2, 2), Norm(mean, sd, 0.5), grad, dx.data(),
                              nullptr));
  ExpectNear(dx, {0.25f, 0.125f, 0.5f, -1});
  // Parameters are checked as by the forward op.
  std::vector<double> zero = {0};
  EXPECT_FALSE(NormalizeGradient(Dense(x, DType::kUInt8, 1, 1, 2, 2), Norm(mean, zero), grad, dx.data(),
                                 nullptr)
                   .ok());
}

TEST(Gradients, StandardizeHeaderExample) {
  // y = (x - m) / s, dx = (grad - mean(grad) - y * mean(grad * y)) / s with
  // y = {-3, -1, 1, 3} / (2 s), mean(grad) = 1/4, mean(grad * y) = -3 / (8 s):
  // dx[0] = (3/4 - 9 / (16 s^2)) / s = (0.75 - 0.45) / s = 0.3 / s, and so on.
  const float x[4] = {1, 2, 3, 4};
  const float grad[4] = {1, 0, 0, 0};
  std::vector<float> dx(4);
  ASSERT_OK(StandardizeGradient(Dense(x, DType::kFloat32, 1, 1, 4, 1), StandardizeParams{}, grad,
                                dx.data(), nullptr));
  const float s = std::sqrt(1.25f);
  ExpectNear(dx, {0.3f / s, -0.4f / s, -0.1f / s, 0.2f / s});
}

TEST(Gradients, StandardizeMatchesFiniteDifferences) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-3.0f, 5.0f);
  for (bool per_channel : {false, true}) {
    // Two images of 3 x 2 pixels x 3 channels; each image its own statistics.
    std::vector<float> x(2 * 3 * 2 * 3), grad(x.size());
    for (float& v : x) v = value(rng);
    for (float& v : grad) v = value(rng);
    StandardizeParams p;
    p.per_channel = per_channel;
    std::vector<float> dx(x.size());
    const ParallelFor pf = ReversedChunks(1);
    ASSERT_OK(StandardizeGradient(Dense(x.data(), DType::kFloat32, 2, 3, 2, 3), p, grad.data(), dx.data(),
                                  &pf));
    const std::vector<float> want =
        FiniteDifferences(x, grad, 2, 3, 2, 3, 1e-2f, [&](const ConstImage& in, const DenseImage& out) {
          return Standardize(in, p, out, nullptr);
        });
    ExpectNear(dx, want, 2e-3f);
  }
}

TEST(Gradients, StandardizeBelowTheFloorIsCentringOnly) {
  // {0, 0.25}: s = 0.125 < floor 1/sqrt(2), so y = (x - m) * sqrt(2) and
  // dx = (grad - mean(grad)) * sqrt(2): grad {1, 0} -> {0.5, -0.5} * sqrt(2).
  const float x[2] = {0, 0.25f};
  const float grad[2] = {1, 0};
  std::vector<float> dx(2);
  ASSERT_OK(StandardizeGradient(Dense(x, DType::kFloat32, 1, 1, 2, 1), StandardizeParams{}, grad,
                                dx.data(), nullptr));
  ExpectNear(dx, {0.5f * std::sqrt(2.0f), -0.5f * std::sqrt(2.0f)});
  // A constant image: the same, and finite.
  const float c[2] = {7, 7};
  ASSERT_OK(StandardizeGradient(Dense(c, DType::kFloat32, 1, 1, 2, 1), StandardizeParams{}, grad,
                                dx.data(), nullptr));
  ExpectNear(dx, {0.5f * std::sqrt(2.0f), -0.5f * std::sqrt(2.0f)});
}

TEST(Gradients, MinMaxHoldsTheRangeConstantAndZeroesMaskedElements) {
  // Header example: nodata 0, lo = 10, hi = 30 -> dx = grad / 20 where valid.
  const uint16_t x[4] = {0, 10, 20, 30};
  const float grad[4] = {5, 2, 4, -6};
  MaskParams p;
  p.has_nodata = true;
  p.nodata = 0;
  std::vector<float> dx(4, 99.0f);
  ASSERT_OK(MinMaxScaleGradient(Dense(x, DType::kUInt16, 1, 1, 4, 1), p, grad, dx.data(), nullptr));
  ExpectNear(dx, {0, 0.1f, 0.2f, -0.3f});
  // NaN is masked in float input; a constant band (hi == lo) has no slope.
  const float f[4] = {kNaN, 1, 1, 1};
  ASSERT_OK(MinMaxScaleGradient(Dense(f, DType::kFloat32, 1, 1, 4, 1), MaskParams{}, grad, dx.data(),
                                nullptr));
  ExpectNear(dx, {0, 0, 0, 0});
}

TEST(Gradients, PercentileZeroesClampedElementsAndSteps) {
  // Header example: lo = 1, hi = 3, so dx = grad / 2 for 1 <= x <= 3, else 0.
  const float x[5] = {0, 1, 2, 3, 100};
  const float grad[5] = {1, 2, 4, 6, 8};
  std::vector<float> dx(5, 99.0f);
  ASSERT_OK(PercentileStretchGradient(Dense(x, DType::kFloat32, 1, 1, 5, 1), Pct(25, 75), grad, dx.data(),
                                      nullptr));
  ExpectNear(dx, {0, 1, 2, 3, 0});
  // Equal percentiles give a step, flat on both sides.
  const int16_t s[5] = {5, 9, 5, 5, 5};
  ASSERT_OK(PercentileStretchGradient(Dense(s, DType::kInt16, 1, 1, 5, 1), Pct(0, 50), grad, dx.data(),
                                      nullptr));
  ExpectNear(dx, {0, 0, 0, 0, 0});
  EXPECT_FALSE(PercentileStretchGradient(Dense(x, DType::kFloat32, 1, 1, 5, 1), Pct(75, 25), grad,
                                         dx.data(), nullptr)
                   .ok());
}

// ---------------------------------------------------------------------------
// images large enough to be cut into several units of work (2^20 elements)

TEST(LargeImages, StatisticsMergeAcrossUnits) {
  // 2 images of 1100 x 1000 x 1 uint16: x = (r * 7 + c * 13) % 4001 in image
  // 0 and its 4000-complement in image 1. References in double by direct sums
  // and a sort.
  const int64_t N = 2, H = 1100, W = 1000, n = H * W;
  std::vector<uint16_t> x(N * n);
  for (int64_t r = 0; r < H; ++r) {
    for (int64_t c = 0; c < W; ++c) {
      const uint16_t v = static_cast<uint16_t>((r * 7 + c * 13) % 4001);
      x[r * W + c] = v;
      x[n + r * W + c] = static_cast<uint16_t>(4000 - v);
    }
  }
  const ConstImage img = Dense(x.data(), DType::kUInt16, N, H, W, 1);
  const ParallelFor pf = ReversedChunks(1);
  std::vector<float> y(N * n);
  ASSERT_OK(Standardize(img, StandardizeParams{}, Out(&y), &pf));
  for (int64_t b = 0; b < N; ++b) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i) s += x[b * n + i];
    const double m = s / n;
    for (int64_t i = 0; i < n; ++i) s2 += (x[b * n + i] - m) * (x[b * n + i] - m);
    const double sd = std::sqrt(s2 / n);
    for (int64_t i : {int64_t{0}, int64_t{12345}, n / 2, n - 1}) {
      EXPECT_NEAR(y[b * n + i], (x[b * n + i] - m) / sd, 1e-5) << b << " " << i;
    }
  }
  MaskParams mm;
  mm.has_nodata = true;
  mm.nodata = 0;  // 0 occurs in image 0 (r = c = 0) and 4000 is then the max
  ASSERT_OK(MinMaxScale(img, mm, Out(&y), &pf));
  for (int64_t b = 0; b < N; ++b) {
    uint16_t lo = 65535, hi = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (x[b * n + i] == 0) continue;
      lo = std::min(lo, x[b * n + i]);
      hi = std::max(hi, x[b * n + i]);
    }
    for (int64_t i : {int64_t{1}, int64_t{777}, n / 3, n - 1}) {
      if (x[b * n + i] == 0) continue;
      EXPECT_NEAR(y[b * n + i], static_cast<double>(x[b * n + i] - lo) / (hi - lo), 1e-6);
    }
  }
  ASSERT_OK(PercentileStretch(img, Pct(2, 98), Out(&y), &pf));
  for (int64_t b = 0; b < N; ++b) {
    const std::vector<double> v(x.begin() + b * n, x.begin() + (b + 1) * n);
    const double lo = NumpyPercentile(v, 2), hi = NumpyPercentile(v, 98);
    for (int64_t i : {int64_t{0}, int64_t{4242}, n / 2, n - 1}) {
      const double want = std::min(1.0, std::max(0.0, (x[b * n + i] - lo) / (hi - lo)));
      EXPECT_NEAR(y[b * n + i], want, 1e-5) << b << " " << i;
    }
  }
}

// ---------------------------------------------------------------------------
// image layout

TEST(DescribeImage, RanksOneToFive) {
  ImageGeometry g;
  const int64_t s1[1] = {7};
  ASSERT_OK(DescribeImage(1, s1, nullptr, DType::kUInt16, &g));
  EXPECT_EQ(g.batch, 1);
  EXPECT_EQ(g.height, 1);
  EXPECT_EQ(g.width, 7);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.stride_w, 2);
  const int64_t s2[2] = {5, 7};
  ASSERT_OK(DescribeImage(2, s2, nullptr, DType::kUInt8, &g));
  EXPECT_EQ(g.height, 5);
  EXPECT_EQ(g.stride_h, 7);
  // The header's example: (2, 5, 7, 3) uint8 with x[:, ::2]'s strides.
  const int64_t s4[4] = {2, 3, 7, 3}, st4[4] = {105, 42, 3, 1};
  ASSERT_OK(DescribeImage(4, s4, st4, DType::kUInt8, &g));
  EXPECT_EQ(g.batch, 2);
  EXPECT_EQ(g.height, 3);
  EXPECT_EQ(g.stride_n, 105);
  EXPECT_EQ(g.stride_h, 42);
  EXPECT_EQ(g.stride_w, 3);
  EXPECT_EQ(g.stride_c, 1);
  // Rank 5, contiguous: (2, 3, 4, 5, 1) float32 flattens to batch 6.
  const int64_t s5[5] = {2, 3, 4, 5, 1};
  ASSERT_OK(DescribeImage(5, s5, nullptr, DType::kFloat32, &g));
  EXPECT_EQ(g.batch, 6);
  EXPECT_EQ(g.stride_n, 80);
}

TEST(DescribeImage, Errors) {
  ImageGeometry g;
  const int64_t s[5] = {2, 3, 4, 5, 1};
  EXPECT_INVALID(DescribeImage(0, s, nullptr, DType::kUInt8, &g), "x must have rank >= 1");
  std::vector<int64_t> big(33, 1);
  EXPECT_INVALID(DescribeImage(33, big.data(), nullptr, DType::kUInt8, &g), "x has rank 33");
  const int64_t neg[3] = {2, -1, 3};
  EXPECT_INVALID(DescribeImage(3, neg, nullptr, DType::kUInt8, &g), "x has a negative dimension");
  // Batch axes (2, 3) whose strides do not nest: 3 * 20 != 1000.
  const int64_t st[5] = {1000, 20 * 4, 20, 5, 1};
  const int64_t shape[5] = {2, 3, 4, 5, 1};
  EXPECT_INVALID(DescribeImage(5, shape, st, DType::kUInt8, &g), "cannot be flattened without a copy");
}

}  // namespace
}  // namespace gilfree
