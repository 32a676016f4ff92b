// parallel.h promises results that do not depend on the number of threads:
// every op is run here serially and on several std::threads at once (under
// AddressSanitizer this also checks that concurrent units touch only their
// own memory), and the outputs must be bit-identical.
#include <cstring>
#include <random>
#include <vector>

#include "core/decode.h"
#include "core/normalize.h"
#include "core/warp.h"
#include "test_util.h"

namespace gilfree {
namespace {

using testing::Dense;

template <typename Op>
void ExpectSameOnThreads(Op op, size_t bytes) {
  std::vector<uint8_t> serial(bytes, 0xAB), threaded(bytes, 0xCD);
  ASSERT_OK(op(serial.data(), nullptr));
  const ParallelFor pf = testing::Threaded(1, 4);
  ASSERT_OK(op(threaded.data(), &pf));
  EXPECT_EQ(std::memcmp(serial.data(), threaded.data(), bytes), 0);
}

TEST(Threads, NormalizationOpsAreThreadCountInvariant) {
  // 3 images of 700 x 800 x 3 float32: several units per image.
  const int64_t N = 3, H = 700, W = 800, C = 3, n = N * H * W * C;
  std::vector<float> x(n);
  std::mt19937 rng(5);
  for (float& v : x) v = static_cast<float>(rng() % 100000) * 0.01f - 300.0f;
  const ConstImage img = Dense(x.data(), DType::kFloat32, N, H, W, C);
  const size_t bytes = static_cast<size_t>(n) * 4;
  const double mean[1] = {0.5}, sd[1] = {2};
  NormalizeParams np;
  np.mean = mean;
  np.mean_size = 1;
  np.std = sd;
  np.std_size = 1;
  ExpectSameOnThreads([&](void* y, const ParallelFor* pf) { return Normalize(img, np, DenseImage{y, DType::kFloat32}, pf); },
                      bytes);
  StandardizeParams sp;
  sp.per_channel = true;
  ExpectSameOnThreads([&](void* y, const ParallelFor* pf) { return Standardize(img, sp, DenseImage{y, DType::kFloat32}, pf); },
                      bytes);
  ExpectSameOnThreads(
      [&](void* y, const ParallelFor* pf) { return MinMaxScale(img, MaskParams{}, DenseImage{y, DType::kFloat16}, pf); },
      bytes / 2);
  PercentileParams pp;
  ExpectSameOnThreads(
      [&](void* y, const ParallelFor* pf) { return PercentileStretch(img, pp, DenseImage{y, DType::kBFloat16}, pf); },
      bytes / 2);
}

TEST(Threads, WarpAndGradientAreThreadCountInvariant) {
  const int64_t N = 2, H = 300, W = 200, C = 2;
  std::vector<uint16_t> src(N * H * W * C);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i * 2654435761u >> 16);
  const ConstImage img = Dense(src.data(), DType::kUInt16, N, H, W, C);
  const double c[6] = {0.9, 0.2, 3.5, -0.15, 1.1, -4.25};
  Transform t;
  t.kind = TransformKind::kAffine;
  t.coefficients = c;
  WarpParams p;
  p.interpolation = Interpolation::kBicubic;
  p.fill_mode = FillMode::kReflect;
  const int64_t OH = 250, OW = 260;
  ExpectSameOnThreads([&](void* y, const ParallelFor* pf) { return Warp(img, t, p, OH, OW, y, pf); },
                      static_cast<size_t>(N * OH * OW * C * 2));
  std::vector<float> go(N * OH * OW * C, 1.0f);
  ExpectSameOnThreads(
      [&](void* y, const ParallelFor* pf) {
        return WarpGradient(img, t, p, OH, OW, go.data(), static_cast<float*>(y), pf);
      },
      static_cast<size_t>(N * H * W * C * 4));
}

TEST(Threads, RecordsAreThreadCountInvariant) {
  const int64_t N = 5000, R = 11;
  std::vector<uint8_t> data(N * R);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 3);
  RecordSource src;
  src.base = data.data();
  src.num_records = N;
  ExpectSameOnThreads(
      [&](void* y, const ParallelFor* pf) {
        RecordField f[2];
        f[0] = {0, DType::kUInt8, 1, false, y};
        f[1] = {1, DType::kInt16, 5, true, static_cast<uint8_t*>(y) + N};
        return DecodeRecords(src, R, f, 2, pf);
      },
      static_cast<size_t>(N * 11));
}

}  // namespace
}  // namespace gilfree
