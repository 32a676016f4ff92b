// Inflate (core/inflate.h) and CRC-32 (core/crc32.h). Streams are either
// written here bit by bit from RFC 1951 (a tiny encoder of the block formats,
// not of any compression strategy) or made by zlib (fixtures.inc).
#include <cstring>
#include <string>
#include <vector>

#include "core/crc32.h"
#include "core/inflate.h"
#include "test_util.h"

#include "fixtures.inc"

namespace gilfree {
namespace {

using Bytes = std::vector<uint8_t>;

// RFC 1951 3.1.1: data elements are packed starting with the least
// significant bit; Huffman codes are packed starting with their most
// significant bit.
constexpr int kFixedBlock = 1;    // BTYPE 01: fixed Huffman codes
constexpr int kDynamicBlock = 2;  // BTYPE 10: dynamic Huffman codes

class BitWriter {
 public:
  void Bits(uint32_t value, int n) {
    for (int i = 0; i < n; ++i) Bit((value >> i) & 1u);
  }
  void Code(uint32_t code, int len) {
    for (int i = len - 1; i >= 0; --i) Bit((code >> i) & 1u);
  }
  void Align() {
    while (nbits_ != 0) Bit(0);
  }
  void Byte(uint8_t b) { Bits(b, 8); }
  // Fixed Huffman literal/length code (RFC 1951 3.2.6).
  void FixedLiteral(int sym) {
    if (sym < 144) Code(0x30 + sym, 8);
    else if (sym < 256) Code(0x190 + (sym - 144), 9);
    else if (sym < 280) Code(sym - 256, 7);
    else Code(0xc0 + (sym - 280), 8);
  }
  void FixedDistance(int code) { Code(code, 5); }
  // The header of the last block (RFC 1951 3.2.3): BFINAL 1, then BTYPE.
  void FinalBlock(int btype) {
    Bits(1, 1);
    Bits(static_cast<uint32_t>(btype), 2);
  }
  Bytes Done() {
    Align();
    return out_;
  }

 private:
  void Bit(uint32_t b) {
    if (nbits_ == 0) out_.push_back(0);
    out_.back() |= static_cast<uint8_t>(b << nbits_);
    nbits_ = (nbits_ + 1) % 8;
  }
  Bytes out_;
  int nbits_ = 0;
};

Status InflateTo(const Bytes& in, int64_t out_size, Bytes* out, int64_t* consumed = nullptr) {
  out->assign(static_cast<size_t>(out_size), 0xAA);
  return Inflate(in.data(), static_cast<int64_t>(in.size()), out->data(), out_size, consumed);
}

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

template <size_t N>
Bytes B(const unsigned char (&a)[N]) {
  return Bytes(a, a + N);
}

// ---------------------------------------------------------------------------
// CRC-32

TEST(Crc32, KnownValues) {
  EXPECT_EQ(Crc32("123456789", 9), 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(Crc32("", 0), 0u);
  EXPECT_EQ(Crc32("a", 1), 0xE8B7BE43u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
}

TEST(Crc32, ContinuationAndAlignment) {
  EXPECT_EQ(Crc32("56789", 5, Crc32("1234", 4)), 0xCBF43926u);
  // Long, unaligned buffers against the bit-by-bit definition.
  std::vector<uint8_t> buf(1000);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t start : {0, 1, 3, 7}) {
    for (size_t len : {0, 1, 8, 15, 64, 993}) {
      uint32_t c = 0xffffffffu;
      for (size_t i = start; i < start + len; ++i) {
        c ^= buf[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
      }
      EXPECT_EQ(Crc32(buf.data() + start, static_cast<int64_t>(len)), ~c) << start << "+" << len;
    }
  }
}

// ---------------------------------------------------------------------------
// streams written from RFC 1951

TEST(Inflate, StoredBlock) {
  // BFINAL 1, BTYPE 00, align, LEN 3, NLEN ~3, "abc".
  const Bytes in = {0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'};
  Bytes out;
  int64_t consumed = 0;
  ASSERT_OK(InflateTo(in, 3, &out, &consumed));
  EXPECT_EQ(Str(out), "abc");
  EXPECT_EQ(consumed, 8);
  // An empty stored block followed by a stored final block.
  const Bytes two = {0x00, 0x00, 0x00, 0xff, 0xff, 0x01, 0x01, 0x00, 0xfe, 0xff, 'z'};
  ASSERT_OK(InflateTo(two, 1, &out));
  EXPECT_EQ(Str(out), "z");
}

TEST(Inflate, FixedBlockHeaderExample) {
  // The header's example, "abc" as fixed-Huffman literals. Written by hand:
  // 1, 01 (LSB first: 1, 1, 0), codes 0x30 + 'a' ... (8 bits), 256 = 0000000.
  BitWriter w;
  w.FinalBlock(kFixedBlock);
  for (char c : std::string("abc")) w.FixedLiteral(c);
  w.FixedLiteral(256);
  const Bytes in = w.Done();
  EXPECT_EQ(in, (Bytes{0x4b, 0x4c, 0x4a, 0x06, 0x00}));
  Bytes out;
  ASSERT_OK(InflateTo(in, 3, &out));
  EXPECT_EQ(Str(out), "abc");
}

TEST(Inflate, FixedBlockWithBackReferences) {
  // "ab", then length 7 (code 261) at distance 2 (code 1): an overlapping
  // copy giving "ababababa"; then length 258 (code 285) at distance 1: 258
  // more 'a'; then length 11 (code 265 + 1 extra bit 0) at distance 5 (code
  // 4 + 1 extra bit 0): copies 11 bytes starting 5 back.
  BitWriter w;
  w.FinalBlock(kFixedBlock);
  w.FixedLiteral('a');
  w.FixedLiteral('b');
  w.FixedLiteral(261);
  w.FixedDistance(1);
  w.FixedLiteral(285);
  w.FixedDistance(0);
  w.FixedLiteral(265);
  w.Bits(0, 1);
  w.FixedDistance(4);
  w.Bits(0, 1);
  w.FixedLiteral(256);
  std::string want = "ababababa" + std::string(258, 'a');
  for (int i = 0; i < 11; ++i) want += want[want.size() - 5];
  Bytes out;
  ASSERT_OK(InflateTo(w.Done(), static_cast<int64_t>(want.size()), &out));
  EXPECT_EQ(Str(out), want);
}

// A dynamic block whose literal/length code has two symbols, 'a' (97) and
// 256, both of length 1, and one distance code of length 1. Code-length code:
// symbols 1 and 18 of length 1 (1 -> code 0, 18 -> code 1), HCLEN = 18 - 4
// so the order list reaches symbol 1 (position 17).
Bytes DynamicAaa(bool first_is_repeat16) {
  BitWriter w;
  w.FinalBlock(kDynamicBlock);
  w.Bits(0, 5);    // HLIT: 257 codes
  w.Bits(0, 5);    // HDIST: 1 code
  w.Bits(14, 4);   // HCLEN: 18 code-length codes
  // Order 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1.
  const int order[18] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1};
  for (int s : order) w.Bits(first_is_repeat16 ? (s == 16 || s == 1 ? 1 : 0) : (s == 18 || s == 1 ? 1 : 0), 3);
  if (first_is_repeat16) {
    // Symbols 1 -> 0 and 16 -> 1: a 16 (repeat previous) with nothing before.
    w.Code(1, 1);
    w.Bits(0, 2);
    return w.Done();
  }
  w.Code(1, 1);  // 18: 11 + 86 = 97 zeros (symbols 0..96)
  w.Bits(86, 7);
  w.Code(0, 1);  // 1: symbol 97 has length 1
  w.Code(1, 1);  // 18: 138 zeros (98..235)
  w.Bits(127, 7);
  w.Code(1, 1);  // 18: 20 zeros (236..255)
  w.Bits(9, 7);
  w.Code(0, 1);  // 1: symbol 256
  w.Code(0, 1);  // 1: distance code 0
  // Data: 'a' = 0, 'a', 'a', end of block 256 = 1.
  w.Code(0, 1);
  w.Code(0, 1);
  w.Code(0, 1);
  w.Code(1, 1);
  return w.Done();
}

TEST(Inflate, DynamicBlockWrittenByHand) {
  Bytes out;
  ASSERT_OK(InflateTo(DynamicAaa(false), 3, &out));
  EXPECT_EQ(Str(out), "aaa");
  EXPECT_INVALID(InflateTo(DynamicAaa(true), 3, &out), "repeat of a code length with no previous length");
}

TEST(Inflate, ConsumedStopsAtTheEndOfTheStream) {
  // Trailing bytes after the final block are not consumed.
  Bytes in = {0x01, 0x01, 0x00, 0xfe, 0xff, 'q', 0xde, 0xad};
  Bytes out;
  int64_t consumed = 0;
  ASSERT_OK(InflateTo(in, 1, &out, &consumed));
  EXPECT_EQ(consumed, 6);
}

// ---------------------------------------------------------------------------
// streams made by zlib

TEST(Inflate, ZlibStreams) {
  Bytes out;
  ASSERT_OK(InflateTo(B(kDeflateFixedAbc), 3, &out));
  EXPECT_EQ(Str(out), "abc");
  ASSERT_OK(InflateTo(B(kDeflateStored), 12, &out));
  EXPECT_EQ(Str(out), "hello, world");
  EXPECT_EQ(kDeflateStored[0] & 0x06, 0);  // BTYPE 00
  std::string rep;
  for (int i = 0; i < 3; ++i) rep += "abcabcabcabcabcabcx";
  ASSERT_OK(InflateTo(B(kDeflateFixedRepeat), static_cast<int64_t>(rep.size()), &out));
  EXPECT_EQ(Str(out), rep);
  EXPECT_EQ((kDeflateFixedRepeat[0] >> 1) & 3, 1);  // BTYPE 01
  const Bytes text = B(kDeflateDynamicText);
  EXPECT_EQ((kDeflateDynamic[0] >> 1) & 3, 2);  // BTYPE 10
  int64_t consumed = 0;
  ASSERT_OK(InflateTo(B(kDeflateDynamic), static_cast<int64_t>(text.size()), &out, &consumed));
  EXPECT_EQ(out, text);
  EXPECT_EQ(consumed, static_cast<int64_t>(sizeof kDeflateDynamic));
}

// make_fixtures.py's mixed_bytes(n, seed): random letters a..p, runs and repeats
// from every kind of distance, from a linear congruential generator.
Bytes MixedBytes(size_t n, uint32_t seed) {
  uint32_t x = seed;
  auto rnd = [&x] {
    x = (x * 1103515245u + 12345u) & 0x7fffffffu;
    return x >> 8;
  };
  Bytes out;
  while (out.size() < n) {
    const uint32_t mode = rnd() % 6;
    if (mode == 0 || out.size() < 64) {
      for (uint32_t k = rnd() % 24 + 1; k > 0; --k) out.push_back(static_cast<uint8_t>(0x61 + rnd() % 16));
    } else if (mode == 1) {
      const uint8_t b = static_cast<uint8_t>(rnd() & 0xff);
      out.insert(out.end(), rnd() % 40 + 3, b);
    } else {
      const uint32_t r = rnd();
      const uint32_t dists[4] = {r % 6 + 2, r % 8 + 8, r % 48 + 16, r % static_cast<uint32_t>(out.size()) + 1};
      const size_t dist = dists[mode - 2];
      for (uint32_t k = rnd() % 120 + 3; k > 0; --k) out.push_back(out[out.size() - dist]);
    }
  }
  out.resize(n);
  return out;
}

TEST(Inflate, ZlibStreamsOfEveryMatchDistance) {
  // 12000 bytes: long enough for the decoder's fast loop (which stops short
  // of the end of the input and of the output), with literals and matches at
  // distances 1, 2..7, 8..15, 16..63 and far back; dynamic and fixed codes.
  const Bytes want = MixedBytes(12000, 7);
  for (const Bytes& in : {B(kDeflateMixed), B(kDeflateMixedFixed)}) {
    Bytes out;
    int64_t consumed = 0;
    ASSERT_OK(InflateTo(in, static_cast<int64_t>(want.size()), &out, &consumed));
    EXPECT_EQ(out, want);
    EXPECT_EQ(consumed, static_cast<int64_t>(in.size()));
    for (int64_t initial : {int64_t{0}, int64_t{300}, int64_t{5000}}) {
      std::vector<uint8_t> grown;
      ASSERT_OK(InflateGrowing(in.data(), static_cast<int64_t>(in.size()), static_cast<int64_t>(want.size()),
                               initial, &grown, &consumed));
      EXPECT_EQ(grown, want) << initial;
      EXPECT_EQ(consumed, static_cast<int64_t>(in.size()));
    }
    // One byte short of the output, and cut short of the input: errors.
    EXPECT_INVALID(InflateTo(in, static_cast<int64_t>(want.size()) - 1, &out), "more than the 11999 bytes");
    for (size_t cut : {in.size() / 3, in.size() - 9, in.size() - 1}) {
      const Bytes part(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut));
      EXPECT_INVALID(InflateTo(part, static_cast<int64_t>(want.size()), &out), "contents: invalid deflate stream")
          << cut;
    }
  }
  EXPECT_EQ((kDeflateMixed[0] >> 1) & 3, 2);       // BTYPE 10
  EXPECT_EQ((kDeflateMixedFixed[0] >> 1) & 3, 1);  // BTYPE 01
}

// ---------------------------------------------------------------------------
// corrupt streams

TEST(Inflate, CorruptStreamsAreInvalidArgument) {
  Bytes out;
  // BTYPE 11 is reserved.
  EXPECT_INVALID(InflateTo({0x07, 0x00}, 1, &out), "contents: invalid deflate stream: block type 3 is reserved");
  // Stored: NLEN is not the complement of LEN.
  EXPECT_INVALID(InflateTo({0x01, 0x03, 0x00, 0xfc, 0xfe, 'a', 'b', 'c'}, 3, &out), "stored block length check failed");
  // Stored: fewer bytes than LEN.
  EXPECT_INVALID(InflateTo({0x01, 0x03, 0x00, 0xfc, 0xff, 'a'}, 3, &out), "the stream is truncated");
  EXPECT_INVALID(InflateTo({0x01, 0x03}, 3, &out), "the stream is truncated");
  // Empty input.
  EXPECT_INVALID(InflateTo({}, 1, &out), "the stream is truncated");
  // Output larger or smaller than the stream.
  const Bytes abc = B(kDeflateFixedAbc);
  EXPECT_INVALID(InflateTo(abc, 2, &out), "it inflates to more than the 2 bytes the directory says");
  EXPECT_INVALID(InflateTo(abc, 4, &out), "it inflates to 3 bytes, but the directory says 4");
  EXPECT_INVALID(InflateTo({0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, 2, &out), "more than the 2 bytes");
  // Every truncation of zlib's dynamic stream fails cleanly.
  const Bytes dyn = B(kDeflateDynamic);
  const int64_t n = static_cast<int64_t>(sizeof kDeflateDynamicText);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{5}, size_t{40}, dyn.size() / 2, dyn.size() - 1}) {
    const Bytes part(dyn.begin(), dyn.begin() + static_cast<int64_t>(cut));
    EXPECT_INVALID(InflateTo(part, n, &out), "contents: invalid deflate stream") << cut;
  }
  // A distance reaching before the start: 'a', then length 3 at distance 2.
  BitWriter w;
  w.FinalBlock(kFixedBlock);
  w.FixedLiteral('a');
  w.FixedLiteral(257);
  w.FixedDistance(1);
  w.FixedLiteral(256);
  EXPECT_INVALID(InflateTo(w.Done(), 4, &out), "a distance points before the start of the output");
  // Length codes 286, 287 and distance codes 30, 31 do not occur in valid data.
  BitWriter l;
  l.FinalBlock(kFixedBlock);
  l.FixedLiteral(286);
  EXPECT_INVALID(InflateTo(l.Done(), 4, &out), "invalid length code 286");
  BitWriter d;
  d.FinalBlock(kFixedBlock);
  d.FixedLiteral('a');
  d.FixedLiteral(257);
  d.FixedDistance(30);
  EXPECT_INVALID(InflateTo(d.Done(), 4, &out), "invalid distance code");
  // Dynamic: HLIT 30 -> 287 codes (> 286).
  BitWriter h;
  h.FinalBlock(kDynamicBlock);
  h.Bits(30, 5);
  h.Bits(0, 5);
  h.Bits(0, 4);
  EXPECT_INVALID(InflateTo(h.Done(), 4, &out), "too many length or distance codes");
  // Dynamic: over-subscribed code-length code (three codes of length 1).
  BitWriter o;
  o.FinalBlock(kDynamicBlock);
  o.Bits(0, 5);
  o.Bits(0, 5);
  o.Bits(0, 4);  // 4 code-length codes: 16, 17, 18, 0
  o.Bits(1, 3);
  o.Bits(1, 3);
  o.Bits(1, 3);
  o.Bits(0, 3);
  o.Bits(0, 32);
  EXPECT_INVALID(InflateTo(o.Done(), 4, &out), "over-subscribed Huffman code lengths");
}

TEST(Inflate, DynamicBlockWithoutEndOfBlockCode) {
  // Code-length code {0: 1, 18: 1}; all 257 + 1 lengths zero via 18s, so
  // symbol 256 has no code.
  BitWriter w;
  w.FinalBlock(kDynamicBlock);
  w.Bits(0, 5);
  w.Bits(0, 5);
  w.Bits(0, 4);  // HCLEN 4: 16, 17, 18, 0
  w.Bits(0, 3);
  w.Bits(0, 3);
  w.Bits(1, 3);
  w.Bits(1, 3);
  // 0 -> code 0, 18 -> code 1. 258 zeros: 138 + 120.
  w.Code(1, 1);
  w.Bits(127, 7);
  w.Code(1, 1);
  w.Bits(109, 7);
  Bytes out;
  EXPECT_INVALID(InflateTo(w.Done(), 1, &out), "no end-of-block code");
  // The same with the run going past the end: 138 + 138 > 258.
  BitWriter v;
  v.FinalBlock(kDynamicBlock);
  v.Bits(0, 5);
  v.Bits(0, 5);
  v.Bits(0, 4);
  v.Bits(0, 3);
  v.Bits(0, 3);
  v.Bits(1, 3);
  v.Bits(1, 3);
  v.Code(1, 1);
  v.Bits(127, 7);
  v.Code(1, 1);
  v.Bits(127, 7);
  EXPECT_INVALID(InflateTo(v.Done(), 1, &out), "code lengths repeat past their end");
}

// ---------------------------------------------------------------------------
// InflateGrowing: the output size is only claimed

TEST(InflateGrowing, GrowsFromASmallStart) {
  const Bytes text = B(kDeflateDynamicText);
  const Bytes in = B(kDeflateDynamic);
  for (int64_t initial : {int64_t{0}, int64_t{1}, int64_t{100}, static_cast<int64_t>(text.size())}) {
    std::vector<uint8_t> out;
    int64_t consumed = 0;
    ASSERT_OK(InflateGrowing(in.data(), static_cast<int64_t>(in.size()), static_cast<int64_t>(text.size()), initial,
                             &out, &consumed));
    EXPECT_EQ(out, text) << initial;
    EXPECT_EQ(consumed, static_cast<int64_t>(in.size()));
  }
}

TEST(InflateGrowing, AClaimLargerThanTheStreamAllocatesLittle) {
  // "abc" claimed as 10^9 bytes: an error, and the buffer never grew past
  // max(initial, 2 x what the stream produced).
  const Bytes in = B(kDeflateFixedAbc);
  std::vector<uint8_t> out;
  EXPECT_INVALID(InflateGrowing(in.data(), static_cast<int64_t>(in.size()), 1000000000, 16, &out),
                 "it inflates to 3 bytes, but the directory says 1000000000");
  EXPECT_LE(out.size(), 16u);
  EXPECT_INVALID(InflateGrowing(in.data(), static_cast<int64_t>(in.size()), 2, 1, &out),
                 "it inflates to more than the 2 bytes");
  const Bytes rep = B(kDeflateFixedRepeat);
  EXPECT_INVALID(InflateGrowing(rep.data(), static_cast<int64_t>(rep.size()), 10, 1, &out), "more than the 10 bytes");
  EXPECT_INVALID(InflateGrowing(rep.data(), 3, 57, 1, &out), "contents: invalid deflate stream");
}

}  // namespace
}  // namespace gilfree
