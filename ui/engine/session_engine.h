#pragma once
// The interactive session's engine facade: one loaded supernet, one image, one current subnet. Loads any
// checkpoint the product accepts, caches the image embedding per (image, subnet) and re-encodes incrementally
// from the first changed block when the subnet changes, decodes prompts into masks (plain byte buffers), and
// keeps the largest subnet's embedding for the agreement figure.
// No Qt, no torch in this header: the GUI's inference worker owns one instance.
// Thread-safety: none. One thread (the inference worker's) uses an instance at a time.

#include <functional>
#include <memory>
#include <string>

#include "core/model/elastic.h"
#include "ui/engine/subnet_space.h"
#include "ui/engine/types.h"

namespace supersam::ui {

class SessionEngine {
 public:
  SessionEngine();
  ~SessionEngine();
  SessionEngine(const SessionEngine&) = delete;
  SessionEngine& operator=(const SessionEngine&) = delete;

  // Official SAM .pth, our safetensors, or Hugging Face SAM safetensors. archOverride: "" (from the file), a
  // preset name or an arch JSON path; for a .pth with an arch.json beside it, that file is used. Throws
  // util::Error naming the file; on failure the previous model stays loaded.
  ModelInfo loadModel(const std::string& path, const std::string& archOverride = {});
  bool hasModel() const;
  SubnetSpace space() const;  // invalid when no model

  // Drops every cached embedding. An empty image clears the session's image. imagePath (optional): the file the
  // image was read from, the key of the on-disk embedding cache.
  void setImage(const ImageRgb& image, const std::string& imagePath = {});

  // The on-disk embedding cache (core/infer/embedding_cache.h) shared with `supersam embed` and the studio's
  // pre-encoding: an empty dir turns it off. Throws util::Error when the folder cannot be used.
  void setEmbeddingCache(const std::string& dir, int64_t maxBytes);
  // Makes the cached embedding of the current image for `cfg` the current one when the cache has it (no encoder
  // wait). False when there is no cache, no image path, or no entry.
  bool loadCached(const model::ElasticConfig& cfg);
  // Stores the current embedding in the cache (no-op when it came from there, or without a cache or image path).
  void storeCurrent();
  bool hasImage() const;

  // Brings the embedding up to date for `cfg` (incremental from the first changed block when the previous
  // subnet's intermediate activations are cached) and decodes `prompts` (empty prompts: encode only).
  // withReference: also decode with the largest subnet (encoding it once per image) for the agreement IoU.
  // refine: a state with points is decoded with the low-res mask of the same state less its last point (decoded
  // first if needed), so a prompt state always gives the same mask, however it was reached (undo, redo).
  // Throws util::Error when no model or no image is set.
  // beforeBlock (optional) is called before each encoder block that has to run; it may throw to abandon the encode
  // (the blocks finished so far stay cached, the current embedding stays the previous one) and, while it runs,
  // decodeCurrent() still answers on the previous embedding: that is how a fast preview stays interactive while the
  // chosen subnet is encoded.
  using BlockHook = std::function<void(int block)>;
  PredictionResult run(const model::ElasticConfig& cfg, const PromptSet& prompts, bool withReference,
                       bool refine = true, const BlockHook& beforeBlock = {});
  // Decodes `prompts` on the embedding that is current now (no encoding); r.subnet names its subnet. Throws when
  // there is no embedding yet.
  PredictionResult decodeCurrent(const PromptSet& prompts);
  // The subnet of the current embedding (canonical string), empty when none.
  std::string currentSubnet() const;

  // Escalation: encodes `cfg` into a second embedding (incrementally from the blocks cached for the current one; the
  // current embedding and its masks stay as they are) and decodes `prompts` on it. The next run() for the current
  // subnet does not encode again.
  PredictionResult runAlternative(const model::ElasticConfig& cfg, const PromptSet& prompts,
                                  const BlockHook& beforeBlock = {});

  // Median of `repeats` full encoder forwards of the current image (or a blank one) with `cfg`, in ms.
  double measureLatency(const model::ElasticConfig& cfg, int repeats = 3);

  // Writes a standalone model of subnet `cfg` (dropped blocks removed, MLPs sliced) as our safetensors.
  void exportSubnet(const model::ElasticConfig& cfg, const std::string& path);
  // Writes subnet `cfg` as ONNX into folder `dir` (core/export/onnx_export.h: encoder.onnx, decoder.onnx in SAM's ONNX
  // interface, the sidecar JSON, and X-AnyLabeling's raw-image encoder and config).
  void exportOnnx(const model::ElasticConfig& cfg, const std::string& dir);

  const std::string& modelPath() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace supersam::ui
