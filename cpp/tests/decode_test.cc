// Decoders (core/decode.h): .npy headers and data, ZIP directories and
// members (.npz), fixed-size records. The .npy/.npz inputs are bytes written
// by NumPy (fixtures.inc, see make_fixtures.py); the expected values are the
// arrays NumPy was given. ZIP64 and damaged archives are built here byte by
// byte following the ZIP application note (APPNOTE.TXT 4.3).
#include <cstring>
#include <string>
#include <vector>

#include "core/decode.h"
#include "test_util.h"

#include "fixtures.inc"

namespace gilfree {
namespace {

using Bytes = std::vector<uint8_t>;

template <size_t N>
Bytes B(const unsigned char (&a)[N]) {
  return Bytes(a, a + N);
}

Status Parse(const Bytes& b, NpyHeader* h) { return ParseNpyHeader(b.data(), static_cast<int64_t>(b.size()), h); }

// Parses and decodes a whole .npy file into elements of type T.
template <typename T>
std::vector<T> DecodeAll(const Bytes& b, NpyHeader* h) {
  const Status s = Parse(b, h);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  EXPECT_EQ(h->num_bytes, h->num_elements * static_cast<int64_t>(sizeof(T)));
  std::vector<T> out(static_cast<size_t>(h->num_elements));
  const Status d = DecodeNpyData(b.data(), static_cast<int64_t>(b.size()), *h, out.data());
  EXPECT_TRUE(d.ok()) << d.message();
  return out;
}

// A .npy file with the given header text, padded as NumPy pads it (spaces
// and a newline up to a multiple of 64 bytes), followed by `data`.
Bytes MakeNpy(const std::string& header, const Bytes& data, int major = 1) {
  const size_t len_bytes = major == 1 ? 2 : 4;
  std::string h = header;
  while ((10 + (len_bytes - 2) + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  for (size_t i = 0; i < len_bytes; ++i) out.push_back(static_cast<uint8_t>(h.size() >> (8 * i)));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// ---------------------------------------------------------------------------
// .npy

TEST(Npy, HeaderOfNpSave) {
  // np.save of np.arange(3, dtype='<u2'): header length 0x76 = 118, data at 128.
  NpyHeader h;
  const std::vector<uint16_t> v = DecodeAll<uint16_t>(B(kNpyU2Arange), &h);
  EXPECT_EQ(h.major, 1);
  EXPECT_EQ(h.minor, 0);
  EXPECT_EQ(h.dtype, DType::kUInt16);
  EXPECT_FALSE(h.swap);
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(h.data_offset, 128);
  EXPECT_EQ(h.num_elements, 3);
  EXPECT_EQ(h.num_bytes, 6);
  EXPECT_EQ(v, (std::vector<uint16_t>{0, 1, 2}));
}

TEST(Npy, EveryDTypeAndByteOrder) {
  NpyHeader h;
  EXPECT_EQ(DecodeAll<uint8_t>(B(kNpyBool), &h), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(h.dtype, DType::kBool);
  EXPECT_EQ(DecodeAll<int8_t>(B(kNpyI1), &h), (std::vector<int8_t>{-128, -1, 0, 127}));
  EXPECT_EQ(h.dtype, DType::kInt8);
  EXPECT_EQ(DecodeAll<uint8_t>(B(kNpyU1), &h), (std::vector<uint8_t>{0, 7, 255}));
  EXPECT_EQ(h.dtype, DType::kUInt8);
  EXPECT_EQ(DecodeAll<int16_t>(B(kNpyI2Le), &h), (std::vector<int16_t>{-2, 300}));
  EXPECT_FALSE(h.swap);
  EXPECT_EQ(DecodeAll<int16_t>(B(kNpyI2Be), &h), (std::vector<int16_t>{-2, 300}));
  EXPECT_TRUE(h.swap);
  EXPECT_EQ(h.dtype, DType::kInt16);
  EXPECT_EQ(DecodeAll<int32_t>(B(kNpyI4Be), &h), (std::vector<int32_t>{-70000, 16909060}));
  EXPECT_EQ(h.dtype, DType::kInt32);
  const std::vector<int64_t> i8 = {-(int64_t{1} << 40), int64_t{1} << 62};
  EXPECT_EQ(DecodeAll<int64_t>(B(kNpyI8Le), &h), i8);
  EXPECT_EQ(DecodeAll<int64_t>(B(kNpyI8Be), &h), i8);
  EXPECT_EQ(h.dtype, DType::kInt64);
  EXPECT_EQ(DecodeAll<uint16_t>(B(kNpyU2Be), &h), (std::vector<uint16_t>{1, 65535}));
  EXPECT_EQ(DecodeAll<uint32_t>(B(kNpyU4Le), &h), (std::vector<uint32_t>{4000000000u}));
  EXPECT_EQ(h.dtype, DType::kUInt32);
  EXPECT_EQ(DecodeAll<uint64_t>(B(kNpyU8Be), &h), (std::vector<uint64_t>{(uint64_t{1} << 63) + 5}));
  EXPECT_EQ(h.dtype, DType::kUInt64);
  // float16 bits: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800.
  EXPECT_EQ(DecodeAll<uint16_t>(B(kNpyF2Le), &h), (std::vector<uint16_t>{0x3c00, 0xc000, 0x3800}));
  EXPECT_EQ(DecodeAll<uint16_t>(B(kNpyF2Be), &h), (std::vector<uint16_t>{0x3c00, 0xc000, 0x3800}));
  EXPECT_EQ(h.dtype, DType::kFloat16);
  const std::vector<float> f4 = {1.5f, -0.25f, 3.0f, 1e30f};
  EXPECT_EQ(DecodeAll<float>(B(kNpyF4Le), &h), f4);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(DecodeAll<float>(B(kNpyF4Be), &h), f4);
  EXPECT_EQ(h.dtype, DType::kFloat32);
  EXPECT_EQ(DecodeAll<double>(B(kNpyF8Be), &h), (std::vector<double>{0.1, -1e300}));
  EXPECT_EQ(h.dtype, DType::kFloat64);
}

TEST(Npy, FortranOrderIsWrittenInCOrder) {
  NpyHeader h;
  EXPECT_EQ(DecodeAll<int32_t>(B(kNpyFortranI4), &h), (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{2, 3}));
  std::vector<uint16_t> want(24);
  for (int i = 0; i < 24; ++i) want[i] = static_cast<uint16_t>(i);
  EXPECT_EQ(DecodeAll<uint16_t>(B(kNpyFortranU2Be3d), &h), want);
  EXPECT_TRUE(h.fortran_order);
  EXPECT_TRUE(h.swap);
}

TEST(Npy, ScalarEmptyAndVersions) {
  NpyHeader h;
  EXPECT_EQ(DecodeAll<double>(B(kNpyScalar), &h), (std::vector<double>{2.5}));
  EXPECT_TRUE(h.shape.empty());
  EXPECT_EQ(h.num_elements, 1);
  EXPECT_TRUE(DecodeAll<float>(B(kNpyEmpty), &h).empty());
  EXPECT_EQ(h.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(h.num_bytes, 0);
  EXPECT_EQ(DecodeAll<int16_t>(B(kNpyV2), &h), (std::vector<int16_t>{0, 1, 2, 3}));
  EXPECT_EQ(h.major, 2);
  EXPECT_EQ(DecodeAll<int16_t>(B(kNpyV3), &h), (std::vector<int16_t>{0, 1, 2, 3}));
  EXPECT_EQ(h.major, 3);
}

TEST(Npy, BoolBytesOtherThanZeroOrOneReadAsTrue) {
  Bytes b = B(kNpyBool);
  b[b.size() - 3] = 2;
  b[b.size() - 1] = 0xff;
  NpyHeader h;
  EXPECT_EQ(DecodeAll<uint8_t>(b, &h), (std::vector<uint8_t>{1, 0, 1}));
}

TEST(Npy, HandWrittenHeaderVariants) {
  // Double quotes, no trailing comma, other key order, '=' and '|' orders.
  NpyHeader h;
  EXPECT_EQ(DecodeAll<int16_t>(MakeNpy("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"=i2\"}",
                                       {0x05, 0x00, 0xfb, 0xff}),
                               &h),
            (std::vector<int16_t>{5, -5}));
  EXPECT_EQ(DecodeAll<uint8_t>(MakeNpy("{'descr': '|u1', 'fortran_order': True, 'shape': (1, 2)}", {9, 8}), &h),
            (std::vector<uint8_t>{9, 8}));
  // '>u1' needs no swap.
  EXPECT_EQ(DecodeAll<uint8_t>(MakeNpy("{'descr': '>u1', 'fortran_order': False, 'shape': (1,)}", {7}), &h),
            (std::vector<uint8_t>{7}));
  EXPECT_FALSE(h.swap);
}

TEST(Npy, MalformedFilesAreInvalidArgument) {
  NpyHeader h;
  const Bytes good = B(kNpyU2Arange);
  EXPECT_INVALID(ParseNpyHeader(good.data(), 9, &h), "contents: truncated .npy file: 9 bytes");
  Bytes b = good;
  b[1] = 'X';
  EXPECT_INVALID(Parse(b, &h), "contents: not a .npy file");
  b = good;
  b[6] = 4;
  EXPECT_INVALID(Parse(b, &h), "unsupported .npy header format version 4.0; expected 1.0, 2.0 or 3.0");
  b = good;
  b[7] = 1;
  EXPECT_INVALID(Parse(b, &h), "version 1.1");
  b = good;
  b[6] = 0;
  EXPECT_INVALID(Parse(b, &h), "version 0.0");
  b = good;
  b[8] = 0xff;
  b[9] = 0xff;
  EXPECT_INVALID(Parse(b, &h), "truncated .npy header: it says 65535 bytes but 124 follow");
  // Version 2.0 with fewer than 12 bytes.
  const Bytes v2 = B(kNpyV2);
  EXPECT_INVALID(ParseNpyHeader(v2.data(), 11, &h), "truncated .npy header");
  // Data shorter or longer than the shape says.
  EXPECT_INVALID(ParseNpyHeader(good.data(), static_cast<int64_t>(good.size()) - 1, &h),
                 "truncated .npy data: the header's shape needs 6 bytes but 5 follow the header");
  b = good;
  b.push_back(0);
  EXPECT_INVALID(Parse(b, &h), "1 trailing bytes after the .npy data");
  // DecodeNpyData on a buffer that does not match its header.
  ASSERT_OK(Parse(good, &h));
  uint16_t out[3];
  EXPECT_INVALID(DecodeNpyData(good.data(), static_cast<int64_t>(good.size()) - 2, h, out),
                 "does not match its header");
}

TEST(Npy, MalformedHeaderText) {
  struct Case {
    const char* header;
    const char* message;
  };
  const Case cases[] = {
      {"['descr', '<u1']", "invalid .npy header: the header is not a dict"},
      {"{'descr': '<u1', 'fortran_order': False}", "it must have the keys 'descr', 'fortran_order' and 'shape'"},
      {"{'descr': '<u1', 'descr': '<u1', 'fortran_order': False, 'shape': (1,)}", "unexpected or repeated key 'descr'"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected or repeated key 'extra'"},
      {"{'descr' '<u1'}", "expected ':' after a key"},
      {"{descr: '<u1'}", "expected a string"},
      {"{'descr': '<u1", "unterminated string"},
      {"{'de\\scr': '<u1'}", "escapes in strings are not supported"},
      {"{'descr': '<u1', 'fortran_order': maybe, 'shape': (1,)}", "'fortran_order' must be True or False"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': [1]}", "'shape' must be a tuple"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (-1,)}", "invalid .npy shape: a negative dimension"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (x,)}", "'shape' must hold integers"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (1 2)}", "expected ',' or ')' in 'shape'"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (99999999999999999999,)}", "a dimension overflows 64 bits"},
      {"{'descr': '<u4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
       "the array size overflows 64 bits"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (1,)} x", "text after the dict"},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (1,) ;", "expected ',' or '}'"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", "unsupported .npy descr '<c8'"},
      {"{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}", "unsupported .npy descr '<U3'"},
      {"{'descr': '<f16', 'fortran_order': False, 'shape': (1,)}", "unsupported .npy descr '<f16'"},
      {"{'descr': 'f4', 'fortran_order': False, 'shape': (1,)}", "unsupported .npy descr 'f4'"},
      {"{'descr': '!f4', 'fortran_order': False, 'shape': (1,)}", "unsupported .npy descr '!f4'"},
  };
  for (const Case& c : cases) {
    NpyHeader h;
    EXPECT_INVALID(Parse(MakeNpy(c.header, {0}), &h), c.message) << c.header;
  }
  // More than 32 dimensions.
  std::string shape = "(";
  for (int i = 0; i < 33; ++i) shape += "1, ";
  NpyHeader h;
  EXPECT_INVALID(Parse(MakeNpy("{'descr': '<u1', 'fortran_order': False, 'shape': " + shape + ")}", {0}), &h),
                 "more than 32 dimensions");
}

TEST(Npy, CheckDTypeAndShape) {
  NpyHeader h;
  ASSERT_OK(Parse(B(kNpyF4Le), &h));
  EXPECT_OK(CheckNpyDType(h, DType::kFloat32));
  EXPECT_INVALID(CheckNpyDType(h, DType::kUInt8), "dtype is uint8 but contents holds a .npy array of float32");
  const int64_t any[2] = {-1, 2}, wrong[2] = {3, 2}, bad[2] = {-2, 2}, one[1] = {4};
  EXPECT_OK(CheckNpyShape(h, any, 2));
  EXPECT_INVALID(CheckNpyShape(h, wrong, 2), "shape is (3, 2) but contents holds a .npy array of shape (2, 2)");
  EXPECT_INVALID(CheckNpyShape(h, one, 1), "shape is (4,) but");
  EXPECT_INVALID(CheckNpyShape(h, bad, 2), "shape[0] is -2; expected a size >= 0, or -1 or None");
}

// ---------------------------------------------------------------------------
// .npz / ZIP

// Bitwise CRC-32 (reflected polynomial 0xEDB88320), the textbook definition.
uint32_t BitwiseCrc(const Bytes& b) {
  uint32_t c = 0xffffffffu;
  for (uint8_t byte : b) {
    c ^= byte;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void Le(Bytes* b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A stored-only archive of the given members (APPNOTE 4.3.7, 4.3.12, 4.3.16),
// optionally in ZIP64 form (4.3.14, 4.3.15, 4.5.3): saturated 32-bit sizes
// and offsets in the central directory, the real ones in extra field 0x0001,
// and the ZIP64 end record and locator before the end record.
Bytes MakeZip(const std::vector<std::pair<std::string, Bytes>>& members, bool zip64) {
  Bytes z, cd;
  for (const auto& [name, data] : members) {
    const uint64_t offset = z.size();
    const uint32_t crc = BitwiseCrc(data);
    Le(&z, 0x04034b50, 4);
    Le(&z, 20, 2);  // version needed
    Le(&z, 0, 2);   // flags
    Le(&z, 0, 2);   // method: stored
    Le(&z, 0, 4);   // time, date
    Le(&z, crc, 4);
    Le(&z, data.size(), 4);
    Le(&z, data.size(), 4);
    Le(&z, name.size(), 2);
    Le(&z, 0, 2);
    z.insert(z.end(), name.begin(), name.end());
    z.insert(z.end(), data.begin(), data.end());

    Le(&cd, 0x02014b50, 4);
    Le(&cd, 45, 2);  // version made by
    Le(&cd, 45, 2);  // version needed
    Le(&cd, 0, 2);
    Le(&cd, 0, 2);
    Le(&cd, 0, 4);
    Le(&cd, crc, 4);
    Le(&cd, zip64 ? 0xffffffffu : data.size(), 4);
    Le(&cd, zip64 ? 0xffffffffu : data.size(), 4);
    Le(&cd, name.size(), 2);
    Le(&cd, zip64 ? 28 : 0, 2);  // extra length
    Le(&cd, 0, 2);               // comment length
    Le(&cd, 0, 2);               // disk
    Le(&cd, 0, 2);               // internal attributes
    Le(&cd, 0, 4);               // external attributes
    Le(&cd, zip64 ? 0xffffffffu : offset, 4);
    cd.insert(cd.end(), name.begin(), name.end());
    if (zip64) {
      Le(&cd, 1, 2);   // ZIP64 extended information
      Le(&cd, 24, 2);  // uncompressed, compressed, local header offset
      Le(&cd, data.size(), 8);
      Le(&cd, data.size(), 8);
      Le(&cd, offset, 8);
    }
  }
  const uint64_t cd_offset = z.size();
  z.insert(z.end(), cd.begin(), cd.end());
  if (zip64) {
    const uint64_t record = z.size();
    Le(&z, 0x06064b50, 4);
    Le(&z, 44, 8);  // size of the rest of the record
    Le(&z, 45, 2);
    Le(&z, 45, 2);
    Le(&z, 0, 4);
    Le(&z, 0, 4);
    Le(&z, members.size(), 8);
    Le(&z, members.size(), 8);
    Le(&z, cd.size(), 8);
    Le(&z, cd_offset, 8);
    Le(&z, 0x07064b50, 4);  // locator
    Le(&z, 0, 4);
    Le(&z, record, 8);
    Le(&z, 1, 4);
  }
  Le(&z, 0x06054b50, 4);
  Le(&z, 0, 2);
  Le(&z, 0, 2);
  Le(&z, zip64 ? 0xffff : members.size(), 2);
  Le(&z, zip64 ? 0xffff : members.size(), 2);
  Le(&z, zip64 ? 0xffffffffu : cd.size(), 4);
  Le(&z, zip64 ? 0xffffffffu : cd_offset, 4);
  Le(&z, 0, 2);  // comment length
  return z;
}

Status Dir(const Bytes& z, std::vector<ZipMember>* m) {
  return ReadZipDirectory(z.data(), static_cast<int64_t>(z.size()), m);
}

Status Member(const Bytes& z, const ZipMember& m, Bytes* out) {
  std::vector<uint8_t> storage;
  const uint8_t* p = nullptr;
  int64_t n = 0;
  GILFREE_RETURN_IF_ERROR(ReadZipMember(z.data(), static_cast<int64_t>(z.size()), m, &storage, &p, &n));
  out->assign(p, p + n);
  return Status::Ok();
}

TEST(Npz, StoredArchiveOfNpSavez) {
  const Bytes z = B(kNpzStored);
  std::vector<ZipMember> members;
  ASSERT_OK(Dir(z, &members));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].name, "a.npy");
  EXPECT_EQ(members[1].name, "b.npy");
  EXPECT_EQ(members[0].method, 0);
  const ZipMember* m = nullptr;
  ASSERT_OK(FindNpzMember(members, "b", &m));
  Bytes npy;
  ASSERT_OK(Member(z, *m, &npy));
  NpyHeader h;
  EXPECT_EQ(DecodeAll<float>(npy, &h), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(h.shape, (std::vector<int64_t>{2, 1}));
  ASSERT_OK(FindNpzMember(members, "a.npy", &m));  // the full name works too
  EXPECT_EQ(m->name, "a.npy");
  EXPECT_INVALID(FindNpzMember(members, "c", &m),
                 "spec names member 'c' but contents has no such member; the archive holds 'a', 'b'");
  EXPECT_INVALID(FindNpzMember({}, "c", &m), "the archive holds none");
}

TEST(Npz, DeflatedArchiveOfNpSavezCompressed) {
  const Bytes z = B(kNpzDeflate);
  std::vector<ZipMember> members;
  ASSERT_OK(Dir(z, &members));
  ASSERT_EQ(members.size(), 2u);
  for (const ZipMember& m : members) EXPECT_EQ(m.method, 8);
  const ZipMember* m = nullptr;
  ASSERT_OK(FindNpzMember(members, "a", &m));
  Bytes npy;
  ASSERT_OK(Member(z, *m, &npy));
  NpyHeader h;
  EXPECT_EQ(DecodeAll<uint16_t>(npy, &h), (std::vector<uint16_t>{0, 1, 2}));
  ASSERT_OK(FindNpzMember(members, "b", &m));
  ASSERT_OK(Member(z, *m, &npy));
  EXPECT_EQ(DecodeAll<int32_t>(npy, &h), std::vector<int32_t>(1000, 0));
}

TEST(Npz, ForEachMemberVisitsTheKeysInOrder) {
  const Bytes z = B(kNpzDeflate);
  const int64_t size = static_cast<int64_t>(z.size());
  std::vector<std::string> seen;
  std::vector<uint16_t> a;
  ASSERT_OK(ForEachNpzMember(z.data(), size, {"b", "a"}, [&](size_t i, const NpzMember& m) {
    seen.push_back(std::to_string(i) + ":" + *m.name);
    EXPECT_EQ(m.npy, m.storage->data());  // deflated: inflated into storage
    if (*m.name == "a.npy") {
      NpyHeader h;
      a = DecodeAll<uint16_t>(Bytes(m.npy, m.npy + m.size), &h);
    }
    return Status::Ok();
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"0:b.npy", "1:a.npy"}));
  EXPECT_EQ(a, (std::vector<uint16_t>{0, 1, 2}));
  // The visitor's error keeps its code and names the member; the loop stops there.
  int calls = 0;
  const Status s = ForEachNpzMember(z.data(), size, {"a", "b"}, [&](size_t, const NpzMember&) {
    ++calls;
    return Status::ResourceExhausted("no room");
  });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "no room (member 'a.npy')");
  EXPECT_EQ(calls, 1);
  EXPECT_INVALID(ForEachNpzMember(z.data(), size, {"a", "c"}, [](size_t, const NpzMember&) { return Status::Ok(); }),
                 "spec names member 'c' but contents has no such member; the archive holds 'a', 'b'");
  EXPECT_INVALID(ForEachNpzMember(z.data(), 10, {"a"}, [](size_t, const NpzMember&) { return Status::Ok(); }),
                 "contents");
}

TEST(Zip, HandBuiltArchiveAndZip64) {
  const Bytes npy = B(kNpyU2Arange);
  const Bytes text = {'h', 'i'};
  for (bool zip64 : {false, true}) {
    const Bytes z = MakeZip({{"x.npy", npy}, {"notes.txt", text}}, zip64);
    std::vector<ZipMember> members;
    ASSERT_OK(Dir(z, &members));
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].name, "x.npy");
    EXPECT_EQ(members[0].uncompressed_size, npy.size());
    EXPECT_EQ(members[0].compressed_size, npy.size());
    EXPECT_EQ(members[0].local_header_offset, 0u);
    EXPECT_EQ(members[1].local_header_offset, 30u + 5u + npy.size());
    EXPECT_EQ(members[1].crc32, BitwiseCrc(text));
    Bytes got;
    ASSERT_OK(Member(z, members[0], &got));
    EXPECT_EQ(got, npy);
    ASSERT_OK(Member(z, members[1], &got));
    EXPECT_EQ(got, text);
    const ZipMember* m = nullptr;
    ASSERT_OK(FindNpzMember(members, "notes.txt", &m));
    EXPECT_INVALID(FindNpzMember(members, "y", &m), "the archive holds 'x', 'notes.txt'");
  }
}

TEST(Zip, DamagedArchivesAreInvalidArgument) {
  const Bytes good = MakeZip({{"x.npy", B(kNpyU2Arange)}}, false);
  std::vector<ZipMember> members;
  EXPECT_INVALID(ReadZipDirectory(good.data(), 21, &members), "invalid zip archive: truncated: 21 bytes");
  // Cut anywhere: the end record is gone (or its comment length disagrees).
  for (size_t cut : {good.size() - 1, good.size() - 10, good.size() / 2, size_t{30}}) {
    EXPECT_INVALID(ReadZipDirectory(good.data(), static_cast<int64_t>(cut), &members), "invalid zip archive") << cut;
  }
  Bytes b(good.size() - 1);
  std::memcpy(b.data(), good.data(), b.size());
  EXPECT_INVALID(Dir(b, &members), "no end-of-central-directory record");
  // End record fields: central directory offset beyond the archive.
  const size_t eocd = good.size() - 22;
  b = good;
  b[eocd + 16] = 0xf0;
  EXPECT_INVALID(Dir(b, &members), "the central directory lies outside the archive");
  // More entries than the directory's bytes can hold.
  b = good;
  b[eocd + 8] = 200;  // entries on this disk
  b[eocd + 10] = 200;  // entries in all
  EXPECT_INVALID(Dir(b, &members), "the directory claims 200 entries in");
  // Spanned archives: this disk's number, or entries on other disks.
  b = good;
  b[eocd + 4] = 1;
  EXPECT_INVALID(Dir(b, &members), "multi-disk archives are not supported");
  b = good;
  b[eocd + 10] = 2;
  EXPECT_INVALID(Dir(b, &members), "multi-disk archives are not supported");
  // A broken central entry signature.
  const size_t cd = good.size() - 22 - (46 + 5);
  b = good;
  b[cd] = 'X';
  EXPECT_INVALID(Dir(b, &members), "corrupt central directory entry");
  // A name length running past the directory.
  b = good;
  b[cd + 28] = 200;
  EXPECT_INVALID(Dir(b, &members), "corrupt central directory entry");
  // ZIP64 markers without the locator.
  b = good;
  for (int i = 8; i < 12; ++i) b[eocd + i] = 0xff;
  EXPECT_INVALID(Dir(b, &members), "the ZIP64 end-of-directory locator is missing");

  // ZIP64: the locator points outside, the record's signature is wrong.
  const Bytes z64 = MakeZip({{"x.npy", B(kNpyU2Arange)}}, true);
  const size_t loc = z64.size() - 22 - 20;
  b = z64;
  b[loc + 8 + 7] = 0x7f;
  EXPECT_INVALID(Dir(b, &members), "the ZIP64 end-of-directory record is missing or out of bounds");
  b = z64;
  b[loc - 56] = 'X';
  EXPECT_INVALID(Dir(b, &members), "the ZIP64 end-of-directory record is missing");
  // The ZIP64 extra field shorter than the saturated fields need.
  const size_t cd64 = z64.size() - 22 - 20 - 56 - (46 + 5 + 28);
  b = z64;
  b[cd64 + 46 + 5 + 2] = 16;  // claims 16 bytes: the offset is missing
  EXPECT_INVALID(Dir(b, &members), "corrupt ZIP64 field");
  b = z64;
  b[cd64 + 46 + 5 + 2] = 40;  // longer than the extra area
  EXPECT_INVALID(Dir(b, &members), "corrupt extra field");
}

TEST(Zip, DamagedMembersAreInvalidArgument) {
  const Bytes npy = B(kNpyU2Arange);
  const Bytes good = MakeZip({{"x.npy", npy}}, false);
  std::vector<ZipMember> members;
  ASSERT_OK(Dir(good, &members));
  ZipMember m = members[0];
  Bytes out;
  // A flipped data byte: the CRC-32 no longer matches.
  Bytes b = good;
  b[30 + 5 + 130] ^= 1;
  EXPECT_INVALID(Member(b, m, &out), "member 'x.npy': CRC-32 mismatch");
  ZipMember e = m;
  e.flags = 1;
  EXPECT_INVALID(Member(good, e, &out), "member 'x.npy': encrypted members are not supported");
  e = m;
  e.method = 12;
  EXPECT_INVALID(Member(good, e, &out), "compression method 12 is not supported; expected 0 (stored) or 8 (deflate)");
  e = m;
  e.local_header_offset = good.size() - 10;
  EXPECT_INVALID(Member(good, e, &out), "the local header is missing or out of bounds");
  e.local_header_offset = 1;
  EXPECT_INVALID(Member(good, e, &out), "the local header is missing");
  e = m;
  e.compressed_size = e.uncompressed_size = good.size();
  EXPECT_INVALID(Member(good, e, &out), "truncated: its data runs past the end of the archive");
  // One byte more than the data holds reaches into the central directory,
  // which follows it: refused though the archive is long enough.
  e = m;
  e.compressed_size = e.uncompressed_size = m.compressed_size + 1;
  EXPECT_INVALID(Member(good, e, &out), "or into the central directory");
  e = m;
  e.uncompressed_size += 1;
  EXPECT_INVALID(Member(good, e, &out), "a stored member's sizes differ");
  e = m;
  e.method = 8;
  e.uncompressed_size = e.compressed_size * 1032 + 1025;
  EXPECT_INVALID(Member(good, e, &out), "more than deflate can produce");
  // Deflate over bytes that are not a deflate stream ('\x93NUMPY...': the
  // first block header 0x93 = 1, 01 -> fixed block, then garbage) fails with
  // the member named.
  e = m;
  e.method = 8;
  e.uncompressed_size = 1000;
  const Status s = Member(good, e, &out);
  EXPECT_INVALID(s, "contents: invalid deflate stream");
  EXPECT_INVALID(s, "(member 'x.npy')");
}

// ---------------------------------------------------------------------------
// records

TEST(Records, CountRecords) {
  int64_t n = 0;
  ASSERT_OK(CountRecords(3073 * 2, 0, 0, 3073, false, &n));
  EXPECT_EQ(n, 2);
  ASSERT_OK(CountRecords(4 + 30 + 2, 4, 2, 10, false, &n));
  EXPECT_EQ(n, 3);
  ASSERT_OK(CountRecords(0, 0, 0, 10, false, &n));
  EXPECT_EQ(n, 0);
  ASSERT_OK(CountRecords(12, 1, 1, 10, true, &n));
  EXPECT_EQ(n, 1);
  EXPECT_INVALID(CountRecords(10, -1, 0, 10, false, &n), "header_bytes is -1; expected >= 0");
  EXPECT_INVALID(CountRecords(10, 0, -2, 10, false, &n), "footer_bytes is -2; expected >= 0");
  EXPECT_INVALID(CountRecords(10, 0, 0, 0, false, &n), "schema: the record size must be positive");
  EXPECT_INVALID(CountRecords(10, 6, 5, 1, false, &n),
                 "contents: truncated: 10 bytes cannot hold header_bytes=6 and footer_bytes=5");
  EXPECT_INVALID(CountRecords(23, 0, 0, 10, false, &n),
                 "23 bytes of records is not a whole number of 10-byte records: 3 bytes too many (or 7 too few)");
  EXPECT_INVALID(CountRecords(11, 0, 0, 10, true, &n), "a record string holds 11 bytes of record; a record is 10 bytes (off by 1)");
}

TEST(Records, ValidateFields) {
  RecordField f[2];
  f[0].offset = 0;
  f[0].dtype = DType::kUInt8;
  f[1].offset = 8;
  f[1].dtype = DType::kInt32;
  f[1].count = 2;
  EXPECT_INVALID(ValidateRecordFields(f, 2, 10),
                 "schema: field 1 (offset 8, 2 x int32) does not fit in a record of 10 bytes");
  EXPECT_OK(ValidateRecordFields(f, 2, 16));
  f[1].offset = -1;
  f[1].count = 1;
  EXPECT_INVALID(ValidateRecordFields(f, 2, 16), "field 1 (offset -1");
  f[1].offset = 0;
  f[1].count = -1;
  EXPECT_INVALID(ValidateRecordFields(f, 2, 16), "field 1 (offset 0, -1 x int32)");
  f[1].count = 0;
  f[1].offset = 17;
  EXPECT_INVALID(ValidateRecordFields(f, 2, 16), "field 1 (offset 17, 0 x int32)");
  f[1].offset = 16;  // an empty field at the very end fits
  EXPECT_OK(ValidateRecordFields(f, 2, 16));
  EXPECT_INVALID(ValidateRecordFields(f, 2, 0), "schema: the record size must be positive");
  EXPECT_INVALID(DecodeRecords(RecordSource{}, 0, f, 2, nullptr), "the record size must be positive");
}

TEST(Records, MakeFieldsFromSchema) {
  // The header's example: a big-endian int16 pair at offset 1 of 5-byte records.
  std::vector<SchemaField> schema(2);
  schema[0].dtype = DType::kUInt8;
  schema[0].big_endian = true;  // one-byte elements are never swapped
  schema[1].offset = 1;
  schema[1].dtype = DType::kInt16;
  schema[1].shape = {2};
  schema[1].big_endian = true;
  std::vector<RecordField> f;
  EXPECT_OK(MakeRecordFields(schema, 5, &f));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].count, 1);
  EXPECT_FALSE(f[0].swap);
  EXPECT_EQ(f[1].offset, 1);
  EXPECT_EQ(f[1].count, 2);
  EXPECT_TRUE(f[1].swap);
  schema[1].shape = {3};
  EXPECT_INVALID(MakeRecordFields(schema, 5, &f),
                 "schema: field 1 (offset 1, 3 x int16) does not fit in a record of 5 bytes");
  schema[1].shape = {2, 0};  // an empty subarray fits anywhere inside
  EXPECT_OK(MakeRecordFields(schema, 5, &f));
  EXPECT_EQ(f[1].count, 0);
  schema[1].shape = {-2};
  EXPECT_INVALID(MakeRecordFields(schema, 5, &f), "field 1 (offset 1, -1 x int16)");
  schema[1].shape = {int64_t{1} << 40, int64_t{1} << 40};  // the product overflows
  EXPECT_INVALID(MakeRecordFields(schema, 5, &f), "field 1 (offset 1, -1 x int16)");
}

// A 24-byte record, written byte by byte:
//   [0]       uint8 label
//   [1, 5)    int32, big-endian
//   [5, 13)   float64, little-endian
//   [13, 16)  3 bools
//   [16, 18)  int16, big-endian
//   [18, 22)  float32, big-endian
//   [22, 24)  uint16, little-endian
constexpr int64_t kRecord = 24;

void WriteRecord(int64_t r, uint8_t* p) {
  p[0] = static_cast<uint8_t>(r % 10);
  const uint32_t i32 = static_cast<uint32_t>(static_cast<int32_t>(r * 1000003 - 500000000));
  for (int k = 0; k < 4; ++k) p[1 + k] = static_cast<uint8_t>(i32 >> (24 - 8 * k));
  const double d = static_cast<double>(r) + 0.5;
  std::memcpy(p + 5, &d, 8);  // the host is little-endian (x86-64)
  p[13] = static_cast<uint8_t>(r % 3);  // 0, 1, 2: 2 must decode as true
  p[14] = 0;
  p[15] = 0xff;
  const uint16_t i16 = static_cast<uint16_t>(static_cast<int16_t>(-r));
  p[16] = static_cast<uint8_t>(i16 >> 8);
  p[17] = static_cast<uint8_t>(i16);
  const float f = -0.25f * static_cast<float>(r);
  uint32_t fb;
  std::memcpy(&fb, &f, 4);
  for (int k = 0; k < 4; ++k) p[18 + k] = static_cast<uint8_t>(fb >> (24 - 8 * k));
  p[22] = static_cast<uint8_t>(r & 0xff);
  p[23] = static_cast<uint8_t>((r >> 8) & 0xff);
}

void CheckRecords(bool use_pointers, const ParallelFor* pf) {
  const int64_t N = 600;  // more than one unit of 256 records
  Bytes data(N * kRecord + 7);  // 7 trailing bytes: never read
  for (int64_t r = 0; r < N; ++r) WriteRecord(r, data.data() + r * kRecord);
  std::vector<const uint8_t*> ptrs(N);
  // Pointers in reverse order: record i is the (N - 1 - i)-th of the buffer.
  for (int64_t r = 0; r < N; ++r) ptrs[r] = data.data() + (N - 1 - r) * kRecord;
  std::vector<uint8_t> label(N), flags(N * 3);
  std::vector<int32_t> i32(N);
  std::vector<double> f64(N);
  std::vector<int16_t> i16(N);
  std::vector<float> f32(N);
  std::vector<uint16_t> u16(N);
  RecordField f[7];
  f[0] = {0, DType::kUInt8, 1, false, label.data()};
  f[1] = {1, DType::kInt32, 1, true, i32.data()};
  f[2] = {5, DType::kFloat64, 1, false, f64.data()};
  f[3] = {13, DType::kBool, 3, false, flags.data()};
  f[4] = {16, DType::kInt16, 1, true, i16.data()};
  f[5] = {18, DType::kFloat32, 1, true, f32.data()};
  f[6] = {22, DType::kUInt16, 1, false, u16.data()};
  RecordSource src;
  src.base = data.data();
  src.pointers = use_pointers ? ptrs.data() : nullptr;
  src.num_records = N;
  ASSERT_OK(DecodeRecords(src, kRecord, f, 7, pf));
  for (int64_t i = 0; i < N; ++i) {
    const int64_t r = use_pointers ? N - 1 - i : i;
    ASSERT_EQ(label[i], r % 10);
    ASSERT_EQ(i32[i], static_cast<int32_t>(r * 1000003 - 500000000));
    ASSERT_EQ(f64[i], static_cast<double>(r) + 0.5);
    ASSERT_EQ(flags[i * 3], r % 3 != 0 ? 1 : 0);
    ASSERT_EQ(flags[i * 3 + 1], 0);
    ASSERT_EQ(flags[i * 3 + 2], 1);
    ASSERT_EQ(i16[i], -r);
    ASSERT_EQ(f32[i], -0.25f * static_cast<float>(r));
    ASSERT_EQ(u16[i], r);
  }
}

TEST(Records, DecodeEveryKindOfField) {
  CheckRecords(false, nullptr);
  CheckRecords(true, nullptr);
  const ParallelFor pf = testing::ReversedChunks(1);
  CheckRecords(false, &pf);
}

TEST(Records, CifarLayout) {
  // The header's example: {label: 0, uint8}, {image: 1, uint8 x 3072}.
  Bytes data(3073 * 2);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> label(2), image(2 * 3072);
  RecordField f[2];
  f[0] = {0, DType::kUInt8, 1, false, label.data()};
  f[1] = {1, DType::kUInt8, 3072, false, image.data()};
  RecordSource src;
  src.base = data.data();
  src.num_records = 2;
  ASSERT_OK(DecodeRecords(src, 3073, f, 2, nullptr));
  EXPECT_EQ(label[0], data[0]);
  EXPECT_EQ(label[1], data[3073]);
  for (int k = 0; k < 3072; ++k) {
    ASSERT_EQ(image[k], data[1 + k]);
    ASSERT_EQ(image[3072 + k], data[3073 + 1 + k]);
  }
}

TEST(Records, LargeFieldsOfManyRecords) {
  // Outputs of several MiB (written past the caches, in 16-byte aligned
  // pieces with unaligned heads and tails): 1500 records of 3001 bytes,
  // {0: uint8}, {1: 2999 x uint8}, {3000: bool}; then a 2-byte field at an
  // odd offset, a uint16 field of 1500 elements and a big-endian one, by
  // record pointers and in parallel. Expected values by direct indexing.
  const int64_t N = 1500, R = 3001;
  Bytes data(N * R);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  std::vector<uint8_t> label(N), body(N * 2999), last(N);
  RecordField f[3];
  f[0] = {0, DType::kUInt8, 1, false, label.data()};
  f[1] = {1, DType::kUInt8, 2999, false, body.data()};
  f[2] = {3000, DType::kBool, 1, false, last.data()};
  RecordSource src;
  src.base = data.data();
  src.num_records = N;
  ASSERT_OK(DecodeRecords(src, R, f, 3, nullptr));
  for (int64_t r = 0; r < N; ++r) {
    ASSERT_EQ(label[r], data[r * R]) << r;
    ASSERT_EQ(std::memcmp(&body[r * 2999], &data[r * R + 1], 2999), 0) << r;
    ASSERT_EQ(last[r], data[r * R + 3000] != 0 ? 1 : 0) << r;
  }
  std::vector<const uint8_t*> ptrs(N);
  for (int64_t r = 0; r < N; ++r) ptrs[r] = data.data() + (N - 1 - r) * R;  // reversed
  std::vector<uint16_t> little(N * 1500), big(N * 1500);
  std::vector<uint8_t> pair(N * 2);
  RecordField g[3];
  g[0] = {1, DType::kUInt16, 1500, false, little.data()};
  g[1] = {0, DType::kUInt16, 1500, true, big.data()};
  g[2] = {2999, DType::kUInt8, 2, false, pair.data()};
  src.pointers = ptrs.data();
  const ParallelFor pf = testing::Threaded(2, 3);
  ASSERT_OK(DecodeRecords(src, R, g, 3, &pf));
  for (int64_t i = 0; i < N; ++i) {
    const uint8_t* rec = data.data() + (N - 1 - i) * R;
    for (int64_t k = 0; k < 1500; k += 7) {
      ASSERT_EQ(little[i * 1500 + k], rec[1 + 2 * k] | rec[2 + 2 * k] << 8) << i << " " << k;
      ASSERT_EQ(big[i * 1500 + k], rec[2 * k] << 8 | rec[1 + 2 * k]) << i << " " << k;
    }
    ASSERT_EQ(pair[2 * i], rec[2999]);
    ASSERT_EQ(pair[2 * i + 1], rec[3000]);
  }
}

TEST(Records, CopySwapped) {
  const uint8_t in[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  uint8_t out[16];
  CopySwapped(in, out, 2, 8);
  const uint8_t w8[16] = {8, 7, 6, 5, 4, 3, 2, 1, 16, 15, 14, 13, 12, 11, 10, 9};
  EXPECT_EQ(std::memcmp(out, w8, 16), 0);
  CopySwapped(in, out, 4, 4);
  const uint8_t w4[16] = {4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13};
  EXPECT_EQ(std::memcmp(out, w4, 16), 0);
  CopySwapped(in, out, 8, 2);
  const uint8_t w2[16] = {2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15};
  EXPECT_EQ(std::memcmp(out, w2, 16), 0);
  CopySwapped(in, out, 16, 1);
  EXPECT_EQ(std::memcmp(out, in, 16), 0);
}

}  // namespace
}  // namespace gilfree
