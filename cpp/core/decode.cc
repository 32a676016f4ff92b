#include "decode.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "crc32.h"
#include "inflate.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gilfree {
namespace {

Status Bad(const std::string& what) { return Status::InvalidArgument("contents: " + what); }

uint64_t Le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// ---------------------------------------------------------------------------
// .npy header: a restricted Python dict literal.

class HeaderParser {
 public:
  HeaderParser(const char* p, const char* end) : p_(p), end_(end) {}

  Status Parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    if (!Eat('{')) return Error("the header is not a dict");
    while (true) {
      Skip();
      if (Eat('}')) break;
      std::string key;
      GILFREE_RETURN_IF_ERROR(String(&key));
      if (!Eat(':')) return Error("expected ':' after a key");
      if (key == "descr" && !have_descr) {
        GILFREE_RETURN_IF_ERROR(String(descr));
        have_descr = true;
      } else if (key == "fortran_order" && !have_fortran) {
        GILFREE_RETURN_IF_ERROR(Bool(fortran));
        have_fortran = true;
      } else if (key == "shape" && !have_shape) {
        GILFREE_RETURN_IF_ERROR(Tuple(shape));
        have_shape = true;
      } else {
        return Error("unexpected or repeated key '" + key + "'");
      }
      Skip();
      if (Eat(',')) continue;
      if (Eat('}')) break;
      return Error("expected ',' or '}'");
    }
    Skip();
    if (p_ != end_) return Error("text after the dict");
    if (!have_descr || !have_fortran || !have_shape) {
      return Error("it must have the keys 'descr', 'fortran_order' and 'shape'");
    }
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) { return Bad("invalid .npy header: " + what); }
  // Whitespace and Python comments ('#' to the end of the line), which the
  // literal parser np.load uses (ast.literal_eval) skips as well.
  void Skip() {
    while (p_ < end_) {
      if (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r') {
        ++p_;
      } else if (*p_ == '#') {
        while (p_ < end_ && *p_ != '\n' && *p_ != '\r') ++p_;
      } else {
        break;
      }
    }
  }
  bool Eat(char c) {
    Skip();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  Status String(std::string* out) {
    Skip();
    if (p_ >= end_ || (*p_ != '\'' && *p_ != '"')) return Error("expected a string");
    const char quote = *p_++;
    const char* start = p_;
    while (p_ < end_ && *p_ != quote) {
      if (*p_ == '\\') return Error("escapes in strings are not supported");
      ++p_;
    }
    if (p_ >= end_) return Error("unterminated string");
    out->assign(start, p_);
    ++p_;
    return Status::Ok();
  }
  Status Bool(bool* out) {
    Skip();
    if (end_ - p_ >= 4 && std::memcmp(p_, "True", 4) == 0) {
      p_ += 4;
      *out = true;
    } else if (end_ - p_ >= 5 && std::memcmp(p_, "False", 5) == 0) {
      p_ += 5;
      *out = false;
    } else {
      return Error("'fortran_order' must be True or False");
    }
    return Status::Ok();
  }
  Status Tuple(std::vector<int64_t>* out) {
    out->clear();
    if (!Eat('(')) return Error("'shape' must be a tuple");
    while (true) {
      Skip();
      if (Eat(')')) break;
      if (out->size() >= 32) return Bad("invalid .npy shape: more than 32 dimensions");
      Skip();
      if (p_ < end_ && *p_ == '-') return Bad("invalid .npy shape: a negative dimension");
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') return Error("'shape' must hold integers");
      int64_t v = 0;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
        const int d = *p_++ - '0';
        if (v > (std::numeric_limits<int64_t>::max() - d) / 10) {
          return Bad("invalid .npy shape: a dimension overflows 64 bits");
        }
        v = v * 10 + d;
      }
      out->push_back(v);
      if (Eat(',')) continue;
      if (Eat(')')) break;
      return Error("expected ',' or ')' in 'shape'");
    }
    return Status::Ok();
  }

  const char* p_;
  const char* end_;
};

Status ParseDescr(const std::string& descr, DType* dtype, bool* swap) {
  auto fail = [&] {
    return Bad("unsupported .npy descr '" + descr +
               "'; expected a bool, int8..int64, uint8..uint64 or float16/32/64 descr such as '<f4'");
  };
  if (descr.size() < 3) return fail();
  const char order = descr[0], kind = descr[1];
  const std::string size = descr.substr(2);
  if (order != '<' && order != '>' && order != '|' && order != '=') return fail();
  struct Known {
    char kind;
    const char* size;
    DType dtype;
  };
  static constexpr Known kKnown[] = {
      {'b', "1", DType::kBool},    {'i', "1", DType::kInt8},    {'i', "2", DType::kInt16},
      {'i', "4", DType::kInt32},   {'i', "8", DType::kInt64},   {'u', "1", DType::kUInt8},
      {'u', "2", DType::kUInt16},  {'u', "4", DType::kUInt32},  {'u', "8", DType::kUInt64},
      {'f', "2", DType::kFloat16}, {'f', "4", DType::kFloat32}, {'f', "8", DType::kFloat64}};
  for (const Known& k : kKnown) {
    if (k.kind == kind && size == k.size) {
      *dtype = k.dtype;
      *swap = order == '>' && DTypeSize(k.dtype) > 1;  // little-endian hosts only
      return Status::Ok();
    }
  }
  return fail();
}

}  // namespace

namespace {

inline uint16_t ByteSwap(uint16_t v) { return __builtin_bswap16(v); }
inline uint32_t ByteSwap(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t ByteSwap(uint64_t v) { return __builtin_bswap64(v); }

template <typename U>
void CopySwappedAs(const uint8_t* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    U v;
    std::memcpy(&v, src + i * sizeof(U), sizeof(U));
    v = ByteSwap(v);
    std::memcpy(dst + i * sizeof(U), &v, sizeof(U));
  }
}

}  // namespace

void CopySwapped(const uint8_t* src, uint8_t* dst, int64_t n, int64_t itemsize) {
  switch (itemsize) {
    case 2: CopySwappedAs<uint16_t>(src, dst, n); break;
    case 4: CopySwappedAs<uint32_t>(src, dst, n); break;
    case 8: CopySwappedAs<uint64_t>(src, dst, n); break;
    default: std::memcpy(dst, src, static_cast<size_t>(n * itemsize));
  }
}

Status ParseNpyHeader(const uint8_t* data, int64_t size, NpyHeader* h) {
  static constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10) return Bad("truncated .npy file: " + std::to_string(size) + " bytes, less than a header");
  if (std::memcmp(data, kMagic, 6) != 0) return Bad("not a .npy file: the header does not start with the magic string \\x93NUMPY");
  h->major = data[6];
  h->minor = data[7];
  if (h->major < 1 || h->major > 3 || h->minor != 0) {
    return Bad("unsupported .npy header format version " + std::to_string(h->major) + "." +
               std::to_string(h->minor) + "; expected 1.0, 2.0 or 3.0");
  }
  const int len_bytes = h->major == 1 ? 2 : 4;
  if (size < 8 + len_bytes) return Bad("truncated .npy header");
  const uint64_t header_len = Le(data + 8, len_bytes);
  const uint64_t start = 8 + static_cast<uint64_t>(len_bytes);
  if (header_len > static_cast<uint64_t>(size) - start) {
    return Bad("truncated .npy header: it says " + std::to_string(header_len) + " bytes but " +
               std::to_string(static_cast<uint64_t>(size) - start) + " follow");
  }
  std::string descr;
  HeaderParser parser(reinterpret_cast<const char*>(data + start),
                      reinterpret_cast<const char*>(data + start + header_len));
  GILFREE_RETURN_IF_ERROR(parser.Parse(&descr, &h->fortran_order, &h->shape));
  GILFREE_RETURN_IF_ERROR(ParseDescr(descr, &h->dtype, &h->swap));
  h->data_offset = static_cast<int64_t>(start + header_len);
  const int64_t itemsize = DTypeSize(h->dtype);
  // As NumPy: the product of the nonzero sizes must fit, even when another
  // size is 0 (np.load refuses (0, 2**63 - 1, 2) as too big).
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : h->shape) {
    if (d == 0) {
      empty = true;
      continue;
    }
    if (d > std::numeric_limits<int64_t>::max() / itemsize / n) {
      return Bad("invalid .npy shape: the array size overflows 64 bits");
    }
    n *= d;
  }
  h->num_elements = empty ? 0 : n;
  h->num_bytes = h->num_elements * itemsize;
  const int64_t available = size - h->data_offset;
  if (available < h->num_bytes) {
    return Bad("truncated .npy data: the header's shape needs " + std::to_string(h->num_bytes) +
               " bytes but " + std::to_string(available) + " follow the header");
  }
  if (available > h->num_bytes) {
    return Bad(std::to_string(available - h->num_bytes) + " trailing bytes after the .npy data");
  }
  return Status::Ok();
}

namespace {

// A bool is one byte holding 0 or 1; hostile bytes holding anything else are
// read as true, so no consumer ever sees another value.
void NormalizeBools(uint8_t* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
}

// The array data in C order and native byte order, bools as stored.
Status CopyNpyData(const uint8_t* data, int64_t size, const NpyHeader& h, void* out_ptr) {
  if (h.data_offset + h.num_bytes != size) return Bad(".npy data size does not match its header");
  const uint8_t* src = data + h.data_offset;
  auto* out = static_cast<uint8_t*>(out_ptr);
  const int64_t itemsize = DTypeSize(h.dtype);
  const int rank = static_cast<int>(h.shape.size());
  if (!h.fortran_order || rank <= 1 || h.num_elements == 0) {
    if (h.swap) {
      CopySwapped(src, out, h.num_elements, itemsize);
    } else if (h.num_bytes > 0) {
      std::memcpy(out, src, static_cast<size_t>(h.num_bytes));
    }
    return Status::Ok();
  }
  // Fortran order: element (i0, ..., ik) sits at sum(i_j * prod(d_0..d_{j-1})).
  // Walk the output in C order with an odometer over the input strides.
  std::vector<int64_t> stride(rank), index(rank, 0);
  int64_t s = itemsize;
  for (int j = 0; j < rank; ++j) {
    stride[j] = s;
    s *= h.shape[j];
  }
  const int64_t inner = h.shape[rank - 1];
  const int64_t inner_stride = stride[rank - 1];
  int64_t offset = 0;
  for (int64_t done = 0; done < h.num_elements; done += inner) {
    for (int64_t i = 0; i < inner; ++i, out += itemsize) {
      const uint8_t* e = src + offset + i * inner_stride;
      if (h.swap) {
        CopySwapped(e, out, 1, itemsize);
      } else {
        std::memcpy(out, e, static_cast<size_t>(itemsize));
      }
    }
    for (int j = rank - 2; j >= 0; --j) {
      offset += stride[j];
      if (++index[j] < h.shape[j]) break;
      offset -= stride[j] * h.shape[j];
      index[j] = 0;
    }
  }
  return Status::Ok();
}

}  // namespace

Status DecodeNpyData(const uint8_t* data, int64_t size, const NpyHeader& h, void* out_ptr) {
  GILFREE_RETURN_IF_ERROR(CopyNpyData(data, size, h, out_ptr));
  if (h.dtype == DType::kBool) NormalizeBools(static_cast<uint8_t*>(out_ptr), h.num_elements);
  return Status::Ok();
}


namespace {

std::string ShapeString(const int64_t* dims, int rank) {
  std::string s = "(";
  for (int i = 0; i < rank; ++i) {
    s += dims[i] < 0 ? std::string("None") : std::to_string(dims[i]);
    if (i + 1 < rank || rank == 1) s += ",";
    if (i + 1 < rank) s += " ";
  }
  return s + ")";
}

}  // namespace

Status CheckNpyDType(const NpyHeader& h, DType expected) {
  if (h.dtype != expected) {
    return Status::InvalidArgument(std::string("dtype is ") + DTypeName(expected) +
                                   " but contents holds a .npy array of " + DTypeName(h.dtype));
  }
  return Status::Ok();
}

Status CheckDecodedShape(const int64_t* actual, int actual_rank, const char* what,
                         const int64_t* expected, int rank) {
  for (int i = 0; i < rank; ++i) {
    if (expected[i] < -1) {
      return Status::InvalidArgument("shape[" + std::to_string(i) + "] is " + std::to_string(expected[i]) +
                                     "; expected a size >= 0, or -1 or None for any size");
    }
  }
  bool ok = actual_rank == rank;
  for (int i = 0; ok && i < rank; ++i) ok = expected[i] < 0 || expected[i] == actual[i];
  if (!ok) {
    return Status::InvalidArgument("shape is " + ShapeString(expected, rank) + " but contents holds " + what +
                                   " of shape " + ShapeString(actual, actual_rank));
  }
  return Status::Ok();
}

Status CheckNpyShape(const NpyHeader& h, const int64_t* expected, int rank) {
  return CheckDecodedShape(h.shape.data(), static_cast<int>(h.shape.size()), "a .npy array", expected, rank);
}

// ---------------------------------------------------------------------------
// ZIP

namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;
// A deflated member's buffer starts at twice its compressed size plus this.
constexpr int64_t kInflateInitialBytes = int64_t{1} << 16;

Status BadZip(const std::string& what) { return Bad("invalid zip archive: " + what); }

}  // namespace

Status ReadZipDirectory(const uint8_t* data, int64_t size, std::vector<ZipMember>* members) {
  members->clear();
  if (size < 22) return BadZip("truncated: " + std::to_string(size) + " bytes is too short");
  // The end-of-central-directory record: its comment must run exactly to the end.
  int64_t eocd = -1;
  const int64_t lowest = std::max<int64_t>(0, size - 22 - 65535);
  for (int64_t pos = size - 22; pos >= lowest; --pos) {
    if (Le(data + pos, 4) == kEocdSig && static_cast<int64_t>(Le(data + pos + 20, 2)) == size - pos - 22) {
      eocd = pos;
      break;
    }
  }
  if (eocd < 0) return BadZip("no end-of-central-directory record (truncated?)");
  uint64_t disk = Le(data + eocd + 4, 2);
  uint64_t cd_disk = Le(data + eocd + 6, 2);
  uint64_t entries_disk = Le(data + eocd + 8, 2);
  uint64_t entries = Le(data + eocd + 10, 2);
  uint64_t cd_size = Le(data + eocd + 12, 4);
  uint64_t cd_offset = Le(data + eocd + 16, 4);
  int64_t cd_limit = eocd;  // the directory must end before this
  if (entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    if (eocd < 20 || Le(data + eocd - 20, 4) != kZip64LocatorSig) {
      return BadZip("the ZIP64 end-of-directory locator is missing");
    }
    const uint64_t z = Le(data + eocd - 20 + 8, 8);
    if (z > static_cast<uint64_t>(eocd - 20) || static_cast<uint64_t>(eocd - 20) - z < 56 ||
        Le(data + z, 4) != kZip64EocdSig) {
      return BadZip("the ZIP64 end-of-directory record is missing or out of bounds");
    }
    disk = Le(data + z + 16, 4);
    cd_disk = Le(data + z + 20, 4);
    entries_disk = Le(data + z + 24, 8);
    entries = Le(data + z + 32, 8);
    cd_size = Le(data + z + 40, 8);
    cd_offset = Le(data + z + 48, 8);
    cd_limit = static_cast<int64_t>(z);
  }
  if (disk != 0 || cd_disk != 0 || entries_disk != entries) {
    return BadZip("multi-disk archives are not supported (disk " + std::to_string(disk) +
                  ", directory on disk " + std::to_string(cd_disk) + ")");
  }
  if (cd_offset > static_cast<uint64_t>(cd_limit) || cd_size > static_cast<uint64_t>(cd_limit) - cd_offset) {
    return BadZip("the central directory lies outside the archive (offset " +
                  std::to_string(cd_offset) + ", size " + std::to_string(cd_size) + ")");
  }
  if (entries > cd_size / 46) {
    return BadZip("the directory claims " + std::to_string(entries) + " entries in " +
                  std::to_string(cd_size) + " bytes");
  }
  const uint8_t* p = data + cd_offset;
  const uint8_t* end = p + cd_size;
  for (uint64_t e = 0; e < entries; ++e) {
    if (end - p < 46 || Le(p, 4) != kCentralSig) return BadZip("corrupt central directory entry");
    ZipMember m;
    m.data_end = cd_offset;
    m.flags = static_cast<uint16_t>(Le(p + 8, 2));
    m.method = static_cast<uint16_t>(Le(p + 10, 2));
    m.crc32 = static_cast<uint32_t>(Le(p + 16, 4));
    m.compressed_size = Le(p + 20, 4);
    m.uncompressed_size = Le(p + 24, 4);
    const int64_t name_len = static_cast<int64_t>(Le(p + 28, 2));
    const int64_t extra_len = static_cast<int64_t>(Le(p + 30, 2));
    const int64_t comment_len = static_cast<int64_t>(Le(p + 32, 2));
    m.local_header_offset = Le(p + 42, 4);
    if (end - p - 46 < name_len + extra_len + comment_len) return BadZip("corrupt central directory entry");
    m.name.assign(reinterpret_cast<const char*>(p + 46), static_cast<size_t>(name_len));
    // ZIP64 extra field: 8-byte values for the fields saturated above, in order.
    const uint8_t* x = p + 46 + name_len;
    const uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      const uint64_t id = Le(x, 2), len = Le(x + 2, 2);
      if (static_cast<uint64_t>(x_end - x - 4) < len) return BadZip("corrupt extra field");
      if (id == 1) {
        const uint8_t* v = x + 4;
        int64_t left = static_cast<int64_t>(len);
        auto take = [&](uint64_t* field) -> bool {
          if (left < 8) return false;
          *field = Le(v, 8);
          v += 8;
          left -= 8;
          return true;
        };
        if (m.uncompressed_size == 0xffffffffu && !take(&m.uncompressed_size)) return BadZip("corrupt ZIP64 field");
        if (m.compressed_size == 0xffffffffu && !take(&m.compressed_size)) return BadZip("corrupt ZIP64 field");
        if (m.local_header_offset == 0xffffffffu && !take(&m.local_header_offset)) return BadZip("corrupt ZIP64 field");
      }
      x += 4 + len;
    }
    members->push_back(std::move(m));
    p += 46 + name_len + extra_len + comment_len;
  }
  return Status::Ok();
}

Status ReadZipMember(const uint8_t* data, int64_t size, const ZipMember& m,
                     std::vector<uint8_t>* storage, const uint8_t** bytes, int64_t* num_bytes) {
  const std::string who = "member '" + m.name + "': ";
  if (m.flags & 1u) return BadZip(who + "encrypted members are not supported");
  if (m.method != 0 && m.method != 8) {
    return BadZip(who + "compression method " + std::to_string(m.method) +
                  " is not supported; expected 0 (stored) or 8 (deflate)");
  }
  // The member's bytes end at the central directory (or the archive's end).
  const uint64_t usize = std::min(static_cast<uint64_t>(size), m.data_end);
  if (m.local_header_offset > usize || usize - m.local_header_offset < 30 ||
      Le(data + m.local_header_offset, 4) != kLocalSig) {
    return BadZip(who + "the local header is missing or out of bounds");
  }
  const uint8_t* local = data + m.local_header_offset;
  const uint64_t start = m.local_header_offset + 30 + Le(local + 26, 2) + Le(local + 28, 2);
  if (start > usize || m.compressed_size > usize - start) {
    return BadZip(who + "truncated: its data runs past the end of the archive or into the "
                        "central directory");
  }
  const uint8_t* src = data + start;
  if (m.method == 0) {
    if (m.uncompressed_size != m.compressed_size) {
      return BadZip(who + "a stored member's sizes differ");
    }
    *bytes = src;
  } else {
    // Deflate expands at most 1032:1 (a 258-byte match per 2 bits).
    if (m.uncompressed_size > m.compressed_size * 1032 + 1024) {
      return BadZip(who + "deflate: it claims " + std::to_string(m.uncompressed_size) +
                    " bytes from " + std::to_string(m.compressed_size) +
                    " compressed bytes, more than deflate can produce");
    }
    // The claimed size is not trusted with memory: the buffer starts at what
    // the compressed bytes justify and grows only as they really inflate.
    const int64_t claimed = static_cast<int64_t>(m.uncompressed_size);
    const int64_t initial = static_cast<int64_t>(
        std::min<uint64_t>(m.uncompressed_size, 2 * m.compressed_size + kInflateInitialBytes));
    Status s;
    try {
      s = InflateGrowing(src, static_cast<int64_t>(m.compressed_size), claimed, initial, storage);
    } catch (const std::bad_alloc&) {
      return Status::ResourceExhausted("contents: member '" + m.name + "': out of memory inflating " +
                                       std::to_string(claimed) + " bytes");
    }
    if (!s.ok()) return Status::InvalidArgument(s.message() + " (member '" + m.name + "')");
    *bytes = storage->data();
  }
  *num_bytes = static_cast<int64_t>(m.uncompressed_size);
  const uint32_t crc = Crc32(*bytes, *num_bytes);
  if (crc != m.crc32) return BadZip(who + "CRC-32 mismatch: the data is corrupt");
  return Status::Ok();
}

Status FindNpzMember(const std::vector<ZipMember>& members, const std::string& key,
                     const ZipMember** member) {
  for (const std::string& name : {key + ".npy", key}) {
    for (const ZipMember& m : members) {
      if (m.name == name) {
        *member = &m;
        return Status::Ok();
      }
    }
  }
  std::string present;
  for (const ZipMember& m : members) {
    std::string name = m.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    present += (present.empty() ? "'" : ", '") + name + "'";
  }
  return Status::InvalidArgument("spec names member '" + key + "' but contents has no such member; " +
                                 "the archive holds " + (present.empty() ? "none" : present));
}

Status ForEachNpzMember(const uint8_t* data, int64_t size, const std::vector<std::string>& keys,
                        const std::function<Status(size_t, const NpzMember&)>& visit) {
  std::vector<ZipMember> members;
  GILFREE_RETURN_IF_ERROR(ReadZipDirectory(data, size, &members));
  for (size_t i = 0; i < keys.size(); ++i) {
    const ZipMember* member = nullptr;
    GILFREE_RETURN_IF_ERROR(FindNpzMember(members, keys[i], &member));
    std::vector<uint8_t> storage;
    NpzMember m;
    m.name = &member->name;
    m.storage = &storage;
    GILFREE_RETURN_IF_ERROR(ReadZipMember(data, size, *member, &storage, &m.npy, &m.size));
    const Status s = visit(i, m);
    if (!s.ok()) {
      const std::string message = s.message() + " (member '" + member->name + "')";
      return s.code() == StatusCode::kResourceExhausted ? Status::ResourceExhausted(message)
                                                         : Status::InvalidArgument(message);
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Records

Status CountRecords(int64_t size, int64_t header_bytes, int64_t footer_bytes, int64_t record_bytes,
                    bool exactly_one, int64_t* num_records) {
  if (header_bytes < 0) {
    return Status::InvalidArgument("header_bytes is " + std::to_string(header_bytes) + "; expected >= 0");
  }
  if (footer_bytes < 0) {
    return Status::InvalidArgument("footer_bytes is " + std::to_string(footer_bytes) + "; expected >= 0");
  }
  if (record_bytes <= 0) return Status::InvalidArgument("schema: the record size must be positive");
  if (header_bytes > size || footer_bytes > size - header_bytes) {
    return Bad("truncated: " + std::to_string(size) + " bytes cannot hold header_bytes=" +
               std::to_string(header_bytes) + " and footer_bytes=" + std::to_string(footer_bytes));
  }
  const int64_t body = size - header_bytes - footer_bytes;
  if (exactly_one) {
    if (body != record_bytes) {
      return Bad("a record string holds " + std::to_string(body) + " bytes of record; a record is " +
                 std::to_string(record_bytes) + " bytes (off by " +
                 std::to_string(body - record_bytes) + ")");
    }
    *num_records = 1;
    return Status::Ok();
  }
  const int64_t rem = body % record_bytes;
  if (rem != 0) {
    return Bad(std::to_string(body) + " bytes of records is not a whole number of " +
               std::to_string(record_bytes) + "-byte records: " + std::to_string(rem) +
               " bytes too many (or " + std::to_string(record_bytes - rem) + " too few)");
  }
  *num_records = body / record_bytes;
  return Status::Ok();
}

Status ValidateRecordFields(const RecordField* fields, int num_fields, int64_t record_bytes) {
  if (record_bytes <= 0) return Status::InvalidArgument("schema: the record size must be positive");
  for (int i = 0; i < num_fields; ++i) {
    const RecordField& f = fields[i];
    const int64_t isz = DTypeSize(f.dtype);
    if (f.offset < 0 || f.count < 0 || (f.count > 0 && f.count > (record_bytes - f.offset) / isz) ||
        f.offset > record_bytes) {
      return Status::InvalidArgument("schema: field " + std::to_string(i) + " (offset " +
                                     std::to_string(f.offset) + ", " + std::to_string(f.count) +
                                     " x " + DTypeName(f.dtype) + ") does not fit in a record of " +
                                     std::to_string(record_bytes) + " bytes");
    }
  }
  return Status::Ok();
}

Status MakeRecordFields(const std::vector<SchemaField>& schema, int64_t record_bytes,
                        std::vector<RecordField>* fields) {
  fields->assign(schema.size(), RecordField());
  for (size_t i = 0; i < schema.size(); ++i) {
    const SchemaField& in = schema[i];
    RecordField& f = (*fields)[i];
    f.offset = in.offset;
    f.dtype = in.dtype;
    f.swap = in.big_endian && DTypeSize(in.dtype) > 1;  // little-endian hosts only
    // A negative or overflowing shape makes the count -1, which
    // ValidateRecordFields reports.
    int64_t count = 1;
    for (int64_t d : in.shape) {
      if (d < 0 || (d > 0 && count > std::numeric_limits<int64_t>::max() / d)) {
        count = -1;
        break;
      }
      count *= d;
    }
    f.count = count;
  }
  return ValidateRecordFields(fields->data(), static_cast<int>(fields->size()), record_bytes);
}

namespace {

// How a field is copied out of each record.
enum class FieldCopy { kNone, kByte, kBools, kSwapped, kBytes, kStreamed };

// A field whose output is at least this large, in pieces of at least
// kStreamPiece bytes, is written with non-temporal stores: an output this
// size does not stay in the caches anyway, and such stores skip reading each
// line of the output before writing it.
constexpr int64_t kStreamOutput = int64_t{4} << 20;
constexpr int64_t kStreamPiece = 256;

#if defined(__SSE2__)
// memcpy of n >= 64 bytes with non-temporal stores (x86-64: SSE2 is in every
// such CPU). The caller fences (StreamFence) before the output is read.
void CopyStreamed(uint8_t* dst, const uint8_t* src, int64_t n) {
  const int64_t head = static_cast<int64_t>((16 - (reinterpret_cast<uintptr_t>(dst) & 15)) & 15);
  std::memcpy(dst, src, static_cast<size_t>(head));
  dst += head;
  src += head;
  n -= head;
  for (; n >= 64; n -= 64, dst += 64, src += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
  }
  std::memcpy(dst, src, static_cast<size_t>(n));
}
// Orders the non-temporal stores before anything that follows.
void StreamFence() { _mm_sfence(); }
constexpr bool kCanStream = true;
#else
void CopyStreamed(uint8_t* dst, const uint8_t* src, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n)); }
void StreamFence() {}
constexpr bool kCanStream = false;
#endif

}  // namespace

Status DecodeRecords(const RecordSource& src, int64_t record_bytes, const RecordField* fields,
                     int num_fields, const ParallelFor* parallel_for) {
  GILFREE_RETURN_IF_ERROR(ValidateRecordFields(fields, num_fields, record_bytes));
  std::vector<FieldCopy> how(static_cast<size_t>(num_fields));
  for (int fi = 0; fi < num_fields; ++fi) {
    const RecordField& f = fields[fi];
    const int64_t bytes = f.count * DTypeSize(f.dtype);
    // An empty field has no output (its buffer may be null): nothing to copy.
    const bool stream = kCanStream && bytes >= kStreamPiece && bytes * src.num_records >= kStreamOutput;
    how[fi] = bytes == 0                   ? FieldCopy::kNone
              : f.swap                     ? FieldCopy::kSwapped
              : f.dtype == DType::kBool    ? FieldCopy::kBools
              : bytes == 1                 ? FieldCopy::kByte
              : stream                     ? FieldCopy::kStreamed
                                           : FieldCopy::kBytes;
  }
  constexpr int64_t kRecordsPerUnit = 256;
  const int64_t units = (src.num_records + kRecordsPerUnit - 1) / kRecordsPerUnit;
  RunParallel(parallel_for, units, kRecordsPerUnit * record_bytes, [&](int64_t u0, int64_t u1) {
    const int64_t r_end = std::min(src.num_records, u1 * kRecordsPerUnit);
    // Record by record, every field of a record while its bytes are in cache.
    for (int64_t r = u0 * kRecordsPerUnit; r < r_end; ++r) {
      const uint8_t* rec = src.pointers ? src.pointers[r] : src.base + r * record_bytes;
      for (int fi = 0; fi < num_fields; ++fi) {
        const RecordField& f = fields[fi];
        const uint8_t* in = rec + f.offset;
        auto* out = static_cast<uint8_t*>(f.out);
        switch (how[fi]) {
          case FieldCopy::kNone:
            break;
          case FieldCopy::kByte:
            out[r] = *in;
            break;
          case FieldCopy::kBytes: {
            const int64_t bytes = f.count * DTypeSize(f.dtype);
            std::memcpy(out + r * bytes, in, static_cast<size_t>(bytes));
            break;
          }
          case FieldCopy::kStreamed: {
            const int64_t bytes = f.count * DTypeSize(f.dtype);
            CopyStreamed(out + r * bytes, in, bytes);
            break;
          }
          case FieldCopy::kBools:
            for (int64_t k = 0; k < f.count; ++k) out[r * f.count + k] = in[k] != 0;
            break;
          case FieldCopy::kSwapped: {
            const int64_t isz = DTypeSize(f.dtype);
            CopySwapped(in, out + r * f.count * isz, f.count, isz);
            break;
          }
        }
      }
    }
    StreamFence();
  });
  return Status::Ok();
}

}  // namespace gilfree
