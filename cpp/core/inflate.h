// Inflate: decodes a raw DEFLATE stream (RFC 1951: stored, fixed-Huffman and
// dynamic-Huffman blocks) into a buffer of exactly known size.
//
// The input is untrusted: every code, length and distance is checked. The
// output must be exactly `out_size` bytes: a stream that would write more, or
// ends having written fewer, is an error; so is one that reads past its
// input. Nothing is allocated beyond small decoding tables.
//
// Example: the stream {0x4b, 0x4c, 0x4a, 0x06, 0x00} (a fixed-Huffman block)
// inflates to the 3 bytes "abc".
#ifndef GILFREE_CORE_INFLATE_H_
#define GILFREE_CORE_INFLATE_H_

#include <cstdint>
#include <vector>

#include "status.h"

namespace gilfree {

// On success, *consumed (if not null) is the number of input bytes used.
Status Inflate(const uint8_t* in, int64_t in_size, uint8_t* out, int64_t out_size,
               int64_t* consumed = nullptr);

// The same into `out`, resized to out_size on success, for an out_size that
// is only claimed (a ZIP directory's): `out` starts at most `initial` bytes
// and at most doubles as the stream really produces bytes, so a stream that
// claims more than it holds never makes it larger than twice what it
// inflated to, or `initial`.
Status InflateGrowing(const uint8_t* in, int64_t in_size, int64_t out_size, int64_t initial,
                      std::vector<uint8_t>* out, int64_t* consumed = nullptr);

}  // namespace gilfree

#endif  // GILFREE_CORE_INFLATE_H_
