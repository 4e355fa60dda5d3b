#include "core/model/mask_decoder.h"

#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "core/model/common.h"

namespace supersam::model {

MLPImpl::MLPImpl(int64_t inputDim, int64_t hiddenDim, int64_t outputDim, int64_t numLayers, bool sigmoidOutput)
    : m_sigmoid(sigmoidOutput) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < numLayers; ++i) {
    const int64_t in = i == 0 ? inputDim : hiddenDim;
    const int64_t out = i == numLayers - 1 ? outputDim : hiddenDim;
    layers->push_back(torch::nn::Linear(in, out));
  }
}

at::Tensor MLPImpl::forward(const at::Tensor& xIn) {
  at::Tensor x = xIn;
  const size_t n = layers->size();
  for (size_t i = 0; i < n; ++i) {
    auto* lin = layers[i]->as<torch::nn::LinearImpl>();
    x = at::linear(x, lin->weight, lin->bias);
    if (i + 1 < n) x = at::relu(x);
  }
  return m_sigmoid ? at::sigmoid(x) : x;
}

// ---------------------------------------------------------------------------------------------------------------
MaskDecoderImpl::MaskDecoderImpl(int64_t transformerDim, TwoWayTransformer transformerIn, int64_t numMultimaskOutputs,
                                 int64_t iouHeadDepth, int64_t iouHeadHiddenDim)
    : m_numMaskTokens(numMultimaskOutputs + 1) {
  transformer = register_module("transformer", std::move(transformerIn));
  iou_token = register_module("iou_token", torch::nn::Embedding(1, transformerDim));
  mask_tokens = register_module("mask_tokens", torch::nn::Embedding(m_numMaskTokens, transformerDim));
  using torch::nn::ConvTranspose2d;
  using torch::nn::ConvTranspose2dOptions;
  output_upscaling = register_module(
      "output_upscaling",
      torch::nn::Sequential(ConvTranspose2d(ConvTranspose2dOptions(transformerDim, transformerDim / 4, 2).stride(2)),
                            LayerNorm2d(transformerDim / 4), torch::nn::GELU(),
                            ConvTranspose2d(ConvTranspose2dOptions(transformerDim / 4, transformerDim / 8, 2).stride(2)),
                            torch::nn::GELU()));
  output_hypernetworks_mlps = register_module("output_hypernetworks_mlps", torch::nn::ModuleList());
  for (int64_t i = 0; i < m_numMaskTokens; ++i) {
    output_hypernetworks_mlps->push_back(MLP(transformerDim, transformerDim, transformerDim / 8, 3));
  }
  iou_prediction_head =
      register_module("iou_prediction_head", MLP(transformerDim, iouHeadHiddenDim, m_numMaskTokens, iouHeadDepth));
}

at::Tensor MaskDecoderImpl::upscale(const at::Tensor& src) { return output_upscaling->forward(src); }

std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::predictMasks(const at::Tensor& imageEmbeddings,
                                                                const at::Tensor& imagePe, const at::Tensor& sparse,
                                                                const at::Tensor& dense) {
  const int64_t B = sparse.size(0);
  at::Tensor outputTokens = at::cat({iou_token->weight, mask_tokens->weight}, 0);
  outputTokens = outputTokens.unsqueeze(0).expand({B, -1, -1});
  at::Tensor tokens = at::cat({outputTokens, sparse}, 1);  // [B, 1 + 4 + N, C]

  // One copy of the image embedding per prompt set (SAM's repeat_interleave over the batch).
  at::Tensor src = imageEmbeddings.size(0) == B ? imageEmbeddings : imageEmbeddings.expand({B, -1, -1, -1});
  src = src + dense;
  at::Tensor posSrc = imagePe.expand({B, -1, -1, -1});
  const int64_t c = src.size(1), h = src.size(2), w = src.size(3);

  auto [hs, keys] = transformer->forward(src, posSrc, tokens);
  at::Tensor iouTokenOut = hs.select(1, 0);
  at::Tensor maskTokensOut = hs.narrow(1, 1, m_numMaskTokens);

  at::Tensor upscaled = upscale(keys.transpose(1, 2).reshape({B, c, h, w}));  // [B, C/8, 4h, 4w]
  std::vector<at::Tensor> hyper;
  for (int64_t i = 0; i < m_numMaskTokens; ++i) {
    hyper.push_back(output_hypernetworks_mlps[i]->as<MLPImpl>()->forward(maskTokensOut.select(1, i)));
  }
  at::Tensor hyperIn = at::stack(hyper, 1);  // [B, 4, C/8]
  const int64_t uc = upscaled.size(1), uh = upscaled.size(2), uw = upscaled.size(3);
  at::Tensor masks = at::bmm(hyperIn, upscaled.view({B, uc, uh * uw})).view({B, -1, uh, uw});
  at::Tensor iou = iou_prediction_head->forward(iouTokenOut);
  return {masks, iou};
}

std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::forward(const at::Tensor& imageEmbeddings,
                                                           const at::Tensor& imagePe, const at::Tensor& sparse,
                                                           const at::Tensor& dense, bool multimask) {
  auto [masks, iou] = predictMasks(imageEmbeddings, imagePe, sparse, dense);
  if (multimask) return {masks.narrow(1, 1, m_numMaskTokens - 1), iou.narrow(1, 1, m_numMaskTokens - 1)};
  return {masks.narrow(1, 0, 1), iou.narrow(1, 0, 1)};
}

}  // namespace supersam::model
