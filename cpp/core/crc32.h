// CRC-32 (IEEE 802.3, the ZIP and gzip checksum), table-driven, 16 bytes a step.
//
// Example: Crc32("123456789", 9) == 0xCBF43926.
#ifndef GILFREE_CORE_CRC32_H_
#define GILFREE_CORE_CRC32_H_

#include <cstdint>

namespace gilfree {

// CRC of `size` bytes, continuing from `crc` (0 to start).
uint32_t Crc32(const void* data, int64_t size, uint32_t crc = 0);

}  // namespace gilfree

#endif  // GILFREE_CORE_CRC32_H_
