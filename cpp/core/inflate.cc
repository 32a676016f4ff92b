#include "inflate.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace gilfree {
namespace {

constexpr int kMaxBits = 15;    // longest Huffman code
constexpr int kFastBits = 10;   // codes up to this long decode with one lookup

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

// Little-endian bit reader over the input. Reading past the end yields zero
// bits and marks the reader overrun; callers check before trusting results.
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
  const uint8_t* end() const { return end_; }

 private:
  const uint8_t* in_;
  const uint8_t* end_;
  const uint8_t* pos_;
  uint64_t bits_ = 0;
  int count_ = 0;
  int64_t overrun_bytes_ = 0;
};

// A canonical Huffman code: a one-lookup table for short codes and, for the
// rest, the canonical decoding by counts (RFC 1951, 3.2.2).
class Huffman {
 public:
  // lengths[i] is the code length of symbol i (0: unused).
  Status Build(const uint8_t* lengths, int num_symbols) {
    std::memset(count_, 0, sizeof count_);
    for (int s = 0; s < num_symbols; ++s) ++count_[lengths[s]];
    count_[0] = 0;
    int left = 1;  // codes left unused at the current length
    for (int len = 1; len <= kMaxBits; ++len) {
      left = 2 * left - count_[len];
      if (left < 0) return Corrupt("over-subscribed Huffman code lengths");
    }
    int offset[kMaxBits + 2];
    offset[1] = 0;
    for (int len = 1; len <= kMaxBits; ++len) offset[len + 1] = offset[len] + count_[len];
    for (int s = 0; s < num_symbols; ++s) {
      if (lengths[s] != 0) symbol_[offset[lengths[s]]++] = static_cast<uint16_t>(s);
    }
    // Fast table: entry = symbol << 4 | length, 0 when the code is longer.
    std::memset(fast_, 0, sizeof fast_);
    int code = 0, index = 0;
    for (int len = 1; len <= kFastBits; ++len) {
      for (int k = 0; k < count_[len]; ++k, ++code, ++index) {
        const uint32_t reversed = Reverse(static_cast<uint32_t>(code), len);
        for (uint32_t fill = reversed; fill < (1u << kFastBits); fill += 1u << len) {
          fast_[fill] = static_cast<uint16_t>(symbol_[index] << 4 | len);
        }
      }
      code <<= 1;
    }
    return Status::Ok();
  }

  // Decodes one symbol, or -1 for a code that is not in the table.
  int Decode(BitReader& br) const {
    const uint16_t entry = fast_[br.Peek(kFastBits)];
    if (entry != 0) {
      br.Drop(entry & 15);
      return entry >> 4;
    }
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= kMaxBits; ++len) {
      code |= static_cast<int>(br.Read(1));
      const int count = count_[len];
      if (code - first < count) return symbol_[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return -1;
  }

 private:
  static uint32_t Reverse(uint32_t code, int len) {
    uint32_t r = 0;
    for (int i = 0; i < len; ++i, code >>= 1) r = (r << 1) | (code & 1u);
    return r;
  }
  uint16_t count_[kMaxBits + 1];
  uint16_t symbol_[288];
  uint16_t fast_[1u << kFastBits];
};

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
      uint8_t lengths[288 + 30];
      for (int i = 0; i < 144; ++i) lengths[i] = 8;
      for (int i = 144; i < 256; ++i) lengths[i] = 9;
      for (int i = 256; i < 280; ++i) lengths[i] = 7;
      for (int i = 280; i < 288; ++i) lengths[i] = 8;
      for (int i = 0; i < 30; ++i) lengths[288 + i] = 5;
      GILFREE_RETURN_IF_ERROR(fixed_lit_.Build(lengths, 288));
      GILFREE_RETURN_IF_ERROR(fixed_dist_.Build(lengths + 288, 30));
      fixed_built_ = true;
    }
    return Codes(fixed_lit_, fixed_dist_);
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
    Huffman lencode;
    GILFREE_RETURN_IF_ERROR(lencode.Build(code_lengths, 19));
    uint8_t lengths[286 + 30] = {0};
    for (int i = 0; i < nlen + ndist;) {
      const int sym = lencode.Decode(br_);
      if (sym < 0) return Corrupt("invalid code-length code");
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
    Huffman lit, dist;
    GILFREE_RETURN_IF_ERROR(lit.Build(lengths, nlen));
    GILFREE_RETURN_IF_ERROR(dist.Build(lengths + nlen, ndist));
    return Codes(lit, dist);
  }

  Status Codes(const Huffman& lit, const Huffman& dist) {
    for (;;) {
      const int sym = lit.Decode(br_);
      if (sym < 0) return Corrupt("invalid literal/length code");
      if (sym < 256) {
        if (written_ >= capacity_ && !Room(1)) return TooLong();
        out_[written_++] = static_cast<uint8_t>(sym);
        continue;
      }
      if (sym == 256) return Status::Ok();
      const int li = sym - 257;
      if (li >= 29) return Corrupt("invalid length code " + std::to_string(sym));
      const int64_t length = kLengthBase[li] + br_.Read(kLengthExtra[li]);
      const int ds = dist.Decode(br_);
      if (ds < 0 || ds >= 30) return Corrupt("invalid distance code");
      const int64_t distance = kDistBase[ds] + br_.Read(kDistExtra[ds]);
      if (br_.Overrun()) return Corrupt("the stream is truncated");
      if (distance > written_) return Corrupt("a distance points before the start of the output");
      if (!Room(length)) return TooLong();
      uint8_t* dst = out_ + written_;
      const uint8_t* src = dst - distance;
      if (distance >= length) {
        std::memcpy(dst, src, static_cast<size_t>(length));
      } else {
        for (int64_t k = 0; k < length; ++k) dst[k] = src[k];  // overlapping: byte by byte
      }
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
  Huffman fixed_lit_, fixed_dist_;
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
