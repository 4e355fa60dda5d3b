#pragma once
// SAM's prompt encoder (segment_anything/modeling/prompt_encoder.py): points with labels, box corners and a
// low-res mask become sparse [B, N, C] and dense [B, C, h, w] embeddings; positions use random Fourier features.
// Thread-safety: read-only in inference.

#include <array>
#include <cstdint>
#include <utility>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

namespace supersam::model {

// Positional encoding with a random Gaussian projection (buffer positional_encoding_gaussian_matrix [2, F]).
class PositionEmbeddingRandomImpl : public torch::nn::Module {
 public:
  explicit PositionEmbeddingRandomImpl(int64_t numPosFeats, double scale = 1.0);
  at::Tensor forward(int64_t h, int64_t w);  // -> [2F, h, w], encoding of the grid's cell centres
  // coords [B, N, 2] (x, y) in pixels of an image of imageSizeHW -> [B, N, 2F]
  at::Tensor forwardWithCoords(const at::Tensor& coords, std::array<int64_t, 2> imageSizeHW);
  at::Tensor encode(const at::Tensor& coords01);  // [..., 2] in [0,1] -> [..., 2F]

  at::Tensor positional_encoding_gaussian_matrix;
};
TORCH_MODULE(PositionEmbeddingRandom);

class PromptEncoderImpl : public torch::nn::Module {
 public:
  PromptEncoderImpl(int64_t embedDim, std::array<int64_t, 2> imageEmbeddingSize, std::array<int64_t, 2> inputImageSize,
                    int64_t maskInChans);

  // Any of the three may be undefined (not all). points: coords [B, N, 2] input-frame pixels, labels [B, N]
  // (1 fg, 0 bg, -1 padding); boxes [B, 4] xyxy; masks [B, 1, 4h, 4w] logits.
  // Returns sparse [B, N', C] and dense [B, C, h, w].
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& coords, const at::Tensor& labels, const at::Tensor& boxes,
                                            const at::Tensor& masks);
  // [1, C, h, w]. Cached for inference (keyed on the Gaussian matrix's storage and version, so loading new weights
  // invalidates it); recomputed whenever autograd is recording. Not thread-safe while the cache fills: call once
  // before sharing the module across threads.
  at::Tensor getDensePe();

  at::Tensor embedPoints(const at::Tensor& coords, const at::Tensor& labels, bool pad);
  at::Tensor embedBoxes(const at::Tensor& boxes);
  at::Tensor embedMasks(const at::Tensor& masks);

  int64_t embedDim() const { return m_embedDim; }
  std::array<int64_t, 2> imageEmbeddingSize() const { return m_embSize; }
  std::array<int64_t, 2> inputImageSize() const { return m_inputSize; }

  PositionEmbeddingRandom pe_layer{nullptr};
  torch::nn::ModuleList point_embeddings{nullptr};  // 4 x Embedding(1, C): neg, pos, box corner 0, box corner 1
  torch::nn::Embedding not_a_point_embed{nullptr};
  torch::nn::Sequential mask_downscaling{nullptr};
  torch::nn::Embedding no_mask_embed{nullptr};

 private:
  at::Tensor pointEmbedding(int64_t i) const;  // [C]
  int64_t m_embedDim;
  std::array<int64_t, 2> m_embSize, m_inputSize;
  at::Tensor m_densePe;
  const void* m_densePeKey = nullptr;
  int64_t m_densePeVersion = -1;
};
TORCH_MODULE(PromptEncoder);

}  // namespace supersam::model
