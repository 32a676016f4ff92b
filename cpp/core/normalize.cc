#include "normalize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "elements.h"
#include "simd/kernels.h"

namespace gilfree {
namespace {

// Work is cut into units of whole rows of one image. The cut depends only on
// the shape, so results do not depend on the number of threads. Units are
// large (about a millisecond of work): waking another thread costs tens of
// microseconds, and in a parallel tf.data map the other cores are busy with
// other elements anyway, so only large tiles are split.
constexpr int64_t kApplyUnitElements = int64_t{1} << 20;
constexpr int64_t kStatsUnitElements = int64_t{1} << 20;
// Upper bound on the per-unit partial statistics held at once.
constexpr int64_t kMaxScratchBytes = int64_t{16} << 20;

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

Status CheckTypes(const ConstImage& x, const DenseImage& y) {
  if (!IsImageDType(x.dtype)) {
    return Status::InvalidArgument(std::string("x has unsupported dtype ") + DTypeName(x.dtype));
  }
  if (y.dtype != DType::kFloat32 && y.dtype != DType::kFloat16 && y.dtype != DType::kBFloat16) {
    return Status::InvalidArgument(std::string("dtype must be float32, float16 or bfloat16, got ") +
                                   DTypeName(y.dtype));
  }
  return Status::Ok();
}

struct RowPlan {
  int64_t height = 0;
  int64_t rows_per_unit = 1;
  int64_t units_per_image = 0;

  RowPlan(const ImageGeometry& g, int64_t target_elements) : height(g.height) {
    const int64_t row = std::max<int64_t>(1, g.width * g.channels);
    rows_per_unit = std::clamp<int64_t>(target_elements / row, 1, std::max<int64_t>(1, g.height));
    units_per_image = (g.height + rows_per_unit - 1) / rows_per_unit;
  }
  void RowsOf(int64_t unit_in_image, int64_t* r0, int64_t* r1) const {
    *r0 = unit_in_image * rows_per_unit;
    *r1 = std::min(height, *r0 + rows_per_unit);
  }
};

// Calls fn(span, n, first) for dense spans of whole pixels covering rows
// [r0, r1) of image b, where `first` is the index of the span's first element
// in the dense [N, H, W, C] order. Strided rows are gathered into `scratch`.
template <typename Fn>
void ForEachSpan(const ConstImage& x, int64_t b, int64_t r0, int64_t r1,
                 std::vector<unsigned char>* scratch, Fn&& fn) {
  const ImageGeometry& g = x.geometry;
  const int64_t isz = DTypeSize(x.dtype);
  const int64_t row_elems = g.width * g.channels;
  const auto* base = static_cast<const unsigned char*>(x.data) + b * g.stride_n;
  const bool pixels_dense = g.stride_c == isz || g.channels == 1;
  const bool rows_dense = pixels_dense && (g.stride_w == g.channels * isz || g.width == 1);
  const int64_t first = (b * g.height + r0) * row_elems;
  if (rows_dense && (g.stride_h == row_elems * isz || r1 - r0 == 1)) {
    fn(static_cast<const void*>(base + r0 * g.stride_h), (r1 - r0) * row_elems, first);
    return;
  }
  for (int64_t r = r0; r < r1; ++r) {
    const unsigned char* row = base + r * g.stride_h;
    const int64_t row_first = first + (r - r0) * row_elems;
    if (rows_dense) {
      fn(static_cast<const void*>(row), row_elems, row_first);
      continue;
    }
    scratch->resize(static_cast<size_t>(row_elems * isz));
    unsigned char* dst = scratch->data();
    for (int64_t w = 0; w < g.width; ++w) {
      const unsigned char* px = row + w * g.stride_w;
      if (pixels_dense) {
        std::memcpy(dst, px, static_cast<size_t>(g.channels * isz));
        dst += g.channels * isz;
      } else {
        for (int64_t c = 0; c < g.channels; ++c, dst += isz) std::memcpy(dst, px + c * g.stride_c, isz);
      }
    }
    fn(static_cast<const void*>(scratch->data()), row_elems, row_first);
  }
}

// Per-image affine parameters expanded to the kernel period: for image b,
// offset[b * period + j] applies to channel j % C.
struct PeriodicParams {
  int64_t period = 1;
  int64_t images = 0;  // 1 when shared by every image
  std::vector<float> offset, offset_lo, scale;

  PeriodicParams(int64_t channels, int64_t num_images)
      : period(simd::PeriodFor(channels)), images(num_images),
        offset(static_cast<size_t>(period * num_images)), offset_lo(offset.size()),
        scale(offset.size()) {}
  void Set(int64_t image, int64_t channel, int64_t channels, double off, double sc) {
    const float hi = static_cast<float>(off);
    const float lo = std::isfinite(hi) ? static_cast<float>(off - static_cast<double>(hi)) : 0.0f;
    for (int64_t j = channel; j < period; j += channels) {
      offset[image * period + j] = hi;
      offset_lo[image * period + j] = lo;
      scale[image * period + j] = static_cast<float>(sc);
    }
  }
};

// Whether a band's range (minmax_scale: max - min; percentile_stretch: hi - lo)
// spreads its values: positive, with a reciprocal that float32 holds (the
// kernels scale in float32). A range below 1 / FLT_MAX (about 2.9e-39: float32
// inputs that differ only in subnormal values, or percentiles a hair apart)
// counts as no range, as docs/normalization-spec.md states.
inline bool Spreads(double range) { return range > 0.0 && 1.0 / range <= FLT_MAX; }

// The same transform per image and channel, in float64, before it is
// expanded to the kernel period: y = (x - offset) * scale. `images` is 1 when
// every image shares it. `through_std` (standardize only) marks the images and
// channels whose scale is 1 / std rather than 1 / floor.
struct ChannelAffine {
  int64_t images = 0, channels = 0;
  std::vector<double> offset, scale;
  std::vector<char> through_std;

  ChannelAffine(int64_t c, int64_t num_images)
      : images(num_images), channels(c), offset(static_cast<size_t>(c * num_images)),
        scale(offset.size()), through_std(offset.size(), 0) {}
  void Set(int64_t image, int64_t channel, double off, double sc) {
    offset[image * channels + channel] = off;
    scale[image * channels + channel] = sc;
  }
  PeriodicParams Periodic() const {
    PeriodicParams pp(channels, images);
    for (int64_t b = 0; b < images; ++b) {
      for (int64_t c = 0; c < channels; ++c) {
        pp.Set(b, c, channels, offset[b * channels + c], scale[b * channels + c]);
      }
    }
    return pp;
  }
};

// y = transform(x) over the whole batch.
void ApplyAll(const ConstImage& x, const DenseImage& y, const PeriodicParams& pp,
              simd::ApplyParams base, const ParallelFor* parallel_for) {
  const ImageGeometry& g = x.geometry;
  const RowPlan plan(g, kApplyUnitElements);
  const int64_t osz = DTypeSize(y.dtype);
  const simd::KernelTable& k = simd::Kernels();
  const int64_t cost = plan.rows_per_unit * g.width * g.channels * 2;
  RunParallel(parallel_for, g.batch * plan.units_per_image, cost, [&](int64_t u0, int64_t u1) {
    std::vector<unsigned char> scratch;
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t b = u / plan.units_per_image;
      int64_t r0, r1;
      plan.RowsOf(u % plan.units_per_image, &r0, &r1);
      simd::ApplyParams p = base;
      const int64_t pi = pp.images == 1 ? 0 : b;
      p.offset = pp.offset.data() + pi * pp.period;
      p.offset_lo = pp.offset_lo.data() + pi * pp.period;
      p.scale = pp.scale.data() + pi * pp.period;
      p.period = pp.period;
      ForEachSpan(x, b, r0, r1, &scratch, [&](const void* span, int64_t n, int64_t first) {
        k.apply(x.dtype, y.dtype, span, static_cast<unsigned char*>(y.data) + first * osz, n, p);
      });
    }
  });
}

// Statistics in shards: for every image, `accumulate(slot, b, r0, r1)` fills
// one zero-initialised slot of `slot_size` T per unit of rows, possibly in
// parallel; then `reduce(b, slots, count)` sees that image's slots in order.
template <typename T, typename Accumulate, typename Reduce>
void ShardedStats(const ImageGeometry& g, const ParallelFor* parallel_for, int64_t slot_size,
                  int64_t unit_elements, Accumulate&& accumulate, Reduce&& reduce) {
  const RowPlan plan(g, unit_elements);
  const int64_t upi = plan.units_per_image;
  if (upi == 0) return;
  const int64_t per_image_bytes = upi * slot_size * static_cast<int64_t>(sizeof(T));
  const int64_t group = std::max<int64_t>(1, kMaxScratchBytes / std::max<int64_t>(1, per_image_bytes));
  const int64_t cost = plan.rows_per_unit * g.width * g.channels * 3;
  std::vector<T> slots;
  for (int64_t b0 = 0; b0 < g.batch; b0 += group) {
    const int64_t b1 = std::min(g.batch, b0 + group);
    slots.assign(static_cast<size_t>((b1 - b0) * upi * slot_size), T{});
    RunParallel(parallel_for, (b1 - b0) * upi, cost, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        int64_t r0, r1;
        plan.RowsOf(u % upi, &r0, &r1);
        accumulate(slots.data() + u * slot_size, b0 + u / upi, r0, r1);
      }
    });
    for (int64_t b = b0; b < b1; ++b) reduce(b, slots.data() + (b - b0) * upi * slot_size, upi);
  }
}

bool IsEmpty(const ImageGeometry& g) { return g.num_elements() == 0; }

// ---------------------------------------------------------------------------
// Order statistics for percentile_stretch.

// numpy.percentile(method="linear") from the sorted values' neighbours.
struct QuantilePosition {
  int64_t below = 0, above = 0;  // ranks of the two neighbours
  double gamma = 0.0;
};

QuantilePosition PositionOf(double percent, int64_t n) {
  const double q = percent / 100.0;
  const double virtual_index = static_cast<double>(n - 1) * q;
  QuantilePosition p;
  const double below = std::floor(virtual_index);
  p.gamma = virtual_index - below;
  if (virtual_index >= static_cast<double>(n - 1)) {
    p.below = p.above = n - 1;
  } else if (virtual_index < 0) {
    p.below = p.above = 0;
  } else {
    p.below = static_cast<int64_t>(below);
    p.above = p.below + 1;
  }
  return p;
}

double Lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// The two ranks each percentile needs, in one list: {lo.below, lo.above,
// hi.below, hi.above}.
struct RankRequest {
  QuantilePosition lo, hi;
  int64_t ranks[4];
};

RankRequest RequestFor(const PercentileParams& params, int64_t n) {
  RankRequest r;
  r.lo = PositionOf(params.low, n);
  r.hi = PositionOf(params.high, n);
  r.ranks[0] = r.lo.below;
  r.ranks[1] = r.lo.above;
  r.ranks[2] = r.hi.below;
  r.ranks[3] = r.hi.above;
  return r;
}

// Order-preserving unsigned keys: a < b as values iff Key(a) < Key(b).
template <typename T>
struct OrderedKey;
template <>
struct OrderedKey<uint8_t> {
  static constexpr int kBits = 8;
  static uint32_t Of(uint8_t r) { return r; }
  static double Value(uint32_t k) { return static_cast<double>(k); }
};
template <>
struct OrderedKey<uint16_t> {
  static constexpr int kBits = 16;
  static uint32_t Of(uint16_t r) { return r; }
  static double Value(uint32_t k) { return static_cast<double>(k); }
};
template <>
struct OrderedKey<int16_t> {
  static constexpr int kBits = 16;
  static uint32_t Of(int16_t r) { return static_cast<uint16_t>(r) ^ 0x8000u; }
  static double Value(uint32_t k) {
    return static_cast<int16_t>(static_cast<uint16_t>(k ^ 0x8000u));
  }
};
template <>
struct OrderedKey<int32_t> {
  static constexpr int kBits = 32;
  static uint32_t Of(int32_t r) { return static_cast<uint32_t>(r) ^ 0x80000000u; }
  static double Value(uint32_t k) { return static_cast<int32_t>(k ^ 0x80000000u); }
};
// IEEE-style floats: negatives get all bits flipped, positives the sign bit.
// (NaN never needs a key: it is invalid.)
template <typename U>
U FloatKey(U bits, U sign) {
  return (bits & sign) ? static_cast<U>(~bits) : static_cast<U>(bits | sign);
}
template <typename U>
U FloatUnkey(U key, U sign) {
  return (key & sign) ? static_cast<U>(key & ~sign) : static_cast<U>(~key);
}
template <>
struct OrderedKey<Half> {
  static constexpr int kBits = 16;
  static uint32_t Of(uint16_t r) { return FloatKey<uint16_t>(r, 0x8000u); }
  static double Value(uint32_t k) {
    return HalfToFloat(FloatUnkey<uint16_t>(static_cast<uint16_t>(k), 0x8000u));
  }
};
template <>
struct OrderedKey<BFloat16> {
  static constexpr int kBits = 16;
  static uint32_t Of(uint16_t r) { return FloatKey<uint16_t>(r, 0x8000u); }
  static double Value(uint32_t k) {
    return BFloat16ToFloat(FloatUnkey<uint16_t>(static_cast<uint16_t>(k), 0x8000u));
  }
};
template <>
struct OrderedKey<float> {
  static constexpr int kBits = 32;
  static uint32_t Of(float r) { return FloatKey<uint32_t>(FloatToBits(r), 0x80000000u); }
  static double Value(uint32_t k) { return BitsToFloat(FloatUnkey<uint32_t>(k, 0x80000000u)); }
};

// Histogram units are larger than the statistics default: counts are exact,
// so the cut does not affect results, and fewer units mean less merging.
constexpr int64_t kHistogramUnitElements = int64_t{1} << 20;

// Digits of the radix select, most significant first.
struct DigitPlan {
  int count;
  int bits[3];
};
constexpr DigitPlan PlanFor(int key_bits) {
  return key_bits == 8    ? DigitPlan{1, {8, 0, 0}}
         : key_bits == 16 ? DigitPlan{2, {8, 8, 0}}
                          : DigitPlan{3, {11, 11, 10}};
}

// The shape of counting pass kLevel for keys of kKeyBits bits.
template <int kKeyBits, int kLevel>
struct Digit {
  static constexpr DigitPlan kPlan = PlanFor(kKeyBits);
  static constexpr int kConsumed =
      kLevel == 0 ? 0 : kPlan.bits[0] + (kLevel == 2 ? kPlan.bits[1] : 0);
  static constexpr int kBits = kPlan.bits[kLevel];
  static constexpr int kShift = kKeyBits - kConsumed - kBits;  // digit = (key >> kShift) & kMask
  static constexpr uint32_t kMask = (1u << kBits) - 1u;
  static constexpr int64_t kBins = int64_t{1} << kBits;
  // A group's histogram: level 0 counts every key; later levels count under
  // each of the 4 requests, plus one discard counter for keys none asked for
  // (padded so groups stay cache-line aligned; small enough for L1 with 13 groups).
  static constexpr int64_t kGroupStride = kLevel == 0 ? kBins : 4 * kBins + 16;
  static constexpr int64_t kDiscard = 4 * kBins;
  // Prefixes of up to 11 bits map to slots through a table; longer ones are compared.
  static constexpr int64_t kLutSize =
      (kLevel > 0 && kConsumed <= 11) ? (int64_t{1} << kConsumed) : 0;
};

// Which of a group's four requests a key prefix serves: the first request
// with that prefix, or 4 (none; counted in the discard slot).
inline uint32_t SlotOf(uint32_t pre, const uint32_t* want) {
  uint32_t s = 4;
  s = pre == want[3] ? 3 : s;
  s = pre == want[2] ? 2 : s;
  s = pre == want[1] ? 1 : s;
  s = pre == want[0] ? 0 : s;
  return s;
}

// One counting pass of the radix select over a dense span of whole pixels.
// Level 0 counts every valid key's top digit: hist[group][digit]. Later
// levels count each valid key under the request slot its prefix serves,
// hist[group][slot][digit] (or the group's discard counter), slots from
// lut[group][prefix] or by comparing with prefixes[group][0..3]. `per_channel` false puts every channel in group 0.
template <typename T, int kLevel, bool kCheckValid>
void CountDigits(const typename Element<T>::Raw* __restrict p, int64_t n, int64_t channels,
                 bool per_channel, const NodataMatcher<T> nodata,
                 const uint32_t* __restrict prefixes, const uint8_t* __restrict lut,
                 uint32_t* __restrict hist) {
  using K = OrderedKey<T>;
  using D = Digit<K::kBits, kLevel>;
  const int64_t hist_stride = per_channel ? D::kGroupStride : 0;
  const int64_t lut_stride = per_channel ? D::kLutSize : 0;
  const int64_t prefix_stride = per_channel ? 4 : 0;
  for (int64_t i = 0; i < n; i += channels) {
    uint32_t* h = hist;
    const uint8_t* l = lut;
    const uint32_t* want = prefixes;
    for (int64_t c = 0; c < channels;
         ++c, h += hist_stride, l += lut_stride, want += prefix_stride) {
      const auto r = p[i + c];
      uint32_t valid = 1;
      if constexpr (kCheckValid) valid = nodata.Invalid(r, Element<T>::ToFloat(r)) ? 0u : 1u;
      const uint32_t key = K::Of(r);
      const uint32_t digit = (key >> D::kShift) & D::kMask;
      if constexpr (kLevel == 0) {
        h[digit] += valid;
      } else {
        const uint32_t pre = key >> (D::kShift + D::kBits);
        uint32_t s;
        if constexpr (D::kLutSize > 0) {
          s = l[pre];
        } else {
          s = SlotOf(pre, want);
        }
        const int64_t index = s < 4 ? s * D::kBins + digit : D::kDiscard;
        h[index] += valid;
      }
    }
  }
}

template <typename T, int kLevel>
void CountDigitsFor(const void* span, int64_t n, int64_t channels, bool per_channel, bool check,
                    const NodataMatcher<T>& nodata, const uint32_t* prefixes, const uint8_t* lut,
                    uint32_t* hist) {
  using Raw = typename Element<T>::Raw;
  const Raw* p = static_cast<const Raw*>(span);
  if (check) {
    CountDigits<T, kLevel, true>(p, n, channels, per_channel, nodata, prefixes, lut, hist);
  } else {
    CountDigits<T, kLevel, false>(p, n, channels, per_channel, nodata, prefixes, lut, hist);
  }
}

// Percentile bounds by radix select over the keys of the valid elements: one
// counting pass per digit, each refining the (at most four) key prefixes that
// hold the requested ranks. O(n) per pass, exact, no sort and no copy.
// bounds[(image * groups + group) * 2 + {0, 1}] = {lo, hi}, NaN when empty.
template <typename T>
void RadixBounds(const ConstImage& x, const PercentileParams& params, int64_t groups,
                 const ParallelFor* pf, std::vector<double>* bounds) {
  using K = OrderedKey<T>;
  constexpr DigitPlan kPlan = PlanFor(K::kBits);
  const ImageGeometry& g = x.geometry;
  const int64_t C = g.channels;
  const NodataMatcher<T> nodata(params.mask.has_nodata, params.mask.nodata);

  // Per image and group: the requested ranks and, for each, the key prefix
  // found so far and the rank left within that prefix.
  struct Need {
    int64_t n = 0;
    RankRequest req;
    uint32_t prefix[4] = {0, 0, 0, 0};
    int64_t rank[4] = {0, 0, 0, 0};
  };
  std::vector<Need> needs(static_cast<size_t>(g.batch * groups));

  auto run_level = [&](auto level_tag) {
    constexpr int kLevel = decltype(level_tag)::value;
    using D = Digit<K::kBits, kLevel>;
    ShardedStats<uint32_t>(
        g, pf, groups * D::kGroupStride, kHistogramUnitElements,
        [&](uint32_t* hist, int64_t b, int64_t r0, int64_t r1) {
          // This image's request prefixes per group, and for short prefixes a
          // table from prefix to request slot.
          std::vector<uint32_t> prefixes(static_cast<size_t>(groups * 4));
          std::vector<uint8_t> lut(static_cast<size_t>(groups * D::kLutSize), 4);
          for (int64_t gi = 0; gi < groups; ++gi) {
            const Need& need = needs[b * groups + gi];
            for (int k = 0; k < 4; ++k) prefixes[gi * 4 + k] = need.prefix[k];
            for (int k = 3; k >= 0 && D::kLutSize > 0 && need.n > 0; --k)
              lut[gi * D::kLutSize + need.prefix[k]] = static_cast<uint8_t>(k);
          }
          const bool check = IsFloating(x.dtype) || nodata.active;
          std::vector<unsigned char> scratch;
          ForEachSpan(x, b, r0, r1, &scratch, [&](const void* span, int64_t n, int64_t) {
            CountDigitsFor<T, kLevel>(span, n, C, groups > 1, check, nodata, prefixes.data(),
                                      lut.data(), hist);
          });
        },
        [&](int64_t b, const uint32_t* slot_hists, int64_t count) {
          const int64_t size = groups * D::kGroupStride;
          std::vector<uint64_t> merged(static_cast<size_t>(size), 0);
          for (int64_t s = 0; s < count; ++s)
            for (int64_t i = 0; i < size; ++i) merged[i] += slot_hists[s * size + i];
          for (int64_t gi = 0; gi < groups; ++gi) {
            Need& need = needs[b * groups + gi];
            if (kLevel == 0) {
              for (int64_t d = 0; d < D::kBins; ++d) {
                need.n += static_cast<int64_t>(merged[gi * D::kBins + d]);
              }
              if (need.n == 0) continue;
              need.req = RequestFor(params, need.n);
              for (int k = 0; k < 4; ++k) need.rank[k] = need.req.ranks[k];
            }
            if (need.n == 0) continue;
            const Need before = need;
            for (int k = 0; k < 4; ++k) {
              int owner = 0;  // the slot that counted this request's prefix
              while (kLevel > 0 && before.prefix[owner] != before.prefix[k]) ++owner;
              const uint64_t* h = merged.data() + gi * D::kGroupStride + owner * D::kBins;
              int64_t below = 0;
              uint32_t d = 0;
              while (below + static_cast<int64_t>(h[d]) <= before.rank[k]) below += h[d++];
              need.prefix[k] = (kLevel == 0 ? 0u : before.prefix[k] << D::kBits) | d;
              need.rank[k] = before.rank[k] - below;
            }
          }
        });
  };
  run_level(std::integral_constant<int, 0>{});
  if constexpr (kPlan.count > 1) run_level(std::integral_constant<int, 1>{});
  if constexpr (kPlan.count > 2) run_level(std::integral_constant<int, 2>{});

  for (size_t i = 0; i < needs.size(); ++i) {
    const Need& need = needs[i];
    double* out = bounds->data() + i * 2;
    if (need.n == 0) {
      out[0] = out[1] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    double v[4];
    for (int k = 0; k < 4; ++k) v[k] = K::Value(need.prefix[k]);
    out[0] = Lerp(v[0], v[1], need.req.lo.gamma);
    out[1] = Lerp(v[2], v[3], need.req.hi.gamma);
  }
}


// ---------------------------------------------------------------------------
// Percentile bounds by histogram, for images with many elements per group:
// one counting pass over the top 16 bits of every valid key (the whole key of
// 8- and 16-bit types) gives exact ranks from cumulative counts. 32-bit keys
// take a second pass that gathers the keys of the (at most four) buckets
// holding the requested ranks and selects within those.

template <typename T>
struct HistShape {
  using K = OrderedKey<T>;
  static constexpr int kDigitBits = K::kBits < 16 ? K::kBits : 16;
  static constexpr int kShift = K::kBits - kDigitBits;  // digit = key >> kShift
  static constexpr int64_t kBins = int64_t{1} << kDigitBits;
  // A group's table: kBins counters, then one for invalid elements (padded
  // so that groups stay cache-line aligned).
  static constexpr int64_t kInvalid = kBins;
  static constexpr int64_t kGroupStride = kBins + 16;
};

// Pixels count into `tables` interleaved copies of the tables in turn (pixel
// i into copy i % tables), summed afterwards: increments of one counter wait
// on each other through memory, and neighbouring pixels often hit the same
// counter when there are few bins (8-bit keys) or one group follows another
// with nothing between (one channel).
template <typename T>
int TablesFor(int64_t lanes) {
  return OrderedKey<T>::kBits == 8 ? 4 : (lanes == 1 ? 2 : 1);
}

// Whether the histogram pays: its bins must not dwarf the elements (a small
// image takes the radix select, whose tables are small), and the tables must
// stay a moderate size. Its 32-bit counters hold an image's group.
template <typename T>
bool UseHistogram(const ImageGeometry& g, int64_t groups) {
  using S = HistShape<T>;
  const int64_t lanes = groups == 1 ? 1 : g.channels;
  const int64_t per_group = g.height * g.width * (groups == 1 ? g.channels : 1);
  const int64_t bytes = TablesFor<T>(lanes) * groups * S::kGroupStride * int64_t{4};
  return per_group * 4 >= S::kBins && per_group <= int64_t{0xffffffff} &&
         bytes <= (int64_t{16} << 20);
}

// Validity tested on the key, with integer operations only: valid keys lie
// in [valid_lo, valid_lo + valid_span] (for floating types every key but
// NaN's), and nodata's keys in [nodata_lo, nodata_lo + nodata_span] (both
// zeros for a zero nodata of a floating type). Agrees with NodataMatcher.
template <typename T>
struct KeyValidity {
  uint32_t valid_lo = 0, valid_span = 0xffffffffu;
  uint32_t nodata_lo = 0, nodata_span = 0;
  uint32_t nodata = 0;  // 1 when some key is nodata

  explicit KeyValidity(const NodataMatcher<T>& m) {
    using K = OrderedKey<T>;
    using Raw = typename Element<T>::Raw;
    if constexpr (Element<T>::kFloating) {
      constexpr float kInf = std::numeric_limits<float>::infinity();
      valid_lo = K::Of(RawOf(-kInf));
      valid_span = K::Of(RawOf(kInf)) - valid_lo;
      if (m.active) {
        const Raw r = RawOf(m.value);
        if (m.value == 0.0f) {
          nodata_lo = K::Of(RawOf(-0.0f));  // -0 and +0 have adjacent keys
          nodata_span = 1;
          nodata = 1;
        } else if (Element<T>::ToFloat(r) == m.value) {
          nodata_lo = K::Of(r);
          nodata = 1;
        }
      }
    } else {
      if (m.active) {
        nodata_lo = K::Of(static_cast<Raw>(m.raw));
        nodata = 1;
      }
    }
  }
  bool Invalid(uint32_t key) const {
    return ((key - valid_lo) > valid_span) | ((nodata & ((key - nodata_lo) <= nodata_span)) != 0);
  }

 private:
  // The element of a floating type nearest to v (exact when v is one).
  static typename Element<T>::Raw RawOf(float v) {
    if constexpr (std::is_same_v<T, float>) {
      return v;
    } else if constexpr (std::is_same_v<T, Half>) {
      return FloatToHalf(v);
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      return FloatToBFloat16(v);
    } else {
      return static_cast<typename Element<T>::Raw>(v);
    }
  }
};

template <typename T, bool kCheckValid>
inline uint32_t TopDigit(typename Element<T>::Raw r, const KeyValidity<T>& validity) {
  using S = HistShape<T>;
  const uint32_t key = OrderedKey<T>::Of(r);
  const uint32_t d = key >> S::kShift;
  if constexpr (kCheckValid) {
    return validity.Invalid(key) ? static_cast<uint32_t>(S::kInvalid) : d;
  }
  return d;
}

// Counts the digits of a dense span of whole pixels of `lanes` elements (the
// element in lane c into group c): pixel i into table copy offset[i % 4].
// kLanes > 0 fixes the lane count at compile time.
template <typename T, bool kCheckValid, int kLanes>
void CountTopDigits(const typename Element<T>::Raw* __restrict p, int64_t n, int64_t lanes,
                    const KeyValidity<T> validity, const int64_t* offset,
                    uint32_t* __restrict hist) {
  constexpr int64_t kStride = HistShape<T>::kGroupStride;
  const int64_t C = kLanes > 0 ? kLanes : lanes;
  const int64_t pixels = n / C;
  int64_t px = 0;
  if constexpr (kLanes > 0) {
    uint32_t* h0 = hist + offset[0];
    uint32_t* h1 = hist + offset[1];
    uint32_t* h2 = hist + offset[2];
    uint32_t* h3 = hist + offset[3];
    for (; px + 4 <= pixels; px += 4) {
      const auto* q = p + px * kLanes;
      for (int c = 0; c < kLanes; ++c) ++h0[c * kStride + TopDigit<T, kCheckValid>(q[c], validity)];
      q += kLanes;
      for (int c = 0; c < kLanes; ++c) ++h1[c * kStride + TopDigit<T, kCheckValid>(q[c], validity)];
      q += kLanes;
      for (int c = 0; c < kLanes; ++c) ++h2[c * kStride + TopDigit<T, kCheckValid>(q[c], validity)];
      q += kLanes;
      for (int c = 0; c < kLanes; ++c) ++h3[c * kStride + TopDigit<T, kCheckValid>(q[c], validity)];
    }
  }
  for (; px < pixels; ++px) {
    const auto* q = p + px * C;
    uint32_t* h = hist + offset[px & 3];
    for (int64_t c = 0; c < C; ++c, h += kStride) ++h[TopDigit<T, kCheckValid>(q[c], validity)];
  }
}

template <typename T, bool kCheckValid>
void CountTopDigitsFor(const typename Element<T>::Raw* p, int64_t n, int64_t lanes,
                       const KeyValidity<T>& validity, const int64_t* offset, uint32_t* hist) {
  switch (lanes) {
    case 1: CountTopDigits<T, kCheckValid, 1>(p, n, lanes, validity, offset, hist); break;
    case 2: CountTopDigits<T, kCheckValid, 2>(p, n, lanes, validity, offset, hist); break;
    case 3: CountTopDigits<T, kCheckValid, 3>(p, n, lanes, validity, offset, hist); break;
    case 4: CountTopDigits<T, kCheckValid, 4>(p, n, lanes, validity, offset, hist); break;
    default: CountTopDigits<T, kCheckValid, 0>(p, n, lanes, validity, offset, hist); break;
  }
}

// What the gathering pass of 32-bit keys looks for in one lane: the buckets
// (top 16 bits) of the four requests, as two ranges {first, first + span}
// (a request's two neighbours are adjacent ranks, so no valid key lies in a
// bucket between theirs), and each request's slot among the distinct ones.
struct GatherLane {
  uint32_t first[2] = {1u << 16, 1u << 16};  // no bucket: digits are < 2^16
  uint32_t span[2] = {0, 0};
  uint32_t bucket[4] = {0, 0, 0, 0};          // distinct buckets, `slots` of them
  int slots = 0;
};

// Appends every valid key of a dense span whose bucket is one of lane c's
// to out[c * 4 + slot].
template <typename T>
void GatherBuckets(const typename Element<T>::Raw* __restrict p, int64_t n, int64_t lanes,
                   const KeyValidity<T> validity, const GatherLane* want,
                   std::vector<uint32_t>* out) {
  for (int64_t c = 0; c < lanes; ++c) {
    const GatherLane& w = want[c];
    const uint32_t f0 = w.first[0], s0 = w.span[0], f1 = w.first[1], s1 = w.span[1];
    for (int64_t i = c; i < n; i += lanes) {
      const uint32_t key = OrderedKey<T>::Of(p[i]);
      const uint32_t d = key >> 16;
      if (((d - f0) <= s0) | ((d - f1) <= s1)) {
        if (validity.Invalid(key)) continue;
        for (int s = 0; s < w.slots; ++s) {
          if (w.bucket[s] == d) {
            out[c * 4 + s].push_back(key);
            break;
          }
        }
      }
    }
  }
}

// The keys at ranks[k] (k < count) of v, keys of one bucket (equal top 16 bits).
void SelectInBucket(std::vector<uint32_t>* v, const int64_t* ranks, int count, uint32_t* out) {
  if (v->size() <= 4096) {
    std::sort(v->begin(), v->end());
    for (int k = 0; k < count; ++k) out[k] = (*v)[static_cast<size_t>(ranks[k])];
    return;
  }
  std::vector<uint32_t> h(65536, 0);
  for (uint32_t e : *v) ++h[e & 0xffffu];
  const uint32_t top = v->front() & 0xffff0000u;
  for (int k = 0; k < count; ++k) {
    int64_t below = 0;
    uint32_t d = 0;
    while (below + h[d] <= ranks[k]) below += h[d++];
    out[k] = top | d;
  }
}

// Returns false only if the counts and the gathered keys disagree (which
// they cannot): the caller then takes the radix select.
template <typename T>
bool HistogramBounds(const ConstImage& x, const PercentileParams& params, int64_t groups,
                     const ParallelFor* pf, std::vector<double>* bounds) {
  using K = OrderedKey<T>;
  using S = HistShape<T>;
  using Raw = typename Element<T>::Raw;
  const ImageGeometry& g = x.geometry;
  const NodataMatcher<T> matcher(params.mask.has_nodata, params.mask.nodata);
  const KeyValidity<T> validity(matcher);
  // Invalid elements (NaN, nodata) are counted under their own digits and
  // taken out of the tables afterwards, where those digits hold nothing else:
  // always for 8- and 16-bit keys (a digit is a key). A 32-bit digit (the
  // top 16 bits) of nodata also holds other keys, so with nodata the counting
  // tests every element; NaN's digits hold only NaN but for two, shared with
  // the infinities, and counts there make it count again, testing.
  const bool always_check = S::kShift > 0 && matcher.active;
  // With one group every element of a pixel counts into it: the pixels are
  // then read as a flat run of one-element pixels.
  const int64_t lanes = groups == 1 ? 1 : g.channels;
  const int64_t per_group = g.height * g.width * (groups == 1 ? g.channels : 1);
  const int64_t table_size = groups * S::kGroupStride;
  const int tables = TablesFor<T>(lanes);
  const int64_t hist_size = tables * table_size;
  int64_t offset[4];
  for (int i = 0; i < 4; ++i) offset[i] = (i % tables) * table_size;
  const RowPlan plan(g, kHistogramUnitElements);
  const int64_t upi = plan.units_per_image;
  const int64_t unit_cost = plan.rows_per_unit * g.width * g.channels * 3;

  // Calls fn(p, n) for the dense spans of units [u0, u1) of image b.
  auto for_units = [&](int64_t b, int64_t u0, int64_t u1, auto&& fn) {
    std::vector<unsigned char> scratch;
    for (int64_t u = u0; u < u1; ++u) {
      int64_t r0, r1;
      plan.RowsOf(u, &r0, &r1);
      ForEachSpan(x, b, r0, r1, &scratch, [&](const void* span, int64_t n, int64_t) {
        fn(static_cast<const Raw*>(span), n);
      });
    }
  };
  // Counts units [u0, u1) of image b into hist (all its table copies).
  auto count_units = [&](int64_t b, int64_t u0, int64_t u1, bool check, uint32_t* hist) {
    for_units(b, u0, u1, [&](const Raw* p, int64_t n) {
      if (check) {
        CountTopDigitsFor<T, true>(p, n, lanes, validity, offset, hist);
      } else {
        CountTopDigitsFor<T, false>(p, n, lanes, validity, offset, hist);
      }
    });
  };
  // Counts image b into the first table copy of hist (hist_size counters,
  // zero), its units in parallel under `count_pf`. A worker counts into a
  // free set of tables, hist first; only workers running at the same time
  // need more sets, added after.
  auto count_image = [&](int64_t b, bool check, uint32_t* hist, const ParallelFor* count_pf) {
    std::mutex mu;
    std::vector<uint32_t*> free_sets = {hist};
    std::vector<std::vector<uint32_t>> more;
    RunParallel(count_pf, upi, unit_cost, [&](int64_t u0, int64_t u1) {
      uint32_t* h;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (free_sets.empty()) {
          more.emplace_back(static_cast<size_t>(hist_size), 0);
          free_sets.push_back(more.back().data());
        }
        h = free_sets.back();
        free_sets.pop_back();
      }
      count_units(b, u0, u1, check, h);
      std::lock_guard<std::mutex> lock(mu);
      free_sets.push_back(h);
    });
    for (const std::vector<uint32_t>& o : more)
      for (int64_t i = 0; i < hist_size; ++i) hist[i] += o[i];
    for (int t = 1; t < tables; ++t)
      for (int64_t i = 0; i < table_size; ++i) hist[i] += hist[t * table_size + i];
  };
  // Takes the invalid elements out of group gi's table: their number, or -1
  // when the table cannot tell them apart (counted without testing, and the
  // digits NaN shares with the infinities hold something).
  auto take_invalid = [&](uint32_t* h, bool checked) -> int64_t {
    int64_t invalid = h[S::kInvalid];
    h[S::kInvalid] = 0;
    auto take = [&](int64_t d) {
      invalid += h[d];
      h[d] = 0;
    };
    if constexpr (Element<T>::kFloating) {
      const int64_t lo = validity.valid_lo >> S::kShift;
      const int64_t hi = (validity.valid_lo + validity.valid_span) >> S::kShift;
      for (int64_t d = 0; d < lo; ++d) take(d);
      for (int64_t d = hi + 1; d < S::kBins; ++d) take(d);
      if (S::kShift > 0 && !checked && (h[lo] != 0 || h[hi] != 0)) return -1;
    }
    if (S::kShift == 0 && validity.nodata) {
      for (int64_t d = validity.nodata_lo; d <= validity.nodata_lo + validity.nodata_span; ++d) take(d);
    }
    return invalid;
  };

  // Counts image b into hist (hist_size counters) and computes its bounds.
  // `image_pf` parallelizes the passes over the image's units.
  auto do_image = [&](int64_t b, std::vector<uint32_t>* hist_buffer,
                      const ParallelFor* image_pf) -> bool {
    struct Want {
      int64_t n = 0;
      RankRequest req;
      uint32_t bin[4] = {0, 0, 0, 0};
      int64_t within[4] = {0, 0, 0, 0};  // rank within the bin
      uint32_t key[4] = {0, 0, 0, 0};
    };
    std::vector<Want> wants(static_cast<size_t>(groups));
    bool checked = always_check;
    uint32_t* hist = nullptr;
    for (bool done = false; !done;) {
      hist_buffer->assign(static_cast<size_t>(hist_size), 0);
      hist = hist_buffer->data();
      count_image(b, checked, hist, image_pf);
      done = true;
      for (int64_t gi = 0; gi < groups && done; ++gi) {
        const int64_t invalid = take_invalid(hist + gi * S::kGroupStride, checked);
        if (invalid < 0) {
          if (checked) return false;
          checked = true;
          done = false;
        }
        wants[gi].n = per_group - invalid;
      }
    }
    for (int64_t gi = 0; gi < groups; ++gi) {
      const uint32_t* h = hist + gi * S::kGroupStride;
      Want& w = wants[gi];
      if (w.n == 0) continue;
      w.req = RequestFor(params, w.n);
      // The requests in ascending rank order, located in one sweep.
      int order[4] = {0, 1, 2, 3};
      std::sort(order, order + 4, [&](int a, int c) { return w.req.ranks[a] < w.req.ranks[c]; });
      int64_t below = 0;
      int k = 0;
      for (int64_t d = 0; d < S::kBins && k < 4; ++d) {
        const int64_t next = below + h[d];
        while (k < 4 && w.req.ranks[order[k]] < next) {
          w.bin[order[k]] = static_cast<uint32_t>(d);
          w.within[order[k]] = w.req.ranks[order[k]] - below;
          ++k;
        }
        below = next;
      }
      if (k < 4) return false;
      for (int i = 0; i < 4; ++i) w.key[i] = w.bin[i];
    }
    if constexpr (S::kShift > 0) {
      std::vector<GatherLane> lane(static_cast<size_t>(lanes));
      for (int64_t gi = 0; gi < groups; ++gi) {
        const Want& w = wants[gi];
        if (w.n == 0) continue;
        GatherLane& l = lane[gi];
        for (int r = 0; r < 2; ++r) {
          l.first[r] = std::min(w.bin[2 * r], w.bin[2 * r + 1]);
          l.span[r] = std::max(w.bin[2 * r], w.bin[2 * r + 1]) - l.first[r];
        }
        for (int k = 0; k < 4; ++k) {
          int s = 0;
          while (s < l.slots && l.bucket[s] != w.bin[k]) ++s;
          if (s == l.slots) l.bucket[l.slots++] = w.bin[k];
        }
      }
      std::vector<std::vector<uint32_t>> gathered(static_cast<size_t>(lanes * 4));
      std::mutex mu;
      RunParallel(image_pf, upi, unit_cost, [&](int64_t u0, int64_t u1) {
        std::vector<std::vector<uint32_t>> local(static_cast<size_t>(lanes * 4));
        for_units(b, u0, u1, [&](const Raw* p, int64_t n) {
          GatherBuckets<T>(p, n, lanes, validity, lane.data(), local.data());
        });
        std::lock_guard<std::mutex> lock(mu);
        for (size_t i = 0; i < local.size(); ++i) {
          if (gathered[i].empty()) {
            gathered[i].swap(local[i]);
          } else {
            gathered[i].insert(gathered[i].end(), local[i].begin(), local[i].end());
          }
        }
      });
      for (int64_t gi = 0; gi < groups; ++gi) {
        Want& w = wants[gi];
        if (w.n == 0) continue;
        const GatherLane& l = lane[gi];
        const uint32_t* h = hist + gi * S::kGroupStride;
        for (int s = 0; s < l.slots; ++s) {
          std::vector<uint32_t>& v = gathered[gi * 4 + s];
          if (static_cast<int64_t>(v.size()) != h[l.bucket[s]]) return false;
          int64_t ranks[4];
          int which[4];
          int count = 0;
          for (int k = 0; k < 4; ++k) {
            if (w.bin[k] != l.bucket[s]) continue;
            ranks[count] = w.within[k];
            which[count++] = k;
          }
          uint32_t keys[4];
          SelectInBucket(&v, ranks, count, keys);
          for (int j = 0; j < count; ++j) w.key[which[j]] = keys[j];
        }
      }
    }
    for (int64_t gi = 0; gi < groups; ++gi) {
      double* out = bounds->data() + (b * groups + gi) * 2;
      const Want& w = wants[gi];
      if (w.n == 0) {
        out[0] = out[1] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      double v[4];
      for (int k = 0; k < 4; ++k) v[k] = K::Value(w.key[k]);
      out[0] = Lerp(v[0], v[1], w.req.lo.gamma);
      out[1] = Lerp(v[2], v[3], w.req.hi.gamma);
    }
    return true;
  };

  bool ok = true;
  std::mutex mu;
  if (upi == 1) {
    // Whole images per unit of work: each worker counts its images alone.
    RunParallel(pf, g.batch, unit_cost, [&](int64_t b0, int64_t b1) {
      std::vector<uint32_t> hist;
      bool all = true;
      for (int64_t b = b0; b < b1; ++b) all = do_image(b, &hist, nullptr) && all;
      if (!all) {
        std::lock_guard<std::mutex> lock(mu);
        ok = false;
      }
    });
    return ok;
  }
  // Large images one at a time, each image's units in parallel.
  std::vector<uint32_t> hist;
  for (int64_t b = 0; b < g.batch && ok; ++b) ok = do_image(b, &hist, pf);
  return ok;
}

}  // namespace

// ---------------------------------------------------------------------------

Status ValidateNormalize(const NormalizeParams& p, int64_t channels) {
  auto check_len = [&](const char* name, int64_t size) -> Status {
    if (size < 1) {
      return Status::InvalidArgument(std::string(name) +
                                     " has no values; expected a scalar or one value per channel");
    }
    if (channels >= 0 && size != 1 && size != channels) {
      return Status::InvalidArgument(std::string(name) + " has " + std::to_string(size) +
                                     " values but x has " + std::to_string(channels) +
                                     " channel(s); expected a scalar or 1 or " +
                                     std::to_string(channels) + " values");
    }
    return Status::Ok();
  };
  GILFREE_RETURN_IF_ERROR(check_len("mean", p.mean_size));
  GILFREE_RETURN_IF_ERROR(check_len("std", p.std_size));
  for (int64_t i = 0; i < p.mean_size; ++i) {
    if (!std::isfinite(p.mean[i])) {
      return Status::InvalidArgument("mean[" + std::to_string(i) + "] is " + Num(p.mean[i]) +
                                     "; expected a finite number");
    }
  }
  for (int64_t i = 0; i < p.std_size; ++i) {
    if (!std::isfinite(p.std[i]) || p.std[i] == 0.0) {
      return Status::InvalidArgument("std[" + std::to_string(i) + "] is " + Num(p.std[i]) +
                                     "; expected a finite nonzero number");
    }
  }
  if (!std::isfinite(p.scale) || p.scale == 0.0) {
    return Status::InvalidArgument("scale is " + Num(p.scale) + "; expected a finite nonzero number");
  }
  return Status::Ok();
}

Status ValidateStandardize(const StandardizeParams& p) {
  if (p.has_epsilon && !(std::isfinite(p.epsilon) && p.epsilon > 0.0)) {
    return Status::InvalidArgument("epsilon is " + Num(p.epsilon) +
                                   "; expected a finite number > 0 (or None for 1/sqrt(n))");
  }
  return Status::Ok();
}

Status ValidatePercentile(const PercentileParams& p) {
  for (auto [name, v] : {std::pair<const char*, double>{"low", p.low}, {"high", p.high}}) {
    if (!(v >= 0.0 && v <= 100.0)) {
      return Status::InvalidArgument(std::string(name) + " is " + Num(v) +
                                     "; expected a percentile in [0, 100]");
    }
  }
  if (!(p.low < p.high)) {
    return Status::InvalidArgument("low (" + Num(p.low) + ") must be less than high (" +
                                   Num(p.high) + ")");
  }
  return Status::Ok();
}

namespace {

// The transforms of the four ops, with their parameters and statistics
// resolved; each validates what it uses. Zero-size input: OK, nothing set.

Status NormalizeAffine(const ConstImage& x, const NormalizeParams& params, ChannelAffine* a) {
  const ImageGeometry& g = x.geometry;
  GILFREE_RETURN_IF_ERROR(ValidateNormalize(params, g.channels));
  for (int64_t c = 0; c < g.channels; ++c) {
    const double mean = params.mean[params.mean_size == 1 ? 0 : c];
    const double std = params.std[params.std_size == 1 ? 0 : c];
    // (x * scale - mean) / std == (x - mean / scale) * (scale / std)
    a->Set(0, c, mean / params.scale, params.scale / std);
  }
  return Status::Ok();
}

Status StandardizeAffine(const ConstImage& x, const StandardizeParams& params,
                         const ParallelFor* parallel_for, ChannelAffine* a) {
  const ImageGeometry& g = x.geometry;
  GILFREE_RETURN_IF_ERROR(ValidateStandardize(params));
  if (IsEmpty(g)) return Status::Ok();
  const int64_t C = g.channels;
  const int64_t period = simd::PeriodFor(C);
  const simd::KernelTable& k = simd::Kernels();
  // Moments are taken around a per-image shift (the first pixel's values) to
  // keep the sums small and the variance free of cancellation.
  std::vector<double> shift(static_cast<size_t>(g.batch * period));
  for (int64_t b = 0; b < g.batch; ++b) {
    const auto* px = static_cast<const unsigned char*>(x.data) + b * g.stride_n;
    for (int64_t c = 0; c < C; ++c) {
      double v = 0.0;
      VisitInput(x.dtype, [&](auto tag) {
        using T = decltype(tag);
        typename Element<T>::Raw r;
        std::memcpy(&r, px + c * g.stride_c, sizeof r);
        v = Element<T>::ToDouble(r);
      });
      if (!std::isfinite(v)) v = 0.0;
      for (int64_t j = c; j < period; j += C) shift[b * period + j] = v;
    }
  }
  ShardedStats<double>(
      g, parallel_for, 2 * period, kStatsUnitElements,
      [&](double* slot, int64_t b, int64_t r0, int64_t r1) {
        std::vector<unsigned char> scratch;
        // One row per call whatever the layout: the kernel's order of additions
        // depends on its spans, and a strided view (gathered row by row) must
        // give the bits of a contiguous array.
        for (int64_t r = r0; r < r1; ++r) {
          ForEachSpan(x, b, r, r + 1, &scratch, [&](const void* span, int64_t n, int64_t) {
            k.moments(x.dtype, span, n, period, shift.data() + b * period, slot, slot + period);
          });
        }
      },
      [&](int64_t b, const double* slots, int64_t count) {
        const double n = static_cast<double>(g.height * g.width);
        std::vector<double> mean(C), m2(C);
        for (int64_t c = 0; c < C; ++c) {
          double s1 = 0, s2 = 0;
          for (int64_t s = 0; s < count; ++s) {
            for (int64_t j = c; j < period; j += C) {
              s1 += slots[s * 2 * period + j];
              s2 += slots[s * 2 * period + period + j];
            }
          }
          mean[c] = shift[b * period + c] + s1 / n;
          // Rounding may make the sum slightly negative; NaN (from Inf - Inf) is kept.
          const double d2 = s2 - s1 * s1 / n;
          m2[c] = d2 < 0.0 ? 0.0 : d2;
        }
        // max(std, floor), noting which one it took (std on a tie, as
        // tf.maximum's gradient does).
        auto set = [&](int64_t c, double m, double sd, double elements) {
          const double floor = params.has_epsilon ? params.epsilon : 1.0 / std::sqrt(elements);
          const bool through_std = sd >= floor;
          a->Set(b, c, m, 1.0 / (through_std ? sd : std::max(sd, floor)));
          a->through_std[b * C + c] = through_std;
        };
        if (params.per_channel) {
          for (int64_t c = 0; c < C; ++c) set(c, mean[c], std::sqrt(m2[c] / n), n);
        } else {
          // Combine the channels' moments (parallel-variance formula).
          const double total = n * static_cast<double>(C);
          double grand = 0;
          for (int64_t c = 0; c < C; ++c) grand += mean[c] * n;
          grand /= total;
          double m2_total = 0;
          for (int64_t c = 0; c < C; ++c) m2_total += m2[c] + n * (mean[c] - grand) * (mean[c] - grand);
          for (int64_t c = 0; c < C; ++c) set(c, grand, std::sqrt(m2_total / total), total);
        }
      });
  return Status::Ok();
}

Status MinMaxAffine(const ConstImage& x, const MaskParams& params, const ParallelFor* parallel_for,
                    ChannelAffine* a) {
  const ImageGeometry& g = x.geometry;
  if (IsEmpty(g)) return Status::Ok();
  const int64_t C = g.channels;
  const int64_t period = simd::PeriodFor(C);
  const simd::KernelTable& k = simd::Kernels();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ShardedStats<double>(
      g, parallel_for, 3 * period, kStatsUnitElements,
      [&](double* slot, int64_t b, int64_t r0, int64_t r1) {
        double* lo = slot;
        double* hi = slot + period;
        std::vector<int64_t> count(static_cast<size_t>(period), 0);
        for (int64_t j = 0; j < period; ++j) {
          lo[j] = kInf;
          hi[j] = -kInf;
        }
        std::vector<unsigned char> scratch;
        ForEachSpan(x, b, r0, r1, &scratch, [&](const void* span, int64_t n, int64_t) {
          k.minmax(x.dtype, span, n, period, params.has_nodata, params.nodata, lo, hi, count.data());
        });
        for (int64_t j = 0; j < period; ++j) slot[2 * period + j] = static_cast<double>(count[j]);
      },
      [&](int64_t b, const double* slots, int64_t count) {
        const int64_t groups = params.per_channel ? C : 1;
        std::vector<double> lo(groups, kInf), hi(groups, -kInf);
        for (int64_t s = 0; s < count; ++s) {
          for (int64_t j = 0; j < period; ++j) {
            const int64_t gi = params.per_channel ? j % C : 0;
            lo[gi] = std::min(lo[gi], slots[s * 3 * period + j]);
            hi[gi] = std::max(hi[gi], slots[s * 3 * period + period + j]);
          }
        }
        for (int64_t c = 0; c < C; ++c) {
          const int64_t gi = params.per_channel ? c : 0;
          // No valid element: every element is masked, the parameters are moot.
          const bool any = lo[gi] <= hi[gi];
          const double range = any ? hi[gi] - lo[gi] : 0.0;
          a->Set(b, c, any ? lo[gi] : 0.0, Spreads(range) ? 1.0 / range : 0.0);
        }
      });
  return Status::Ok();
}

// The scale of a band whose two percentiles are equal: a step at lo.
constexpr double kStepScale = FLT_MAX;

Status PercentileAffine(const ConstImage& x, const PercentileParams& params,
                        const ParallelFor* parallel_for, ChannelAffine* a) {
  const ImageGeometry& g = x.geometry;
  GILFREE_RETURN_IF_ERROR(ValidatePercentile(params));
  if (IsEmpty(g)) return Status::Ok();
  const int64_t C = g.channels;
  const int64_t groups = params.mask.per_channel ? C : 1;
  std::vector<double> bounds(static_cast<size_t>(g.batch * groups * 2));
  VisitInput(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (!UseHistogram<T>(g, groups) ||
        !HistogramBounds<T>(x, params, groups, parallel_for, &bounds)) {
      RadixBounds<T>(x, params, groups, parallel_for, &bounds);
    }
  });
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      const double* lohi = bounds.data() + (b * groups + (groups == 1 ? 0 : c)) * 2;
      const double lo = lohi[0], hi = lohi[1];
      if (std::isnan(lo)) {
        a->Set(b, c, 0.0, 0.0);  // no valid element: all masked
      } else if (Spreads(hi - lo)) {
        a->Set(b, c, lo, 1.0 / (hi - lo));
      } else {
        // Step at lo: 0 where x <= lo, 1 (after clamping) where x > lo.
        a->Set(b, c, lo, kStepScale);
      }
    }
  }
  return Status::Ok();
}

// Apply parameters for the masked ops: NaN (float inputs) and nodata are
// masked only when they can occur.
simd::ApplyParams MaskedApply(DType dtype, const MaskParams& m, bool clamp) {
  simd::ApplyParams p;
  p.clamp01 = clamp;
  p.has_nodata = m.has_nodata;
  p.nodata = m.nodata;
  p.fill = static_cast<float>(m.fill);
  p.mask = m.has_nodata || IsFloating(dtype);
  return p;
}

// x as float64, element by element in the dense [N, H, W, C] order of image b.
template <typename Fn>
void ForEachValue(const ConstImage& x, int64_t b, Fn&& fn) {
  const ImageGeometry& g = x.geometry;
  VisitInput(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const auto* base = static_cast<const unsigned char*>(x.data) + b * g.stride_n;
    int64_t i = b * g.elements_per_image();
    for (int64_t h = 0; h < g.height; ++h) {
      for (int64_t w = 0; w < g.width; ++w) {
        const unsigned char* px = base + h * g.stride_h + w * g.stride_w;
        for (int64_t c = 0; c < g.channels; ++c, ++i) {
          typename Element<T>::Raw r;
          std::memcpy(&r, px + c * g.stride_c, sizeof r);
          fn(i, c, Element<T>::ToDouble(r));
        }
      }
    }
  });
}

// d loss / d x of y = (x - offset) * scale with the statistics held constant:
// grad * scale, and 0 where the element is masked (`mask`), where clamping
// to [0, 1] cut it (`clamp`), or where the band is a step (scale kStepScale).
void AffineGradient(const ConstImage& x, const ChannelAffine& a, const MaskParams* mask,
                    bool clamp, const float* grad, float* dx, const ParallelFor* parallel_for) {
  const ImageGeometry& g = x.geometry;
  const bool check_nan = mask != nullptr && IsFloating(x.dtype);
  RunParallel(parallel_for, g.batch, g.elements_per_image() * 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t ai = a.images == 1 ? 0 : b;
      ForEachValue(x, b, [&](int64_t i, int64_t c, double v) {
        const double off = a.offset[ai * a.channels + c], sc = a.scale[ai * a.channels + c];
        bool zero = sc == kStepScale;
        if (check_nan && std::isnan(v)) zero = true;
        if (mask != nullptr && mask->has_nodata && v == mask->nodata) zero = true;
        if (clamp && !zero) {
          const double y = (v - off) * sc;
          zero = !(y >= 0.0 && y <= 1.0);
        }
        dx[i] = zero ? 0.0f : static_cast<float>(grad[i] * sc);
      });
    }
  });
}

Status CheckGradientTypes(const ConstImage& x) {
  if (!IsImageDType(x.dtype)) {
    return Status::InvalidArgument(std::string("x has unsupported dtype ") + DTypeName(x.dtype));
  }
  return Status::Ok();
}

}  // namespace

Status Normalize(const ConstImage& x, const NormalizeParams& params, const DenseImage& y,
                 const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckTypes(x, y));
  ChannelAffine a(x.geometry.channels, 1);
  GILFREE_RETURN_IF_ERROR(NormalizeAffine(x, params, &a));
  if (IsEmpty(x.geometry)) return Status::Ok();
  ApplyAll(x, y, a.Periodic(), simd::ApplyParams{}, parallel_for);
  return Status::Ok();
}

Status Standardize(const ConstImage& x, const StandardizeParams& params, const DenseImage& y,
                   const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckTypes(x, y));
  ChannelAffine a(x.geometry.channels, x.geometry.batch);
  GILFREE_RETURN_IF_ERROR(StandardizeAffine(x, params, parallel_for, &a));
  if (IsEmpty(x.geometry)) return Status::Ok();
  ApplyAll(x, y, a.Periodic(), simd::ApplyParams{}, parallel_for);
  return Status::Ok();
}

Status MinMaxScale(const ConstImage& x, const MaskParams& params, const DenseImage& y,
                   const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckTypes(x, y));
  ChannelAffine a(x.geometry.channels, x.geometry.batch);
  GILFREE_RETURN_IF_ERROR(MinMaxAffine(x, params, parallel_for, &a));
  if (IsEmpty(x.geometry)) return Status::Ok();
  // Valid elements lie in [lo, hi], so clamping only removes float32 rounding
  // overshoot (the band's maximum must map to 1, not 1.0000001).
  ApplyAll(x, y, a.Periodic(), MaskedApply(x.dtype, params, /*clamp=*/true), parallel_for);
  return Status::Ok();
}

Status PercentileStretch(const ConstImage& x, const PercentileParams& params, const DenseImage& y,
                         const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckTypes(x, y));
  ChannelAffine a(x.geometry.channels, x.geometry.batch);
  GILFREE_RETURN_IF_ERROR(PercentileAffine(x, params, parallel_for, &a));
  if (IsEmpty(x.geometry)) return Status::Ok();
  ApplyAll(x, y, a.Periodic(), MaskedApply(x.dtype, params.mask, /*clamp=*/true), parallel_for);
  return Status::Ok();
}

Status NormalizeGradient(const ConstImage& x, const NormalizeParams& params, const float* grad,
                         float* dx, const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckGradientTypes(x));
  ChannelAffine a(x.geometry.channels, 1);
  GILFREE_RETURN_IF_ERROR(NormalizeAffine(x, params, &a));
  AffineGradient(x, a, nullptr, false, grad, dx, parallel_for);
  return Status::Ok();
}

Status StandardizeGradient(const ConstImage& x, const StandardizeParams& params, const float* grad,
                           float* dx, const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckGradientTypes(x));
  const ImageGeometry& g = x.geometry;
  const int64_t C = g.channels;
  ChannelAffine a(C, g.batch);
  GILFREE_RETURN_IF_ERROR(StandardizeAffine(x, params, parallel_for, &a));
  if (IsEmpty(g)) return Status::Ok();
  RunParallel(parallel_for, g.batch, g.elements_per_image() * 8, [&](int64_t b0, int64_t b1) {
    std::vector<double> sum_g(C), sum_gy(C), mean_g(C), mean_gy(C);
    for (int64_t b = b0; b < b1; ++b) {
      const double* off = a.offset.data() + b * C;
      const double* sc = a.scale.data() + b * C;
      std::fill(sum_g.begin(), sum_g.end(), 0.0);
      std::fill(sum_gy.begin(), sum_gy.end(), 0.0);
      ForEachValue(x, b, [&](int64_t i, int64_t c, double v) {
        sum_g[c] += grad[i];
        sum_gy[c] += grad[i] * ((v - off[c]) * sc[c]);
      });
      // Means over each band: a channel, or (not per_channel) the whole image.
      const double n = static_cast<double>(g.height * g.width);
      double all_g = 0, all_gy = 0;
      for (int64_t c = 0; c < C; ++c) all_g += sum_g[c], all_gy += sum_gy[c];
      for (int64_t c = 0; c < C; ++c) {
        mean_g[c] = params.per_channel ? sum_g[c] / n : all_g / (n * static_cast<double>(C));
        mean_gy[c] = params.per_channel ? sum_gy[c] / n : all_gy / (n * static_cast<double>(C));
        if (!a.through_std[b * C + c]) mean_gy[c] = 0.0;  // the floor does not depend on x
      }
      // y = (x - m) / s: dx = (g - mean(g) - y * mean(g * y)) / s, the last
      // term only when s is the standard deviation.
      ForEachValue(x, b, [&](int64_t i, int64_t c, double v) {
        const double y = (v - off[c]) * sc[c];
        dx[i] = static_cast<float>((grad[i] - mean_g[c] - y * mean_gy[c]) * sc[c]);
      });
    }
  });
  return Status::Ok();
}

Status MinMaxScaleGradient(const ConstImage& x, const MaskParams& params, const float* grad,
                           float* dx, const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckGradientTypes(x));
  ChannelAffine a(x.geometry.channels, x.geometry.batch);
  GILFREE_RETURN_IF_ERROR(MinMaxAffine(x, params, parallel_for, &a));
  if (IsEmpty(x.geometry)) return Status::Ok();
  AffineGradient(x, a, &params, false, grad, dx, parallel_for);
  return Status::Ok();
}

Status PercentileStretchGradient(const ConstImage& x, const PercentileParams& params,
                                 const float* grad, float* dx, const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(CheckGradientTypes(x));
  ChannelAffine a(x.geometry.channels, x.geometry.batch);
  GILFREE_RETURN_IF_ERROR(PercentileAffine(x, params, parallel_for, &a));
  if (IsEmpty(x.geometry)) return Status::Ok();
  AffineGradient(x, a, &params.mask, true, grad, dx, parallel_for);
  return Status::Ok();
}

}  // namespace gilfree
