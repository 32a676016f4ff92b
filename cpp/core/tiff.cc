#include "tiff.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "decode.h"
#include "inflate.h"

#if GILFREE_HAVE_ZSTD
#include <zstd.h>
#endif

namespace gilfree {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool kHostBigEndian = true;
#else
constexpr bool kHostBigEndian = false;
#endif

Status Bad(const std::string& what) { return Status::InvalidArgument("contents: " + what); }

std::string Str(int64_t v) { return std::to_string(v); }
std::string Str(uint64_t v) { return std::to_string(v); }

// a * b into *out; false when it overflows int64 (a, b >= 0).
bool MulOk(int64_t a, int64_t b, int64_t* out) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > kInt64Max / a) return false;
  *out = a * b;
  return true;
}

std::string Upper(const char* s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

// TIFF field types: their sizes in bytes (0: unknown type).
int TypeSize(int type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;    // BYTE ASCII SBYTE UNDEFINED
    case 3: case 8: return 2;                    // SHORT SSHORT
    case 4: case 9: case 11: case 13: return 4;  // LONG SLONG FLOAT IFD
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;  // RATIONAL SRATIONAL DOUBLE LONG8 SLONG8 IFD8
    default: return 0;
  }
}

// ---------------------------------------------------------------------------
// The file: bounds-checked reads in the file's byte order.

class File {
 public:
  File(const uint8_t* data, int64_t size) : data_(data), size_(static_cast<uint64_t>(size)) {}

  uint64_t size() const { return size_; }
  const uint8_t* data() const { return data_; }
  bool big_endian = false;
  bool big_tiff = false;

  // Whether [offset, offset + n) lies in the file.
  bool Has(uint64_t offset, uint64_t n) const { return offset <= size_ && n <= size_ - offset; }

  // An unsigned integer of n bytes at offset (which must be in the file).
  uint64_t Uint(uint64_t offset, int n) const {
    const uint8_t* p = data_ + offset;
    uint64_t v = 0;
    if (big_endian) {
      for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
    } else {
      for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    }
    return v;
  }

  int offset_bytes() const { return big_tiff ? 8 : 4; }
  int count_bytes() const { return big_tiff ? 8 : 2; }  // an IFD's entry count
  int entry_bytes() const { return big_tiff ? 20 : 12; }

 private:
  const uint8_t* data_;
  uint64_t size_;
};

struct Entry {
  bool present = false;
  int tag = 0;
  int type = 0;
  uint64_t count = 0;
  uint64_t values = 0;  // where the values lie (checked by Locate)
};

// Where an entry's values lie: inline in the entry, or at the offset it holds.
// Checks that count values of its type lie inside the file.
Status Locate(const File& f, uint64_t field_pos, Entry* e) {
  const int tsize = TypeSize(e->type);
  if (tsize == 0) {
    return Bad("tag " + Str(static_cast<int64_t>(e->tag)) + " has unknown field type " +
               Str(static_cast<int64_t>(e->type)));
  }
  if (e->count > f.size() / static_cast<uint64_t>(tsize)) {
    return Bad("tag " + Str(static_cast<int64_t>(e->tag)) + " claims " + Str(e->count) +
               " values, more than the file of " + Str(f.size()) + " bytes holds");
  }
  const uint64_t bytes = e->count * static_cast<uint64_t>(tsize);
  if (bytes <= static_cast<uint64_t>(f.offset_bytes())) {
    e->values = field_pos;
    return Status::Ok();
  }
  const uint64_t offset = f.Uint(field_pos, f.offset_bytes());
  if (!f.Has(offset, bytes)) {
    return Bad("tag " + Str(static_cast<int64_t>(e->tag)) + "'s " + Str(bytes) + " bytes of values at offset " +
               Str(offset) + " lie outside the file of " + Str(f.size()) + " bytes");
  }
  e->values = offset;
  return Status::Ok();
}

bool IsUnsignedType(int type) { return type == 1 || type == 3 || type == 4 || type == 13 || type == 16 || type == 18; }

// Value i of an unsigned integer entry (BYTE, SHORT, LONG, LONG8, IFD, IFD8).
uint64_t UintAt(const File& f, const Entry& e, uint64_t i) {
  const int tsize = TypeSize(e.type);
  return f.Uint(e.values + i * static_cast<uint64_t>(tsize), tsize);
}

Status CheckUnsigned(const Entry& e, const char* name) {
  if (!IsUnsignedType(e.type)) {
    return Bad(std::string(name) + " (tag " + Str(static_cast<int64_t>(e.tag)) + ") has field type " +
               Str(static_cast<int64_t>(e.type)) + "; expected an unsigned integer type (BYTE, SHORT, LONG or LONG8)");
  }
  if (e.count < 1) return Bad(std::string(name) + " (tag " + Str(static_cast<int64_t>(e.tag)) + ") has no value");
  return Status::Ok();
}

// The single value of an unsigned integer tag, or `fallback` when absent.
Status ScalarTag(const File& f, const Entry& e, const char* name, uint64_t fallback, uint64_t* out) {
  if (!e.present) {
    *out = fallback;
    return Status::Ok();
  }
  GILFREE_RETURN_IF_ERROR(CheckUnsigned(e, name));
  *out = UintAt(f, e, 0);
  return Status::Ok();
}

// A tag holding one value per sample, all equal (BitsPerSample, SampleFormat).
Status PerSampleTag(const File& f, const Entry& e, const char* name, uint64_t fallback, int64_t samples,
                    uint64_t* out) {
  if (!e.present) {
    *out = fallback;
    return Status::Ok();
  }
  GILFREE_RETURN_IF_ERROR(CheckUnsigned(e, name));
  *out = UintAt(f, e, 0);
  const uint64_t n = std::min<uint64_t>(e.count, static_cast<uint64_t>(samples));
  for (uint64_t i = 1; i < n; ++i) {
    const uint64_t v = UintAt(f, e, i);
    if (v != *out) {
      return Bad(std::string(name) + " differs between samples (" + Str(*out) + " for sample 0, " + Str(v) +
                 " for sample " + Str(i) + "); only pages whose samples all have one type are supported");
    }
  }
  return Status::Ok();
}

// Doubles of a DOUBLE entry (GeoTIFF); false when it is not one of at least n.
bool Doubles(const File& f, const Entry& e, uint64_t n, double* out) {
  if (!e.present || e.type != 12 || e.count < n) return false;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t bits = f.Uint(e.values + 8 * i, 8);
    std::memcpy(&out[i], &bits, 8);
  }
  return true;
}

// Tags read from the page's IFD.
enum TagIndex {
  kWidth, kHeight, kBits, kCompression, kPhotometric, kFillOrder, kStripOffsets, kSamples,
  kRowsPerStrip, kStripBytes, kPlanar, kPredictor, kTileWidth, kTileLength, kTileOffsets,
  kTileBytes, kSampleFormat, kPixelScale, kTiepoint, kTransformation, kGeoKeys, kNodata, kNumTags
};

int TagSlot(int tag) {
  switch (tag) {
    case 256: return kWidth;
    case 257: return kHeight;
    case 258: return kBits;
    case 259: return kCompression;
    case 262: return kPhotometric;
    case 266: return kFillOrder;
    case 273: return kStripOffsets;
    case 277: return kSamples;
    case 278: return kRowsPerStrip;
    case 279: return kStripBytes;
    case 284: return kPlanar;
    case 317: return kPredictor;
    case 322: return kTileWidth;
    case 323: return kTileLength;
    case 324: return kTileOffsets;
    case 325: return kTileBytes;
    case 339: return kSampleFormat;
    case 33550: return kPixelScale;
    case 33922: return kTiepoint;
    case 34264: return kTransformation;
    case 34735: return kGeoKeys;
    case 42113: return kNodata;
    default: return -1;
  }
}

bool IsGeoSlot(int slot) { return slot >= kPixelScale; }

const char* PhotometricName(uint64_t p) {
  switch (p) {
    case 3: return "palette color";
    case 4: return "transparency mask";
    case 5: return "separated (CMYK)";
    case 6: return "YCbCr";
    case 8: return "CIELab";
    case 9: return "ICCLab";
    case 10: return "ITULab";
    case 32844: return "LogL";
    case 32845: return "LogLuv";
    default: return nullptr;
  }
}

bool CompressionSupported(int c) {
  return c == 1 || c == 5 || c == 8 || c == 32946 || c == 32773 || c == 50000;
}

// ---------------------------------------------------------------------------
// Codecs: each decodes [in, in + n) into exactly out_size bytes at out.

// LZW as TIFF writes it: MSB-first codes of 9 to 12 bits, ClearCode 256,
// EndOfInformation 257, the code width growing one code early. Every string
// in the table has already been written to the output (it is the previous
// code's string plus the first byte of the one after it), so an entry is kept
// as where it starts in the output and its length, and decoding a code is a
// copy from earlier output.
struct LzwTable {
  int64_t start[4096];
  int32_t length[4096];
};

// Bytes DecodeLzw may write past out_size (the caller's buffer has them): an
// entry's string is copied 16 bytes at a time, the last step running over.
constexpr int64_t kLzwSlack = 16;

// `out_size` bytes of output in a buffer of out_size + kLzwSlack bytes.
Status DecodeLzw(const uint8_t* in, int64_t n, uint8_t* out, int64_t out_size, LzwTable* t) {
  if (n >= 2 && in[0] == 0 && (in[1] & 1)) {
    return Bad("LZW data is in the old-style (LSB-first, pre-TIFF 6.0) form, which is not supported");
  }
  uint64_t buffer = 0;
  int bits = 0;
  int64_t pos = 0;
  int64_t written = 0;
  int width = 9;
  int next = 258;
  int prev = -1;             // the previous code since the last clear, or -1
  int64_t prev_start = 0;    // where its string starts in the output
  int32_t prev_length = 0;
  while (true) {
    while (bits < width) {
      if (pos >= n) break;
      buffer = (buffer << 8) | in[pos++];
      bits += 8;
    }
    if (bits < width) break;  // the input ends
    const int code = static_cast<int>((buffer >> (bits - width)) & ((1u << width) - 1));
    bits -= width;
    if (code == 257) break;
    if (code == 256) {
      width = 9;
      next = 258;
      prev = -1;
      continue;
    }
    const int64_t here = written;
    int32_t len;
    if (code < 256) {
      if (written >= out_size) {
        return Bad("LZW data decodes to more than the " + Str(out_size) + " bytes of its chunk");
      }
      out[written] = static_cast<uint8_t>(code);
      len = 1;
    } else if (code >= 258 && code < next) {
      len = t->length[code];
      if (len > out_size - written) {
        return Bad("LZW data decodes to more than the " + Str(out_size) + " bytes of its chunk");
      }
      // The entry's string ends before `written`, at least len bytes back:
      // 16-byte steps read each step's bytes before writing them, and what
      // they write past the string is written again by the codes after it.
      const uint8_t* from = out + t->start[code];
      uint8_t* to = out + written;
      for (int32_t k = 0; k < len; k += 16) std::memmove(to + k, from + k, 16);
    } else if (code == next && prev >= 0 && next < 4096) {
      // The string being defined: prev's string and its own first byte,
      // which is prev's string continued one byte (an overlapping copy).
      len = prev_length + 1;
      if (len > out_size - written) {
        return Bad("LZW data decodes to more than the " + Str(out_size) + " bytes of its chunk");
      }
      const uint8_t* from = out + prev_start;
      uint8_t* to = out + written;
      for (int32_t k = 0; k < len; ++k) to[k] = from[k];
    } else {
      return Bad("LZW code " + Str(static_cast<int64_t>(code)) + " at bit " + Str(pos * 8 - bits - width) +
                 " is not in the table (" + Str(static_cast<int64_t>(next)) + " entries)");
    }
    written += len;
    if (prev >= 0 && next < 4096) {
      t->start[next] = prev_start;
      t->length[next] = prev_length + 1;
      ++next;
    }
    prev = code;
    prev_start = here;
    prev_length = len;
    // Early change: the width grows when the next free entry needs it minus one.
    if (next >= (1 << width) - 1 && width < 12) ++width;
  }
  if (written != out_size) {
    return Bad("LZW data ends after " + Str(written) + " of the " + Str(out_size) + " bytes of its chunk");
  }
  return Status::Ok();
}

Status DecodePackBits(const uint8_t* in, int64_t n, uint8_t* out, int64_t out_size) {
  int64_t i = 0, o = 0;
  while (i < n) {
    const int h = static_cast<int8_t>(in[i++]);
    if (h >= 0) {
      const int64_t len = h + 1;
      if (len > n - i) return Bad("PackBits data ends inside a literal run");
      if (len > out_size - o) {
        return Bad("PackBits data decodes to more than the " + Str(out_size) + " bytes of its chunk");
      }
      std::memcpy(out + o, in + i, static_cast<size_t>(len));
      i += len;
      o += len;
    } else if (h != -128) {
      const int64_t len = 1 - h;
      if (i >= n) return Bad("PackBits data ends inside a repeat run");
      if (len > out_size - o) {
        return Bad("PackBits data decodes to more than the " + Str(out_size) + " bytes of its chunk");
      }
      std::memset(out + o, in[i++], static_cast<size_t>(len));
      o += len;
    }
  }
  if (o != out_size) {
    return Bad("PackBits data ends after " + Str(o) + " of the " + Str(out_size) + " bytes of its chunk");
  }
  return Status::Ok();
}

Status DecodeZlib(const uint8_t* in, int64_t n, uint8_t* out, int64_t out_size) {
  if (n < 2) return Bad("deflate data of " + Str(n) + " bytes is too short for a zlib header");
  const int cmf = in[0], flg = in[1];
  if ((cmf & 0x0f) != 8 || (cmf >> 4) > 7 || ((cmf << 8) | flg) % 31 != 0) {
    return Bad("deflate data does not start with a zlib header");
  }
  if (flg & 0x20) return Bad("deflate data uses a preset dictionary, which is not supported");
  // The Adler-32 trailer is not checked: the exact output size and the
  // deflate stream's own structure are.
  Status s = Inflate(in + 2, n - 2, out, out_size);
  if (!s.ok()) return Status::InvalidArgument(s.message() + " (a TIFF deflate chunk)");
  return Status::Ok();
}

#if GILFREE_HAVE_ZSTD
Status DecodeZstd(const uint8_t* in, int64_t n, uint8_t* out, int64_t out_size, ZSTD_DCtx* ctx) {
  const size_t r = ZSTD_decompressDCtx(ctx, out, static_cast<size_t>(out_size), in, static_cast<size_t>(n));
  if (ZSTD_isError(r)) return Bad(std::string("ZSTD data does not decode: ") + ZSTD_getErrorName(r));
  if (r != static_cast<size_t>(out_size)) {
    return Bad("ZSTD data decodes to " + Str(static_cast<uint64_t>(r)) + " bytes; its chunk needs " + Str(out_size));
  }
  return Status::Ok();
}
#endif

// ---------------------------------------------------------------------------
// Predictors, on one row of a chunk in native byte order.

template <typename U>
void UndoHorizontal(uint8_t* row, int64_t samples, int64_t stride) {
  // Pixel after pixel; within a pixel each sample adds the same sample of the
  // pixel before, which does not overlap it (the compiler vectorizes this
  // loop). Through memcpy: the row need not be aligned for U.
  for (int64_t i = stride; i < samples; i += stride) {
    const int64_t n = std::min(stride, samples - i);
    uint8_t* __restrict cur = row + i * static_cast<int64_t>(sizeof(U));
    const uint8_t* __restrict before = cur - stride * static_cast<int64_t>(sizeof(U));
    for (int64_t c = 0; c < n; ++c) {
      U a, b;
      std::memcpy(&a, before + c * sizeof(U), sizeof(U));
      std::memcpy(&b, cur + c * sizeof(U), sizeof(U));
      b = static_cast<U>(a + b);
      std::memcpy(cur + c * sizeof(U), &b, sizeof(U));
    }
  }
}

void UndoHorizontalRow(uint8_t* row, int64_t samples, int64_t stride, int itemsize) {
  switch (itemsize) {
    case 1: UndoHorizontal<uint8_t>(row, samples, stride); break;
    case 2: UndoHorizontal<uint16_t>(row, samples, stride); break;
    case 4: UndoHorizontal<uint32_t>(row, samples, stride); break;
    case 8: UndoHorizontal<uint64_t>(row, samples, stride); break;
  }
}

// The floating-point predictor: the row's bytes were split into planes, most
// significant first, then byte-differenced with a stride of `stride` bytes.
void UndoFloatRow(uint8_t* row, int64_t samples, int64_t stride, int itemsize, uint8_t* tmp) {
  const int64_t bytes = samples * itemsize;
  for (int64_t i = stride; i < bytes; ++i) row[i] = static_cast<uint8_t>(row[i] + row[i - stride]);
  std::memcpy(tmp, row, static_cast<size_t>(bytes));
  for (int b = 0; b < itemsize; ++b) {
    // Native byte b of each value comes from plane p (0 = most significant).
    const int p = kHostBigEndian ? b : itemsize - 1 - b;
    const uint8_t* plane = tmp + p * samples;
    uint8_t* dst = row + b;
    for (int64_t i = 0; i < samples; ++i) dst[i * itemsize] = plane[i];
  }
}

// One band's row of a separate page into its place in interleaved pixels
// (`pixel_out` bytes apart), byte-swapped when `swap`.
template <int kSize>
void ScatterBand(const uint8_t* src, uint8_t* dst, int64_t cols, int64_t pixel_out, bool swap) {
  for (int64_t x = 0; x < cols; ++x, src += kSize, dst += pixel_out) {
    if (swap) {
      CopySwapped(src, dst, 1, kSize);
    } else {
      std::memcpy(dst, src, kSize);
    }
  }
}

// ---------------------------------------------------------------------------
// The page's chunk grid.

struct Grid {
  int64_t chunk_h = 0, chunk_w = 0;  // a chunk's rows and columns (a strip: rps x width)
  int64_t across = 0, down = 0;      // chunks per band
  int64_t per_band = 0;              // across * down
  int64_t bands = 0;                 // chunk bands: bands (separate) or 1
  int64_t spc = 0;                   // samples per chunk pixel
  int64_t itemsize = 0;
};

// The grid of a page; false when its sizes are not positive or overflow.
bool MakeGrid(const TiffInfo& info, Grid* out) {
  Grid g;
  g.chunk_h = info.tiled ? info.tile_height : info.rows_per_strip;
  g.chunk_w = info.tiled ? info.tile_width : info.width;
  if (g.chunk_h < 1 || g.chunk_w < 1 || info.height < 1 || info.width < 1 || info.bands < 1) return false;
  g.across = info.width / g.chunk_w + (info.width % g.chunk_w != 0);
  g.down = info.height / g.chunk_h + (info.height % g.chunk_h != 0);
  g.bands = info.planar_separate ? info.bands : 1;
  g.spc = info.planar_separate ? 1 : info.bands;
  g.itemsize = DTypeSize(info.dtype);
  int64_t chunks = 0, row = 0, chunk = 0;
  if (!MulOk(g.across, g.down, &g.per_band) || !MulOk(g.per_band, g.bands, &chunks) ||
      !MulOk(g.chunk_w, g.spc, &row) || !MulOk(row, g.itemsize, &row) || !MulOk(row, g.chunk_h, &chunk)) {
    return false;
  }
  *out = g;
  return true;
}

// The rows a chunk holds in the file (a strip's last holds only what remains).
int64_t ChunkRows(const TiffInfo& info, const Grid& g, int64_t cy) {
  if (info.tiled) return g.chunk_h;
  return std::min(g.chunk_h, info.height - cy * g.chunk_h);
}

// Bytes of a chunk row (no overflow: checked by ReadTiffInfo).
int64_t RowBytes(const Grid& g) { return g.chunk_w * g.spc * g.itemsize; }

const char* CodecDescription(int compression) {
  switch (compression) {
    case 1: return "uncompressed";
    case 5: return "LZW";
    case 8: case 32946: return "deflate";
    case 32773: return "PackBits";
    case 50000: return "ZSTD";
    default: return "compressed";
  }
}

}  // namespace

const char* TiffCompressionName(int compression) {
  switch (compression) {
    case 1: return "none";
    case 2: return "ccittrle";
    case 3: return "ccittfax3";
    case 4: return "ccittfax4";
    case 5: return "lzw";
    case 6: return "ojpeg";
    case 7: return "jpeg";
    case 8: case 32946: return "deflate";
    case 9: return "jbig_bw";
    case 10: return "jbig_color";
    case 32766: return "next";
    case 32771: return "ccittrlew";
    case 32773: return "packbits";
    case 32809: return "thunderscan";
    case 32895: return "it8ctpad";
    case 32896: return "it8lw";
    case 32897: return "it8mp";
    case 32898: return "it8bl";
    case 32908: return "pixarfilm";
    case 32909: return "pixarlog";
    case 32947: return "dcs";
    case 33003: case 33005: case 34712: return "jpeg2000";
    case 34661: return "jbig";
    case 34676: return "sgilog";
    case 34677: return "sgilog24";
    case 34887: return "lerc";
    case 34892: return "jpeg";  // lossy JPEG (DNG)
    case 34925: return "lzma";
    case 34926: return "zstd";  // draft value some writers used
    case 34927: return "webp";  // draft value
    case 50000: return "zstd";
    case 50001: return "webp";
    case 50002: case 52546: return "jpegxl";
    default: return "unknown";
  }
}

bool TiffHasZstd() {
#if GILFREE_HAVE_ZSTD
  return true;
#else
  return false;
#endif
}

int64_t TiffMaxExpansion(int compression) {
  switch (compression) {
    case 1: return 1;        // the chunk holds its bytes
    case 5: return 3641;     // a 12-bit table's strings are < 4096 bytes, codes >= 9 bits: 4096 * 8 / 9
    case 8:
    case 32946: return 1032;  // a 258-byte match per 2 bits of deflate
    case 32773: return 64;   // a 2-byte repeat run writes 128 bytes
    case 50000: return 32768;  // a 128 KiB RLE block from a 3-byte header and 1 byte
    default: return 0;       // not decoded
  }
}

Status ReadTiffInfo(const uint8_t* data, int64_t size, int64_t page, TiffInfo* info) {
  *info = TiffInfo();
  if (data == nullptr || size < 8) return Bad("truncated TIFF file: " + Str(size) + " bytes, less than a header");
  File f(data, size);
  if (data[0] == 'I' && data[1] == 'I') {
    f.big_endian = false;
  } else if (data[0] == 'M' && data[1] == 'M') {
    f.big_endian = true;
  } else {
    return Bad("not a TIFF file: it does not start with \"II\" or \"MM\"");
  }
  const uint64_t version = f.Uint(2, 2);
  uint64_t first = 0;
  if (version == 42) {
    first = f.Uint(4, 4);
  } else if (version == 43) {
    if (size < 16) return Bad("truncated BigTIFF file: " + Str(size) + " bytes, less than a header");
    if (f.Uint(4, 2) != 8 || f.Uint(6, 2) != 0) {
      return Bad("BigTIFF header has offset size " + Str(f.Uint(4, 2)) + "; expected 8");
    }
    f.big_tiff = true;
    first = f.Uint(8, 8);
  } else {
    return Bad("not a TIFF file: version " + Str(version) + "; expected 42 (TIFF) or 43 (BigTIFF)");
  }
  info->big_tiff = f.big_tiff;
  info->big_endian = f.big_endian;
  if (page < 0) return Status::InvalidArgument("page: " + Str(page) + " is negative");

  // Walk the chain. Each IFD takes at least its count and next offset, and a
  // loop is found by Brent's method (no memory per IFD).
  const uint64_t min_ifd = static_cast<uint64_t>(f.count_bytes() + f.offset_bytes());
  const int64_t max_pages = static_cast<int64_t>(f.size() / min_ifd);
  uint64_t ifd = first, page_ifd = 0, page_entries = 0;
  uint64_t saved = first;
  int64_t power = 1, since = 0, pages = 0;
  while (ifd != 0) {
    if (!f.Has(ifd, min_ifd)) {
      return Bad("IFD " + Str(pages) + " at offset " + Str(ifd) + " lies outside the file of " + Str(f.size()) +
                 " bytes");
    }
    const uint64_t entries = f.Uint(ifd, f.count_bytes());
    const uint64_t room = (f.size() - ifd - min_ifd) / static_cast<uint64_t>(f.entry_bytes());
    if (entries > room) {
      return Bad("IFD " + Str(pages) + " at offset " + Str(ifd) + " claims " + Str(entries) +
                 " entries, more than the file holds");
    }
    if (pages == page) {
      page_ifd = ifd;
      page_entries = entries;
    }
    if (++pages > max_pages) return Bad("the IFD chain is longer than the file could hold");
    const uint64_t next_pos = ifd + static_cast<uint64_t>(f.count_bytes()) + entries * f.entry_bytes();
    ifd = f.Uint(next_pos, f.offset_bytes());
    if (ifd != 0 && ifd == saved) {
      return Bad("the IFD chain loops: the IFD at offset " + Str(ifd) + " comes again after " + Str(pages) +
                 " IFDs");
    }
    if (++since == power) {
      saved = ifd;
      power *= 2;
      since = 0;
    }
  }
  info->pages = pages;
  if (pages == 0) return Bad("the TIFF file has no IFD (its first IFD offset is 0)");
  if (page >= pages) {
    return Status::InvalidArgument("page: " + Str(page) + " is out of range; contents has " + Str(pages) +
                                   (pages == 1 ? " page" : " pages"));
  }
  info->page = page;

  // The page's entries.
  Entry tags[kNumTags];
  for (uint64_t i = 0; i < page_entries; ++i) {
    const uint64_t pos = page_ifd + static_cast<uint64_t>(f.count_bytes()) + i * f.entry_bytes();
    const int tag = static_cast<int>(f.Uint(pos, 2));
    const int slot = TagSlot(tag);
    if (slot < 0 || tags[slot].present) continue;
    Entry e;
    e.present = true;
    e.tag = tag;
    e.type = static_cast<int>(f.Uint(pos + 2, 2));
    e.count = f.Uint(pos + 4, f.big_tiff ? 8 : 4);
    const uint64_t field = pos + (f.big_tiff ? 12 : 8);
    Status s = Locate(f, field, &e);
    if (!s.ok()) {
      if (IsGeoSlot(slot)) continue;  // a broken GeoTIFF tag is ignored
      return s;
    }
    tags[slot] = e;
  }
  const std::string where = "page " + Str(page);

  uint64_t width = 0, height = 0, samples = 1, bits = 1, format = 1, compression = 1, predictor = 1, planar = 1,
           fill = 1;
  if (!tags[kWidth].present || !tags[kHeight].present) {
    return Bad(where + " lacks ImageWidth (256) or ImageLength (257)");
  }
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kWidth], "ImageWidth", 0, &width));
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kHeight], "ImageLength", 0, &height));
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kSamples], "SamplesPerPixel", 1, &samples));
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kCompression], "Compression", 1, &compression));
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kPredictor], "Predictor", 1, &predictor));
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kPlanar], "PlanarConfiguration", 1, &planar));
  GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kFillOrder], "FillOrder", 1, &fill));
  const int64_t max_dim = int64_t{1} << 40;
  if (width < 1 || height < 1 || width > static_cast<uint64_t>(max_dim) || height > static_cast<uint64_t>(max_dim)) {
    return Bad(where + " has size " + Str(height) + "x" + Str(width) + " (height x width); expected 1 to 2^40 each");
  }
  if (samples < 1 || samples > 65535) return Bad(where + " has SamplesPerPixel " + Str(samples));
  info->height = static_cast<int64_t>(height);
  info->width = static_cast<int64_t>(width);
  info->bands = static_cast<int64_t>(samples);
  GILFREE_RETURN_IF_ERROR(PerSampleTag(f, tags[kBits], "BitsPerSample", 1, info->bands, &bits));
  GILFREE_RETURN_IF_ERROR(PerSampleTag(f, tags[kSampleFormat], "SampleFormat", 1, info->bands, &format));

  if (bits != 8 && bits != 16 && bits != 32 && bits != 64) {
    return Bad(where + " has BitsPerSample " + Str(bits) + ", which is not supported; expected 8, 16, 32 or 64");
  }
  DType dtype = DType::kUInt8;
  if (format == 1) {
    dtype = bits == 8 ? DType::kUInt8 : bits == 16 ? DType::kUInt16 : bits == 32 ? DType::kUInt32 : DType::kUInt64;
  } else if (format == 2) {
    dtype = bits == 8 ? DType::kInt8 : bits == 16 ? DType::kInt16 : bits == 32 ? DType::kInt32 : DType::kInt64;
  } else if (format == 3) {
    if (bits == 8) return Bad(where + " has 8-bit floating-point samples (SampleFormat 3), which are not supported");
    dtype = bits == 16 ? DType::kFloat16 : bits == 32 ? DType::kFloat32 : DType::kFloat64;
  } else {
    return Bad(where + " has SampleFormat " + Str(format) +
               ", which is not supported; expected 1 (unsigned), 2 (signed) or 3 (float)");
  }
  info->dtype = dtype;

  if (compression > 65535) return Bad(where + " has Compression " + Str(compression));
  info->compression = static_cast<int>(compression);
  if (!CompressionSupported(info->compression)) {
    return Bad(where + " uses " + Upper(TiffCompressionName(info->compression)) + " compression (" +
               Str(compression) +
               "), which gilfree does not decode; it reads none (1), LZW (5), deflate (8, 32946), PackBits "
               "(32773) and ZSTD (50000)");
  }
  if (info->compression == 50000 && !TiffHasZstd()) {
    return Bad(where + " uses ZSTD compression (50000), but this build of gilfree has no ZSTD codec (libzstd "
               "was not found when it was built)");
  }
  if (predictor == 2) {
    if (IsFloating(dtype)) {
      return Bad(where + " has Predictor 2 (horizontal differencing) on " + DTypeName(dtype) +
                 " samples; it applies to integer samples only");
    }
  } else if (predictor == 3) {
    if (!IsFloating(dtype)) {
      return Bad(where + " has Predictor 3 (floating point) on " + DTypeName(dtype) +
                 " samples; it applies to floating-point samples only");
    }
  } else if (predictor != 1) {
    return Bad(where + " has Predictor " + Str(predictor) + ", which is not supported; expected 1, 2 or 3");
  }
  info->predictor = static_cast<int>(predictor);
  if (tags[kPhotometric].present) {
    uint64_t photometric = 0;
    GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kPhotometric], "PhotometricInterpretation", 0, &photometric));
    if (photometric > 65535) return Bad(where + " has PhotometricInterpretation " + Str(photometric));
    info->photometric = static_cast<int>(photometric);
    const bool refused = photometric == 3 || photometric == 6 || photometric == 8 || photometric == 9 ||
                         photometric == 10 || photometric == 32844 || photometric == 32845;
    if (refused) {
      return Bad(where + " has PhotometricInterpretation " + Str(photometric) + " (" + PhotometricName(photometric) +
                 "), which is not supported");
    }
  }
  if (fill != 1) {
    return Bad(where + " has FillOrder " + Str(fill) + ", which is not supported; expected 1 (MSB first)");
  }
  if (planar != 1 && planar != 2) {
    return Bad(where + " has PlanarConfiguration " + Str(planar) + "; expected 1 (contig) or 2 (separate)");
  }
  info->planar_separate = planar == 2 && info->bands > 1;

  // The chunk grid.
  const Entry* offsets = nullptr;
  const Entry* counts = nullptr;
  info->tiled = tags[kTileWidth].present || tags[kTileLength].present || tags[kTileOffsets].present;
  if (info->tiled) {
    uint64_t tw = 0, tl = 0;
    if (!tags[kTileWidth].present || !tags[kTileLength].present) {
      return Bad(where + " is tiled but lacks TileWidth (322) or TileLength (323)");
    }
    GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kTileWidth], "TileWidth", 0, &tw));
    GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kTileLength], "TileLength", 0, &tl));
    if (tw < 1 || tl < 1 || tw > static_cast<uint64_t>(max_dim) || tl > static_cast<uint64_t>(max_dim)) {
      return Bad(where + " has tiles of " + Str(tl) + "x" + Str(tw) + "; expected positive sizes");
    }
    info->tile_width = static_cast<int64_t>(tw);
    info->tile_height = static_cast<int64_t>(tl);
    offsets = &tags[kTileOffsets];
    counts = &tags[kTileBytes];
    if (!offsets->present || !counts->present) {
      return Bad(where + " is tiled but lacks TileOffsets (324) or TileByteCounts (325)");
    }
  } else {
    uint64_t rps = 0;
    GILFREE_RETURN_IF_ERROR(ScalarTag(f, tags[kRowsPerStrip], "RowsPerStrip", 0xffffffffu, &rps));
    if (rps < 1) return Bad(where + " has RowsPerStrip 0");
    info->rows_per_strip = static_cast<int64_t>(std::min<uint64_t>(rps, height));
    offsets = &tags[kStripOffsets];
    counts = &tags[kStripBytes];
    if (!offsets->present || !counts->present) {
      return Bad(where + " lacks StripOffsets (273) or StripByteCounts (279)");
    }
  }
  GILFREE_RETURN_IF_ERROR(CheckUnsigned(*offsets, info->tiled ? "TileOffsets" : "StripOffsets"));
  GILFREE_RETURN_IF_ERROR(CheckUnsigned(*counts, info->tiled ? "TileByteCounts" : "StripByteCounts"));
  Grid g;
  if (!MakeGrid(*info, &g)) return Bad(where + " has a chunk grid too large to address");
  const int64_t chunks = g.per_band * g.bands;
  // Both arrays lie inside the file, so their counts bound what is allocated.
  if (offsets->count < static_cast<uint64_t>(chunks) || counts->count < static_cast<uint64_t>(chunks)) {
    return Bad(where + " needs " + Str(chunks) + (info->tiled ? " tiles" : " strips") + " but has " +
               Str(std::min(offsets->count, counts->count)) + " offsets and byte counts");
  }
  info->chunk_offsets.resize(static_cast<size_t>(chunks));
  info->chunk_bytes.resize(static_cast<size_t>(chunks));
  for (int64_t i = 0; i < chunks; ++i) {
    const uint64_t off = UintAt(f, *offsets, static_cast<uint64_t>(i));
    const uint64_t n = UintAt(f, *counts, static_cast<uint64_t>(i));
    if (!f.Has(off, n)) {
      return Bad(where + "'s " + (info->tiled ? "tile " : "strip ") + Str(i) + " of " + Str(n) +
                 " bytes at offset " + Str(off) + " lies outside the file of " + Str(f.size()) + " bytes");
    }
    info->chunk_offsets[static_cast<size_t>(i)] = off;
    info->chunk_bytes[static_cast<size_t>(i)] = n;
  }

  // GeoTIFF.
  const Entry& nodata = tags[kNodata];
  if (nodata.present && nodata.type == 2 && nodata.count > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(nodata.count, 255));
    char buf[256];
    std::memcpy(buf, data + nodata.values, n);
    buf[n] = '\0';
    const char* start = buf;
    while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r') ++start;
    char* end = nullptr;
    const double v = std::strtod(start, &end);
    if (end != start) {
      while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ++end;
      if (*end == '\0') {
        info->has_nodata = true;
        info->nodata = v;
      }
    }
  }
  double scale[3], tie[6], m[16];
  if (Doubles(f, tags[kPixelScale], 2, scale) && Doubles(f, tags[kTiepoint], 6, tie)) {
    info->has_geotransform = true;
    info->geotransform[0] = tie[3] - tie[0] * scale[0];
    info->geotransform[1] = scale[0];
    info->geotransform[2] = 0;
    info->geotransform[3] = tie[4] + tie[1] * scale[1];
    info->geotransform[4] = 0;
    info->geotransform[5] = -scale[1];
  } else if (Doubles(f, tags[kTransformation], 16, m)) {
    info->has_geotransform = true;
    info->geotransform[0] = m[3];
    info->geotransform[1] = m[0];
    info->geotransform[2] = m[1];
    info->geotransform[3] = m[7];
    info->geotransform[4] = m[4];
    info->geotransform[5] = m[5];
  }
  const Entry& keys = tags[kGeoKeys];
  if (keys.present && keys.type == 3 && keys.count >= 4) {
    const uint64_t n = std::min<uint64_t>(UintAt(f, keys, 3), (keys.count - 4) / 4);
    int64_t projected = 0, geographic = 0;
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t id = UintAt(f, keys, 4 + 4 * k);
      const uint64_t location = UintAt(f, keys, 5 + 4 * k);
      const uint64_t value = UintAt(f, keys, 7 + 4 * k);
      if (location != 0) continue;
      if (id == 3072) projected = static_cast<int64_t>(value);
      if (id == 2048) geographic = static_cast<int64_t>(value);
      if (id == 1025) info->raster_point = value == 2;
    }
    if (projected == 32767) projected = 0;
    if (geographic == 32767) geographic = 0;
    info->epsg = projected != 0 ? projected : geographic;
  }
  return Status::Ok();
}

Status CheckTiffDType(const TiffInfo& info, DType expected) {
  if (info.dtype != expected) {
    return Status::InvalidArgument(std::string("dtype is ") + DTypeName(expected) +
                                   " but contents holds a TIFF page of " + DTypeName(info.dtype));
  }
  return Status::Ok();
}

Status ResolveTiffWindow(const TiffInfo& info, const int64_t* window, TiffWindow* out) {
  TiffWindow w;
  if (window == nullptr) {
    w.height = info.height;
    w.width = info.width;
  } else {
    w.row = window[0];
    w.col = window[1];
    w.height = window[2];
    w.width = window[3];
    const bool inside = w.row >= 0 && w.col >= 0 && w.height >= 1 && w.width >= 1 && w.row < info.height &&
                        w.col < info.width && w.height <= info.height - w.row && w.width <= info.width - w.col;
    if (!inside) {
      return Status::InvalidArgument("window: [" + Str(w.row) + ", " + Str(w.col) + ", " + Str(w.height) + ", " +
                                     Str(w.width) + "] (row, col, height, width) does not lie inside the page of " +
                                     Str(info.height) + "x" + Str(info.width) +
                                     "; expected non-negative row and col, height and width >= 1");
    }
  }
  Grid g;
  if (!MakeGrid(info, &g)) return Bad("the page's chunk grid is empty or too large");
  const int64_t expansion = TiffMaxExpansion(info.compression);
  if (expansion < 1) return Bad("compression " + Str(static_cast<int64_t>(info.compression)) + " is not decoded");
  int64_t out_bytes = 0;
  if (!MulOk(w.height, w.width, &out_bytes) || !MulOk(out_bytes, info.bands, &out_bytes) ||
      !MulOk(out_bytes, g.itemsize, &out_bytes)) {
    return Bad("the window's output is too large to address");
  }
  // Every chunk the window needs must be able to decode to its shape's bytes
  // (so its scratch buffer, and the output they cover, are justified).
  const int64_t cy0 = w.row / g.chunk_h, cy1 = (w.row + w.height - 1) / g.chunk_h;
  const int64_t cx0 = w.col / g.chunk_w, cx1 = (w.col + w.width - 1) / g.chunk_w;
  if (static_cast<int64_t>(info.chunk_offsets.size()) < g.per_band * g.bands ||
      info.chunk_bytes.size() != info.chunk_offsets.size()) {
    return Bad("the page's chunk tables do not match its shape");
  }
  const int64_t row_bytes = RowBytes(g);
  int64_t budget = 0;  // the needed chunks' bytes times the expansion, saturating
  for (int64_t b = 0; b < g.bands; ++b) {
    for (int64_t cy = cy0; cy <= cy1; ++cy) {
      const int64_t need = ChunkRows(info, g, cy) * row_bytes;
      for (int64_t cx = cx0; cx <= cx1; ++cx) {
        const int64_t k = b * g.per_band + cy * g.across + cx;
        const uint64_t have = info.chunk_bytes[static_cast<size_t>(k)];
        const int64_t can = have > static_cast<uint64_t>(kInt64Max / expansion)
                                ? kInt64Max
                                : static_cast<int64_t>(have) * expansion;
        if (need > can) {
          return Bad(std::string(info.tiled ? "tile " : "strip ") + Str(k) + " holds " + Str(have) + " bytes of " +
                     CodecDescription(info.compression) + " data, which cannot decode to the " + Str(need) +
                     " bytes its shape needs (at most " + Str(expansion) + "x)");
        }
        budget = can > kInt64Max - budget ? kInt64Max : budget + can;
      }
    }
  }
  if (out_bytes > budget) {
    return Bad("the window's " + Str(out_bytes) + " output bytes are more than its chunks can decode to");
  }
  *out = w;
  return Status::Ok();
}

Status DecodeTiff(const uint8_t* data, int64_t size, const TiffInfo& info, const TiffWindow& window, void* out,
                  const ParallelFor* parallel_for) {
  Grid g;
  if (!MakeGrid(info, &g)) return Bad("the page's chunk grid is empty or too large");
  if (window.height < 1 || window.width < 1 || window.row < 0 || window.col < 0 ||
      window.row + window.height > info.height || window.col + window.width > info.width) {
    return Status::InvalidArgument("window: it does not lie inside the page (use ResolveTiffWindow)");
  }
  if (static_cast<int64_t>(info.chunk_offsets.size()) < g.per_band * g.bands ||
      info.chunk_bytes.size() != info.chunk_offsets.size()) {
    return Bad("the page's chunk tables do not match its shape");
  }
  const int isz = static_cast<int>(g.itemsize);
  const bool swap = isz > 1 && info.big_endian != kHostBigEndian && info.predictor != 3;
  const int64_t cy0 = window.row / g.chunk_h, cy1 = (window.row + window.height - 1) / g.chunk_h;
  const int64_t cx0 = window.col / g.chunk_w, cx1 = (window.col + window.width - 1) / g.chunk_w;
  const int64_t ny = cy1 - cy0 + 1, nx = cx1 - cx0 + 1;
  const int64_t units = g.bands * ny * nx;
  const int64_t row_bytes = RowBytes(g);
  const int64_t pixel_out = info.bands * g.itemsize;
  const int64_t out_row = window.width * pixel_out;
  uint8_t* const dst_base = static_cast<uint8_t*>(out);

  std::mutex mu;
  int64_t error_unit = units;
  Status error;
  auto fail = [&](int64_t u, Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (u < error_unit) {
      error_unit = u;
      error = std::move(s);
    }
  };

  auto decode_range = [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> scratch, tmp;
    std::unique_ptr<LzwTable> lzw;
#if GILFREE_HAVE_ZSTD
    struct CtxFree {
      void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
    };
    std::unique_ptr<ZSTD_DCtx, CtxFree> zctx;
#endif
    for (int64_t u = begin; u < end; ++u) {
      try {
        const int64_t b = u / (ny * nx);
        const int64_t cy = cy0 + (u / nx) % ny;
        const int64_t cx = cx0 + u % nx;
        const int64_t k = b * g.per_band + cy * g.across + cx;
        const uint8_t* src = data + info.chunk_offsets[static_cast<size_t>(k)];
        const int64_t n = static_cast<int64_t>(info.chunk_bytes[static_cast<size_t>(k)]);
        const int64_t rows = ChunkRows(info, g, cy);
        const int64_t need = rows * row_bytes;
        // The chunk's rows and columns inside the window.
        const int64_t y0 = cy * g.chunk_h, x0 = cx * g.chunk_w;
        const int64_t ya = std::max(y0, window.row);
        const int64_t yb = std::min({y0 + rows, window.row + window.height, info.height});
        const int64_t xa = std::max(x0, window.col);
        const int64_t xb = std::min({x0 + g.chunk_w, window.col + window.width, info.width});
        if (info.chunk_offsets[static_cast<size_t>(k)] > static_cast<uint64_t>(size) ||
            static_cast<uint64_t>(n) > static_cast<uint64_t>(size) - info.chunk_offsets[static_cast<size_t>(k)]) {
          fail(u, Bad("chunk " + Str(k) + " lies outside the file"));
          continue;
        }
        // `rows_at` points at the chunk's row ya (row_bytes apart), in native
        // order once `swapped` (or when no swap is needed).
        const uint8_t* rows_at = nullptr;
        bool need_swap = swap;
        Status s;
        if (info.compression == 1) {
          if (n < need) {
            fail(u, Bad("chunk " + Str(k) + " holds " + Str(n) + " bytes; its shape needs " + Str(need)));
            continue;
          }
          rows_at = src + (ya - y0) * row_bytes;
          if (info.predictor != 1) {
            const int64_t m = (yb - ya) * row_bytes;
            if (static_cast<int64_t>(scratch.size()) < m) scratch.resize(static_cast<size_t>(m));
            std::memcpy(scratch.data(), rows_at, static_cast<size_t>(m));
            rows_at = scratch.data();
          }
        } else {
          if (static_cast<int64_t>(scratch.size()) < need + kLzwSlack) {
            scratch.resize(static_cast<size_t>(need + kLzwSlack));
          }
          switch (info.compression) {
            case 5:
              if (!lzw) lzw.reset(new LzwTable());
              s = DecodeLzw(src, n, scratch.data(), need, lzw.get());
              break;
            case 8:
            case 32946: s = DecodeZlib(src, n, scratch.data(), need); break;
            case 32773: s = DecodePackBits(src, n, scratch.data(), need); break;
#if GILFREE_HAVE_ZSTD
            case 50000:
              if (!zctx) zctx.reset(ZSTD_createDCtx());
              if (!zctx) {
                s = Status::ResourceExhausted("contents: out of memory creating a ZSTD context");
                break;
              }
              s = DecodeZstd(src, n, scratch.data(), need, zctx.get());
              break;
#endif
            default:
              s = Bad("compression " + Str(static_cast<int64_t>(info.compression)) + " is not decoded");
          }
          if (!s.ok()) {
            if (s.code() != StatusCode::kResourceExhausted) {
              s = Status::InvalidArgument(s.message() + " (" + (info.tiled ? "tile " : "strip ") + Str(k) + ")");
            }
            fail(u, s);
            continue;
          }
          rows_at = scratch.data() + (ya - y0) * row_bytes;
        }
        if (info.predictor != 1) {
          uint8_t* r = const_cast<uint8_t*>(rows_at);  // scratch
          const int64_t samples = g.chunk_w * g.spc;
          if (info.predictor == 3 && static_cast<int64_t>(tmp.size()) < row_bytes) {
            tmp.resize(static_cast<size_t>(row_bytes));
          }
          for (int64_t y = ya; y < yb; ++y, r += row_bytes) {
            if (info.predictor == 2) {
              if (need_swap) CopySwapped(r, r, samples, isz);
              UndoHorizontalRow(r, samples, g.spc, isz);
            } else {
              UndoFloatRow(r, samples, g.spc, isz, tmp.data());
            }
          }
          need_swap = false;
        }
        // Copy the window's part.
        const int64_t cols = xb - xa;
        const uint8_t* s_row = rows_at + (xa - x0) * g.spc * g.itemsize;
        uint8_t* d_row = dst_base + (ya - window.row) * out_row + (xa - window.col) * pixel_out + b * g.itemsize;
        for (int64_t y = ya; y < yb; ++y, s_row += row_bytes, d_row += out_row) {
          if (!info.planar_separate) {
            if (need_swap) {
              CopySwapped(s_row, d_row, cols * g.spc, isz);
            } else {
              std::memcpy(d_row, s_row, static_cast<size_t>(cols * pixel_out));
            }
          } else {
            switch (isz) {
              case 1: ScatterBand<1>(s_row, d_row, cols, pixel_out, false); break;
              case 2: ScatterBand<2>(s_row, d_row, cols, pixel_out, need_swap); break;
              case 4: ScatterBand<4>(s_row, d_row, cols, pixel_out, need_swap); break;
              default: ScatterBand<8>(s_row, d_row, cols, pixel_out, need_swap);
            }
          }
        }
      } catch (const std::bad_alloc&) {
        fail(u, Status::ResourceExhausted("contents: out of memory decoding a TIFF chunk"));
      }
    }
  };
  const int64_t cost = std::max<int64_t>(1, std::min<int64_t>(row_bytes, int64_t{1} << 30) * std::min<int64_t>(g.chunk_h, 1024));
  RunParallel(parallel_for, units, cost, decode_range);
  if (error_unit < units) return error;
  return Status::Ok();
}

}  // namespace gilfree
