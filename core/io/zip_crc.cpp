#include "core/io/zip_crc.h"

#include <array>
#include <fstream>
#include <vector>

#include "core/util/error.h"

namespace supersam::io {

namespace {

// Slicing-by-8 tables: table[0] is the classic byte table, table[k] advances k more zero bytes.
std::array<std::array<uint32_t, 256>, 8> makeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}

const std::array<std::array<uint32_t, 256>, 8>& tables() {
  static const auto t = makeTables();
  return t;
}

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  const auto& t = tables();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  while (size >= 8) {
    const uint32_t lo = crc ^ static_cast<uint32_t>(le(p, 4));
    const uint32_t hi = static_cast<uint32_t>(le(p + 4, 4));
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][hi & 0xff] ^
          t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  while (size--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::map<std::string, ZipRecord> zipRecords(const std::string& path) {
  auto fail = [&](const std::string& what) -> std::map<std::string, ZipRecord> {
    throw util::Error("zip archive '" + path + "': " + what + " (truncated or corrupt?)");
  };
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return fail("cannot be opened");
  const uint64_t fileSize = static_cast<uint64_t>(in.tellg());
  auto readAt = [&](uint64_t offset, size_t n) {
    std::vector<unsigned char> buf(n);
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in.gcount()) != n) buf.clear();
    return buf;
  };
  // End of central directory: 22 bytes + a comment of up to 65535 bytes, at the very end.
  const uint64_t tailSize = std::min<uint64_t>(fileSize, 22 + 65535);
  std::vector<unsigned char> tail = readAt(fileSize - tailSize, tailSize);
  if (tail.size() < 22) return fail("too short for a zip directory");
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail.size()) - 22; i >= 0; --i) {
    if (le(&tail[i], 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return fail("no end-of-central-directory record");
  uint64_t count = le(&tail[eocd + 10], 2);
  uint64_t cdSize = le(&tail[eocd + 12], 4);
  uint64_t cdOffset = le(&tail[eocd + 16], 4);
  if (count == 0xffff || cdSize == 0xffffffffu || cdOffset == 0xffffffffu) {  // zip64
    const uint64_t eocdPos = fileSize - tailSize + static_cast<uint64_t>(eocd);
    if (eocdPos < 20) return fail("zip64 locator missing");
    auto loc = readAt(eocdPos - 20, 20);
    if (loc.size() != 20 || le(loc.data(), 4) != 0x07064b50) return fail("zip64 locator missing");
    auto rec = readAt(le(&loc[8], 8), 56);
    if (rec.size() != 56 || le(rec.data(), 4) != 0x06064b50) return fail("zip64 directory record missing");
    count = le(&rec[32], 8);
    cdSize = le(&rec[40], 8);
    cdOffset = le(&rec[48], 8);
  }
  if (cdOffset > fileSize || cdSize > fileSize - cdOffset) return fail("central directory outside the file");
  std::vector<unsigned char> cd = readAt(cdOffset, cdSize);
  if (cd.size() != cdSize) return fail("central directory unreadable");
  std::map<std::string, ZipRecord> out;
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (pos + 46 > cd.size() || le(&cd[pos], 4) != 0x02014b50)
      return fail("central directory entry " + std::to_string(i) + " is malformed");
    const uint32_t crc = static_cast<uint32_t>(le(&cd[pos + 16], 4));
    const size_t nameLen = le(&cd[pos + 28], 2), extraLen = le(&cd[pos + 30], 2), commentLen = le(&cd[pos + 32], 2);
    if (pos + 46 + nameLen > cd.size()) return fail("central directory entry " + std::to_string(i) + " is cut");
    if (pos + 46 + nameLen + extraLen > cd.size()) {
      return fail("central directory entry " + std::to_string(i) + " is cut");
    }
    std::string name(reinterpret_cast<const char*>(&cd[pos + 46]), nameLen);
    if (auto slash = name.find('/'); slash != std::string::npos) name = name.substr(slash + 1);
    uint64_t size = le(&cd[pos + 24], 4);
    if (size == 0xffffffffu) {
      // zip64: the real size is the first value of the extra field 0x0001.
      size_t e = pos + 46 + nameLen;
      const size_t end = e + extraLen;
      while (e + 4 <= end) {
        const size_t id = le(&cd[e], 2), len = le(&cd[e + 2], 2);
        if (id == 1 && len >= 8 && e + 4 + 8 <= end) {
          size = le(&cd[e + 4], 8);
          break;
        }
        e += 4 + len;
      }
    }
    out[name] = ZipRecord{crc, size};
    pos += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

}  // namespace supersam::io
