#include "core/model/prompt_encoder.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

#include "core/model/common.h"

namespace supersam::model {

PositionEmbeddingRandomImpl::PositionEmbeddingRandomImpl(int64_t numPosFeats, double scale) {
  positional_encoding_gaussian_matrix =
      register_buffer("positional_encoding_gaussian_matrix", at::randn({2, numPosFeats}) * scale);
}

at::Tensor PositionEmbeddingRandomImpl::encode(const at::Tensor& coords01) {
  at::Tensor c = coords01 * 2 - 1;
  c = at::matmul(c, positional_encoding_gaussian_matrix);
  c = c * (2 * M_PI);
  return at::cat({at::sin(c), at::cos(c)}, -1);
}

at::Tensor PositionEmbeddingRandomImpl::forward(int64_t h, int64_t w) {
  auto opts = positional_encoding_gaussian_matrix.options();
  at::Tensor grid = at::ones({h, w}, opts);
  at::Tensor y = (grid.cumsum(0) - 0.5) / static_cast<double>(h);
  at::Tensor x = (grid.cumsum(1) - 0.5) / static_cast<double>(w);
  return encode(at::stack({x, y}, -1)).permute({2, 0, 1});
}

at::Tensor PositionEmbeddingRandomImpl::forwardWithCoords(const at::Tensor& coords, std::array<int64_t, 2> imageSizeHW) {
  at::Tensor c = coords.to(at::kFloat).clone();
  c.select(-1, 0).div_(static_cast<double>(imageSizeHW[1]));
  c.select(-1, 1).div_(static_cast<double>(imageSizeHW[0]));
  return encode(c);
}

// ---------------------------------------------------------------------------------------------------------------
PromptEncoderImpl::PromptEncoderImpl(int64_t embedDim, std::array<int64_t, 2> imageEmbeddingSize,
                                     std::array<int64_t, 2> inputImageSize, int64_t maskInChans)
    : m_embedDim(embedDim), m_embSize(imageEmbeddingSize), m_inputSize(inputImageSize) {
  pe_layer = register_module("pe_layer", PositionEmbeddingRandom(embedDim / 2));
  point_embeddings = register_module("point_embeddings", torch::nn::ModuleList());
  for (int i = 0; i < 4; ++i) point_embeddings->push_back(torch::nn::Embedding(1, embedDim));
  not_a_point_embed = register_module("not_a_point_embed", torch::nn::Embedding(1, embedDim));
  using torch::nn::Conv2d;
  using torch::nn::Conv2dOptions;
  mask_downscaling = register_module(
      "mask_downscaling",
      torch::nn::Sequential(Conv2d(Conv2dOptions(1, maskInChans / 4, 2).stride(2)), LayerNorm2d(maskInChans / 4),
                            torch::nn::GELU(), Conv2d(Conv2dOptions(maskInChans / 4, maskInChans, 2).stride(2)),
                            LayerNorm2d(maskInChans), torch::nn::GELU(),
                            Conv2d(Conv2dOptions(maskInChans, embedDim, 1))));
  no_mask_embed = register_module("no_mask_embed", torch::nn::Embedding(1, embedDim));
}

at::Tensor PromptEncoderImpl::pointEmbedding(int64_t i) const {
  return point_embeddings->ptr(i)->as<torch::nn::EmbeddingImpl>()->weight.view({-1});
}

at::Tensor PromptEncoderImpl::getDensePe() {
  const at::Tensor& g = pe_layer->positional_encoding_gaussian_matrix;
  if (!inplaceAllowed()) return pe_layer->forward(m_embSize[0], m_embSize[1]).unsqueeze(0);
  const int64_t version = g.is_inference() ? 0 : static_cast<int64_t>(g._version());
  if (!m_densePe.defined() || m_densePeKey != g.data_ptr() || m_densePeVersion != version) {
    m_densePe = pe_layer->forward(m_embSize[0], m_embSize[1]).unsqueeze(0);
    m_densePeKey = g.data_ptr();
    m_densePeVersion = version;
  }
  return m_densePe;
}

at::Tensor PromptEncoderImpl::embedPoints(const at::Tensor& coords, const at::Tensor& labelsIn, bool pad) {
  at::Tensor points = coords.to(at::kFloat) + 0.5;  // shift to the pixel centre
  at::Tensor labels = labelsIn.to(at::kLong);
  if (pad) {
    const int64_t B = points.size(0);
    points = at::cat({points, at::zeros({B, 1, 2}, points.options())}, 1);
    labels = at::cat({labels, -at::ones({B, 1}, labels.options())}, 1);
  }
  at::Tensor emb = pe_layer->forwardWithCoords(points, m_inputSize);  // [B, N, C]
  // Same arithmetic as SAM: padding points get exactly not_a_point; others pe + the label's embedding.
  at::Tensor isPad = (labels == -1).unsqueeze(-1);
  at::Tensor isNeg = (labels == 0).unsqueeze(-1);
  at::Tensor isPos = (labels == 1).unsqueeze(-1);
  at::Tensor notAPoint = not_a_point_embed->weight.view({-1});
  emb = at::where(isPad, at::zeros_like(emb) + notAPoint, emb);
  emb = at::where(isNeg, emb + pointEmbedding(0), emb);
  emb = at::where(isPos, emb + pointEmbedding(1), emb);
  return emb;
}

at::Tensor PromptEncoderImpl::embedBoxes(const at::Tensor& boxes) {
  at::Tensor b = boxes.to(at::kFloat) + 0.5;
  at::Tensor corners = pe_layer->forwardWithCoords(b.reshape({-1, 2, 2}), m_inputSize);  // [B, 2, C]
  at::Tensor c0 = corners.select(1, 0) + pointEmbedding(2);
  at::Tensor c1 = corners.select(1, 1) + pointEmbedding(3);
  return at::stack({c0, c1}, 1);
}

at::Tensor PromptEncoderImpl::embedMasks(const at::Tensor& masks) { return mask_downscaling->forward(masks); }

std::pair<at::Tensor, at::Tensor> PromptEncoderImpl::forward(const at::Tensor& coords, const at::Tensor& labels,
                                                             const at::Tensor& boxes, const at::Tensor& masks) {
  int64_t bs = 1;
  if (coords.defined()) {
    bs = coords.size(0);
  } else if (boxes.defined()) {
    bs = boxes.size(0);
  } else if (masks.defined()) {
    bs = masks.size(0);
  }
  auto opts = no_mask_embed->weight.options();
  at::Tensor sparse = at::empty({bs, 0, m_embedDim}, opts);
  if (coords.defined()) {
    TORCH_CHECK(labels.defined() && labels.size(0) == coords.size(0) && labels.size(1) == coords.size(1),
                "PromptEncoder: labels must be [B, N] matching coords ", coords.sizes());
    sparse = at::cat({sparse, embedPoints(coords, labels, !boxes.defined())}, 1);
  }
  if (boxes.defined()) sparse = at::cat({sparse, embedBoxes(boxes)}, 1);
  at::Tensor dense;
  if (masks.defined()) {
    dense = embedMasks(masks.to(at::kFloat));
  } else {
    dense = no_mask_embed->weight.reshape({1, -1, 1, 1}).expand({bs, -1, m_embSize[0], m_embSize[1]});
  }
  return {sparse, dense};
}

}  // namespace supersam::model
