// Fuzz target: a TIFF or BigTIFF file. The input is the whole file (the seeds
// are small files written by tifffile: strips, tiles, planar, every codec).
// Reads pages 0 and 1; for each that parses, checks the info against the file,
// resolves the whole page and a small window, and decodes them (when the
// output is under 4 MiB) serially and with a chopped ParallelFor, which must
// agree; the window must equal the same part of the whole page.
#include <cstring>
#include <functional>
#include <vector>

#include "core/tiff.h"
#include "fuzz_common.h"

using gilfree::TiffInfo;
using gilfree::TiffWindow;

namespace {

constexpr int64_t kMaxOutput = 4 << 20;

// Ranges of 3 units, run last first: a schedule unlike the serial one.
const gilfree::ParallelFor kChopped = [](int64_t total, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  for (int64_t b = (total - 1) / 3 * 3; b >= 0; b -= 3) fn(b, b + 3 < total ? b + 3 : total);
};

bool DecodeWindow(const uint8_t* data, int64_t size, const TiffInfo& info, const TiffWindow& w,
                  std::vector<uint8_t>* out) {
  const int64_t bytes = w.height * w.width * info.bands * gilfree::DTypeSize(info.dtype);
  if (bytes > kMaxOutput) return false;
  out->assign(static_cast<size_t>(bytes), 0);
  const bool ok = gilfree::DecodeTiff(data, size, info, w, out->data(), nullptr).ok();
  std::vector<uint8_t> again(static_cast<size_t>(bytes), 0xA5);
  const bool ok2 = gilfree::DecodeTiff(data, size, info, w, again.data(), &kChopped).ok();
  GILFREE_FUZZ_CHECK(ok == ok2);
  if (ok) GILFREE_FUZZ_CHECK(again == *out);
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int64_t n = static_cast<int64_t>(size);
  for (int64_t page = 0; page < 2; ++page) {
    TiffInfo info;
    if (!gilfree::ReadTiffInfo(data, n, page, &info).ok()) continue;
    GILFREE_FUZZ_CHECK(info.page == page && page < info.pages);
    GILFREE_FUZZ_CHECK(info.height >= 1 && info.width >= 1 && info.bands >= 1);
    GILFREE_FUZZ_CHECK(info.chunk_offsets.size() == info.chunk_bytes.size());
    GILFREE_FUZZ_CHECK(info.chunk_offsets.size() <= size);  // each took at least one byte of a tag array
    for (size_t i = 0; i < info.chunk_offsets.size(); ++i) {
      GILFREE_FUZZ_CHECK(info.chunk_offsets[i] <= size && info.chunk_bytes[i] <= size - info.chunk_offsets[i]);
    }
    GILFREE_FUZZ_CHECK(gilfree::CheckTiffDType(info, info.dtype).ok());

    TiffWindow whole;
    std::vector<uint8_t> full;
    bool full_ok = false;
    if (gilfree::ResolveTiffWindow(info, nullptr, &whole).ok()) {
      GILFREE_FUZZ_CHECK(whole.row == 0 && whole.col == 0 && whole.height == info.height &&
                         whole.width == info.width);
      full_ok = DecodeWindow(data, n, info, whole, &full);
    }
    const int64_t win[4] = {info.height / 3, info.width / 2, info.height - info.height / 3 < 5
                                                                 ? info.height - info.height / 3
                                                                 : 5,
                            info.width - info.width / 2 < 4 ? info.width - info.width / 2 : 4};
    TiffWindow w;
    const bool window_ok = gilfree::ResolveTiffWindow(info, win, &w).ok();
    // A window needs a subset of the page's chunks: when the page decodes, it does.
    if (full_ok) GILFREE_FUZZ_CHECK(window_ok);
    if (!window_ok) continue;
    std::vector<uint8_t> part;
    const bool part_ok = DecodeWindow(data, n, info, w, &part);
    if (full_ok) GILFREE_FUZZ_CHECK(part_ok);
    if (!part_ok || !full_ok) continue;
    // The window is the same part of the whole page.
    const int64_t pixel = info.bands * gilfree::DTypeSize(info.dtype);
    for (int64_t y = 0; y < w.height; ++y) {
      const uint8_t* a = part.data() + y * w.width * pixel;
      const uint8_t* b = full.data() + ((w.row + y) * info.width + w.col) * pixel;
      GILFREE_FUZZ_CHECK(std::memcmp(a, b, static_cast<size_t>(w.width * pixel)) == 0);
    }
  }
  // The same bytes cut short never read past their end (ASan checks).
  if (size > 8) {
    std::vector<uint8_t> cut(data, data + size / 2);
    TiffInfo info;
    TiffWindow w;
    if (gilfree::ReadTiffInfo(cut.data(), static_cast<int64_t>(cut.size()), 0, &info).ok() &&
        gilfree::ResolveTiffWindow(info, nullptr, &w).ok()) {
      std::vector<uint8_t> out;
      DecodeWindow(cut.data(), static_cast<int64_t>(cut.size()), info, w, &out);
    }
  }
  return 0;
}
