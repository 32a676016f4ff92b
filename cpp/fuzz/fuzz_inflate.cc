// Fuzz target: a raw DEFLATE stream (RFC 1951). The first 3 bytes give the
// expected output size (little-endian, reduced to at most 64 KiB); the rest
// is the stream. The output buffer is exactly that size, so AddressSanitizer
// sees any write past it. When zlib is linked (GILFREE_FUZZ_WITH_ZLIB), every stream zlib
// inflates to exactly that many bytes must inflate to the same bytes here,
// consuming the same input. InflateGrowing must agree with Inflate.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/inflate.h"
#include "fuzz_common.h"

#ifdef GILFREE_FUZZ_WITH_ZLIB
#include <zlib.h>
#endif

namespace {

constexpr int64_t kMaxOutput = int64_t{1} << 16;

#ifdef GILFREE_FUZZ_WITH_ZLIB
// zlib's raw inflate into `out` (out_size + 1 bytes). True when the stream ends
// (Z_STREAM_END) having written exactly out_size bytes; else *message is
// zlib's reason, if it gave one.
bool ZlibInflate(const uint8_t* in, int64_t in_size, uint8_t* out, int64_t out_size, int64_t* consumed,
                 std::string* message) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (inflateInit2(&z, -15) != Z_OK) return false;
  // `out` has one spare byte: it tells "ends at out_size" apart from "would
  // write more".
  z.next_in = const_cast<uint8_t*>(in);
  z.avail_in = static_cast<uInt>(in_size);
  z.next_out = out;
  z.avail_out = static_cast<uInt>(out_size + 1);
  const int r = inflate(&z, Z_FINISH);
  const bool ok = r == Z_STREAM_END && static_cast<int64_t>(z.total_out) == out_size;
  if (z.msg != nullptr) *message = z.msg;
  if (ok) *consumed = static_cast<int64_t>(z.total_in);
  inflateEnd(&z);
  return ok;
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  int64_t out_size = static_cast<int64_t>(gilfree::fuzz::Le(data, 3));
  if (out_size > kMaxOutput) out_size %= kMaxOutput + 1;
  const uint8_t* in = data + 3;
  const int64_t in_size = static_cast<int64_t>(size) - 3;

  // Not zero-filled: most inputs fail early, and filling the buffers would
  // dominate the time per input.
  std::unique_ptr<uint8_t[]> out(new uint8_t[static_cast<size_t>(out_size)]);
  int64_t consumed = -1;
  const bool ok = gilfree::Inflate(in, in_size, out.get(), out_size, &consumed).ok();
  if (ok) GILFREE_FUZZ_CHECK(consumed >= 0 && consumed <= in_size);

  // The growing variant (what ReadZipMember uses) agrees, from a small
  // initial buffer that has to grow.
  std::vector<uint8_t> grown;
  int64_t grown_consumed = -1;
  const bool grown_ok =
      gilfree::InflateGrowing(in, in_size, out_size, in_size % 251, &grown, &grown_consumed).ok();
  GILFREE_FUZZ_CHECK(grown_ok == ok);
  if (ok) {
    GILFREE_FUZZ_CHECK(static_cast<int64_t>(grown.size()) == out_size && grown_consumed == consumed);
    GILFREE_FUZZ_CHECK(out_size == 0 || std::memcmp(grown.data(), out.get(), static_cast<size_t>(out_size)) == 0);
  }

#ifdef GILFREE_FUZZ_WITH_ZLIB
  std::unique_ptr<uint8_t[]> expected(new uint8_t[static_cast<size_t>(out_size) + 1]);
  int64_t zlib_consumed = -1;
  std::string zlib_message;
  if (ZlibInflate(in, in_size, expected.get(), out_size, &zlib_consumed, &zlib_message)) {
    GILFREE_FUZZ_CHECK(ok);
    GILFREE_FUZZ_CHECK(std::memcmp(out.get(), expected.get(), static_cast<size_t>(out_size)) == 0);
    GILFREE_FUZZ_CHECK(consumed == zlib_consumed);
  } else if (ok) {
    // The one kind of stream accepted here that zlib refuses: Huffman codes
    // whose lengths leave codes unused ("incomplete"), which RFC 1951 does not
    // forbid; decoding fails here only if the stream uses an unused code.
    // zlib names such codes "invalid code lengths set", "invalid
    // literal/lengths set" or "invalid distances set".
    const bool incomplete = zlib_message.size() > 4 &&
                            zlib_message.compare(zlib_message.size() - 4, 4, " set") == 0;
    if (!incomplete) std::fprintf(stderr, "zlib refuses a stream inflated here: %s\n", zlib_message.c_str());
    GILFREE_FUZZ_CHECK(incomplete);
  }
#endif
  return 0;
}
