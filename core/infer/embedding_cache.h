#pragma once
// A content-addressed store of image embeddings in a folder, shared by `supersam embed` (pre-encoding a folder) and
// the studio (looking an embedding up when an image is opened, instead of waiting for the encoder).
//
// Key: SHA-256 over a format version, the image file's bytes (SHA-256), the model fingerprint (SHA-256 of the
// checkpoint file's bytes plus the effective arch, see modelFingerprint), the subnet's canonical string
// (supernet::Subnet::toString) and the input size. A changed image byte, another checkpoint, another arch or another
// subnet gives another key, so a stale entry is never served.
//
// One file per entry, "<dir>/<64 hex digits of the key>.emb", little-endian:
//   "SSEMB001" | u32 length + bytes, for each key field: imageHash, modelFingerprint, subnet |
//   i64 imageSize, originalH, originalW, inputH, inputW, C, h, w | f32 [C*h*w] | SHA-256 of everything before.
// get() checks the file's size against the size the arch implies BEFORE reading it (a file claiming anything else is
// never read into memory), then the key fields, the sizes and the checksum; anything wrong is a miss that removes
// the entry. Writes are atomic (temporary file, then rename); a file that vanishes (another process evicted it) is a
// miss. Recency is the file's modification time: get() refreshes it, put() evicts the oldest entries until the
// folder's total is under the limit (never the entry just written).
// Thread-safety: an EmbeddingCache holds only its folder and limit; its methods may run concurrently from several
// threads and from several processes sharing the folder.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/model/arch.h"

namespace supersam::infer {

// SHA-256 (FIPS 180-4) of bytes, as 64 lowercase hex digits, and the streaming form behind it.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::array<uint8_t, 32> digest();  // finishes; the object must not be updated afterwards
  std::string hexDigest();

 private:
  void block(const uint8_t* p);
  uint32_t m_h[8];
  uint8_t m_buf[64];
  size_t m_bufLen = 0;
  uint64_t m_total = 0;  // bytes
};
std::string sha256Hex(const std::string& bytes);

// SHA-256 hex of a file's bytes, read in 1 MiB pieces. util::Error naming the file when it cannot be read.
std::string hashFile(const std::string& path);

// The model part of the key: SHA-256 over the checkpoint file's bytes and the effective arch (its JSON). Reads the
// whole checkpoint once: compute it once per model load.
std::string modelFingerprint(const std::string& checkpointPath, const model::SamArch& arch);

struct EmbeddingKey {
  std::string imageHash;         // hashFile(image)
  std::string modelFingerprint;  // modelFingerprint(checkpoint, arch)
  std::string subnet;            // canonical subnet string (every block, full widths included)
  int64_t imageSize = 0;         // the encoder's input side (arch.imageSize), pixels
  std::string hex() const;       // 64 hex digits: the entry's name
};

struct CachedEmbedding {
  at::Tensor embedding;                    // [1, C, h, w] float32 on the CPU (C = promptEmbedDim, h = w = tokens)
  std::array<int64_t, 2> originalHW{0, 0};  // the image's size, pixels
  std::array<int64_t, 2> inputHW{0, 0};     // its resized size inside the encoder's frame, pixels
};

// What put() did.
struct PutResult {
  int64_t bytes = 0;         // the entry's file size
  int64_t evicted = 0;       // entries removed to get under the limit
  int64_t evictedBytes = 0;
};

// $XDG_CACHE_HOME/supersam/embeddings when XDG_CACHE_HOME is an absolute path, else $HOME/.cache/supersam/embeddings.
// util::Error when neither variable is usable.
std::string defaultEmbeddingCacheDir();

class EmbeddingCache {
 public:
  // Creates `dir` when missing. maxBytes > 0 (util::Error otherwise, and when `dir` cannot be made or is a file).
  EmbeddingCache(std::string dir, int64_t maxBytes);

  // The entry for `key`, checked against `arch` (embedding shape, input size) and the key fields; refreshes its
  // last-use time. nullopt when absent, vanished, or invalid (an invalid entry is removed). Never throws for a bad
  // entry file.
  std::optional<CachedEmbedding> get(const EmbeddingKey& key, const model::SamArch& arch) const;
  // Stores (atomically, replacing an entry of the same key), then evicts least recently used entries until the total
  // is <= maxBytes, never this one. util::Error when the embedding is not [1, C, h, w] or the sizes are not positive,
  // or the file cannot be written.
  PutResult put(const EmbeddingKey& key, const CachedEmbedding& value) const;
  // Removes the entry (true when there was one).
  bool remove(const EmbeddingKey& key) const;

  // The entry file's path (whether or not it exists).
  std::string pathFor(const EmbeddingKey& key) const;
  int64_t totalBytes() const;   // sum of the entries' file sizes now
  int64_t entryCount() const;
  // The file size an entry of `key` has for `arch`.
  static int64_t entryBytes(const EmbeddingKey& key, const model::SamArch& arch);

  const std::string& dir() const { return m_dir; }
  int64_t maxBytes() const { return m_maxBytes; }

 private:
  std::string m_dir;
  int64_t m_maxBytes;
};

}  // namespace supersam::infer
