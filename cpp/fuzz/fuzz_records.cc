// Fuzz target: a record schema and records. The input starts with the schema
// and the rest is the records' bytes:
//
//   byte 0        bits 0-2: fields - 1 (1..8); bit 3: batch (a sequence of
//                 one-record strings, as for a string tensor) rather than one
//                 string of many records; bit 4: decode with a ParallelFor
//   bytes 1-2     record_bytes, int16 little-endian (any value: the checks run)
//   byte 3        header_bytes, int8
//   byte 4        footer_bytes, int8
//   per field 5 bytes:
//     bytes 0-1   offset, int16 little-endian
//     byte 2      bits 0-6: dtype (mod 13, cpp/core/dtype.h); bit 7: big-endian
//     bytes 3-4   count, int16 little-endian
//
// In batch mode the rest is cut into strings of header + record + footer
// bytes (the last one possibly short). CountRecords, ValidateRecordFields and
// DecodeRecords run as the adapters run them; every decoded element is
// compared with the input read here byte by byte.
#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "core/decode.h"
#include "fuzz_common.h"

using gilfree::DType;
using gilfree::RecordField;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const int num_fields = (data[0] & 7) + 1;
  const bool batch = (data[0] & 8) != 0;
  const bool parallel = (data[0] & 16) != 0;
  const int64_t record_bytes = static_cast<int16_t>(gilfree::fuzz::Le(data + 1, 2));
  const int64_t header_bytes = static_cast<int8_t>(data[3]);
  const int64_t footer_bytes = static_cast<int8_t>(data[4]);
  size_t pos = 5;
  if (size < pos + 5 * static_cast<size_t>(num_fields)) return 0;
  std::vector<RecordField> fields(num_fields);
  for (RecordField& f : fields) {
    f.offset = static_cast<int16_t>(gilfree::fuzz::Le(data + pos, 2));
    f.dtype = static_cast<DType>((data[pos + 2] & 0x7f) % 13);
    f.swap = (data[pos + 2] & 0x80) != 0 && gilfree::DTypeSize(f.dtype) > 1;
    f.count = static_cast<int16_t>(gilfree::fuzz::Le(data + pos + 3, 2));
    pos += 5;
  }
  const uint8_t* body = data + pos;
  const int64_t body_size = static_cast<int64_t>(size - pos);

  // The strings, and how many records they hold.
  std::vector<const uint8_t*> strings;
  std::vector<int64_t> lengths;
  if (batch) {
    const int64_t length = header_bytes + record_bytes + footer_bytes;
    if (length <= 0) {
      strings.push_back(body);
      lengths.push_back(body_size);
    } else {
      for (int64_t at = 0; at < body_size; at += length) {
        strings.push_back(body + at);
        lengths.push_back(std::min(length, body_size - at));
      }
    }
  } else {
    strings.push_back(body);
    lengths.push_back(body_size);
  }
  int64_t num_records = batch ? static_cast<int64_t>(strings.size()) : 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    int64_t n = -1;
    if (!gilfree::CountRecords(lengths[i], header_bytes, footer_bytes, record_bytes, batch, &n).ok()) return 0;
    GILFREE_FUZZ_CHECK(batch ? n == 1 : n >= 0 && n * record_bytes + header_bytes + footer_bytes == lengths[i]);
    if (!batch) num_records = n;
  }
  if (!gilfree::ValidateRecordFields(fields.data(), num_fields, record_bytes).ok()) return 0;

  // Valid fields lie inside a record.
  std::vector<std::vector<uint8_t>> outputs(num_fields);
  for (int i = 0; i < num_fields; ++i) {
    RecordField& f = fields[i];
    const int64_t isz = gilfree::DTypeSize(f.dtype);
    GILFREE_FUZZ_CHECK(f.offset >= 0 && f.count >= 0 && f.offset + f.count * isz <= record_bytes);
    outputs[i].assign(static_cast<size_t>(num_records * f.count * isz), 0xA5);
    f.out = outputs[i].data();
  }
  std::vector<const uint8_t*> pointers;
  gilfree::RecordSource source;
  source.num_records = num_records;
  if (batch) {
    for (const uint8_t* s : strings) pointers.push_back(s + header_bytes);
    source.pointers = pointers.data();
  } else {
    source.base = body + header_bytes;
  }
  // A ParallelFor that runs the ranges in reverse order, one unit each.
  const gilfree::ParallelFor reverse = [](int64_t total, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
    for (int64_t u = total - 1; u >= 0; --u) fn(u, u + 1);
  };
  GILFREE_FUZZ_CHECK(gilfree::DecodeRecords(source, record_bytes, fields.data(), num_fields,
                                            parallel ? &reverse : nullptr)
                         .ok());

  for (int i = 0; i < num_fields; ++i) {
    const RecordField& f = fields[i];
    const int64_t isz = gilfree::DTypeSize(f.dtype);
    for (int64_t r = 0; r < num_records; ++r) {
      const uint8_t* rec = batch ? strings[r] + header_bytes : body + header_bytes + r * record_bytes;
      for (int64_t k = 0; k < f.count; ++k) {
        const uint8_t* in = rec + f.offset + k * isz;
        const uint8_t* got = outputs[i].data() + (r * f.count + k) * isz;
        if (f.dtype == DType::kBool) {
          GILFREE_FUZZ_CHECK(*got == (*in != 0 ? 1 : 0));
          continue;
        }
        for (int64_t b = 0; b < isz; ++b) GILFREE_FUZZ_CHECK(got[b] == in[f.swap ? isz - 1 - b : b]);
      }
    }
  }
  return 0;
}
