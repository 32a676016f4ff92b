// Fuzz target: a .npy file. The input is the whole file (the seeds are files
// written by np.save). Parses the header; when it parses, decodes the data
// and checks the dtype and shape checks against the header they describe.
#include <cstring>
#include <vector>

#include "core/decode.h"
#include "fuzz_common.h"

using gilfree::DType;
using gilfree::NpyHeader;

namespace {

// The element at C-order position `flat` read from the file independently of
// the decoder: its Fortran-order position when the file is in Fortran order.
int64_t SourceIndex(const NpyHeader& h, int64_t flat) {
  if (!h.fortran_order) return flat;
  const int rank = static_cast<int>(h.shape.size());
  int64_t index = 0, stride = 1;
  std::vector<int64_t> idx(rank);
  for (int j = rank - 1; j >= 0; --j) {
    idx[j] = flat % h.shape[j];
    flat /= h.shape[j];
  }
  for (int j = 0; j < rank; ++j) {
    index += idx[j] * stride;
    stride *= h.shape[j];
  }
  return index;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NpyHeader h;
  if (!gilfree::ParseNpyHeader(data, static_cast<int64_t>(size), &h).ok()) return 0;

  const int64_t itemsize = gilfree::DTypeSize(h.dtype);
  GILFREE_FUZZ_CHECK(h.data_offset >= 10 && h.data_offset <= static_cast<int64_t>(size));
  GILFREE_FUZZ_CHECK(h.num_bytes == h.num_elements * itemsize);
  GILFREE_FUZZ_CHECK(h.data_offset + h.num_bytes == static_cast<int64_t>(size));
  int64_t product = 1;
  for (int64_t d : h.shape) product *= d;  // no overflow: the header parsed
  GILFREE_FUZZ_CHECK(product == h.num_elements);

  // The dtype check accepts exactly the header's dtype.
  for (int t = 0; t <= static_cast<int>(DType::kFloat64); ++t) {
    const DType dtype = static_cast<DType>(t);
    GILFREE_FUZZ_CHECK(gilfree::CheckNpyDType(h, dtype).ok() == (dtype == h.dtype));
  }
  // The shape check accepts the header's shape, with any dim left free, and
  // rejects a different rank, a different size and sizes below -1.
  const int rank = static_cast<int>(h.shape.size());
  std::vector<int64_t> expected = h.shape;
  GILFREE_FUZZ_CHECK(gilfree::CheckNpyShape(h, expected.data(), rank).ok());
  for (int i = 0; i < rank; ++i) {
    expected = h.shape;
    expected[i] = -1;
    GILFREE_FUZZ_CHECK(gilfree::CheckNpyShape(h, expected.data(), rank).ok());
    expected[i] = h.shape[i] ^ 1;  // another size (no overflow at INT64_MAX)
    GILFREE_FUZZ_CHECK(!gilfree::CheckNpyShape(h, expected.data(), rank).ok());
    expected[i] = -2;
    GILFREE_FUZZ_CHECK(!gilfree::CheckNpyShape(h, expected.data(), rank).ok());
  }
  expected = h.shape;
  expected.push_back(-1);
  GILFREE_FUZZ_CHECK(!gilfree::CheckNpyShape(h, expected.data(), rank + 1).ok());
  if (rank > 0) GILFREE_FUZZ_CHECK(!gilfree::CheckNpyShape(h, expected.data(), rank - 1).ok());

  // Decode into exactly num_bytes (ASan catches any write past them) and
  // compare every element with the file, read here element by element.
  std::vector<uint8_t> out(static_cast<size_t>(h.num_bytes));
  GILFREE_FUZZ_CHECK(gilfree::DecodeNpyData(data, static_cast<int64_t>(size), h, out.data()).ok());
  const uint8_t* src = data + h.data_offset;
  for (int64_t e = 0; e < h.num_elements; ++e) {
    const uint8_t* in = src + SourceIndex(h, e) * itemsize;
    const uint8_t* got = out.data() + e * itemsize;
    if (h.dtype == DType::kBool) {
      GILFREE_FUZZ_CHECK(*got == (*in != 0 ? 1 : 0));
      continue;
    }
    for (int64_t b = 0; b < itemsize; ++b) {
      GILFREE_FUZZ_CHECK(got[b] == in[h.swap ? itemsize - 1 - b : b]);
    }
  }
  // A file cut short by one byte no longer parses.
  NpyHeader cut;
  GILFREE_FUZZ_CHECK(!gilfree::ParseNpyHeader(data, static_cast<int64_t>(size) - 1, &cut).ok());
  return 0;
}
