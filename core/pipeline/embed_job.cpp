#include "core/pipeline/embed_job.h"

#include <chrono>
#include <filesystem>
#include <optional>

#include <ATen/ATen.h>

#include "core/data/dataset.h"
#include "core/infer/model_loader.h"
#include "core/io/checkpoint.h"
#include "core/infer/predictor.h"
#include "core/pipeline/calibrate_job.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"

namespace supersam::pipeline {

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The checkpoint does not make a model: an error of the whole job, not of the image being encoded.
class ModelError : public util::Error {
 public:
  using util::Error::Error;
};
}  // namespace

infer::EmbeddingKey embeddingKeyFor(const std::string& imageHash, const std::string& modelFingerprint,
                                    const supernet::Subnet& subnet, const model::SamArch& arch) {
  infer::EmbeddingKey key;
  key.imageHash = imageHash;
  key.modelFingerprint = modelFingerprint;
  key.subnet = subnet.toString();
  key.imageSize = arch.imageSize;
  return key;
}

EmbedStats embedFolder(const EmbedJob& job, const util::JobControl& control, const EmbedImageFn& onImage) {
  const auto start = Clock::now();
  if (job.folder.empty()) throw util::Error("embed: no image folder given (--folder)");
  if (!fs::exists(job.folder)) throw util::Error("embed: image folder '" + job.folder + "' does not exist");
  if (!fs::is_directory(job.folder)) throw util::Error("embed: '" + job.folder + "' is a file, expected a folder");
  const std::vector<std::string> files = listFolderImages(job.folder);
  if (files.empty()) {
    throw util::Error("embed: no images (jpg, jpeg, png, bmp, tif, tiff) in folder '" + job.folder + "'");
  }
  if (job.checkpoint.empty()) throw util::Error("embed: no checkpoint given (--checkpoint)");
  if (!fs::is_regular_file(job.checkpoint)) throw util::Error("embed: checkpoint '" + job.checkpoint + "' does not exist");

  EmbedStats stats;
  stats.images = static_cast<int64_t>(files.size());
  stats.cacheDir = job.cacheDir.empty() ? infer::defaultEmbeddingCacheDir() : job.cacheDir;
  const infer::EmbeddingCache cache(stats.cacheDir, job.maxCacheBytes);

  // The checkpoint is read once; the model is built from it only at the first image that is not cached.
  std::optional<io::Checkpoint> checkpoint = io::readCheckpoint(job.checkpoint);
  const std::optional<std::string> archOverride = infer::archOverrideFor(job.checkpoint, job.arch);
  const model::SamArch arch = infer::archForCheckpoint(*checkpoint, archOverride);
  const supernet::Subnet subnet =
      job.subnet.empty()
          ? supernet::Subnet::full(arch)
          : supernet::resolveSubnet(job.subnet, supernet::readSupernetInfo(checkpoint->metadata, arch).space, arch);
  stats.subnet = subnet.toString();
  const auto fp0 = Clock::now();
  stats.modelFingerprint = infer::modelFingerprint(job.checkpoint, arch);
  stats.fingerprintSeconds = secondsSince(fp0);
  stats.loadSeconds = secondsSince(start);

  std::optional<infer::Predictor> predictor;
  const auto buildModel = [&]() {
    const auto b0 = Clock::now();
    try {
      infer::LoadedModel loaded = infer::loadModel(*checkpoint, archOverride);
      stats.warnings = loaded.warnings;
      predictor.emplace(loaded.sam);
    } catch (const util::Error& e) {
      throw ModelError(e.what());  // not a problem of the image at hand: the job stops
    }
    checkpoint.reset();  // the model holds the weights now
    stats.modelBuilt = true;
    stats.loadSeconds += secondsSince(b0);
  };
  const model::ElasticConfig cfg = subnet.toElastic();
  const int64_t n = stats.images;
  for (int64_t i = 0; i < n; ++i) {
    if (control.cancelled()) {
      stats.cancelled = true;
      break;
    }
    const std::string& path = files[static_cast<size_t>(i)];
    control.report(i, n, fs::path(path).filename().string());
    EmbedImageEvent ev;
    ev.index = i;
    ev.total = n;
    ev.path = path;
    const auto t0 = Clock::now();
    try {
      const std::string hash = infer::hashFile(path);
      const infer::EmbeddingKey key = embeddingKeyFor(hash, stats.modelFingerprint, subnet, arch);
      if (std::optional<infer::CachedEmbedding> hit = cache.get(key, arch)) {
        ev.outcome = EmbedOutcome::Reused;
        ev.seconds = secondsSince(t0);
        ++stats.reused;
        stats.reuseSeconds += ev.seconds;
      } else {
        const at::Tensor image = data::loadImageRgb(path);
        // The entry must hold the embedding of the bytes its key names: a file rewritten meanwhile is not stored.
        if (infer::hashFile(path) != hash) {
          throw util::Error("image '" + path + "' changed while it was being read; run again to encode it");
        }
        if (!predictor) buildModel();
        predictor->setImage(image, cfg);
        const infer::PutResult put =
            cache.put(key, {predictor->embedding(), predictor->originalSize(), predictor->inputSize()});
        ev.outcome = EmbedOutcome::Encoded;
        ev.seconds = secondsSince(t0);
        ++stats.encoded;
        stats.encodeSeconds += ev.seconds;
        stats.bytesWritten += put.bytes;
        stats.evicted += put.evicted;
      }
    } catch (const ModelError&) {
      throw;
    } catch (const util::Error& e) {
      ev.outcome = EmbedOutcome::Failed;
      ev.reason = e.what();
      ev.seconds = secondsSince(t0);
      ++stats.failed;
      stats.failures.push_back({path, e.what()});
    }
    if (onImage) onImage(ev);
  }
  const int64_t visited = stats.encoded + stats.reused + stats.failed;
  control.report(visited, n, stats.cancelled ? "cancelled" : "done");
  stats.cacheBytes = cache.totalBytes();
  stats.seconds = secondsSince(start);
  return stats;
}

}  // namespace supersam::pipeline
