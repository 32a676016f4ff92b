// Fuzz target: an .npz (ZIP) archive. The input is the whole archive (the
// seeds are files written by np.savez / np.savez_compressed and zipfile).
// Reads the central directory, then takes every member through the path both
// adapters take (cpp/numpy/decode.cc, cpp/tf/decode_ops.cc): FindNpzMember,
// ReadZipMember (local header, bounds, inflate, CRC-32), ParseNpyHeader and
// DecodeNpyData.
#include <string>
#include <vector>

#include "core/crc32.h"
#include "core/decode.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int64_t n = static_cast<int64_t>(size);
  std::vector<gilfree::ZipMember> members;
  if (!gilfree::ReadZipDirectory(data, n, &members).ok()) return 0;
  // Each entry is at least 46 bytes of the archive.
  GILFREE_FUZZ_CHECK(static_cast<int64_t>(members.size()) * 46 <= n);

  // A key that names no member is an error, never a crash.
  const gilfree::ZipMember* none = nullptr;
  const std::string missing(1, '\0');
  bool missing_present = false;
  for (const auto& m : members) missing_present = missing_present || m.name == missing || m.name == missing + ".npy";
  GILFREE_FUZZ_CHECK(gilfree::FindNpzMember(members, missing, &none).ok() == missing_present);

  for (const gilfree::ZipMember& listed : members) {
    // The adapters look members up by key: "key.npy", else "key".
    std::string key = listed.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    const gilfree::ZipMember* member = nullptr;
    GILFREE_FUZZ_CHECK(gilfree::FindNpzMember(members, key, &member).ok());
    GILFREE_FUZZ_CHECK(member != nullptr && (member->name == key + ".npy" || member->name == key));

    std::vector<uint8_t> storage;
    const uint8_t* bytes = nullptr;
    int64_t num_bytes = -1;
    if (!gilfree::ReadZipMember(data, n, *member, &storage, &bytes, &num_bytes).ok()) continue;
    GILFREE_FUZZ_CHECK(num_bytes >= 0 && static_cast<uint64_t>(num_bytes) == member->uncompressed_size);
    if (member->method == 0) {
      GILFREE_FUZZ_CHECK(bytes >= data && num_bytes <= data + n - bytes);
    } else {
      GILFREE_FUZZ_CHECK(bytes == storage.data() && static_cast<int64_t>(storage.size()) == num_bytes);
    }
    GILFREE_FUZZ_CHECK(gilfree::Crc32(bytes, num_bytes) == member->crc32);

    gilfree::NpyHeader h;
    if (!gilfree::ParseNpyHeader(bytes, num_bytes, &h).ok()) continue;
    GILFREE_FUZZ_CHECK(gilfree::CheckNpyDType(h, h.dtype).ok());
    std::vector<uint8_t> out(static_cast<size_t>(h.num_bytes));
    GILFREE_FUZZ_CHECK(gilfree::DecodeNpyData(bytes, num_bytes, h, out.data()).ok());
  }
  return 0;
}
