#pragma once
// Pre-encoding a folder of images into the embedding cache (core/infer/embedding_cache.h): the job behind
// `supersam embed` and the studio's background pre-encoding, plus the one key rule both use to look an image up.
// Each image is hashed, looked up, and encoded (infer::Predictor with the subnet's ElasticConfig) only when missing;
// the model itself is built from the checkpoint at the first miss, so a pass where everything is cached only reads
// the checkpoint (for its arch, subnet space and fingerprint).
// An unreadable image is reported by name and skipped; the rest continue. Cancel is checked between images: the
// entries written stay (they are the resume: a re-run encodes only what is missing) and the job returns with
// `cancelled` set rather than throwing.
// Thread-safety: runs on the calling thread; JobControl's cancel token may be set from any thread. Several jobs (and
// processes) may share a cache folder.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/infer/embedding_cache.h"
#include "core/model/arch.h"
#include "core/supernet/subnet.h"
#include "core/util/progress.h"

namespace supersam::pipeline {

struct EmbedJob {
  std::string checkpoint;
  std::optional<std::string> arch;  // override (infer::archOverrideFor's rule)
  std::string subnet;               // supernet::resolveSubnet text ("largest", "smallest", a subnet); empty = full
  std::string folder;               // its jpg/png/bmp/tif files (listFolderImages), not sub-folders
  std::string cacheDir;             // empty = infer::defaultEmbeddingCacheDir()
  int64_t maxCacheBytes = int64_t{1024} << 20;
};

enum class EmbedOutcome { Encoded, Reused, Failed };

// One image done (sent after it is stored, or found, or has failed).
struct EmbedImageEvent {
  int64_t index = 0;  // 0-based, in folder order
  int64_t total = 0;
  std::string path;
  EmbedOutcome outcome = EmbedOutcome::Encoded;
  double seconds = 0;  // Encoded: read + encode + store; Reused: the cache read (get); Failed: until the failure
  std::string reason;  // Failed only: the error message (it names the file)
};

struct EmbedFailure {
  std::string path;
  std::string reason;
};

struct EmbedStats {
  std::string cacheDir;
  std::string modelFingerprint;
  std::string subnet;            // canonical string
  int64_t images = 0;            // in the folder
  int64_t encoded = 0, reused = 0, failed = 0;
  std::vector<EmbedFailure> failures;
  int64_t bytesWritten = 0;      // entry files written by this job
  int64_t evicted = 0;           // entries evicted by this job's puts
  int64_t cacheBytes = 0;        // the cache folder's total at the end
  bool cancelled = false;        // stopped between images; images - encoded - reused - failed were not visited
  double seconds = 0;            // the whole job, model load included
  bool modelBuilt = false;       // the model was built: only when an image missed (an all-cached pass skips it)
  std::vector<std::string> warnings;  // the model loader's (infer::LoadedModel::warnings)
  double loadSeconds = 0;        // reading the checkpoint + fingerprint + building the model (when built)
  double fingerprintSeconds = 0; // of which hashing the checkpoint file (modelFingerprint)
  double encodeSeconds = 0;      // sum over encoded images of read + encode + store
  double reuseSeconds = 0;       // sum over reused images of the cache read
};

using EmbedImageFn = std::function<void(const EmbedImageEvent&)>;

// util::Error (naming the file or value) when the folder is missing or holds no image, the checkpoint does not load,
// the subnet does not fit, or the cache folder cannot be used. Per-image problems are failures, not errors.
// Progress: images visited / total, with the file name.
EmbedStats embedFolder(const EmbedJob& job, const util::JobControl& control, const EmbedImageFn& onImage = {});

// The key of an image for a model and subnet. The studio's lookup when it opens an image (fingerprint computed once
// per model load, with the loaded arch):
//   if (auto hit = cache.get(embeddingKeyFor(infer::hashFile(img), fingerprint, subnet, arch), arch))
//     predictor.setEmbedding(hit->embedding, hit->originalHW, hit->inputHW);   // no encoder wait
//   else { predictor.setImage(rgb, subnet.toElastic()); cache.put(key, {predictor.embedding(), ...}); }
infer::EmbeddingKey embeddingKeyFor(const std::string& imageHash, const std::string& modelFingerprint,
                                    const supernet::Subnet& subnet, const model::SamArch& arch);

}  // namespace supersam::pipeline
