#include "core/model/sam.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <ATen/ATen.h>

namespace supersam::model {

SamImpl::SamImpl(const SamArch& arch) : m_arch(arch) {
  arch.validate();
  const int64_t side = arch.tokensPerSide();
  image_encoder = register_module("image_encoder", ImageEncoderViT(arch));
  prompt_encoder = register_module(
      "prompt_encoder", PromptEncoder(arch.promptEmbedDim, std::array<int64_t, 2>{side, side},
                                      std::array<int64_t, 2>{arch.imageSize, arch.imageSize}, arch.maskInChans));
  mask_decoder = register_module(
      "mask_decoder",
      MaskDecoder(arch.promptEmbedDim, TwoWayTransformer(2, arch.promptEmbedDim, arch.decoderNumHeads, arch.decoderMlpDim),
                  3, 3, arch.iouHeadHiddenDim));
}

at::Tensor SamImpl::encodeImage(const at::Tensor& x, const ElasticConfig* cfg) { return image_encoder->forward(x, cfg); }

DecoderOutput SamImpl::decode(const at::Tensor& imageEmbedding, const at::Tensor& pointCoords,
                              const at::Tensor& pointLabels, const at::Tensor& boxes, const at::Tensor& maskInput,
                              bool multimask) {
  TORCH_CHECK(pointCoords.defined() || boxes.defined() || maskInput.defined(),
              "Sam::decode: give at least one of points, box, mask input");
  auto [sparse, dense] = prompt_encoder->forward(pointCoords, pointLabels, boxes, maskInput);
  auto [masks, iou] =
      mask_decoder->forward(imageEmbedding, prompt_encoder->getDensePe(), sparse, dense, multimask);
  return {masks, iou};
}

TransformerImageCache SamImpl::prepareDecoder(const at::Tensor& imageEmbedding) {
  const int64_t side = m_arch.tokensPerSide();
  at::Tensor dense = prompt_encoder->no_mask_embed->weight.reshape({1, -1, 1, 1}).expand({1, -1, side, side});
  return mask_decoder->prepareImage(imageEmbedding, prompt_encoder->getDensePe(), dense);
}

DecoderOutput SamImpl::decode(const TransformerImageCache& image, const at::Tensor& pointCoords,
                              const at::Tensor& pointLabels, const at::Tensor& boxes, bool multimask) {
  TORCH_CHECK(image.defined(), "Sam::decode: the decoder cache is empty (call prepareDecoder)");
  TORCH_CHECK(pointCoords.defined() || boxes.defined(), "Sam::decode: give points or a box");
  at::Tensor sparse = prompt_encoder->forward(pointCoords, pointLabels, boxes, at::Tensor()).first;
  auto [masks, iou] = mask_decoder->forward(image, sparse, multimask);
  return {masks, iou};
}

at::Tensor SamImpl::preprocess(const at::Tensor& x) const {
  auto opts = x.options().dtype(at::kFloat);
  at::Tensor mean = at::tensor(at::ArrayRef<float>(kPixelMean.data(), 3), opts.device(at::kCPU)).to(x.device());
  at::Tensor stdv = at::tensor(at::ArrayRef<float>(kPixelStd.data(), 3), opts.device(at::kCPU)).to(x.device());
  at::Tensor y = (x.to(at::kFloat) - mean.view({1, 3, 1, 1})) / stdv.view({1, 3, 1, 1});
  const int64_t padH = m_arch.imageSize - y.size(2), padW = m_arch.imageSize - y.size(3);
  TORCH_CHECK(padH >= 0 && padW >= 0, "Sam::preprocess: image ", y.sizes(), " larger than image_size ",
              m_arch.imageSize);
  return at::constant_pad_nd(y, {0, padW, 0, padH}, 0.0);
}

at::Tensor SamImpl::postprocessMasks(const at::Tensor& masks, std::array<int64_t, 2> inputHW,
                                     std::array<int64_t, 2> originalHW) const {
  const int64_t S = m_arch.imageSize, L = masks.size(-1);
  // SAM upsamples to S x S and then crops to the input size. Only the low-res rows/columns that the crop reads are
  // upsampled here (with the same S/L scale passed explicitly, so every kept output pixel is computed exactly as in
  // the full upsample): one extra source row/column beyond the last one used keeps the border interpolation equal.
  const double f = static_cast<double>(S) / static_cast<double>(L);
  const auto [lh, lw] = lowResExtentForCrop(S, L, inputHW);
  at::Tensor m = masks.narrow(2, 0, lh).narrow(3, 0, lw);
  m = at::upsample_bilinear2d(m, {static_cast<int64_t>(std::llround(lh * f)), static_cast<int64_t>(std::llround(lw * f))},
                              false, f, f);
  m = m.narrow(2, 0, inputHW[0]).narrow(3, 0, inputHW[1]);
  return at::upsample_bilinear2d(m, {originalHW[0], originalHW[1]}, false);
}

std::array<int64_t, 2> lowResExtentForCrop(int64_t S, int64_t L, std::array<int64_t, 2> inputHW) {
  const double f = static_cast<double>(S) / static_cast<double>(L);
  auto extent = [&](int64_t n) {
    return std::min(L, static_cast<int64_t>(std::ceil(static_cast<double>(n) / f)) + 2);
  };
  return {extent(inputHW[0]), extent(inputHW[1])};
}

void initPositionEmbeddingSinCos(SamImpl& sam) {
  at::NoGradGuard noGrad;
  at::Tensor& pe = sam.image_encoder->pos_embed;  // [1, side, side, dim]
  const int64_t side = pe.size(1), dim = pe.size(3);
  if (dim % 4 != 0) throw std::invalid_argument("sine-cosine position embedding needs a width divisible by 4");
  const int64_t quarter = dim / 4;
  at::Tensor omega = at::arange(quarter, at::kDouble) / static_cast<double>(quarter);
  omega = 1.0 / at::pow(10000.0, omega);                                     // [dim/4]
  at::Tensor pos = at::arange(side, at::kDouble);                           // [side]
  at::Tensor angle = pos.unsqueeze(1) * omega.unsqueeze(0);                 // [side, dim/4]
  at::Tensor enc = at::cat({at::sin(angle), at::cos(angle)}, 1);           // [side, dim/2]
  at::Tensor rows = enc.unsqueeze(1).expand({side, side, dim / 2});         // varies with y
  at::Tensor cols = enc.unsqueeze(0).expand({side, side, dim / 2});         // varies with x
  pe.copy_(at::cat({rows, cols}, 2).unsqueeze(0).to(pe.scalar_type()));
}

}  // namespace supersam::model
