#include "inflate.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace gilfree {
namespace {

constexpr int kMaxBits = 15;  // longest Huffman code

// Base values and extra bits of length codes 257..285 and distance codes 0..29.
constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,
                                    33,  49,  65,  97,  129, 193,  257,  385,  513,  769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

Status Corrupt(const std::string& what) {
  return Status::InvalidArgument("contents: invalid deflate stream: " + what);
}

uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // little-endian hosts
}

// Little-endian bit reader over the input. Reading past the end yields zero
// bits and marks the reader overrun; callers check before trusting results.
// The bits of bits_ above count_ are zero.
class BitReader {
 public:
  BitReader(const uint8_t* in, int64_t size) : in_(in), end_(in + size), pos_(in) {}

  void Refill() {
    while (count_ <= 56) {
      uint64_t byte = 0;
      if (pos_ < end_) {
        byte = *pos_++;
      } else {
        ++overrun_bytes_;
      }
      bits_ |= byte << count_;
      count_ += 8;
    }
  }
  uint32_t Peek(int n) {
    if (count_ < n) Refill();
    return static_cast<uint32_t>(bits_ & ((uint64_t{1} << n) - 1));
  }
  void Drop(int n) {
    bits_ >>= n;
    count_ -= n;
  }
  uint32_t Read(int n) {
    if (n == 0) return 0;
    const uint32_t v = Peek(n);
    Drop(n);
    return v;
  }
  void AlignToByte() { Drop(count_ % 8); }
  // Copies n whole bytes (after AlignToByte): first those in the bit buffer,
  // then straight from the input. False if the input runs out.
  bool CopyBytes(uint8_t* dst, int64_t n) {
    while (n > 0 && count_ >= 8) {
      *dst++ = static_cast<uint8_t>(bits_ & 0xffu);
      Drop(8);
      --n;
    }
    if (n == 0) return true;
    if (overrun_bytes_ > 0 || end_ - pos_ < n) return false;
    std::memcpy(dst, pos_, static_cast<size_t>(n));
    pos_ += n;
    return true;
  }
  // Bytes of input consumed, counting buffered whole bytes as unread. The
  // buffer's last overrun_bytes_ bytes are zero padding past the end, never
  // read from the input (pos_ did not move for them).
  int64_t Consumed() const { return (pos_ - in_) - (count_ / 8 - overrun_bytes_); }
  // True if any bit returned so far came from beyond the input.
  bool Overrun() const { return overrun_bytes_ * 8 > count_; }

  // The fast decoding loop works on a copy of the state. Its refills load 8
  // bytes at a time, leaving in the bits above count the low bits of the
  // byte at pos (where the next refill ORs that byte in again): Restore
  // clears them.
  struct State {
    uint64_t bits;
    int count;
    const uint8_t* pos;
  };
  State Save() const { return {bits_, count_, pos_}; }
  void Restore(const State& s) {
    bits_ = s.bits & ((uint64_t{1} << s.count) - 1);
    count_ = s.count;
    pos_ = s.pos;
  }
  const uint8_t* end() const { return end_; }

 private:
  const uint8_t* in_;
  const uint8_t* end_;
  const uint8_t* pos_;
  uint64_t bits_ = 0;
  int count_ = 0;
  int64_t overrun_bytes_ = 0;
};

// A decoding table entry: what a code means, with everything needed to use
// it in one step.
//   bits 0-5:   code length to drop (for kSubtable: the main table's bits);
//               a 64-bit shift by the entry itself drops it
//   bits 8-11:  extra bits that follow the code (kSubtable: the subtable's bits)
//   bits 12-14: kind
//   bits 16-31: value: a literal byte, a base length or distance, a symbol of
//               kBadSymbol, a kSubtable's offset in the table
enum Kind : uint32_t {
  kLiteral = 0,    // also a code-length code's symbol
  kLength = 1,     // a length, or a distance in a distance table
  kEndOfBlock = 2,
  kSubtable = 3,   // codes longer than the main table's bits
  kUnused = 4,     // a code no symbol has (an incomplete code)
  kBadSymbol = 5,  // length symbols 286, 287 and distance symbols 30, 31
};
constexpr uint32_t Entry(Kind kind, uint32_t value, int code_length, int extra) {
  return value << 16 | static_cast<uint32_t>(kind) << 12 | static_cast<uint32_t>(extra) << 8 |
         static_cast<uint32_t>(code_length);
}
inline Kind KindOf(uint32_t e) { return static_cast<Kind>((e >> 12) & 7u); }
inline int CodeLength(uint32_t e) { return static_cast<int>(e & 63u); }
inline int ExtraBits(uint32_t e) { return static_cast<int>((e >> 8) & 15u); }
inline uint32_t ValueOf(uint32_t e) { return e >> 16; }

// Decoding table of a canonical Huffman code (RFC 1951, 3.2.2) of codes up
// to kLongest bits: a main table indexed by the next kMainBits bits of input
// and, for longer codes, second-level tables indexed by the bits after those.
// kEntries bounds the size: every subtable has at most 2^(kLongest -
// kMainBits) entries and belongs to at least one symbol.
template <int kMainBits, int kSymbols, int kLongest = kMaxBits>
class Table {
 public:
  static constexpr int kEntries =
      (1 << kMainBits) + (kLongest > kMainBits ? kSymbols << (kLongest - kMainBits) : 0);

  // lengths[s] is the code length of symbol s (0: unused), meaning[s] the
  // entry of symbol s without its code length.
  Status Build(const uint8_t* lengths, const uint32_t* meaning, int num_symbols) {
    // Symbols per length, counted in two halves: most symbols share a few
    // lengths, and increments of one counter wait on each other.
    int count[2][kMaxBits + 1] = {};
    int s = 0;
    for (; s + 2 <= num_symbols; s += 2) {
      ++count[0][lengths[s]];
      ++count[1][lengths[s + 1]];
    }
    if (s < num_symbols) ++count[0][lengths[s]];
    int longest = 0;
    for (int len = 1; len <= kMaxBits; ++len) {
      count[0][len] += count[1][len];
      if (count[0][len] > 0) longest = len;
    }
    int left = 1;  // codes left unused at the current length
    for (int len = 1; len <= kMaxBits; ++len) {
      left = 2 * left - count[0][len];
      if (left < 0) return Corrupt("over-subscribed Huffman code lengths");
    }
    // The next canonical code of each length.
    uint32_t code[kMaxBits + 2];
    code[1] = 0;
    for (int len = 1; len <= kMaxBits; ++len) code[len + 1] = (code[len] + count[0][len]) << 1;

    constexpr uint32_t kMainSize = 1u << kMainBits;
    const uint32_t unused = Entry(kUnused, 0, 0, 0);
    // A complete code writes every entry; an incomplete one leaves some unused.
    if (left > 0) std::fill(entries_, entries_ + kMainSize, unused);
    uint32_t reversed[kSymbols];
    for (s = 0; s < num_symbols; ++s) {
      const int len = lengths[s];
      if (len != 0) reversed[s] = Reverse(code[len]++, len);
    }
    if (longest > kMainBits) {
      // Codes longer than kMainBits: a subtable under each main prefix (the
      // code's first kMainBits bits, as read), as large as its longest code.
      uint8_t sub_bits[kMainSize];
      std::memset(sub_bits, 0, sizeof sub_bits);
      for (s = 0; s < num_symbols; ++s) {
        const int len = lengths[s];
        if (len <= kMainBits) continue;
        uint8_t& b = sub_bits[reversed[s] & (kMainSize - 1)];
        b = std::max<uint8_t>(b, static_cast<uint8_t>(len - kMainBits));
      }
      uint32_t used = kMainSize;
      for (uint32_t p = 0; p < kMainSize; ++p) {
        if (sub_bits[p] == 0) continue;
        entries_[p] = Entry(kSubtable, used, kMainBits, sub_bits[p]);
        std::fill(entries_ + used, entries_ + used + (1u << sub_bits[p]), unused);
        used += 1u << sub_bits[p];
      }
    }
    for (s = 0; s < num_symbols; ++s) {
      const int len = lengths[s];
      if (len == 0) continue;
      const uint32_t e = meaning[s] | static_cast<uint32_t>(len);
      const uint32_t rev = reversed[s];
      if (len <= kMainBits) {
        for (uint32_t i = rev; i < kMainSize; i += 1u << len) entries_[i] = e;
      } else {
        const uint32_t sub = entries_[rev & (kMainSize - 1)];
        const uint32_t size = 1u << ExtraBits(sub);
        for (uint32_t i = rev >> kMainBits; i < size; i += 1u << (len - kMainBits)) {
          entries_[ValueOf(sub) + i] = e;
        }
      }
    }
    return Status::Ok();
  }

  // The entry of the code at the start of `bits` (at least 15 bits).
  uint32_t Lookup(uint64_t bits) const {
    const uint32_t e = Main(bits);
    return KindOf(e) == kSubtable ? Sub(e, bits) : e;
  }
  // The main table's entry, and for a kSubtable one the subtable's.
  uint32_t Main(uint64_t bits) const { return entries_[bits & ((1u << kMainBits) - 1)]; }
  uint32_t Sub(uint32_t main, uint64_t bits) const {
    return entries_[ValueOf(main) + ((bits >> kMainBits) & ((1u << ExtraBits(main)) - 1))];
  }

  // Decodes one code from the reader (which may be near its end): its entry,
  // with the code's bits dropped (none for kUnused).
  uint32_t Decode(BitReader& br) const {
    const uint32_t e = Lookup(br.Peek(kMaxBits));
    br.Drop(CodeLength(e));
    return e;
  }

 private:
  // The low `len` bits of code in reverse order (codes are packed starting
  // with their most significant bit).
  static uint32_t Reverse(uint32_t code, int len) {
    uint32_t r = code & 0xffffu;
    r = (r >> 1 & 0x5555u) | (r & 0x5555u) << 1;
    r = (r >> 2 & 0x3333u) | (r & 0x3333u) << 2;
    r = (r >> 4 & 0x0f0fu) | (r & 0x0f0fu) << 4;
    r = (r >> 8 & 0x00ffu) | (r & 0x00ffu) << 8;
    return r >> (16 - len);
  }
  uint32_t entries_[kEntries];
};

using LitTable = Table<11, 288>;
using DistTable = Table<8, 32>;
using CodeLengthTable = Table<7, 19, 7>;

// The meanings of the literal/length and distance symbols.
struct Meanings {
  uint32_t lit[288];
  uint32_t dist[32];
  uint32_t code_length[19];
  Meanings() {
    for (uint32_t s = 0; s < 256; ++s) lit[s] = Entry(kLiteral, s, 0, 0);
    lit[256] = Entry(kEndOfBlock, 0, 0, 0);
    for (int i = 0; i < 29; ++i) lit[257 + i] = Entry(kLength, kLengthBase[i], 0, kLengthExtra[i]);
    lit[286] = Entry(kBadSymbol, 286, 0, 0);
    lit[287] = Entry(kBadSymbol, 287, 0, 0);
    for (int i = 0; i < 30; ++i) dist[i] = Entry(kLength, kDistBase[i], 0, kDistExtra[i]);
    dist[30] = Entry(kBadSymbol, 30, 0, 0);
    dist[31] = Entry(kBadSymbol, 31, 0, 0);
    for (uint32_t s = 0; s < 19; ++s) code_length[s] = Entry(kLiteral, s, 0, 0);
  }
};

const Meanings& GetMeanings() {
  static const Meanings meanings;
  return meanings;
}

struct Tables {
  LitTable lit, fixed_lit;
  DistTable dist, fixed_dist;
  CodeLengthTable code_length;
};

// The fast loop runs while this much output room is left: a match of 258
// bytes plus the 16 bytes its copy may write past its end.
constexpr int64_t kFastRoom = 258 + 16;

class Inflater {
 public:
  Inflater(const uint8_t* in, int64_t in_size, uint8_t* out, int64_t out_size)
      : br_(in, in_size), out_(out), out_size_(out_size), capacity_(out_size) {}
  // Into `grow`, which starts at `initial` bytes (at most out_size) and grows
  // as the output needs it.
  Inflater(const uint8_t* in, int64_t in_size, std::vector<uint8_t>* grow, int64_t out_size,
           int64_t initial)
      : br_(in, in_size), grow_(grow), out_size_(out_size),
        capacity_(std::min(std::max<int64_t>(initial, 0), out_size)) {
    grow_->resize(static_cast<size_t>(capacity_));
    out_ = grow_->data();
  }

  Status Run(int64_t* consumed) {
    tables_.reset(new Tables);  // not zeroed: Build writes what it reads
    bool last = false;
    while (!last) {
      last = br_.Read(1) != 0;
      const uint32_t type = br_.Read(2);
      Status s;
      if (type == 0) {
        s = Stored();
      } else if (type == 1) {
        s = FixedBlock();
      } else if (type == 2) {
        s = DynamicBlock();
      } else {
        return Corrupt("block type 3 is reserved");
      }
      if (!s.ok()) return s;
      if (br_.Overrun()) return Corrupt("the stream is truncated");
    }
    if (written_ != out_size_) {
      return Corrupt("it inflates to " + std::to_string(written_) + " bytes, but the directory says " +
                     std::to_string(out_size_));
    }
    if (consumed != nullptr) *consumed = br_.Consumed();
    return Status::Ok();
  }

 private:
  Status TooLong() {
    return Corrupt("it inflates to more than the " + std::to_string(out_size_) +
                   " bytes the directory says");
  }

  // Makes room for n more bytes (never beyond out_size_); false if there is
  // none. Only a growing buffer ever has capacity_ < out_size_.
  bool Room(int64_t n) {
    if (n <= capacity_ - written_) return true;
    if (grow_ == nullptr || n > out_size_ - written_) return false;
    capacity_ = std::min(out_size_, std::max(written_ + n, 2 * capacity_));
    grow_->resize(static_cast<size_t>(capacity_));
    out_ = grow_->data();
    return true;
  }

  Status Stored() {
    br_.AlignToByte();
    const uint32_t len = br_.Read(16);
    const uint32_t nlen = br_.Read(16);
    if (br_.Overrun()) return Corrupt("the stream is truncated");
    if ((len ^ 0xffffu) != nlen) return Corrupt("stored block length check failed");
    if (!Room(len)) return TooLong();
    if (!br_.CopyBytes(out_ + written_, len)) return Corrupt("the stream is truncated");
    written_ += len;
    return Status::Ok();
  }

  Status FixedBlock() {
    if (!fixed_built_) {
      uint8_t lengths[288 + 32];
      for (int i = 0; i < 144; ++i) lengths[i] = 8;
      for (int i = 144; i < 256; ++i) lengths[i] = 9;
      for (int i = 256; i < 280; ++i) lengths[i] = 7;
      for (int i = 280; i < 288; ++i) lengths[i] = 8;
      for (int i = 0; i < 32; ++i) lengths[288 + i] = 5;
      const Meanings& m = GetMeanings();
      GILFREE_RETURN_IF_ERROR(tables_->fixed_lit.Build(lengths, m.lit, 288));
      GILFREE_RETURN_IF_ERROR(tables_->fixed_dist.Build(lengths + 288, m.dist, 32));
      fixed_built_ = true;
    }
    return Codes(tables_->fixed_lit, tables_->fixed_dist);
  }

  Status DynamicBlock() {
    const int nlen = static_cast<int>(br_.Read(5)) + 257;
    const int ndist = static_cast<int>(br_.Read(5)) + 1;
    const int ncode = static_cast<int>(br_.Read(4)) + 4;
    if (nlen > 286 || ndist > 30) return Corrupt("too many length or distance codes");
    static constexpr uint8_t kOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                           11, 4,  12, 3, 13, 2, 14, 1, 15};
    uint8_t code_lengths[19] = {0};
    for (int i = 0; i < ncode; ++i) code_lengths[kOrder[i]] = static_cast<uint8_t>(br_.Read(3));
    if (br_.Overrun()) return Corrupt("the stream is truncated");
    const Meanings& m = GetMeanings();
    CodeLengthTable& lencode = tables_->code_length;
    GILFREE_RETURN_IF_ERROR(lencode.Build(code_lengths, m.code_length, 19));
    uint8_t lengths[286 + 30] = {0};
    for (int i = 0; i < nlen + ndist;) {
      const uint32_t e = lencode.Decode(br_);
      if (KindOf(e) != kLiteral) return Corrupt("invalid code-length code");
      const uint32_t sym = ValueOf(e);
      if (sym < 16) {
        lengths[i++] = static_cast<uint8_t>(sym);
        continue;
      }
      int repeat = 0;
      uint8_t value = 0;
      if (sym == 16) {
        if (i == 0) return Corrupt("repeat of a code length with no previous length");
        value = lengths[i - 1];
        repeat = 3 + static_cast<int>(br_.Read(2));
      } else if (sym == 17) {
        repeat = 3 + static_cast<int>(br_.Read(3));
      } else {
        repeat = 11 + static_cast<int>(br_.Read(7));
      }
      if (i + repeat > nlen + ndist) return Corrupt("code lengths repeat past their end");
      while (repeat-- > 0) lengths[i++] = value;
      if (br_.Overrun()) return Corrupt("the stream is truncated");
    }
    if (lengths[256] == 0) return Corrupt("no end-of-block code");
    GILFREE_RETURN_IF_ERROR(tables_->lit.Build(lengths, m.lit, nlen));
    GILFREE_RETURN_IF_ERROR(tables_->dist.Build(lengths + nlen, m.dist, ndist));
    return Codes(tables_->lit, tables_->dist);
  }

  static Status BadLiteral(uint32_t e) {
    if (KindOf(e) == kBadSymbol) return Corrupt("invalid length code " + std::to_string(ValueOf(e)));
    return Corrupt("invalid literal/length code");
  }

  // Copies a match of `length` bytes from `distance` back to dst, writing up
  // to 16 bytes past its end (kFastRoom leaves room for them).
  static void CopyMatch(uint8_t* dst, int64_t distance, int64_t length) {
    const uint8_t* src = dst - distance;
    uint8_t* const end = dst + length;
    if (distance >= 16) {
      do {
        std::memcpy(dst, src, 16);  // src + 16 <= dst: written before
        dst += 16;
        src += 16;
      } while (dst < end);
    } else if (distance >= 8) {
      do {
        std::memcpy(dst, src, 8);
        dst += 8;
        src += 8;
      } while (dst < end);
    } else if (distance == 1) {
      std::memset(dst, *src, static_cast<size_t>(length));
    } else {
      // A period of 2..7 bytes: byte by byte over the first whole number
      // of periods of at least 8 bytes, then 8 at a time from that far back.
      const int64_t step = distance * ((8 + distance - 1) / distance);
      int64_t k = 0;
      for (; k < step && k < length; ++k) dst[k] = src[k];
      dst += k;
      src = dst - step;
      while (dst < end) {
        std::memcpy(dst, src, 8);
        dst += 8;
        src += 8;
      }
    }
  }

  // Decodes while at least 8 bytes of input and kFastRoom bytes of output
  // room are left, without bounds checks inside: a refill tops the bit
  // buffer up to at least 56 bits, which hold one length/distance pair (at
  // most 15 + 5 + 15 + 13 bits) or three literals.
  // Returns with *done true at the end of the block or on an error.
  Status FastCodes(const LitTable& lit, const DistTable& dist, bool* done) {
    const BitReader::State st = br_.Save();
    uint64_t bits = st.bits;
    int count = st.count;
    const uint8_t* pos = st.pos;
    const uint8_t* const in_end = br_.end();
    uint8_t* const out = out_;
    int64_t w = written_;
    const int64_t fast_end = capacity_ - kFastRoom;
    Status status;
    *done = false;
    while (in_end - pos >= 8 && w <= fast_end) {
      bits |= Load64(pos) << count;
      pos += (63 - count) >> 3;
      count |= 56;
      uint32_t e = lit.Main(bits);
      if (KindOf(e) == kLiteral) {
        // Up to three literals from one refill (15 bits each at most).
        out[w++] = static_cast<uint8_t>(ValueOf(e));
        bits >>= CodeLength(e);
        count -= CodeLength(e);
        e = lit.Main(bits);
        if (KindOf(e) != kLiteral) continue;
        out[w++] = static_cast<uint8_t>(ValueOf(e));
        bits >>= CodeLength(e);
        count -= CodeLength(e);
        e = lit.Main(bits);
        if (KindOf(e) != kLiteral) continue;
        out[w++] = static_cast<uint8_t>(ValueOf(e));
        bits >>= CodeLength(e);
        count -= CodeLength(e);
        continue;
      }
      if (KindOf(e) == kSubtable) {
        e = lit.Sub(e, bits);
        if (KindOf(e) == kLiteral) {
          out[w++] = static_cast<uint8_t>(ValueOf(e));
          bits >>= CodeLength(e);
          count -= CodeLength(e);
          continue;
        }
      }
      if (KindOf(e) != kLength) {
        if (KindOf(e) == kEndOfBlock) {
          bits >>= CodeLength(e);
          count -= CodeLength(e);
        } else {
          status = BadLiteral(e);
        }
        *done = true;
        break;
      }
      int used = CodeLength(e);
      const int64_t length = ValueOf(e) + ((bits >> used) & ((1u << ExtraBits(e)) - 1));
      used += ExtraBits(e);
      bits >>= used;
      count -= used;
      const uint32_t d = dist.Lookup(bits);
      if (KindOf(d) != kLength) {
        status = Corrupt("invalid distance code");
        *done = true;
        break;
      }
      used = CodeLength(d);
      const int64_t distance = ValueOf(d) + ((bits >> used) & ((1u << ExtraBits(d)) - 1));
      used += ExtraBits(d);
      bits >>= used;
      count -= used;
      if (distance > w) {
        status = Corrupt("a distance points before the start of the output");
        *done = true;
        break;
      }
      CopyMatch(out + w, distance, length);
      w += length;
    }
    br_.Restore({bits, count, pos});
    written_ = w;
    return status;
  }

  Status Codes(const LitTable& lit, const DistTable& dist) {
    for (;;) {
      bool done = false;
      GILFREE_RETURN_IF_ERROR(FastCodes(lit, dist, &done));
      if (done) return Status::Ok();
      // Near the end of the input or of the output room: one symbol with
      // every check, then the fast loop again if it can.
      const uint32_t e = lit.Decode(br_);
      const Kind kind = KindOf(e);
      if (kind == kLiteral) {
        if (written_ >= capacity_ && !Room(1)) return TooLong();
        out_[written_++] = static_cast<uint8_t>(ValueOf(e));
        continue;
      }
      if (kind == kEndOfBlock) return Status::Ok();
      if (kind != kLength) return BadLiteral(e);
      const int64_t length = ValueOf(e) + br_.Read(ExtraBits(e));
      const uint32_t d = dist.Decode(br_);
      if (KindOf(d) != kLength) return Corrupt("invalid distance code");
      const int64_t distance = ValueOf(d) + br_.Read(ExtraBits(d));
      if (br_.Overrun()) return Corrupt("the stream is truncated");
      if (distance > written_) return Corrupt("a distance points before the start of the output");
      if (!Room(length)) return TooLong();
      uint8_t* dst = out_ + written_;
      const uint8_t* src = dst - distance;
      for (int64_t k = 0; k < length; ++k) dst[k] = src[k];  // may overlap: byte by byte
      written_ += length;
    }
  }

  BitReader br_;
  std::vector<uint8_t>* grow_ = nullptr;
  uint8_t* out_ = nullptr;
  int64_t out_size_;
  int64_t capacity_;  // bytes of out_ that may be written
  int64_t written_ = 0;
  bool fixed_built_ = false;
  std::unique_ptr<Tables> tables_;
};

}  // namespace

Status Inflate(const uint8_t* in, int64_t in_size, uint8_t* out, int64_t out_size,
               int64_t* consumed) {
  Inflater inflater(in, in_size, out, out_size);
  return inflater.Run(consumed);
}

Status InflateGrowing(const uint8_t* in, int64_t in_size, int64_t out_size, int64_t initial,
                      std::vector<uint8_t>* out, int64_t* consumed) {
  Inflater inflater(in, in_size, out, out_size, initial);
  return inflater.Run(consumed);
}

}  // namespace gilfree
