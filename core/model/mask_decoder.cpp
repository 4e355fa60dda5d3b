#include "core/model/mask_decoder.h"

#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "core/model/common.h"
#include "core/model/decoder_kernels.h"
#include "core/model/gemm.h"

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
    x = linear(x, lin->weight, lin->bias);
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

namespace {
// A 2x2 stride-2 transposed convolution is a matrix product per pixel: [.., Cin] @ [Cin, 2*2*Cout] gives each input
// pixel's 2x2 output block, channels last. Weight [Cin, Cout, 2, 2] -> [Cin, (di, dj, Cout)]. Without `withBias`
// the bias is left to the caller (the fused kernels add it in their own pass).
at::Tensor deconvAsMatmul(const at::Tensor& xLast, const torch::nn::ConvTranspose2dImpl& conv, bool withBias) {
  const at::Tensor& w = conv.weight;
  const int64_t cin = w.size(0), cout = w.size(1);
  at::Tensor wm = w.permute({0, 2, 3, 1}).reshape({cin, 4 * cout});
  at::Tensor x2 = xLast.reshape({-1, cin});
  return gemm(x2, wm, withBias ? conv.bias.repeat({4}) : at::Tensor());  // [pixels, 4*Cout]
}
}  // namespace

at::Tensor MaskDecoderImpl::upscale(const at::Tensor& keys, int64_t h, int64_t w, bool finalGelu) {
  // SAM: ConvT(C, C/4) -> LayerNorm2d -> GELU -> ConvT(C/4, C/8) -> GELU, on [B, C, h, w]. Here channels stay last
  // throughout (no NCHW round trips); the result is [B, h, w, 2, 2, 2, 2, C/8] with the output pixel of input pixel
  // (i, j) and sub-positions (di, dj) then (ei, ej) at row 4i + 2di + ei, column 4j + 2dj + ej.
  auto& conv1 = *output_upscaling[0]->as<torch::nn::ConvTranspose2dImpl>();
  auto& norm = *output_upscaling[1]->as<LayerNorm2dImpl>();
  auto& conv2 = *output_upscaling[3]->as<torch::nn::ConvTranspose2dImpl>();
  const int64_t B = keys.size(0), c1 = conv1.weight.size(1), c2 = conv2.weight.size(1);
  const bool fused = fastCpuPath(keys);
  at::Tensor y = deconvAsMatmul(keys, conv1, !fused).view({B * h * w * 4, c1});
  if (fused) {
    const at::Tensor bias = conv1.bias.contiguous(), gamma = norm.weight.contiguous(), beta = norm.bias.contiguous();
    kernels::layerNormRows(y.data_ptr<float>(), y.size(0), c1, bias.data_ptr<float>(), gamma.data_ptr<float>(),
                           beta.data_ptr<float>(), 1e-6f, true);
  } else {
    y = at::gelu(at::layer_norm(y, {c1}, norm.weight, norm.bias, 1e-6));
  }
  y = deconvAsMatmul(y, conv2, finalGelu);
  if (finalGelu) y = inplaceAllowed() ? at::gelu_(y) : at::gelu(y);
  return y.view({B, h, w, 2, 2, 2, 2, c2});
}

at::Tensor MaskDecoderImpl::tokensFor(const at::Tensor& sparse) {
  const int64_t B = sparse.size(0);
  at::Tensor outputTokens = at::cat({iou_token->weight, mask_tokens->weight}, 0);
  outputTokens = outputTokens.unsqueeze(0).expand({B, -1, -1});
  return at::cat({outputTokens, sparse}, 1);  // [B, 1 + 4 + N, C]
}

std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::headsFrom(const at::Tensor& hs, const at::Tensor& keys, int64_t h,
                                                             int64_t w, int64_t firstMask, int64_t numMasks) {
  const int64_t B = hs.size(0);
  at::Tensor iouTokenOut = hs.select(1, 0);
  at::Tensor maskTokensOut = hs.narrow(1, 1, firstMask + numMasks);  // the transformer returned these rows only

  // Only the masks that are returned are formed (SAM forms all four and slices).
  std::vector<at::Tensor> hyper;
  for (int64_t i = firstMask; i < firstMask + numMasks; ++i) {
    hyper.push_back(output_hypernetworks_mlps[i]->as<MLPImpl>()->forward(maskTokensOut.select(1, i)));
  }
  at::Tensor hyperIn = at::stack(hyper, 1);  // [B, M, C/8]
  const int64_t M = numMasks;
  at::Tensor masks;
  if (fastCpuPath(keys)) {
    // The last GELU, the product with the hypernetwork outputs and the pixel order in one pass per image row.
    at::Tensor upscaled = upscale(keys, h, w, false).contiguous();
    hyperIn = hyperIn.contiguous();
    const at::Tensor bias2 = output_upscaling[3]->as<torch::nn::ConvTranspose2dImpl>()->bias.contiguous();
    masks = at::empty({B, M, 4 * h, 4 * w}, upscaled.options());
    const int64_t uc = upscaled.size(-1);
    for (int64_t b = 0; b < B; ++b) {
      kernels::geluHyperMasks(upscaled[b].data_ptr<float>(), h, w, uc, bias2.data_ptr<float>(),
                              hyperIn[b].data_ptr<float>(), M, masks[b].data_ptr<float>());
    }
  } else {
    at::Tensor upscaled = upscale(keys, h, w, true);  // [B, h, w, 2, 2, 2, 2, C/8]
    const int64_t uc = upscaled.size(-1);
    at::Tensor perPixel = at::bmm(upscaled.view({B, h * w * 16, uc}), hyperIn.transpose(1, 2));  // [B, P, M]
    masks = perPixel.view({B, h, w, 2, 2, 2, 2, M})
                .permute({0, 7, 1, 3, 5, 2, 4, 6})  // [B, M, i, di, ei, j, dj, ej]
                .reshape({B, M, 4 * h, 4 * w});
  }
  at::Tensor iou = iou_prediction_head->forward(iouTokenOut).narrow(1, firstMask, numMasks);
  return {masks, iou};
}

std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::predictMasks(const at::Tensor& imageEmbeddings,
                                                                const at::Tensor& imagePe, const at::Tensor& sparse,
                                                                const at::Tensor& dense, int64_t firstMask,
                                                                int64_t numMasks) {
  const int64_t B = sparse.size(0);
  // One copy of the image embedding per prompt set (SAM's repeat_interleave over the batch).
  at::Tensor src = imageEmbeddings.size(0) == B ? imageEmbeddings : imageEmbeddings.expand({B, -1, -1, -1});
  src = src + dense;
  at::Tensor posSrc = imagePe.expand({B, -1, -1, -1});
  // Only the IoU token and the mask tokens up to the last returned mask are read.
  auto [hs, keys] = transformer->forward(src, posSrc, tokensFor(sparse), 1 + firstMask + numMasks);
  return headsFrom(hs, keys, src.size(2), src.size(3), firstMask, numMasks);
}

TransformerImageCache MaskDecoderImpl::prepareImage(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                                    const at::Tensor& dense) {
  return transformer->prepareImage(imageEmbedding + dense, imagePe);
}

std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::forward(const TransformerImageCache& image,
                                                           const at::Tensor& sparse, bool multimask) {
  const int64_t firstMask = multimask ? 1 : 0, numMasks = multimask ? m_numMaskTokens - 1 : 1;
  auto [hs, keys] = transformer->forward(image, tokensFor(sparse), 1 + firstMask + numMasks);
  return headsFrom(hs, keys, image.h, image.w, firstMask, numMasks);
}

std::pair<at::Tensor, at::Tensor> MaskDecoderImpl::forward(const at::Tensor& imageEmbeddings,
                                                           const at::Tensor& imagePe, const at::Tensor& sparse,
                                                           const at::Tensor& dense, bool multimask) {
  if (multimask) return predictMasks(imageEmbeddings, imagePe, sparse, dense, 1, m_numMaskTokens - 1);
  return predictMasks(imageEmbeddings, imagePe, sparse, dense, 0, 1);
}

}  // namespace supersam::model
