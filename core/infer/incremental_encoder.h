#pragma once
// Incremental re-encoding of one image while exploring subnets. After encode(cfg) it keeps the patch/position
// embedding and every block's output for that subnet; a later encode(cfg2) recomputes only from the first block
// whose choice differs (a dropped block counts as a choice), then the neck. Results are bit-identical to
// ImageEncoderViT::forward(x, &cfg2), which runs exactly the same sequence of calls.
//
// Memory bound: (depth + 1) tensors of [1, H, W, C] floats, H = W = image_size / patch_size: for ViT-B at 1024,
// 13 x 64 x 64 x 768 x 4 B = 164 MB (a dropped block shares its input's storage, so usually less), plus the
// embedding [1, C_out, H, W]. cachedBytes() reports the live figure.
// Thread-safety: not thread-safe; one instance per image / worker. The encoder module is shared, read-only.

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model/elastic.h"
#include "core/model/image_encoder.h"

namespace supersam::infer {

class IncrementalEncoder {
 public:
  explicit IncrementalEncoder(model::ImageEncoderViT encoder);

  // x: [1, 3, S, S] normalised + padded (as Predictor::setEncoderInput takes). Drops every cached state.
  void setInput(const at::Tensor& x);
  bool hasInput() const { return m_input.defined(); }

  // Called before each block is run, with the block's index. It may throw to abandon the encode (a newer request
  // superseded it): every block finished so far stays cached, so the next encode() starts from there.
  using BlockHook = std::function<void(int64_t block)>;

  // The image embedding [1, C_out, H, W] for `cfg` (empty = full network). Runs under InferenceMode.
  at::Tensor encode(const model::ElasticConfig& cfg, const BlockHook& beforeBlock = {});

  // The first block recomputed by the last encode(): 0 = everything after the embedding, depth() = only the
  // cached embedding returned (nothing changed), -1 = embedding recomputed too (first call after setInput).
  int64_t lastRecomputedFrom() const { return m_lastFrom; }
  int64_t blocksRecomputed() const { return m_lastBlocks; }
  size_t cachedBytes() const;
  void clear();

 private:
  model::ImageEncoderViT m_encoder;
  at::Tensor m_input;
  at::Tensor m_embedded;              // [1, H, W, C] after patch + position embedding
  std::vector<at::Tensor> m_outputs;  // per block, [1, H, W, C]; valid for the first m_valid blocks
  int64_t m_valid = 0;
  model::ElasticConfig m_cfg;         // explicit, one per block
  at::Tensor m_embedding;             // [1, C_out, H, W] for m_cfg
  int64_t m_lastFrom = -1;
  int64_t m_lastBlocks = 0;
};

}  // namespace supersam::infer
