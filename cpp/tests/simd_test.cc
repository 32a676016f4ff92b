// The SIMD kernel tables (core/simd/kernels.h): every target this CPU runs
// must compute what the scalar table (the scalar source without the
// hand-written vector paths, compiled without FMA contraction) computes, on
// random inputs through every dtype and option. The ops' own expected values are held
// against every target by running the whole suite once per target
// (GILFREE_SIMD, see CMakeLists.txt); these tests cover the tables directly,
// and the dispatch itself.
#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/simd/kernels.h"
#include "test_util.h"

namespace gilfree {
namespace {

using simd::KernelTable;

// Every target name the core knows, on any architecture.
const char* const kAllTargets[] = {"scalar", "baseline", "avx2", "avx512", "neon"};

#if defined(__x86_64__) || defined(_M_X64)
// F16C is CPUID leaf 1, ECX bit 29 (clang has no "f16c" for __builtin_cpu_supports).
bool CpuHasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
#endif

bool CpuHasTarget(const std::string& name) {
  if (name == "baseline" || name == "scalar") return true;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && CpuHasF16c();
  if (name == "avx2") return avx2;
  if (name == "avx512") {
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  }
#elif defined(__aarch64__)
  // Advanced SIMD is part of the aarch64 base instruction set.
  if (name == "neon") return true;
#endif
  return false;
}

// The best target this CPU has, in the order the dispatch prefers them.
std::string BestTarget() {
  for (const char* name : {"avx512", "avx2", "neon"}) {
    if (CpuHasTarget(name)) return name;
  }
  return "baseline";
}

std::vector<const KernelTable*> OtherTargets() {
  std::vector<const KernelTable*> t;
  for (const char* name : kAllTargets) {
    if (std::strcmp(name, "scalar") == 0) continue;
    if (const KernelTable* k = simd::KernelsNamed(name)) t.push_back(k);
  }
  return t;
}

TEST(SimdDispatch, NamedTablesFollowTheCpu) {
  for (const char* name : kAllTargets) {
    const KernelTable* k = simd::KernelsNamed(name);
    EXPECT_EQ(k != nullptr, CpuHasTarget(name)) << name;
    if (k != nullptr) {
      EXPECT_STREQ(k->name, name);
    }
  }
  EXPECT_EQ(simd::KernelsNamed("sse9"), nullptr);
}

TEST(SimdDispatch, ForcedTargetIsUsed) {
  // GILFREE_SIMD names the target when the CPU has it; otherwise (or unset)
  // the best target this CPU has.
  const char* forced = std::getenv("GILFREE_SIMD");
  std::string want = BestTarget();
  if (forced != nullptr && CpuHasTarget(forced)) want = forced;
  EXPECT_EQ(std::string(simd::SimdLevel()), want);
  EXPECT_EQ(&simd::Kernels(), simd::KernelsNamed(want.c_str()));
  std::printf("SIMD target under test: %s\n", simd::SimdLevel());
}

TEST(SimdDispatch, PeriodFor) {
  // lcm(C, 64) up to 4096, else C itself.
  EXPECT_EQ(simd::PeriodFor(0), 1);
  EXPECT_EQ(simd::PeriodFor(1), 64);
  EXPECT_EQ(simd::PeriodFor(3), 192);
  EXPECT_EQ(simd::PeriodFor(64), 64);
  EXPECT_EQ(simd::PeriodFor(96), 192);
  EXPECT_EQ(simd::PeriodFor(100), 1600);
  EXPECT_EQ(simd::PeriodFor(65), 4160 > 4096 ? 65 : 4160);
}

// Random raw elements of an image dtype: a few NaN / infinity for floats.
std::vector<uint8_t> RandomElements(DType dtype, int64_t n, std::mt19937* rng) {
  const int64_t size = DTypeSize(dtype);
  std::vector<uint8_t> buf(static_cast<size_t>(n * size));
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* p = buf.data() + i * size;
    const uint32_t r = (*rng)();
    switch (dtype) {
      case DType::kFloat32: {
        float v = std::ldexp(static_cast<float>(static_cast<int>(r % 20001) - 10000), static_cast<int>((*rng)() % 16) - 8);
        if (r % 97 == 0) v = std::numeric_limits<float>::quiet_NaN();
        if (r % 89 == 0) v = 7.0f;  // the nodata used below
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::kFloat16:
      case DType::kBFloat16: {
        // Random finite bits (exponent not all ones), some NaN.
        const uint16_t exp_mask = dtype == DType::kFloat16 ? 0x7c00 : 0x7f80;
        uint16_t h = static_cast<uint16_t>(r);
        if ((h & exp_mask) == exp_mask) h = static_cast<uint16_t>(h ^ 0x4000);
        if (r % 97 == 0) h = static_cast<uint16_t>(exp_mask | 0x0040);
        std::memcpy(p, &h, 2);
        break;
      }
      default: {
        uint32_t v = r;
        if (r % 89 == 0) v = 7;
        std::memcpy(p, &v, static_cast<size_t>(size));
      }
    }
  }
  return buf;
}

// Element i of a buffer of `dtype` as a double.
double ValueAt(DType dtype, const uint8_t* p, int64_t i) {
  p += i * DTypeSize(dtype);
  switch (dtype) {
    case DType::kUInt8: return *p;
    case DType::kUInt16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case DType::kInt16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case DType::kInt32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case DType::kFloat16: { uint16_t v; std::memcpy(&v, p, 2); return testing::HalfValue(v); }
    case DType::kBFloat16: { uint16_t v; std::memcpy(&v, p, 2); return testing::BFloat16Value(v); }
    case DType::kFloat32: { float v; std::memcpy(&v, p, 4); return v; }
    default: return NAN;
  }
}

const DType kImageTypes[] = {DType::kUInt8,   DType::kUInt16,   DType::kInt16,  DType::kInt32,
                             DType::kFloat16, DType::kBFloat16, DType::kFloat32};

TEST(SimdTargets, ApplyMatchesBaseline) {
  const KernelTable* base = simd::KernelsNamed("scalar");
  ASSERT_NE(base, nullptr);
  std::mt19937 rng(7);
  const int64_t n = 1000 + 13;  // not a multiple of any vector width
  for (const KernelTable* k : OtherTargets()) {
    for (DType in : kImageTypes) {
      const std::vector<uint8_t> x = RandomElements(in, n, &rng);
      for (DType out : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
        for (int64_t period : {int64_t{64}, int64_t{192}}) {
          std::vector<float> off(period), off_lo(period), scale(period);
          for (int64_t j = 0; j < period; ++j) {
            off[j] = static_cast<float>(j % 3) * 10.0f - 5.0f;
            off_lo[j] = static_cast<float>(j % 3) * 1e-6f;
            scale[j] = 0.01f * static_cast<float>(1 + j % 5);
          }
          for (int variant = 0; variant < 4; ++variant) {
            simd::ApplyParams p;
            p.offset = off.data();
            p.offset_lo = off_lo.data();
            p.scale = scale.data();
            p.period = period;
            p.clamp01 = variant & 1;
            p.mask = variant >= 2;
            p.has_nodata = variant == 3;
            p.nodata = 7;
            p.fill = -3;
            const int64_t osz = DTypeSize(out);
            std::vector<uint8_t> yb(static_cast<size_t>(n * osz)), yk(yb.size());
            base->apply(in, out, x.data(), yb.data(), n, p);
            k->apply(in, out, x.data(), yk.data(), n, p);
            for (int64_t i = 0; i < n; ++i) {
              if (std::memcmp(yb.data() + i * osz, yk.data() + i * osz, static_cast<size_t>(osz)) != 0) {
                ADD_FAILURE() << k->name << " apply " << DTypeName(in) << "->" << DTypeName(out) << " variant "
                              << variant << " differs from scalar at " << i;
                break;
              }
            }
          }
        }
      }
    }
  }
}

TEST(SimdTargets, MomentsAndMinMaxMatchBaseline) {
  const KernelTable* base = simd::KernelsNamed("scalar");
  std::mt19937 rng(11);
  const int64_t n = 777, period = 192;
  for (const KernelTable* k : OtherTargets()) {
    for (DType in : kImageTypes) {
      const std::vector<uint8_t> x = RandomElements(in, n, &rng);
      std::vector<double> shift(period, 3.0);
      std::vector<double> s1b(period, 0), s2b(period, 0), s1k(period, 0), s2k(period, 0);
      base->moments(in, x.data(), n, period, shift.data(), s1b.data(), s2b.data());
      k->moments(in, x.data(), n, period, shift.data(), s1k.data(), s2k.data());
      for (int64_t j = 0; j < period; ++j) {
        if (std::isnan(s1b[j])) {
          EXPECT_TRUE(std::isnan(s1k[j]));
          continue;
        }
        EXPECT_NEAR(s1k[j], s1b[j], 1e-12 * std::max(1.0, std::fabs(s1b[j]))) << k->name << " " << DTypeName(in);
        EXPECT_NEAR(s2k[j], s2b[j], 1e-12 * std::max(1.0, std::fabs(s2b[j]))) << k->name << " " << DTypeName(in);
      }
      for (bool has_nodata : {false, true}) {
        const double inf = std::numeric_limits<double>::infinity();
        std::vector<double> lob(period, inf), hib(period, -inf), lok(period, inf), hik(period, -inf);
        std::vector<int64_t> cb(period, 0), ck(period, 0);
        base->minmax(in, x.data(), n, period, has_nodata, 7.0, lob.data(), hib.data(), cb.data());
        k->minmax(in, x.data(), n, period, has_nodata, 7.0, lok.data(), hik.data(), ck.data());
        EXPECT_EQ(lob, lok) << k->name << " " << DTypeName(in);
        EXPECT_EQ(hib, hik) << k->name << " " << DTypeName(in);
        EXPECT_EQ(cb, ck) << k->name << " " << DTypeName(in);
      }
    }
  }
}

// Maps of OH x OW points for WarpRowsMatchBaseline: runs of points inside an
// H x W source, runs far outside, points near and on the edges, exact
// half-pixel points (nearest ties) and NaN.
std::vector<float> TestMaps(int64_t OH, int64_t OW, int64_t H, int64_t W, std::mt19937* rng, bool is_y) {
  const int64_t n = is_y ? H : W;
  std::vector<float> m(static_cast<size_t>(OH * OW));
  std::uniform_real_distribution<float> inside(0.0f, static_cast<float>(n - 1));
  std::uniform_real_distribution<float> edge(-2.5f, 2.5f);
  for (int64_t i = 0; i < OH * OW; ++i) {
    const int64_t run = (i / 37) % 5;  // runs of 37 points of one kind
    float v;
    switch (run) {
      case 0: v = inside(*rng); break;
      case 1: v = (i % 2 ? -1000.0f : 1e6f) + edge(*rng); break;
      case 2: v = ((*rng)() % 2 ? 0.0f : static_cast<float>(n - 1)) + edge(*rng); break;
      case 3: v = static_cast<float>((*rng)() % (n + 2)) - 1.5f; break;  // x.5: ties
      default: v = (*rng)() % 23 == 0 ? std::numeric_limits<float>::quiet_NaN() : inside(*rng); break;
    }
    m[static_cast<size_t>(i)] = v;
  }
  return m;
}

TEST(SimdTargets, WarpRowsMatchBaseline) {
  const KernelTable* base = simd::KernelsNamed("scalar");
  std::mt19937 rng(13);
  const int64_t H = 40, W = 300, OH = 7, OW = 290;  // OW spans more than one 256-pixel segment
  // A rotation plus scale with fractional offsets, so taps fall inside,
  // across the edges and outside; and maps (TestMaps).
  const double a = 0.3, s = 1.1;
  const double coef[6] = {s * std::cos(a), -s * std::sin(a), 3.25, s * std::sin(a), s * std::cos(a), -2.5};
  Transform affine;
  affine.kind = TransformKind::kAffine;
  affine.coefficients = coef;
  const std::vector<float> map_x = TestMaps(OH, OW, H, W, &rng, false), map_y = TestMaps(OH, OW, H, W, &rng, true);
  Transform maps;
  maps.kind = TransformKind::kMaps;
  maps.map_x = map_x.data();
  maps.map_y = map_y.data();
  maps.map_stride_n = OH * OW;
  maps.map_stride_h = OW;
  maps.map_stride_w = 1;
  for (const KernelTable* k : OtherTargets()) {
   for (const Transform* transform : {&affine, &maps}) {
    const Transform& t = *transform;
    for (DType dtype : {DType::kUInt8, DType::kUInt16, DType::kInt16, DType::kFloat16, DType::kBFloat16,
                        DType::kFloat32}) {
      for (int64_t C : {1, 2, 3, 4, 8, 13}) {
        const std::vector<uint8_t> src = RandomElements(dtype, H * W * C, &rng);
        const ConstImage img = testing::Dense(src.data(), dtype, 1, H, W, C);
        double max_abs = 0;
        for (int64_t i = 0; i < H * W * C; ++i) {
          const double v = ValueAt(dtype, src.data(), i);
          if (std::isfinite(v)) max_abs = std::max(max_abs, std::fabs(v));
        }
        for (Interpolation interp : {Interpolation::kNearest, Interpolation::kBilinear, Interpolation::kBicubic}) {
          for (FillMode mode : {FillMode::kConstant, FillMode::kNearest, FillMode::kReflect, FillMode::kReflect101,
                                FillMode::kWrap}) {
            for (bool nodata : {false, true}) {
              WarpParams p;
              p.interpolation = interp;
              p.fill_mode = mode;
              p.has_nodata = nodata;
              p.nodata = 7;
              std::vector<float> fill(C, 5.0f), scratch(C);
              simd::WarpRowsArgs args;
              args.src = &img;
              args.transform = &t;
              args.params = &p;
              args.fill = fill.data();
              args.nodata = 7.0f;
              args.out_h = OH;
              args.out_w = OW;
              args.scratch = scratch.data();
              const int64_t bytes = OH * OW * C * DTypeSize(dtype);
              std::vector<uint8_t> yb(bytes), yk(bytes);
              args.dst = yb.data();
              base->warp_rows(args, 0, 0, OH);
              args.dst = yk.data();
              k->warp_rows(args, 0, 0, OH);
              // Targets may contract a * b + c into one FMA (the AVX2 and
              // AVX-512 files are built with -mfma; FMA is base aarch64 and
              // the NEON file is built with contraction), so source coordinates may
              // differ in their last bit: one float32 ulp of a coordinate
              // below 512 is 2^-15, which moves the tap weights by about that
              // much and the result by up to a few 2^-15 of the value range;
              // plus one output ulp (or one integer level) of rounding.
              const double out_ulp = dtype == DType::kFloat32    ? std::ldexp(max_abs, -23)
                                     : dtype == DType::kFloat16  ? std::ldexp(max_abs, -10)
                                     : dtype == DType::kBFloat16 ? std::ldexp(max_abs, -7)
                                                                 : 1.0;
              const double tol = 2 * out_ulp + 8 * std::ldexp(2 * max_abs, -15);
              for (int64_t i = 0; i < OH * OW * C; ++i) {
                const double vb = ValueAt(dtype, yb.data(), i), vk = ValueAt(dtype, yk.data(), i);
                if (std::isnan(vb) || std::isnan(vk)) {
                  EXPECT_TRUE(std::isnan(vb) && std::isnan(vk)) << k->name << " element " << i;
                  continue;
                }
                if (vb != vk && !(std::fabs(vb - vk) <= tol)) {
                  ADD_FAILURE() << k->name << (&t == &maps ? " maps" : " affine") << " warp " << DTypeName(dtype) << " C=" << C << " interp "
                                << static_cast<int>(interp) << " mode " << static_cast<int>(mode) << " nodata "
                                << nodata << " element " << i << ": " << vk << " vs scalar " << vb;
                  break;
                }
              }
            }
          }
        }
      }
    }
   }
  }
}

}  // namespace
}  // namespace gilfree
