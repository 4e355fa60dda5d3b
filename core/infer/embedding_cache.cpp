#include "core/infer/embedding_cache.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>

#include "core/infer/predictor.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embedding cache entries are little-endian; this host is not"
#endif

namespace supersam::infer {

namespace {
namespace fs = std::filesystem;

// ---- SHA-256 (FIPS 180-4) ----
// Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

std::string toHex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

// ---- entry files ----
constexpr char kMagic[8] = {'S', 'S', 'E', 'M', 'B', '0', '0', '1'};
constexpr const char* kExtension = ".emb";
constexpr int64_t kNumbers = 8;  // imageSize, originalH, originalW, inputH, inputW, C, h, w
constexpr int64_t kMaxSide = int64_t{1} << 20;
// Temporary files of writers that died are removed by put() once they are this old.
constexpr auto kStaleTemporary = std::chrono::hours(1);

void putU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void putI64(std::string& out, int64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

// Reads fields in order from a buffer whose total size was already checked; any shortfall marks it bad.
struct Reader {
  const std::string& buf;
  size_t at = 0;
  bool ok = true;
  bool take(void* dst, size_t n) {
    if (!ok || at + n > buf.size()) return ok = false;
    std::memcpy(dst, buf.data() + at, n);
    at += n;
    return true;
  }
  int64_t i64() {
    int64_t v = 0;
    take(&v, 8);
    return v;
  }
  // True when the next field is exactly `expected` (u32 length + bytes).
  bool field(const std::string& expected) {
    uint32_t n = 0;
    if (!take(&n, 4) || n != expected.size() || at + n > buf.size()) return ok = false;
    if (buf.compare(at, n, expected) != 0) return ok = false;
    at += n;
    return true;
  }
};

bool isEntryName(const std::string& name) {
  return name.size() == 64 + std::strlen(kExtension) && name[0] != '.' &&
         name.compare(64, std::string::npos, kExtension) == 0;
}

struct Listed {
  fs::path path;
  int64_t bytes = 0;
  fs::file_time_type used;
};

// The entries of `dir` (files vanishing meanwhile are skipped); with `sweep`, also removes old temporaries.
std::vector<Listed> listEntries(const std::string& dir, bool sweep) {
  std::vector<Listed> out;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code e2;
    if (isEntryName(name)) {
      Listed l;
      l.path = it->path();
      const auto size = fs::file_size(l.path, e2);
      if (e2) continue;
      l.used = fs::last_write_time(l.path, e2);
      if (e2) continue;
      l.bytes = static_cast<int64_t>(size);
      out.push_back(std::move(l));
    } else if (sweep && name[0] == '.' && name.find(".emb.tmp-") != std::string::npos) {
      const auto t = fs::last_write_time(it->path(), e2);
      if (!e2 && now - t > kStaleTemporary) fs::remove(it->path(), e2);
    }
  }
  return out;
}

}  // namespace

// ---- Sha256 ----

Sha256::Sha256()
    : m_h{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::block(const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) | (uint32_t{p[4 * i + 2]} << 8) |
           uint32_t{p[4 * i + 3]};
  }
  for (int i = 16; i < 64; ++i) {
    const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = m_h[0], b = m_h[1], c = m_h[2], d = m_h[3], e = m_h[4], f = m_h[5], g = m_h[6], h = m_h[7];
  for (int i = 0; i < 64; ++i) {
    const uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[i] + w[i];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  m_h[0] += a;
  m_h[1] += b;
  m_h[2] += c;
  m_h[3] += d;
  m_h[4] += e;
  m_h[5] += f;
  m_h[6] += g;
  m_h[7] += h;
}

void Sha256::update(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  m_total += bytes;
  if (m_bufLen > 0) {
    const size_t n = std::min(bytes, sizeof m_buf - m_bufLen);
    std::memcpy(m_buf + m_bufLen, p, n);
    m_bufLen += n;
    p += n;
    bytes -= n;
    if (m_bufLen < sizeof m_buf) return;
    block(m_buf);
    m_bufLen = 0;
  }
  for (; bytes >= 64; bytes -= 64, p += 64) block(p);
  std::memcpy(m_buf, p, bytes);
  m_bufLen = bytes;
}

std::array<uint8_t, 32> Sha256::digest() {
  const uint64_t bits = m_total * 8;
  const uint8_t one = 0x80, zero = 0;
  update(&one, 1);
  while (m_bufLen != 56) update(&zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  update(len, 8);
  std::array<uint8_t, 32> out{};
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<uint8_t>(m_h[i] >> (24 - 8 * j));
  }
  return out;
}

std::string Sha256::hexDigest() {
  const auto d = digest();
  return toHex(d.data(), d.size());
}

std::string sha256Hex(const std::string& bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hexDigest();
}

std::string hashFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw util::Error("cannot hash '" + path + "': it is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path, ec)) throw util::Error("file not found: '" + path + "'");
    throw util::Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  Sha256 h;
  std::vector<char> buf(size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n > 0) h.update(buf.data(), static_cast<size_t>(n));
  }
  if (in.bad()) throw util::Error("cannot read '" + path + "': read failed");
  return h.hexDigest();
}

std::string modelFingerprint(const std::string& checkpointPath, const model::SamArch& arch) {
  Sha256 h;
  h.update(std::string("supersam-model-fingerprint-v1\n"));
  h.update(hashFile(checkpointPath));
  h.update(std::string("\n"));
  h.update(arch.toJsonText());
  return h.hexDigest();
}

std::string EmbeddingKey::hex() const {
  // Each field length-prefixed, so that no two different keys give the same byte string.
  Sha256 h;
  h.update(std::string("supersam-embedding-v1\n"));
  for (const std::string* f : {&imageHash, &modelFingerprint, &subnet}) {
    h.update(std::to_string(f->size()) + ":");
    h.update(*f);
    h.update(std::string("\n"));
  }
  h.update(std::to_string(imageSize));
  return h.hexDigest();
}

std::string defaultEmbeddingCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') return (fs::path(xdg) / "supersam" / "embeddings").string();
  const char* home = std::getenv("HOME");
  if (home && home[0] != '\0') return (fs::path(home) / ".cache" / "supersam" / "embeddings").string();
  throw util::Error("embedding cache: neither XDG_CACHE_HOME (an absolute path) nor HOME is set; give a cache folder");
}

// ---- EmbeddingCache ----

EmbeddingCache::EmbeddingCache(std::string dir, int64_t maxBytes) : m_dir(std::move(dir)), m_maxBytes(maxBytes) {
  if (m_dir.empty()) throw util::Error("embedding cache: no folder given");
  if (maxBytes <= 0) {
    throw util::Error("embedding cache '" + m_dir + "': the size limit must be > 0 bytes, got " +
                      std::to_string(maxBytes));
  }
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (!fs::is_directory(m_dir)) {
    throw util::Error("embedding cache: cannot use '" + m_dir + "' as a folder" +
                      (ec ? ": " + ec.message() : std::string(" (it is a file)")));
  }
}

std::string EmbeddingCache::pathFor(const EmbeddingKey& key) const {
  return (fs::path(m_dir) / (key.hex() + kExtension)).string();
}

int64_t EmbeddingCache::entryBytes(const EmbeddingKey& key, const model::SamArch& arch) {
  const int64_t t = arch.tokensPerSide();
  return static_cast<int64_t>(sizeof kMagic) + 3 * 4 +
         static_cast<int64_t>(key.imageHash.size() + key.modelFingerprint.size() + key.subnet.size()) +
         kNumbers * 8 + arch.promptEmbedDim * t * t * 4 + 32;
}

std::optional<CachedEmbedding> EmbeddingCache::get(const EmbeddingKey& key, const model::SamArch& arch) const {
  if (key.imageSize != arch.imageSize) {
    throw util::Error("embedding cache: the key's input size " + std::to_string(key.imageSize) +
                      " is not the arch's image_size " + std::to_string(arch.imageSize));
  }
  const fs::path path = pathFor(key);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return std::nullopt;  // absent, or vanished
  const int64_t expected = entryBytes(key, arch);
  const auto invalid = [&]() -> std::optional<CachedEmbedding> {
    std::error_code e2;
    fs::remove(path, e2);
    return std::nullopt;
  };
  if (static_cast<int64_t>(size) != expected) return invalid();

  std::string buf(static_cast<size_t>(expected), '\0');
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;  // vanished between the size and the open
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() != static_cast<std::streamsize>(buf.size())) return invalid();
  }
  Sha256 h;
  h.update(buf.data(), buf.size() - 32);
  const auto sum = h.digest();
  if (std::memcmp(sum.data(), buf.data() + buf.size() - 32, 32) != 0) return invalid();

  Reader r{buf};
  char magic[sizeof kMagic];
  r.take(magic, sizeof magic);
  if (!r.ok || std::memcmp(magic, kMagic, sizeof kMagic) != 0) return invalid();
  if (!r.field(key.imageHash) || !r.field(key.modelFingerprint) || !r.field(key.subnet)) return invalid();
  const int64_t imageSize = r.i64(), oh = r.i64(), ow = r.i64(), ih = r.i64(), iw = r.i64();
  const int64_t c = r.i64(), eh = r.i64(), ew = r.i64();
  const int64_t t = arch.tokensPerSide();
  if (!r.ok || imageSize != arch.imageSize || c != arch.promptEmbedDim || eh != t || ew != t) return invalid();
  if (oh <= 0 || ow <= 0 || oh > kMaxSide || ow > kMaxSide) return invalid();
  if (resizedSize(oh, ow, arch.imageSize) != std::array<int64_t, 2>{ih, iw}) return invalid();
  const size_t payload = static_cast<size_t>(c * eh * ew) * 4;
  if (r.at + payload + 32 != buf.size()) return invalid();

  CachedEmbedding out;
  out.embedding = at::empty({1, c, eh, ew}, at::kFloat);
  std::memcpy(out.embedding.data_ptr<float>(), buf.data() + r.at, payload);
  out.originalHW = {oh, ow};
  out.inputHW = {ih, iw};
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // recency; a vanished file does not matter
  return out;
}

PutResult EmbeddingCache::put(const EmbeddingKey& key, const CachedEmbedding& value) const {
  const at::Tensor& e = value.embedding;
  if (!e.defined() || e.dim() != 4 || e.size(0) != 1 || e.numel() == 0) {
    throw util::Error("embedding cache: an embedding must be [1, C, h, w], got " +
                      (e.defined() ? std::to_string(e.dim()) + " dimensions" : std::string("none")));
  }
  for (int64_t v : {value.originalHW[0], value.originalHW[1], value.inputHW[0], value.inputHW[1], key.imageSize}) {
    if (v <= 0 || v > kMaxSide) {
      throw util::Error("embedding cache: image sizes must be in [1, " + std::to_string(kMaxSide) + "], got " +
                        std::to_string(v));
    }
  }
  const at::Tensor f = e.detach().to(at::kCPU, at::kFloat).contiguous();
  std::string buf;
  const size_t payload = static_cast<size_t>(f.numel()) * 4;
  buf.reserve(sizeof kMagic + 12 + key.imageHash.size() + key.modelFingerprint.size() + key.subnet.size() +
              kNumbers * 8 + payload + 32);
  buf.append(kMagic, sizeof kMagic);
  for (const std::string* s : {&key.imageHash, &key.modelFingerprint, &key.subnet}) {
    putU32(buf, static_cast<uint32_t>(s->size()));
    buf.append(*s);
  }
  for (int64_t v : {key.imageSize, value.originalHW[0], value.originalHW[1], value.inputHW[0], value.inputHW[1],
                    f.size(1), f.size(2), f.size(3)}) {
    putI64(buf, v);
  }
  buf.append(reinterpret_cast<const char*>(f.data_ptr<float>()), payload);
  Sha256 h;
  h.update(buf);
  const auto sum = h.digest();
  buf.append(reinterpret_cast<const char*>(sum.data()), sum.size());

  const std::string path = pathFor(key);
  util::writeFileAtomic(path, buf);
  // The recency clock is set here rather than left to the kernel, whose file times tick only every few ms.
  std::error_code tec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), tec);

  PutResult out;
  out.bytes = static_cast<int64_t>(buf.size());
  std::vector<Listed> all = listEntries(m_dir, true);
  int64_t total = 0;
  for (const auto& l : all) total += l.bytes;
  if (total <= m_maxBytes) return out;
  std::sort(all.begin(), all.end(), [](const Listed& a, const Listed& b) {
    return a.used != b.used ? a.used < b.used : a.path < b.path;
  });
  const fs::path mine(path);
  for (const auto& l : all) {
    if (total <= m_maxBytes) break;
    if (l.path == mine) continue;
    std::error_code ec;
    if (fs::remove(l.path, ec)) {
      ++out.evicted;
      out.evictedBytes += l.bytes;
    }
    total -= l.bytes;  // removed here or by another process meanwhile
  }
  return out;
}

bool EmbeddingCache::remove(const EmbeddingKey& key) const {
  std::error_code ec;
  return fs::remove(pathFor(key), ec);
}

int64_t EmbeddingCache::totalBytes() const {
  int64_t total = 0;
  for (const auto& l : listEntries(m_dir, false)) total += l.bytes;
  return total;
}

int64_t EmbeddingCache::entryCount() const { return static_cast<int64_t>(listEntries(m_dir, false).size()); }

}  // namespace supersam::infer
