// Shared helpers of the core's unit tests: building images, decoding 16-bit
// floats by their definition, and checking error statuses.
#ifndef GILFREE_TESTS_TEST_UTIL_H_
#define GILFREE_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/dtype.h"
#include "core/image.h"
#include "core/parallel.h"
#include "core/status.h"

namespace gilfree {
namespace testing {

// A non-OK status of code InvalidArgument whose message contains `substr`.
inline ::testing::AssertionResult IsInvalid(const Status& s, const std::string& substr) {
  if (s.ok()) return ::testing::AssertionFailure() << "status is OK, expected InvalidArgument";
  if (s.code() != StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "code " << static_cast<int>(s.code()) << ": " << s.message();
  }
  if (s.message().find(substr) == std::string::npos) {
    return ::testing::AssertionFailure() << "message '" << s.message() << "' lacks '" << substr << "'";
  }
  return ::testing::AssertionSuccess();
}

#define EXPECT_INVALID(expr, substr) EXPECT_TRUE(::gilfree::testing::IsInvalid((expr), (substr)))
#define EXPECT_OK(expr)                                  \
  do {                                                   \
    const ::gilfree::Status _s = (expr);                 \
    EXPECT_TRUE(_s.ok()) << _s.message();                \
  } while (0)
#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::gilfree::Status _s = (expr);                 \
    ASSERT_TRUE(_s.ok()) << _s.message();                \
  } while (0)

// A dense C-contiguous [n, h, w, c] image over `data`.
inline ConstImage Dense(const void* data, DType dtype, int64_t n, int64_t h, int64_t w, int64_t c) {
  ConstImage x;
  x.data = data;
  x.dtype = dtype;
  const int64_t e = DTypeSize(dtype);
  x.geometry = ImageGeometry{n, h, w, c, h * w * c * e, w * c * e, c * e, e};
  return x;
}

// IEEE binary16 bits -> value, straight from the format's definition.
inline float HalfValue(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, frac = h & 1023;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(frac), -24);
  else if (exp == 31) v = frac ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(1024 + frac), exp - 25);
  return sign ? -v : v;
}

// bfloat16 bits -> value: the upper half of a float32.
inline float BFloat16Value(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// bfloat16 bits of a float32 that bfloat16 holds exactly (low half zero).
inline uint16_t BFloat16Exact(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  EXPECT_EQ(bits & 0xffffu, 0u) << f << " is not exact in bfloat16";
  return static_cast<uint16_t>(bits >> 16);
}

// A ParallelFor that cuts [0, total) into pieces of `grain` and runs them in
// reverse order: results must not depend on how the work is cut.
inline ParallelFor ReversedChunks(int64_t grain) {
  return [grain](int64_t total, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
    for (int64_t end = total; end > 0; end -= grain) fn(std::max<int64_t>(0, end - grain), end);
  };
}

// A ParallelFor that runs pieces of `grain` on `threads` std::threads at
// once (each piece on a thread of its own), as the TensorFlow adapter's
// thread pool may.
inline ParallelFor Threaded(int64_t grain, int threads) {
  return [grain, threads](int64_t total, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
    std::vector<std::thread> pool;
    for (int64_t begin = 0; begin < total; begin += grain) {
      pool.emplace_back(fn, begin, std::min(total, begin + grain));
      if (static_cast<int>(pool.size()) == threads) {
        for (std::thread& t : pool) t.join();
        pool.clear();
      }
    }
    for (std::thread& t : pool) t.join();
  };
}

}  // namespace testing
}  // namespace gilfree

#endif  // GILFREE_TESTS_TEST_UTIL_H_
