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

// Record name without the archive's top folder ("archive/data/0" -> "data/0") -> CRC-32 from the central
// directory. Throws util::Error naming `path` when the directory cannot be parsed (truncated or not a zip).
std::map<std::string, uint32_t> zipRecordCrcs(const std::string& path);

}  // namespace supersam::io
