// Tests of the TIFF decoder (core/tiff.h). Files are built byte by byte here
// by a small test-only writer; codec streams come from the TIFF 6.0 spec's
// examples, from encoders written here independently of the decoder (LZW,
// stored deflate blocks, the predictors' forward transforms), and from libzstd.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tiff.h"

#if GILFREE_HAVE_ZSTD
#include <zstd.h>
#endif

namespace gilfree {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr bool kHostBig =
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    true;
#else
    false;
#endif

// ---------------------------------------------------------------------------
// A test-only TIFF writer.

enum Type : uint16_t { kByte = 1, kAscii = 2, kShort = 3, kLong = 4, kDouble = 12, kLong8 = 16 };

struct Field {
  uint16_t tag = 0;
  uint16_t type = kShort;
  std::vector<uint64_t> values;  // integers, or double bits for kDouble
  std::string ascii;
};

struct Page {
  std::vector<Field> fields;
  std::vector<Bytes> chunks;
  bool tiled = false;
  uint16_t offsets_type = kLong;
};

int Size(uint16_t type) {
  switch (type) {
    case kByte: case kAscii: return 1;
    case kShort: return 2;
    case kLong: return 4;
    default: return 8;
  }
}

class Writer {
 public:
  Writer(bool big_tiff, bool big_endian) : big_(big_tiff), be_(big_endian) {}

  void Put(Bytes* out, uint64_t v, int n) const {
    for (int i = 0; i < n; ++i) {
      const int shift = be_ ? 8 * (n - 1 - i) : 8 * i;
      out->push_back(static_cast<uint8_t>(v >> shift));
    }
  }
  void PutAt(Bytes* out, size_t pos, uint64_t v, int n) const {
    for (int i = 0; i < n; ++i) {
      const int shift = be_ ? 8 * (n - 1 - i) : 8 * i;
      (*out)[pos + i] = static_cast<uint8_t>(v >> shift);
    }
  }

  Bytes Write(std::vector<Page> pages, std::vector<uint64_t>* ifd_offsets = nullptr) const {
    Bytes out;
    out.push_back(be_ ? 'M' : 'I');
    out.push_back(be_ ? 'M' : 'I');
    Put(&out, big_ ? 43 : 42, 2);
    if (big_) {
      Put(&out, 8, 2);
      Put(&out, 0, 2);
    }
    size_t link = out.size();  // where the next IFD's offset goes
    Put(&out, 0, big_ ? 8 : 4);
    const int ob = big_ ? 8 : 4;
    for (Page& p : pages) {
      Field offs{static_cast<uint16_t>(p.tiled ? 324 : 273), p.offsets_type, {}, {}};
      Field counts{static_cast<uint16_t>(p.tiled ? 325 : 279), p.offsets_type, {}, {}};
      for (const Bytes& c : p.chunks) {
        offs.values.push_back(out.size());
        counts.values.push_back(c.size());
        out.insert(out.end(), c.begin(), c.end());
      }
      if (!p.chunks.empty()) {
        p.fields.push_back(offs);
        p.fields.push_back(counts);
      }
      std::map<uint16_t, Field> sorted;
      for (const Field& f : p.fields) sorted[f.tag] = f;
      // Values that do not fit inline go before the IFD.
      std::vector<Bytes> encoded;
      std::vector<uint64_t> where;
      for (const auto& kv : sorted) {
        const Field& f = kv.second;
        Bytes v;
        if (f.type == kAscii) {
          v.assign(f.ascii.begin(), f.ascii.end());
          v.push_back(0);
        } else {
          for (uint64_t x : f.values) Put(&v, x, Size(f.type));
        }
        uint64_t at = 0;
        if (v.size() > static_cast<size_t>(ob)) {
          if (out.size() % 2) out.push_back(0);
          at = out.size();
          out.insert(out.end(), v.begin(), v.end());
        }
        encoded.push_back(v);
        where.push_back(at);
      }
      if (out.size() % 2) out.push_back(0);
      const uint64_t ifd = out.size();
      if (ifd_offsets) ifd_offsets->push_back(ifd);
      PutAt(&out, link, ifd, ob);
      Put(&out, sorted.size(), big_ ? 8 : 2);
      size_t i = 0;
      for (const auto& kv : sorted) {
        const Field& f = kv.second;
        Put(&out, f.tag, 2);
        Put(&out, f.type, 2);
        Put(&out, f.type == kAscii ? encoded[i].size() : f.values.size(), big_ ? 8 : 4);
        if (where[i] != 0) {
          Put(&out, where[i], ob);
        } else {
          Bytes v = encoded[i];
          v.resize(ob, 0);
          out.insert(out.end(), v.begin(), v.end());
        }
        ++i;
      }
      link = out.size();
      Put(&out, 0, ob);
    }
    return out;
  }

  bool big_endian() const { return be_; }

 private:
  bool big_, be_;
};

Field F(uint16_t tag, uint16_t type, std::vector<uint64_t> values) { return Field{tag, type, std::move(values), {}}; }

uint64_t DoubleBits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// An image's samples as raw native-order bytes, [h, w, bands].
struct Image {
  int64_t h = 0, w = 0, bands = 1;
  int isz = 1;
  Bytes data;
  const uint8_t* At(int64_t y, int64_t x, int64_t b) const { return data.data() + ((y * w + x) * bands + b) * isz; }
};

Image MakeImage(int64_t h, int64_t w, int64_t bands, int isz, uint32_t seed) {
  Image im;
  im.h = h;
  im.w = w;
  im.bands = bands;
  im.isz = isz;
  im.data.resize(static_cast<size_t>(h * w * bands * isz));
  uint32_t s = seed;
  for (uint8_t& b : im.data) {
    s = s * 1103515245u + 12345u;
    b = static_cast<uint8_t>(s >> 16);
  }
  return im;
}

// Appends a native value's bytes in the file's byte order.
void PutSample(Bytes* out, const uint8_t* p, int isz, bool file_big) {
  for (int i = 0; i < isz; ++i) out->push_back(p[(file_big != kHostBig) ? isz - 1 - i : i]);
}

struct Layout {
  bool tiled = false;
  int64_t rows = 0;           // rows per strip (strips)
  int64_t th = 0, tw = 0;     // tile size (tiles)
  bool separate = false;
};

// The chunks of an image in the file's byte order, uncompressed; edge tiles
// are padded with `pad`.
std::vector<Bytes> Chunks(const Image& im, const Layout& l, bool file_big, uint8_t pad = 0xEE) {
  std::vector<Bytes> chunks;
  const int64_t planes = l.separate ? im.bands : 1;
  const int64_t ch = l.tiled ? l.th : l.rows, cw = l.tiled ? l.tw : im.w;
  const int64_t down = (im.h + ch - 1) / ch, across = (im.w + cw - 1) / cw;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t cy = 0; cy < down; ++cy) {
      for (int64_t cx = 0; cx < across; ++cx) {
        Bytes c;
        const int64_t rows = l.tiled ? ch : std::min(ch, im.h - cy * ch);
        for (int64_t y = cy * ch; y < cy * ch + rows; ++y) {
          for (int64_t x = cx * cw; x < cx * cw + cw; ++x) {
            for (int64_t b = 0; b < (l.separate ? 1 : im.bands); ++b) {
              if (y < im.h && x < im.w) {
                PutSample(&c, im.At(y, x, l.separate ? p : b), im.isz, file_big);
              } else {
                for (int i = 0; i < im.isz; ++i) c.push_back(pad);
              }
            }
          }
        }
        chunks.push_back(c);
      }
    }
  }
  return chunks;
}

Page MakePage(const Image& im, const Layout& l, bool file_big, int format = 1, uint16_t int_type = kShort) {
  Page p;
  p.tiled = l.tiled;
  p.fields.push_back(F(256, int_type, {static_cast<uint64_t>(im.w)}));
  p.fields.push_back(F(257, int_type, {static_cast<uint64_t>(im.h)}));
  p.fields.push_back(F(258, kShort, std::vector<uint64_t>(im.bands, 8 * im.isz)));
  p.fields.push_back(F(259, kShort, {1}));
  p.fields.push_back(F(262, kShort, {1}));
  p.fields.push_back(F(277, kShort, {static_cast<uint64_t>(im.bands)}));
  p.fields.push_back(F(284, kShort, {l.separate ? 2u : 1u}));
  p.fields.push_back(F(339, kShort, std::vector<uint64_t>(im.bands, format)));
  if (l.tiled) {
    p.fields.push_back(F(322, int_type, {static_cast<uint64_t>(l.tw)}));
    p.fields.push_back(F(323, int_type, {static_cast<uint64_t>(l.th)}));
  } else {
    p.fields.push_back(F(278, int_type, {static_cast<uint64_t>(l.rows)}));
  }
  p.chunks = Chunks(im, l, file_big);
  return p;
}

void SetField(Page* p, Field f) {
  for (Field& g : p->fields) {
    if (g.tag == f.tag) {
      g = f;
      return;
    }
  }
  p->fields.push_back(f);
}

Status Decode(const Bytes& file, int64_t page, const int64_t* window, TiffInfo* info, Bytes* out,
              const ParallelFor* pf = nullptr) {
  GILFREE_RETURN_IF_ERROR(ReadTiffInfo(file.data(), static_cast<int64_t>(file.size()), page, info));
  TiffWindow w;
  GILFREE_RETURN_IF_ERROR(ResolveTiffWindow(*info, window, &w));
  out->assign(static_cast<size_t>(w.height * w.width * info->bands * DTypeSize(info->dtype)), 0xCD);
  return DecodeTiff(file.data(), static_cast<int64_t>(file.size()), *info, w, out->data(), pf);
}

// The window [r, c, h, w] of an image, native bytes.
Bytes Crop(const Image& im, int64_t r, int64_t c, int64_t h, int64_t w) {
  Bytes out;
  for (int64_t y = r; y < r + h; ++y) {
    const uint8_t* p = im.At(y, c, 0);
    out.insert(out.end(), p, p + w * im.bands * im.isz);
  }
  return out;
}

// A ParallelFor that cuts [0, total) into ranges of 2, run in reverse order.
const ParallelFor kChoppy = [](int64_t total, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  for (int64_t b = (total - 1) / 2 * 2; b >= 0; b -= 2) fn(b, std::min(total, b + 2));
};

// ---------------------------------------------------------------------------
// Independent encoders.

// TIFF LZW (MSB-first, early change), a straightforward dictionary encoder.
Bytes LzwEncode(const Bytes& in) {
  Bytes out;
  uint64_t acc = 0;
  int nbits = 0;
  int width = 9;
  auto emit = [&](int code) {
    acc = (acc << width) | static_cast<uint64_t>(code);
    nbits += width;
    while (nbits >= 8) {
      out.push_back(static_cast<uint8_t>(acc >> (nbits - 8)));
      nbits -= 8;
    }
  };
  std::map<std::pair<int, int>, int> dict;
  int next = 258;
  emit(256);
  int w = -1;
  for (uint8_t c : in) {
    if (w < 0) {
      w = c;
      continue;
    }
    auto it = dict.find({w, c});
    if (it != dict.end()) {
      w = it->second;
      continue;
    }
    // As libtiff's encoder: the width grows once the next free entry needs
    // it (the decoder, one entry behind, grows it one code "early").
    emit(w);
    dict[{w, c}] = next++;
    if (next == 4094) {
      emit(256);
      dict.clear();
      next = 258;
      width = 9;
    } else if (next > (1 << width) - 1) {
      ++width;
    }
    w = c;
  }
  if (w >= 0) {
    emit(w);
    if (++next > (1 << width) - 1 && width < 12) ++width;
  }
  emit(257);
  if (nbits > 0) out.push_back(static_cast<uint8_t>(acc << (8 - nbits)));
  return out;
}

uint32_t Adler32(const Bytes& d) {
  uint32_t a = 1, b = 0;
  for (uint8_t x : d) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// A zlib stream of stored deflate blocks.
Bytes ZlibStored(const Bytes& in) {
  Bytes out = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, in.size() - pos);
    out.push_back(pos + n == in.size() ? 1 : 0);
    out.push_back(static_cast<uint8_t>(n));
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(~n));
    out.push_back(static_cast<uint8_t>(~n >> 8));
    out.insert(out.end(), in.begin() + pos, in.begin() + pos + n);
    pos += n;
  } while (pos < in.size());
  const uint32_t a = Adler32(in);
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(a >> (8 * i)));
  return out;
}

// PackBits with literal runs of up to 128 bytes and repeat runs of 3+.
Bytes PackBitsEncode(const Bytes& in) {
  Bytes out;
  size_t i = 0;
  while (i < in.size()) {
    size_t run = 1;
    while (i + run < in.size() && run < 128 && in[i + run] == in[i]) ++run;
    if (run >= 3) {
      out.push_back(static_cast<uint8_t>(1 - static_cast<int>(run)));
      out.push_back(in[i]);
      i += run;
      continue;
    }
    size_t n = std::min<size_t>(128, in.size() - i);
    out.push_back(static_cast<uint8_t>(n - 1));
    out.insert(out.end(), in.begin() + i, in.begin() + i + n);
    i += n;
  }
  return out;
}

// Horizontal differencing of one chunk's rows in the file's byte order.
void ForwardHorizontal(Bytes* chunk, int64_t row_samples, int64_t stride, int isz, bool file_big) {
  const int64_t rows = static_cast<int64_t>(chunk->size()) / (row_samples * isz);
  auto get = [&](int64_t i) {
    uint64_t v = 0;
    for (int k = 0; k < isz; ++k) {
      const int byte = file_big ? isz - 1 - k : k;
      v |= static_cast<uint64_t>((*chunk)[i * isz + byte]) << (8 * k);
    }
    return v;
  };
  auto set = [&](int64_t i, uint64_t v) {
    for (int k = 0; k < isz; ++k) {
      const int byte = file_big ? isz - 1 - k : k;
      (*chunk)[i * isz + byte] = static_cast<uint8_t>(v >> (8 * k));
    }
  };
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = row_samples - 1; i >= stride; --i) {
      const int64_t a = r * row_samples + i;
      set(a, get(a) - get(a - stride));
    }
  }
}

// The floating-point predictor: per row, planes most significant first, then
// byte differences with a stride of `stride` bytes.
void ForwardFloat(Bytes* chunk, int64_t row_samples, int64_t stride, int isz, bool file_big) {
  const int64_t row_bytes = row_samples * isz;
  for (size_t r = 0; r < chunk->size(); r += row_bytes) {
    uint8_t* row = chunk->data() + r;
    Bytes shuffled(row_bytes);
    for (int64_t i = 0; i < row_samples; ++i) {
      for (int p = 0; p < isz; ++p) {
        // Plane p is the p-th most significant byte of sample i.
        const int byte = file_big ? p : isz - 1 - p;
        shuffled[p * row_samples + i] = row[i * isz + byte];
      }
    }
    for (int64_t i = row_bytes - 1; i >= stride; --i) {
      shuffled[i] = static_cast<uint8_t>(shuffled[i] - shuffled[i - stride]);
    }
    std::memcpy(row, shuffled.data(), row_bytes);
  }
}

// ---------------------------------------------------------------------------
// Layouts and byte orders.

struct Variant {
  bool big_tiff, big_endian;
};
const Variant kVariants[] = {{false, false}, {false, true}, {true, false}, {true, true}};

TEST(TiffTest, ReadsStripsInEveryVariant) {
  for (const Variant& v : kVariants) {
    for (int isz : {1, 2, 4, 8}) {
      SCOPED_TRACE("big_tiff " + std::to_string(v.big_tiff) + " big_endian " + std::to_string(v.big_endian) +
                   " isz " + std::to_string(isz));
      const Image im = MakeImage(7, 5, 3, isz, 11 + isz);
      Layout l;
      l.rows = 3;
      Writer w(v.big_tiff, v.big_endian);
      const Bytes file = w.Write({MakePage(im, l, v.big_endian, 1, v.big_tiff ? kLong8 : kLong)});
      TiffInfo info;
      Bytes out;
      ASSERT_TRUE(Decode(file, 0, nullptr, &info, &out).ok());
      EXPECT_EQ(info.big_tiff, v.big_tiff);
      EXPECT_EQ(info.big_endian, v.big_endian);
      EXPECT_EQ(info.pages, 1);
      EXPECT_EQ(info.height, 7);
      EXPECT_EQ(info.width, 5);
      EXPECT_EQ(info.bands, 3);
      EXPECT_EQ(info.rows_per_strip, 3);
      EXPECT_EQ(info.chunk_offsets.size(), 3u);
      EXPECT_EQ(out, im.data);
      const int64_t win[4] = {2, 1, 4, 3};
      ASSERT_TRUE(Decode(file, 0, win, &info, &out, &kChoppy).ok());
      EXPECT_EQ(out, Crop(im, 2, 1, 4, 3));
    }
  }
}

TEST(TiffTest, ReadsTilesAndSeparatePlanes) {
  for (const Variant& v : kVariants) {
    for (bool tiled : {false, true}) {
      for (bool separate : {false, true}) {
        SCOPED_TRACE(std::to_string(v.big_tiff) + std::to_string(v.big_endian) + std::to_string(tiled) +
                     std::to_string(separate));
        const Image im = MakeImage(21, 35, 4, 2, 7);
        Layout l;
        l.tiled = tiled;
        l.rows = 4;
        l.th = 16;
        l.tw = 16;
        l.separate = separate;
        const Bytes file = Writer(v.big_tiff, v.big_endian).Write({MakePage(im, l, v.big_endian)});
        TiffInfo info;
        Bytes out;
        ASSERT_TRUE(Decode(file, 0, nullptr, &info, &out, &kChoppy).ok());
        EXPECT_EQ(info.tiled, tiled);
        EXPECT_EQ(info.planar_separate, separate);
        EXPECT_EQ(info.dtype, DType::kUInt16);
        EXPECT_EQ(out, im.data);
        for (const auto& win : std::vector<std::vector<int64_t>>{{0, 0, 1, 1}, {15, 15, 2, 2}, {16, 16, 5, 19},
                                                                 {3, 30, 18, 5}, {20, 34, 1, 1}}) {
          ASSERT_TRUE(Decode(file, 0, win.data(), &info, &out).ok());
          EXPECT_EQ(out, Crop(im, win[0], win[1], win[2], win[3]));
        }
      }
    }
  }
}

TEST(TiffTest, OddTileSizesAndManyBands) {
  // Tiles of 5x3 (not multiples of 16), and 200 samples per pixel.
  const Image im = MakeImage(11, 7, 200, 1, 3);
  for (bool separate : {false, true}) {
    Layout l;
    l.tiled = true;
    l.th = 5;
    l.tw = 3;
    l.separate = separate;
    const Bytes file = Writer(false, false).Write({MakePage(im, l, false)});
    TiffInfo info;
    Bytes out;
    ASSERT_TRUE(Decode(file, 0, nullptr, &info, &out, &kChoppy).ok());
    EXPECT_EQ(info.bands, 200);
    EXPECT_EQ(out, im.data);
  }
}

TEST(TiffTest, SampleFormatsGiveDTypes) {
  struct Case {
    int isz, format;
    DType dtype;
  };
  const Case cases[] = {{1, 1, DType::kUInt8},   {2, 1, DType::kUInt16}, {4, 1, DType::kUInt32},
                        {8, 1, DType::kUInt64},  {1, 2, DType::kInt8},   {2, 2, DType::kInt16},
                        {4, 2, DType::kInt32},   {8, 2, DType::kInt64},  {2, 3, DType::kFloat16},
                        {4, 3, DType::kFloat32}, {8, 3, DType::kFloat64}};
  for (const Case& c : cases) {
    const Image im = MakeImage(2, 3, 1, c.isz, 1);
    Layout l;
    l.rows = 2;
    const Bytes file = Writer(false, true).Write({MakePage(im, l, true, c.format)});
    TiffInfo info;
    Bytes out;
    ASSERT_TRUE(Decode(file, 0, nullptr, &info, &out).ok());
    EXPECT_EQ(info.dtype, c.dtype);
    EXPECT_EQ(out, im.data);
    EXPECT_TRUE(CheckTiffDType(info, c.dtype).ok());
  }
}

TEST(TiffTest, DTypeMismatchNamesBoth) {
  const Image im = MakeImage(2, 3, 1, 2, 1);
  Layout l;
  l.rows = 2;
  const Bytes file = Writer(false, false).Write({MakePage(im, l, false)});
  TiffInfo info;
  ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
  const Status s = CheckTiffDType(info, DType::kFloat32);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("float32"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("uint16"), std::string::npos) << s.message();
}

TEST(TiffTest, InlineAndOffsetValuesAndPages) {
  // Strip offsets of 1 strip fit inline (LONG); of several they do not; SHORT
  // offsets work too. Three pages of different sizes.
  Writer w(false, false);
  std::vector<Image> images;
  std::vector<Page> pages;
  for (int i = 0; i < 3; ++i) {
    images.push_back(MakeImage(3 + i, 4 + i, 1, 1, 100 + i));
    Layout l;
    l.rows = i == 0 ? 100 : 1;
    pages.push_back(MakePage(images.back(), l, false));
  }
  pages[2].offsets_type = kShort;
  const Bytes file = w.Write(pages);
  for (int i = 0; i < 3; ++i) {
    TiffInfo info;
    Bytes out;
    ASSERT_TRUE(Decode(file, i, nullptr, &info, &out).ok());
    EXPECT_EQ(info.pages, 3);
    EXPECT_EQ(info.page, i);
    EXPECT_EQ(out, images[i].data);
  }
  TiffInfo info;
  const Status s = ReadTiffInfo(file.data(), file.size(), 3, &info);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("page:", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("3 pages"), std::string::npos) << s.message();
  EXPECT_FALSE(ReadTiffInfo(file.data(), file.size(), -1, &info).ok());
}

TEST(TiffTest, ReadmeExample) {
  // tiff.h's example: uint16 arange(6) as 2x3, one strip of 12 bytes.
  Image im;
  im.h = 2;
  im.w = 3;
  im.isz = 2;
  for (uint16_t v = 0; v < 6; ++v) {
    im.data.push_back(static_cast<uint8_t>(kHostBig ? 0 : v));
    im.data.push_back(static_cast<uint8_t>(kHostBig ? v : 0));
  }
  Layout l;
  l.rows = 2;
  const Bytes file = Writer(false, false).Write({MakePage(im, l, false)});
  TiffInfo info;
  Bytes out;
  ASSERT_TRUE(Decode(file, 0, nullptr, &info, &out).ok());
  EXPECT_EQ(info.chunk_bytes, std::vector<uint64_t>{12});
  EXPECT_EQ(info.compression, 1);
  EXPECT_FALSE(info.tiled);
  EXPECT_EQ(out, im.data);
}

// ---------------------------------------------------------------------------
// Codecs.

// A page of one uint8 band whose single strip is `stream` with `compression`.
Bytes OneStrip(int64_t h, int64_t w, int compression, const Bytes& stream) {
  Page p;
  p.fields = {F(256, kShort, {static_cast<uint64_t>(w)}), F(257, kShort, {static_cast<uint64_t>(h)}),
              F(258, kShort, {8}),
              F(259, kShort, {static_cast<uint64_t>(compression)}),
              F(278, kShort, {static_cast<uint64_t>(h)})};
  p.chunks = {stream};
  return Writer(false, false).Write({p});
}

TEST(TiffTest, PackBitsSpecExample) {
  // TIFF 6.0, section 9: the packed bytes and what they unpack to.
  const Bytes packed = {0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7, 0xAA};
  const Bytes unpacked = {0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00,
                          0x2A, 0x22, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA};
  TiffInfo info;
  Bytes out;
  ASSERT_TRUE(Decode(OneStrip(1, 24, 32773, packed), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, unpacked);
  // A no-op byte (-128) anywhere is skipped.
  Bytes with_noop = {0x80};
  with_noop.insert(with_noop.end(), packed.begin(), packed.end());
  ASSERT_TRUE(Decode(OneStrip(1, 24, 32773, with_noop), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, unpacked);
  // The same stream for a 23-byte strip overruns it; for 25 it falls short.
  Status s = Decode(OneStrip(1, 23, 32773, packed), 0, nullptr, &info, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("PackBits"), std::string::npos) << s.message();
  EXPECT_FALSE(Decode(OneStrip(1, 25, 32773, packed), 0, nullptr, &info, &out).ok());
  // A literal run cut short, and a repeat run with no byte.
  EXPECT_FALSE(Decode(OneStrip(1, 4, 32773, Bytes{0x03, 1, 2}), 0, nullptr, &info, &out).ok());
  EXPECT_FALSE(Decode(OneStrip(1, 4, 32773, Bytes{0x02, 1, 2, 3, 0xFF}), 0, nullptr, &info, &out).ok());
}

TEST(TiffTest, LzwHandDerivedStream) {
  // "ABABABA": codes Clear, 'A', 'B', 258 ("AB"), 260 ("ABA", the KwKwK
  // case), EOI, each 9 bits MSB first:
  //   100000000 001000001 001000010 100000010 100000100 100000001
  const Bytes stream = {0x80, 0x10, 0x48, 0x50, 0x28, 0x24, 0x04};
  TiffInfo info;
  Bytes out;
  ASSERT_TRUE(Decode(OneStrip(1, 7, 5, stream), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, (Bytes{'A', 'B', 'A', 'B', 'A', 'B', 'A'}));
  // The same stream cut inside EOI (bits 45..53) still fills the strip.
  ASSERT_TRUE(Decode(OneStrip(1, 7, 5, Bytes(stream.begin(), stream.begin() + 6)), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, (Bytes{'A', 'B', 'A', 'B', 'A', 'B', 'A'}));
  // For a 6-byte strip it writes too much; for 8 too little.
  EXPECT_FALSE(Decode(OneStrip(1, 6, 5, stream), 0, nullptr, &info, &out).ok());
  EXPECT_FALSE(Decode(OneStrip(1, 8, 5, stream), 0, nullptr, &info, &out).ok());
}

TEST(TiffTest, LzwBadCodesAndOldStyle) {
  TiffInfo info;
  Bytes out;
  // Clear, then code 300 (not yet in the table): 100000000 100101100.
  Status s = Decode(OneStrip(1, 4, 5, Bytes{0x80, 0x4B, 0x00}), 0, nullptr, &info, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("LZW code 300"), std::string::npos) << s.message();
  // Clear, then 258 right after a clear (no previous string): 100000000 100000010.
  EXPECT_FALSE(Decode(OneStrip(1, 4, 5, Bytes{0x80, 0x40, 0x80}), 0, nullptr, &info, &out).ok());
  // Old-style LSB-first codes start 00 01.
  s = Decode(OneStrip(1, 4, 5, Bytes{0x00, 0x01, 0x02, 0x03}), 0, nullptr, &info, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("old-style"), std::string::npos) << s.message();
  // Empty and truncated streams.
  EXPECT_FALSE(Decode(OneStrip(1, 4, 5, Bytes{}), 0, nullptr, &info, &out).ok());
  EXPECT_FALSE(Decode(OneStrip(1, 4, 5, Bytes{0x80}), 0, nullptr, &info, &out).ok());
}

TEST(TiffTest, LzwEncoderRoundTripsLongData) {
  // Long enough for the code width to reach 12 bits and the table to clear.
  Bytes data;
  uint32_t s = 5;
  for (int i = 0; i < 60000; ++i) {
    s = s * 1103515245u + 12345u;
    data.push_back(static_cast<uint8_t>((s >> 24) % 7 + (i / 1000)));
  }
  TiffInfo info;
  Bytes out;
  ASSERT_TRUE(Decode(OneStrip(300, 200, 5, LzwEncode(data)), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, data);
  const Bytes zeros(40000, 0);  // long runs: long strings
  ASSERT_TRUE(Decode(OneStrip(200, 200, 5, LzwEncode(zeros)), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, zeros);
}

TEST(TiffTest, DeflateStoredBlocks) {
  Bytes data(70000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + i / 300);
  TiffInfo info;
  Bytes out;
  for (int compression : {8, 32946}) {
    ASSERT_TRUE(Decode(OneStrip(350, 200, compression, ZlibStored(data)), 0, nullptr, &info, &out).ok());
    EXPECT_EQ(out, data);
  }
  // The core's inflate example, "abc", behind a zlib header.
  ASSERT_TRUE(Decode(OneStrip(1, 3, 8, Bytes{0x78, 0x9C, 0x4B, 0x4C, 0x4A, 0x06, 0x00}), 0, nullptr, &info, &out)
                  .ok());
  EXPECT_EQ(out, (Bytes{'a', 'b', 'c'}));
  // A bad zlib header, a preset dictionary, and a size mismatch.
  EXPECT_FALSE(Decode(OneStrip(1, 3, 8, Bytes{0x79, 0x9C, 0x4B, 0x4C, 0x4A, 0x06, 0x00}), 0, nullptr, &info, &out)
                   .ok());
  EXPECT_FALSE(Decode(OneStrip(1, 3, 8, Bytes{0x78, 0xBB, 0x4B, 0x4C, 0x4A, 0x06, 0x00}), 0, nullptr, &info, &out)
                   .ok());
  EXPECT_FALSE(Decode(OneStrip(1, 4, 8, Bytes{0x78, 0x9C, 0x4B, 0x4C, 0x4A, 0x06, 0x00}), 0, nullptr, &info, &out)
                   .ok());
}

// Every codec on a tiled, planar page of uint16 with both predictors' peers.
Bytes Compress(int compression, const Bytes& raw) {
  switch (compression) {
    case 5: return LzwEncode(raw);
    case 8: return ZlibStored(raw);
    case 32773: return PackBitsEncode(raw);
#if GILFREE_HAVE_ZSTD
    case 50000: {
      Bytes out(ZSTD_compressBound(raw.size()));
      const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
      out.resize(ZSTD_isError(n) ? 0 : n);
      return out;
    }
#endif
    default: return raw;
  }
}

struct PredCase {
  int isz, format, predictor;
};

void CheckPredicted(const Variant& v, const Layout& l, int compression, const PredCase& c, int64_t bands) {
  SCOPED_TRACE("variant " + std::to_string(v.big_tiff) + std::to_string(v.big_endian) + " compression " +
               std::to_string(compression) + " isz " + std::to_string(c.isz) + " predictor " +
               std::to_string(c.predictor) + " separate " + std::to_string(l.separate) + " tiled " +
               std::to_string(l.tiled));
  const Image im = MakeImage(19, 21, bands, c.isz, 99 + c.isz);
  Page p = MakePage(im, l, v.big_endian, c.format);
  SetField(&p, F(259, kShort, {static_cast<uint64_t>(compression)}));
  SetField(&p, F(317, kShort, {static_cast<uint64_t>(c.predictor)}));
  const int64_t spc = l.separate ? 1 : bands;
  const int64_t row_samples = (l.tiled ? l.tw : im.w) * spc;
  for (Bytes& chunk : p.chunks) {
    if (c.predictor == 2) ForwardHorizontal(&chunk, row_samples, spc, c.isz, v.big_endian);
    if (c.predictor == 3) ForwardFloat(&chunk, row_samples, spc, c.isz, v.big_endian);
    chunk = Compress(compression, chunk);
  }
  const Bytes file = Writer(v.big_tiff, v.big_endian).Write({p});
  TiffInfo info;
  Bytes out;
  const Status s = Decode(file, 0, nullptr, &info, &out, &kChoppy);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(info.predictor, c.predictor);
  EXPECT_EQ(out, im.data);
  const int64_t win[4] = {5, 3, 9, 17};
  ASSERT_TRUE(Decode(file, 0, win, &info, &out).ok());
  EXPECT_EQ(out, Crop(im, 5, 3, 9, 17));
}

TEST(TiffTest, PredictorsWithEveryCodec) {
  const PredCase cases[] = {{1, 1, 2}, {2, 2, 2}, {4, 1, 2}, {8, 2, 2}, {2, 3, 3}, {4, 3, 3}, {8, 3, 3}, {4, 3, 1}};
  std::vector<int> codecs = {1, 5, 8, 32773};
  if (TiffHasZstd()) codecs.push_back(50000);
  for (const Variant& v : {kVariants[0], kVariants[3]}) {
    for (int compression : codecs) {
      for (const PredCase& c : cases) {
        for (int layout = 0; layout < 3; ++layout) {
          Layout l;
          l.rows = 4;
          l.tiled = layout == 2;
          l.th = 16;
          l.tw = 16;
          l.separate = layout == 1;
          CheckPredicted(v, l, compression, c, 3);
        }
      }
    }
  }
}

TEST(TiffTest, ZstdAvailabilityMatchesBuild) {
#if GILFREE_HAVE_ZSTD
  EXPECT_TRUE(TiffHasZstd());
#else
  EXPECT_FALSE(TiffHasZstd());
  // A ZSTD page is refused with a message naming the missing codec.
  const Bytes file = OneStrip(1, 4, 50000, Bytes{0x28, 0xB5, 0x2F, 0xFD});
  TiffInfo info;
  const Status s = ReadTiffInfo(file.data(), file.size(), 0, &info);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ZSTD compression (50000)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("libzstd"), std::string::npos) << s.message();
#endif
  EXPECT_EQ(std::string(TiffCompressionName(50000)), "zstd");
  EXPECT_EQ(std::string(TiffCompressionName(32946)), "deflate");
  EXPECT_EQ(std::string(TiffCompressionName(4242)), "unknown");
}

#if GILFREE_HAVE_ZSTD
TEST(TiffTest, ZstdBadStreams) {
  const Bytes raw(64, 9);
  Bytes z = Compress(50000, raw);
  TiffInfo info;
  Bytes out;
  ASSERT_TRUE(Decode(OneStrip(8, 8, 50000, z), 0, nullptr, &info, &out).ok());
  EXPECT_EQ(out, raw);
  EXPECT_FALSE(Decode(OneStrip(8, 7, 50000, z), 0, nullptr, &info, &out).ok());  // more than the strip
  EXPECT_FALSE(Decode(OneStrip(9, 8, 50000, z), 0, nullptr, &info, &out).ok());  // fewer
  z[z.size() / 2] ^= 0xFF;
  z.resize(z.size() - 1);
  EXPECT_FALSE(Decode(OneStrip(8, 8, 50000, z), 0, nullptr, &info, &out).ok());
}
#endif

// ---------------------------------------------------------------------------
// GeoTIFF.

TEST(TiffTest, GeoTiffFields) {
  const Image im = MakeImage(4, 5, 1, 4, 1);
  Layout l;
  l.rows = 4;
  Page p = MakePage(im, l, false, 3);
  p.fields.push_back(F(33550, kDouble, {DoubleBits(10), DoubleBits(20), DoubleBits(0)}));
  p.fields.push_back(F(33922, kDouble, {DoubleBits(1), DoubleBits(2), 0, DoubleBits(500000), DoubleBits(4e6), 0}));
  p.fields.push_back(F(34735, kShort, {1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32633}));
  Field nodata{42113, kAscii, {}, "-9999.5"};
  p.fields.push_back(nodata);
  for (const Variant& v : kVariants) {
    const Bytes file = Writer(v.big_tiff, v.big_endian).Write({p});
    TiffInfo info;
    ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
    EXPECT_TRUE(info.has_nodata);
    EXPECT_EQ(info.nodata, -9999.5);
    ASSERT_TRUE(info.has_geotransform);
    const double expected[6] = {499990, 10, 0, 4000040, 0, -20};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(info.geotransform[i], expected[i]) << i;
    EXPECT_EQ(info.epsg, 32633);
    EXPECT_TRUE(info.raster_point);
  }
  // ModelTransformation, GeographicTypeGeoKey, "nan" no-data.
  Page q = MakePage(im, l, false, 3);
  std::vector<uint64_t> m;
  for (double d : {2.0, 0.5, 0.0, 100.0, 0.25, -3.0, 0.0, 200.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0}) {
    m.push_back(DoubleBits(d));
  }
  q.fields.push_back(F(34264, kDouble, m));
  q.fields.push_back(F(34735, kShort, {1, 1, 0, 2, 2048, 0, 1, 4326, 3072, 0, 1, 32767}));
  q.fields.push_back(Field{42113, kAscii, {}, "nan"});
  Bytes file = Writer(false, true).Write({q});
  TiffInfo info;
  ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
  EXPECT_TRUE(info.has_nodata);
  EXPECT_TRUE(std::isnan(info.nodata));
  const double expected[6] = {100, 2, 0.5, 200, 0.25, -3};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(info.geotransform[i], expected[i]) << i;
  EXPECT_EQ(info.epsg, 4326);  // the user-defined projected code is ignored
  EXPECT_FALSE(info.raster_point);
  // Unparsable no-data, and no GeoTIFF tags at all.
  Page r = MakePage(im, l, false, 3);
  r.fields.push_back(Field{42113, kAscii, {}, "none"});
  file = Writer(false, false).Write({r});
  ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
  EXPECT_FALSE(info.has_nodata);
  EXPECT_FALSE(info.has_geotransform);
  EXPECT_EQ(info.epsg, 0);
}

// ---------------------------------------------------------------------------
// Unsupported and hostile input.

Status InfoOf(const Bytes& file, int64_t page = 0) {
  TiffInfo info;
  return ReadTiffInfo(file.data(), static_cast<int64_t>(file.size()), page, &info);
}

void ExpectError(const Status& s, const std::string& part) {
  ASSERT_FALSE(s.ok()) << "expected an error containing '" << part << "'";
  EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
}

Bytes SimpleFile(bool big_tiff = false, bool big_endian = false) {
  const Image im = MakeImage(4, 6, 1, 1, 2);
  Layout l;
  l.rows = 2;
  return Writer(big_tiff, big_endian).Write({MakePage(im, l, big_endian)});
}

TEST(TiffTest, UnsupportedFeaturesAreNamed) {
  const Image im = MakeImage(4, 6, 1, 1, 2);
  Layout l;
  l.rows = 2;
  auto with = [&](Field f, const Image& image) {
    Page p = MakePage(image, l, false);
    SetField(&p, f);
    return Writer(false, false).Write({p});
  };
  ExpectError(InfoOf(with(F(259, kShort, {7}), im)), "JPEG compression (7)");
  ExpectError(InfoOf(with(F(259, kShort, {34887}), im)), "LERC compression (34887)");
  ExpectError(InfoOf(with(F(259, kShort, {50001}), im)), "WEBP compression (50001)");
  ExpectError(InfoOf(with(F(259, kShort, {34925}), im)), "LZMA compression (34925)");
  ExpectError(InfoOf(with(F(262, kShort, {3}), im)), "palette");
  ExpectError(InfoOf(with(F(262, kShort, {6}), im)), "YCbCr");
  ExpectError(InfoOf(with(F(262, kShort, {32845}), im)), "LogLuv");
  ExpectError(InfoOf(with(F(262, kShort, {8}), im)), "CIELab");
  ExpectError(InfoOf(with(F(266, kShort, {2}), im)), "FillOrder 2");
  ExpectError(InfoOf(with(F(258, kShort, {1}), im)), "BitsPerSample 1");
  ExpectError(InfoOf(with(F(258, kShort, {12}), im)), "BitsPerSample 12");
  ExpectError(InfoOf(with(F(339, kShort, {3}), im)), "8-bit floating-point");
  ExpectError(InfoOf(with(F(339, kShort, {6}), im)), "SampleFormat 6");
  ExpectError(InfoOf(with(F(317, kShort, {3}), im)), "Predictor 3");
  ExpectError(InfoOf(with(F(317, kShort, {5}), im)), "Predictor 5");
  const Image f32 = MakeImage(4, 6, 1, 4, 2);
  Page p = MakePage(f32, l, false, 3);
  SetField(&p, F(317, kShort, {2}));
  ExpectError(InfoOf(Writer(false, false).Write({p})), "Predictor 2");
  // Mixed bits per sample.
  const Image rgb = MakeImage(4, 6, 3, 1, 2);
  p = MakePage(rgb, l, false);
  SetField(&p, F(258, kShort, {8, 8, 16}));
  ExpectError(InfoOf(Writer(false, false).Write({p})), "BitsPerSample differs");
}

TEST(TiffTest, TruncatedAndMalformedHeaders) {
  const Bytes good = SimpleFile();
  ASSERT_TRUE(InfoOf(good).ok());
  for (size_t n = 0; n < 8; ++n) ExpectError(InfoOf(Bytes(good.begin(), good.begin() + n)), "contents");
  // Every truncation fails without crashing (the data precede the IFD).
  for (size_t n = 8; n < good.size(); ++n) EXPECT_FALSE(InfoOf(Bytes(good.begin(), good.begin() + n)).ok()) << n;
  Bytes bad = good;
  bad[0] = 'X';
  ExpectError(InfoOf(bad), "not a TIFF");
  bad = good;
  bad[2] = 44;
  ExpectError(InfoOf(bad), "version 44");
  const Bytes big = SimpleFile(true, true);
  ASSERT_TRUE(InfoOf(big).ok());
  ExpectError(InfoOf(Bytes(big.begin(), big.begin() + 12)), "BigTIFF");
  bad = big;
  bad[5] = 4;
  ExpectError(InfoOf(bad), "offset size");
}

TEST(TiffTest, OffsetsPastTheEnd) {
  Bytes file = SimpleFile();
  // The first IFD offset past the end.
  Bytes bad = file;
  bad[4] = 0xFF;
  bad[5] = 0xFF;
  bad[6] = 0xFF;
  ExpectError(InfoOf(bad), "outside the file");
  // A strip offset past the end: strips are written at offset 8 and 20.
  const Image im = MakeImage(4, 6, 1, 1, 2);
  Layout l;
  l.rows = 2;
  Page p = MakePage(im, l, false);
  p.chunks.clear();
  p.fields.push_back(F(273, kLong, {8, 100000}));
  p.fields.push_back(F(279, kLong, {12, 12}));
  ExpectError(InfoOf(Writer(false, false).Write({p})), "outside the file");
  // A byte count that runs past the end.
  p.fields.pop_back();
  p.fields.pop_back();
  p.fields.push_back(F(273, kLong, {8, 9}));
  p.fields.push_back(F(279, kLong, {12, 0xFFFFFFF0u}));
  ExpectError(InfoOf(Writer(false, false).Write({p})), "outside the file");
  // Too few strips for the page.
  p.fields.pop_back();
  p.fields.pop_back();
  p.fields.push_back(F(273, kLong, {8}));
  p.fields.push_back(F(279, kLong, {12}));
  ExpectError(InfoOf(Writer(false, false).Write({p})), "needs 2 strips");
  // A tag whose values lie past the end, and one with a huge count.
  p = MakePage(im, l, false);
  SetField(&p, F(258, kShort, std::vector<uint64_t>(3, 8)));
  file = Writer(false, false).Write({p});
  // Find BitsPerSample's entry (tag 258) and point its values far away.
  for (size_t i = 0; i + 12 <= file.size(); i += 2) {
    if (file[i] == 2 && file[i + 1] == 1 && file[i + 2] == 3 && file[i + 3] == 0 && file[i + 4] == 3) {
      Bytes b = file;
      b[i + 8] = 0xF0;
      b[i + 9] = 0xFF;
      ExpectError(InfoOf(b), "outside the file");
      b = file;
      b[i + 7] = 0x40;  // count 0x40000003
      ExpectError(InfoOf(b), "more than the file");
      break;
    }
  }
}

TEST(TiffTest, IfdLoopsAreRefused) {
  std::vector<uint64_t> ifds;
  const Image im = MakeImage(2, 2, 1, 1, 2);
  Layout l;
  l.rows = 2;
  Bytes file = Writer(false, false).Write({MakePage(im, l, false), MakePage(im, l, false)}, &ifds);
  ASSERT_EQ(ifds.size(), 2u);
  ASSERT_TRUE(InfoOf(file, 1).ok());
  auto next_pos = [&](uint64_t ifd) { return ifd + 2 + 12 * (file[ifd] | (file[ifd + 1] << 8)); };
  auto set32 = [](Bytes* b, size_t pos, uint64_t v) {
    for (int i = 0; i < 4; ++i) (*b)[pos + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  // A -> A.
  Bytes self = file;
  set32(&self, next_pos(ifds[0]), ifds[0]);
  ExpectError(InfoOf(self), "loops");
  // A -> B -> A.
  Bytes ab = file;
  set32(&ab, next_pos(ifds[1]), ifds[0]);
  ExpectError(InfoOf(ab), "loops");
  // A -> B -> B.
  Bytes bb = file;
  set32(&bb, next_pos(ifds[1]), ifds[1]);
  ExpectError(InfoOf(bb), "loops");
  // An IFD whose entry count runs past the end.
  Bytes many = file;
  many[ifds[1]] = 0xFF;
  many[ifds[1] + 1] = 0x7F;
  ExpectError(InfoOf(many), "entries");
}

TEST(TiffTest, HugeDeclaredSizesAreRefusedBeforeAllocation) {
  // 100000 x 100000 uint64 x 4 bands, one tiny strip per 1 row: too few strips.
  Page p;
  p.fields = {F(256, kLong, {100000}), F(257, kLong, {100000}), F(258, kShort, {64, 64, 64, 64}),
              F(277, kShort, {4}), F(278, kLong, {100000})};
  p.chunks = {Bytes(16, 0)};
  Bytes file = Writer(false, false).Write({p});
  TiffInfo info;
  ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
  TiffWindow w;
  ExpectError(ResolveTiffWindow(info, nullptr, &w), "cannot decode");
  const int64_t small[4] = {0, 0, 1, 1};
  ExpectError(ResolveTiffWindow(info, small, &w), "cannot decode");  // the strip's own size
  // Deflate: 1032x, so 16 bytes justify at most 16512.
  for (int compression : {5, 8, 32773, 50000}) {
    if (compression == 50000 && !TiffHasZstd()) continue;
    SetField(&p, F(259, kShort, {static_cast<uint64_t>(compression)}));
    file = Writer(false, false).Write({p});
    ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
    ExpectError(ResolveTiffWindow(info, nullptr, &w), "cannot decode");
  }
  // A page of 2^40 x 2^40 tiles of 1x1 needs more tiles than any file holds.
  Page t;
  t.tiled = true;
  t.fields = {F(256, kLong8, {uint64_t{1} << 40}), F(257, kLong8, {uint64_t{1} << 40}), F(258, kShort, {8}),
              F(322, kShort, {1}), F(323, kShort, {1})};
  t.chunks = {Bytes(1, 0)};
  file = Writer(true, false).Write({t});
  ExpectError(InfoOf(file), "contents");
  // Bounds themselves.
  EXPECT_EQ(TiffMaxExpansion(1), 1);
  EXPECT_EQ(TiffMaxExpansion(8), 1032);
  EXPECT_EQ(TiffMaxExpansion(32773), 64);
  EXPECT_GT(TiffMaxExpansion(5), 0);
}

TEST(TiffTest, ShortUncompressedStripIsRefused) {
  const Image im = MakeImage(4, 6, 1, 1, 2);
  Layout l;
  l.rows = 2;
  Page p = MakePage(im, l, false);
  p.chunks[1].pop_back();
  const Bytes file = Writer(false, false).Write({p});
  TiffInfo info;
  Bytes out;
  ExpectError(Decode(file, 0, nullptr, &info, &out), "strip 1");
  // A window that needs only strip 0 still decodes.
  const int64_t win[4] = {0, 0, 2, 6};
  ASSERT_TRUE(Decode(file, 0, win, &info, &out).ok());
  EXPECT_EQ(out, Crop(im, 0, 0, 2, 6));
}

TEST(TiffTest, WindowOutOfRange) {
  const Bytes file = SimpleFile();  // 4 x 6
  TiffInfo info;
  ASSERT_TRUE(ReadTiffInfo(file.data(), file.size(), 0, &info).ok());
  TiffWindow w;
  const int64_t bad[][4] = {{-1, 0, 1, 1}, {0, -1, 1, 1}, {0, 0, 0, 1}, {0, 0, 1, 0}, {4, 0, 1, 1},
                            {0, 6, 1, 1},  {3, 0, 2, 1},  {0, 5, 1, 2}, {0, 0, INT64_MAX, 1}};
  for (const auto& win : bad) {
    const Status s = ResolveTiffWindow(info, win, &w);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message().rfind("window:", 0), 0u) << s.message();
    EXPECT_NE(s.message().find("4x6"), std::string::npos) << s.message();
  }
  const int64_t whole[4] = {0, 0, 4, 6};
  ASSERT_TRUE(ResolveTiffWindow(info, whole, &w).ok());
  EXPECT_EQ(w.height, 4);
  EXPECT_EQ(w.width, 6);
}

TEST(TiffTest, CorruptedBytesNeverCrash) {
  // Every single-byte change of a few small files either decodes or fails.
  std::vector<Bytes> files = {SimpleFile(), SimpleFile(true, true)};
  const Image im = MakeImage(5, 7, 2, 2, 4);
  Layout l;
  l.tiled = true;
  l.th = 2;
  l.tw = 3;
  l.separate = true;
  Page p = MakePage(im, l, false);
  SetField(&p, F(259, kShort, {5}));
  SetField(&p, F(317, kShort, {2}));
  for (Bytes& c : p.chunks) {
    ForwardHorizontal(&c, 3, 1, 2, false);
    c = LzwEncode(c);
  }
  files.push_back(Writer(false, false).Write({p}));
  for (const Bytes& file : files) {
    for (size_t i = 0; i < file.size(); ++i) {
      for (uint8_t x : {0x01, 0x80, 0xFF}) {
        Bytes b = file;
        b[i] ^= x;
        TiffInfo info;
        Bytes out;
        (void)Decode(b, 0, nullptr, &info, &out);
      }
    }
  }
}

}  // namespace
}  // namespace gilfree
