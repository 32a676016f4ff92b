// What the fuzz targets share: a check that aborts (so libFuzzer keeps the
// input) when a property of a decoder's result does not hold.
#ifndef GILFREE_FUZZ_FUZZ_COMMON_H_
#define GILFREE_FUZZ_FUZZ_COMMON_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define GILFREE_FUZZ_CHECK(cond)                                                      \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace gilfree {
namespace fuzz {

// Reads n little-endian bytes (n <= 8).
inline uint64_t Le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace fuzz
}  // namespace gilfree

#endif  // GILFREE_FUZZ_FUZZ_COMMON_H_
