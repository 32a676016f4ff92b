// Decoders of .npy files, .npz archives and fixed-size binary records.
//
// Every byte is untrusted: each length, shape and offset read from the input
// is checked before use, nothing is allocated that the input's size cannot
// justify, and errors are InvalidArgument statuses whose message names
// `contents` and says what was found and what was expected.
//
// .npy (format versions 1.0, 2.0, 3.0):
//   "\x93NUMPY" | major | minor | header length (2 bytes LE for 1.0, 4 bytes
//   for 2.0/3.0) | header: a Python dict literal with exactly the keys
//   'descr' (e.g. '<f4', '>i8', '|u1', '|b1'), 'fortran_order' (True/False)
//   and 'shape' (a tuple of non-negative ints) | the data, exactly
//   prod(shape) * itemsize bytes.
//   Example: np.save of np.arange(3, dtype='<u2') gives a 134-byte file: 128
//   bytes of header, whose dict is "{'descr': '<u2', 'fortran_order': False,
//   'shape': (3,), }" padded with spaces and a newline, then the 6 bytes
//   00 00 01 00 02 00.
//   Decoding yields shape [3], uint16, native byte order, C order.
//
//   Bool elements are bytes; any nonzero byte decodes as true (1), so no
//   consumer ever sees a bool byte other than 0 or 1.
//
// .npz: a ZIP archive of .npy members (stored or deflate), ZIP64 included.
//   A member's claimed size may not exceed what deflate can expand its
//   compressed bytes to (1032x + 1024); its CRC-32 is checked. The claim is
//   not trusted with memory: a deflated member's buffer starts at 2x its
//   compressed size + 64 KiB and at most doubles as the data really inflates
//   (ReadZipMember), so a false claim costs at most twice what the stream
//   really holds. docs/decoding-spec.md, "Resource limits", lists every bound.
//
// Records: fixed-size records with fields at byte offsets, each a block of
//   `count` elements of one dtype, optionally big-endian.
//   Example: CIFAR-10's 3073-byte record is {label: offset 0, uint8, count 1},
//   {image: offset 1, uint8, count 3072}; 2 records give label [2] and image
//   [2, 3072] (the adapter reshapes to [2, 3, 32, 32]).
#ifndef GILFREE_CORE_DECODE_H_
#define GILFREE_CORE_DECODE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dtype.h"
#include "parallel.h"
#include "status.h"

namespace gilfree {

struct NpyHeader {
  int major = 1, minor = 0;
  DType dtype = DType::kUInt8;
  bool swap = false;           // stored in the other byte order
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;     // where the data starts
  int64_t num_elements = 0;
  int64_t num_bytes = 0;       // num_elements * itemsize
};

// Parses and checks the header of the .npy file in [data, data + size),
// including that exactly num_bytes of data follow it.
Status ParseNpyHeader(const uint8_t* data, int64_t size, NpyHeader* header);

// Writes the array of a parsed file to `out` (num_bytes bytes) in C order and
// native byte order.
Status DecodeNpyData(const uint8_t* data, int64_t size, const NpyHeader& header, void* out);

// The file's dtype must be `expected`, else an error naming both.
Status CheckNpyDType(const NpyHeader& header, DType expected);
// The file's shape must match `expected` of `rank` dims, where -1 matches any
// size (and values below -1 are an error naming `shape`).
Status CheckNpyShape(const NpyHeader& header, const int64_t* expected, int rank);
// The same rule for any decoder: `actual` (of `actual_rank` dims, described as
// `what`, e.g. "a .npy array") must match `expected`.
Status CheckDecodedShape(const int64_t* actual, int actual_rank, const char* what,
                         const int64_t* expected, int rank);

struct ZipMember {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  // Where the member's local header and data must end: the central
  // directory's offset (ReadZipDirectory), as the reference requires.
  uint64_t data_end = UINT64_MAX;
};

// Reads the central directory of the ZIP archive in [data, data + size).
Status ReadZipDirectory(const uint8_t* data, int64_t size, std::vector<ZipMember>* members);

// The uncompressed bytes of a member: for a stored member a pointer into the
// archive, for a deflated one `storage` filled and pointed to. Checks the
// local header, the bounds, the expansion limit and the CRC-32.
Status ReadZipMember(const uint8_t* data, int64_t size, const ZipMember& member,
                     std::vector<uint8_t>* storage, const uint8_t** bytes, int64_t* num_bytes);

// The member holding array `key` of an .npz: "key.npy", else "key"; an error
// naming the key and the arrays present when there is none.
Status FindNpzMember(const std::vector<ZipMember>& members, const std::string& key,
                     const ZipMember** member);

// One .npz member read by ForEachNpzMember: its .npy image [npy, npy + size),
// which points into the archive (stored) or into `storage` (inflated; the
// visitor may take the vector, to keep the bytes as its array's memory).
struct NpzMember {
  const std::string* name = nullptr;  // the member's file name in the archive
  const uint8_t* npy = nullptr;
  int64_t size = 0;
  std::vector<uint8_t>* storage = nullptr;
};

// The .npz loop both adapters run: reads the directory of the archive in
// [data, data + size) once, then for each key of `keys` in order finds its
// member (FindNpzMember), reads it (ReadZipMember) and calls visit(i, member).
// The first error stops the loop and is returned; an error from the visitor
// keeps its code and gets " (member '<file name>')" appended. Example: keys
// {"image"} of an archive holding image.npy visit (0, {"image.npy", ...}).
Status ForEachNpzMember(const uint8_t* data, int64_t size, const std::vector<std::string>& keys,
                        const std::function<Status(size_t, const NpzMember&)>& visit);

struct RecordField {
  int64_t offset = 0;    // bytes from the start of the record
  DType dtype = DType::kUInt8;
  int64_t count = 1;     // elements (a subarray's product of dimensions)
  bool swap = false;     // stored in the other byte order
  void* out = nullptr;   // [num_records, count] elements, native byte order
};

// The records to decode: record i starts at pointers[i] if `pointers` is not
// null, else at base + i * record_bytes.
struct RecordSource {
  const uint8_t* base = nullptr;
  const uint8_t* const* pointers = nullptr;
  int64_t num_records = 0;
};

// How many records a string of `size` bytes holds once `header_bytes` and
// `footer_bytes` are cut off; with `exactly_one`, it must hold one.
Status CountRecords(int64_t size, int64_t header_bytes, int64_t footer_bytes, int64_t record_bytes,
                    bool exactly_one, int64_t* num_records);

// Checks that every field lies inside a record of `record_bytes` bytes.
Status ValidateRecordFields(const RecordField* fields, int num_fields, int64_t record_bytes);

// One field of a record schema as the adapters receive it (the faces parse a
// NumPy structured dtype into these): offset, element dtype, subarray shape
// (empty for a scalar field) and whether it is stored big-endian.
struct SchemaField {
  int64_t offset = 0;
  DType dtype = DType::kUInt8;
  std::vector<int64_t> shape;
  bool big_endian = false;
};

// The fields to decode for a schema, validated: each field's element count
// (a negative dimension or an overflowing product is an error), byte swapping
// for multi-byte elements stored big-endian (little-endian hosts only), and
// every field inside a record of `record_bytes` bytes (ValidateRecordFields).
// Example: {offset 1, int16, shape {2}, big-endian} in 5-byte records gives
// {offset 1, int16, count 2, swap true}; shape {3} does not fit (1 + 6 > 5).
Status MakeRecordFields(const std::vector<SchemaField>& schema, int64_t record_bytes,
                        std::vector<RecordField>* fields);

// Copies every field of every record out; fields must be valid.
Status DecodeRecords(const RecordSource& source, int64_t record_bytes, const RecordField* fields,
                     int num_fields, const ParallelFor* parallel_for);

// Copies n elements of `itemsize` bytes, reversing each element's bytes.
void CopySwapped(const uint8_t* src, uint8_t* dst, int64_t n, int64_t itemsize);

}  // namespace gilfree

#endif  // GILFREE_CORE_DECODE_H_
