#pragma once
// The whole SAM (segment_anything/modeling/sam.py): image encoder, prompt encoder, mask decoder, registered under
// SAM's names so named_parameters() equal the official state-dict keys. pixel_mean/std are not part of the state
// dict (SAM registers them as non-persistent buffers), so they are plain constants here.
// Thread-safety: read-only in inference; the first decode fills a small cache (dense positional encoding), so run
// one decode before sharing a model across threads.

#include <array>
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/model/arch.h"
#include "core/model/elastic.h"
#include "core/model/image_encoder.h"
#include "core/model/mask_decoder.h"
#include "core/model/prompt_encoder.h"

namespace supersam::model {

// ImageNet statistics in 0-255, RGB.
constexpr std::array<float, 3> kPixelMean = {123.675f, 116.28f, 103.53f};
constexpr std::array<float, 3> kPixelStd = {58.395f, 57.12f, 57.375f};

struct DecoderOutput {
  at::Tensor lowResMasks;  // [B, M, 4h, 4w] logits
  at::Tensor iou;          // [B, M]
};

class SamImpl : public torch::nn::Module {
 public:
  explicit SamImpl(const SamArch& arch);
  const SamArch& arch() const { return m_arch; }

  // x [B, 3, S, S] normalised and padded (see preprocess) -> [B, C, S/16, S/16]
  at::Tensor encodeImage(const at::Tensor& x, const ElasticConfig* cfg = nullptr);

  // imageEmbedding [1, C, h, w]; pointCoords [B, N, 2] input-frame pixels (x, y) and pointLabels [B, N], boxes
  // [B, 4] input-frame xyxy, maskInput [B, 1, 4h, 4w]: each optional (undefined), at least one given.
  // M = 3 if multimask else 1, as the official predictor.
  DecoderOutput decode(const at::Tensor& imageEmbedding, const at::Tensor& pointCoords, const at::Tensor& pointLabels,
                       const at::Tensor& boxes, const at::Tensor& maskInput, bool multimask);
  // The decoder's prompt-independent work for one image embedding [1, C, h, w] without a mask input (SAM repeats it
  // for every prompt), and decode() from it: the same outputs up to float rounding. The cache's decode takes no
  // mask input (a mask input changes the dense embedding: use decode() above).
  TransformerImageCache prepareDecoder(const at::Tensor& imageEmbedding);
  DecoderOutput decode(const TransformerImageCache& image, const at::Tensor& pointCoords,
                       const at::Tensor& pointLabels, const at::Tensor& boxes, bool multimask);

  // [B, 3, h, w] float RGB 0-255 (h, w <= S) -> normalised, zero-padded bottom/right to [B, 3, S, S].
  at::Tensor preprocess(const at::Tensor& x) const;
  // masks [B, M, 4h, 4w] -> [B, M, H0, W0]: bilinear to S x S, crop to inputHW, bilinear to originalHW.
  at::Tensor postprocessMasks(const at::Tensor& masks, std::array<int64_t, 2> inputHW,
                              std::array<int64_t, 2> originalHW) const;

  ImageEncoderViT image_encoder{nullptr};
  PromptEncoder prompt_encoder{nullptr};
  MaskDecoder mask_decoder{nullptr};

 private:
  SamArch m_arch;
};
TORCH_MODULE(Sam);

// Post-processing crops the S x S up-sampled masks to the input size; this is how many low-res rows and columns of
// an L x L mask that crop reads, plus one spare each so that the last kept rows interpolate as in the full resize.
std::array<int64_t, 2> lowResExtentForCrop(int64_t S, int64_t L, std::array<int64_t, 2> inputHW);

// Initialisation for training from scratch (no MAE pre-training): the encoder's absolute position embedding is set to
// MAE's fixed 2-D sine-cosine table instead of SAM's zeros, so that the image embedding carries position from the
// first step (with zeros, a flat region embeds identically everywhere and the decoder cannot place a box's mask).
// Half of the channels encode the row, half the column, each as sin/cos at dim/4 geometric frequencies.
void initPositionEmbeddingSinCos(SamImpl& sam);

}  // namespace supersam::model
