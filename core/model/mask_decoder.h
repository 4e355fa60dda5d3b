#pragma once
// SAM's mask decoder (segment_anything/modeling/mask_decoder.py): IoU token + 4 mask tokens run through the two-way
// transformer with the prompt tokens; the image side is upscaled 4x and dotted with per-token hypernetwork outputs.
// Thread-safety: read-only in inference.

#include <cstdint>
#include <utility>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include "core/model/transformer.h"

namespace supersam::model {

// Linear layers with ReLU between them (SAM's MLP in mask_decoder.py).
class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(int64_t inputDim, int64_t hiddenDim, int64_t outputDim, int64_t numLayers, bool sigmoidOutput = false);
  at::Tensor forward(const at::Tensor& x);  // [..., in] -> [..., out]
  torch::nn::ModuleList layers{nullptr};

 private:
  bool m_sigmoid;
};
TORCH_MODULE(MLP);

class MaskDecoderImpl : public torch::nn::Module {
 public:
  MaskDecoderImpl(int64_t transformerDim, TwoWayTransformer transformer, int64_t numMultimaskOutputs = 3,
                  int64_t iouHeadDepth = 3, int64_t iouHeadHiddenDim = 256);

  // imageEmbeddings [1 or B, C, h, w], imagePe [1, C, h, w], sparse [B, N, C], dense [B, C, h, w].
  // Returns masks [B, M, 4h, 4w] (logits) and iou [B, M]; M = numMultimaskOutputs if multimask else 1.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& imageEmbeddings, const at::Tensor& imagePe,
                                            const at::Tensor& sparse, const at::Tensor& dense, bool multimask);
  // Masks firstMask .. firstMask + numMasks - 1 of the num_mask_tokens: [B, numMasks, 4h, 4w] and iou [B, numMasks].
  std::pair<at::Tensor, at::Tensor> predictMasks(const at::Tensor& imageEmbeddings, const at::Tensor& imagePe,
                                                 const at::Tensor& sparse, const at::Tensor& dense, int64_t firstMask,
                                                 int64_t numMasks);

  // The prompt-independent image side for one image embedding [1, C, h, w] and one dense prompt embedding
  // [1, C, h, w] (see TransformerImageCache), and forward() from it: equal to forward(imageEmbedding, imagePe,
  // sparse, dense expanded to the batch, multimask) up to float rounding.
  TransformerImageCache prepareImage(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                     const at::Tensor& dense);
  std::pair<at::Tensor, at::Tensor> forward(const TransformerImageCache& image, const at::Tensor& sparse,
                                            bool multimask);

  TwoWayTransformer transformer{nullptr};
  torch::nn::Embedding iou_token{nullptr}, mask_tokens{nullptr};
  torch::nn::Sequential output_upscaling{nullptr};  // ConvT 2x2/2, LayerNorm2d, GELU, ConvT 2x2/2, GELU
  torch::nn::ModuleList output_hypernetworks_mlps{nullptr};
  MLP iou_prediction_head{nullptr};

 private:
  // keys [B, h*w, C] -> [B, h, w, 2, 2, 2, 2, C/8] (channels last, see the .cpp for the pixel order); without
  // finalGelu, before the last convolution's bias and GELU (for the fused kernels, which add them).
  at::Tensor upscale(const at::Tensor& keys, int64_t h, int64_t w, bool finalGelu);
  // Output tokens + sparse -> the transformer's tokens [B, 1 + 4 + N, C].
  at::Tensor tokensFor(const at::Tensor& sparse);
  // From the transformer's outputs (hs [B, T, C], keys [B, h*w, C]) to masks and iou.
  std::pair<at::Tensor, at::Tensor> headsFrom(const at::Tensor& hs, const at::Tensor& keys, int64_t h, int64_t w,
                                              int64_t firstMask, int64_t numMasks);
  int64_t m_numMaskTokens;
};
TORCH_MODULE(MaskDecoder);

}  // namespace supersam::model
