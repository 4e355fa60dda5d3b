#pragma once
// CRC-32 checks for zip records. LibTorch's zip reader does not verify checksums, so a flipped byte inside a stored
// tensor would load silently; we read the expected CRC-32 of each record from the zip's central directory (zip64
// included) and compare it with the bytes read.
// Thread-safety: free functions and a read-only table.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace supersam::io {

// CRC-32 (IEEE, as zip uses).
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

struct ZipRecord {
  uint32_t crc = 0;
  uint64_t size = 0;  // uncompressed bytes, as the central directory states them (zip64 extra field included)
};

// Record name without the archive's top folder ("archive/data/0" -> "data/0") -> its CRC-32 and size from the
// central directory, read before any record is inflated. Throws util::Error naming `path` when the directory
// cannot be parsed (truncated or not a zip).
std::map<std::string, ZipRecord> zipRecords(const std::string& path);

}  // namespace supersam::io
