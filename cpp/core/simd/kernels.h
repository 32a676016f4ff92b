// The innermost loops of the image ops, compiled once per SIMD target
// (baseline x86-64, AVX2+FMA+F16C, AVX-512; NEON on aarch64) and chosen at run
// time from the CPU's features. One scalar source (kernels_impl.inc,
// warp_impl.inc) serves every target, and the compiler vectorizes its loops
// for each instruction set; the warps' sampling loops also have hand-written
// vector paths (vec.inc, warp_impl.inc). The "scalar" table is that source
// without the hand-written paths: the reference every target is tested
// against.
//
// All loops walk a dense span of `n` elements that starts at channel 0 of a
// pixel. Per-channel parameters come as arrays of length `period`, a multiple
// of the channel count (see PeriodFor), so element i uses entry i % period and
// the inner loop runs over contiguous memory.
#ifndef GILFREE_CORE_SIMD_KERNELS_H_
#define GILFREE_CORE_SIMD_KERNELS_H_

#include <cstdint>
#include <vector>

#include "../dtype.h"
#include "../image.h"
#include "../warp.h"

namespace gilfree {
namespace simd {

// Length of the per-position parameter arrays for `channels` channels: the
// least common multiple of the channel count and 64 (so short channel cycles
// still fill whole vectors), or the channel count itself when that is large.
int64_t PeriodFor(int64_t channels);

struct ApplyParams {
  // The offset is a float pair (offset + offset_lo) so that x - offset stays
  // exact to float precision when x is far from 0 and close to the offset.
  const float* offset = nullptr;     // [period]
  const float* offset_lo = nullptr;  // [period]
  const float* scale = nullptr;   // [period]
  int64_t period = 1;
  bool clamp01 = false;  // clamp the result to [0, 1]
  bool mask = false;     // write `fill` for NaN elements and, if has_nodata, nodata elements
  bool has_nodata = false;
  double nodata = 0.0;  // compared exactly with the element's value
  float fill = 0.0f;
};

// One call of the warp row loops: rows [row_begin, row_end) of output image
// `image` (see warp.h; warp.cc prepares these).
struct WarpRowsArgs {
  const ConstImage* src = nullptr;
  const Transform* transform = nullptr;
  const WarpParams* params = nullptr;
  const float* fill = nullptr;  // [channels]: fill_value resolved per channel
  float nodata = 0.0f;          // the value written for "no valid tap"
  int64_t out_h = 0, out_w = 0;
  void* dst = nullptr;          // dense [batch, out_h, out_w, channels]
  float* scratch = nullptr;     // [channels], private to the calling thread
};

struct KernelTable {
  const char* name;
  // y[i] = invalid(x[i]) ? fill : clamp((x[i] - offset[i % p] - offset_lo[i % p]) * scale[i % p])
  // in float32 (in float64 for int32 input, which float32 cannot hold exactly)
  void (*apply)(DType in, DType out, const void* x, void* y, int64_t n, const ApplyParams& p);
  // d = double(x[i]) - shift[i % p]; s1[i % p] += d; s2[i % p] += d * d
  void (*moments)(DType in, const void* x, int64_t n, int64_t period, const double* shift,
                  double* s1, double* s2);
  // Over valid elements (not NaN, not nodata when has_nodata):
  // lo[i % p] = min, hi[i % p] = max, count[i % p] += 1
  void (*minmax)(DType in, const void* x, int64_t n, int64_t period, bool has_nodata,
                 double nodata, double* lo, double* hi, int64_t* count);
  void (*warp_rows)(const WarpRowsArgs& args, int64_t image, int64_t row_begin, int64_t row_end);
};

// The best table for this CPU (chosen once).
const KernelTable& Kernels();
// The table of a named target ("scalar", "baseline", "avx2", "avx512",
// "neon"), or null when the target is not built or this CPU lacks it. For
// tests and benchmarks.
const KernelTable* KernelsNamed(const char* name);
// Name of the table Kernels() returns.
const char* SimdLevel();
// The targets built into this binary, in order of preference (best last):
// "scalar", "baseline", then "avx2", "avx512" (x86-64) or "neon" (aarch64).
// KernelsNamed(name) != nullptr tells which of them this CPU runs.
std::vector<const char*> BuiltTargets();

}  // namespace simd
}  // namespace gilfree

#endif  // GILFREE_CORE_SIMD_KERNELS_H_
