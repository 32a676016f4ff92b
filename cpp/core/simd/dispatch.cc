// Chooses the kernel table for this CPU once, at first use.
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <numeric>

#include "kernels.h"

#if defined(GILFREE_HAVE_X86_TARGETS)
#include <cpuid.h>
#endif

namespace gilfree {
namespace simd {

namespace scalar {
const KernelTable* Table();
}
namespace baseline {
const KernelTable* Table();
}
#if defined(GILFREE_HAVE_X86_TARGETS)
namespace avx2 {
const KernelTable* Table();
}
namespace avx512 {
const KernelTable* Table();
}
#endif
#if defined(GILFREE_HAVE_NEON_TARGET)
namespace neon {
const KernelTable* Table();
}
#endif

int64_t PeriodFor(int64_t channels) {
  if (channels <= 0) return 1;
  const int64_t lcm = std::lcm(channels, int64_t{64});
  return lcm <= 4096 ? lcm : channels;
}

namespace {

#if defined(GILFREE_HAVE_X86_TARGETS)
// F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports does
// not know the name "f16c".
bool CpuHasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx & bit_F16C) != 0;
}
#endif

bool CpuHas(const char* name) {
#if defined(GILFREE_HAVE_X86_TARGETS)
  __builtin_cpu_init();
  if (std::strcmp(name, "avx2") == 0) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && CpuHasF16c();
  }
  if (std::strcmp(name, "avx512") == 0) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           CpuHas("avx2");
  }
#endif
#if defined(GILFREE_HAVE_NEON_TARGET)
  // Advanced SIMD (NEON) is part of the aarch64 base instruction set.
  if (std::strcmp(name, "neon") == 0) return true;
#endif
  return std::strcmp(name, "baseline") == 0 || std::strcmp(name, "scalar") == 0;
}

}  // namespace

const KernelTable* KernelsNamed(const char* name) {
  if (!CpuHas(name)) return nullptr;
  if (std::strcmp(name, "scalar") == 0) return scalar::Table();
  if (std::strcmp(name, "baseline") == 0) return baseline::Table();
#if defined(GILFREE_HAVE_X86_TARGETS)
  if (std::strcmp(name, "avx2") == 0) return avx2::Table();
  if (std::strcmp(name, "avx512") == 0) return avx512::Table();
#endif
#if defined(GILFREE_HAVE_NEON_TARGET)
  if (std::strcmp(name, "neon") == 0) return neon::Table();
#endif
  return nullptr;
}

const KernelTable& Kernels() {
  static const KernelTable* table = [] {
    // GILFREE_SIMD=scalar|baseline|avx2|avx512|neon forces a target (tests
    // hold each target to the scalar reference this way); an unavailable one
    // is ignored. "scalar" is never chosen otherwise.
    if (const char* forced = std::getenv("GILFREE_SIMD")) {
      if (const KernelTable* t = KernelsNamed(forced)) return t;
    }
    for (const char* name : {"avx512", "avx2", "neon", "baseline"}) {
      if (const KernelTable* t = KernelsNamed(name)) return t;
    }
    return baseline::Table();
  }();
  return *table;
}

const char* SimdLevel() { return Kernels().name; }

std::vector<const char*> BuiltTargets() {
  std::vector<const char*> names = {"scalar", "baseline"};
#if defined(GILFREE_HAVE_X86_TARGETS)
  names.insert(names.end(), {"avx2", "avx512"});
#endif
#if defined(GILFREE_HAVE_NEON_TARGET)
  names.push_back("neon");
#endif
  return names;
}

}  // namespace simd
}  // namespace gilfree
