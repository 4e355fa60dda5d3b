#pragma once
// SAM's predictor (segment_anything/predictor.py): set an image once (resize the longest side to image_size,
// normalise, pad, encode), then predict masks per prompt set from the cached embedding. Masks come back at the
// original image size; logits and the low-res logits (for feeding back as a mask input) are available.
// Thread-safety: setImage/setEncoderInput/setEmbedding mutate; predict/predictBatch are const and may run
// concurrently with each other once an image is set (not concurrently with a set*).

#include <array>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/model/arch.h"
#include "core/model/elastic.h"
#include "core/model/sam.h"

namespace supersam::infer {

struct Prompt {
  std::vector<std::array<float, 2>> points;  // (x, y) in original-image pixels
  std::vector<int> labels;                   // one per point: 1 foreground, 0 background
  std::optional<std::array<float, 4>> box;   // x0, y0, x1, y1 in original-image pixels
  at::Tensor maskInput;                      // optional [1, L, L] (or [L, L]) low-res logits of a previous prediction
  bool multimask = false;                    // 3 masks (ranked by the caller with iou) instead of 1
  bool returnLogits = false;                 // also form the full-size float logits (Prediction::maskLogits)
};

struct Prediction {
  at::Tensor masks;         // [M, H, W] bool, original size (logits > 0)
  at::Tensor maskLogits;    // [M, H, W] float; only when the prompt asked for it (returnLogits), else undefined
  at::Tensor iou;           // [M] predicted IoU
  at::Tensor lowResLogits;  // [M, L, L], L = arch.lowResSize()
};

// rgbHwcU8 [H, W, 3] uint8 RGB (any device) -> [1, 3, S, S] float normalised and zero-padded, on the same device.
// The longest side is resized to image_size with OpenCV: bilinear when enlarging, area averaging when shrinking.
// The reference uses PIL's antialiased bilinear; plain cv::INTER_LINEAR does not antialias and lands further from it
// (fixture end to end: max|a-b|/std 0.37 with INTER_LINEAR vs 0.20 with INTER_AREA). inputHW (optional out)
// receives the resized size.
at::Tensor preprocessImage(const at::Tensor& rgbHwcU8, const model::SamArch& arch, std::array<int64_t, 2>* inputHW);

// rgbHwcU8 [h, w, 3] uint8 with h, w <= image_size, already at its input size -> [1, 3, S, S] float, normalised with
// SAM's pixel mean/std and zero-padded bottom/right (the second half of preprocessImage; training augmentation
// composes its own resized image). util::Error when the image does not fit the frame.
at::Tensor normaliseAndPad(const at::Tensor& rgbHwcU8, const model::SamArch& arch);

// SAM's ResizeLongestSide target size for an image of (h, w).
std::array<int64_t, 2> resizedSize(int64_t h, int64_t w, int64_t longSide);

class Predictor {
 public:
  explicit Predictor(model::Sam sam, c10::Device device = c10::kCPU);

  // Throws util::Error if the tensor is not [H, W, 3] uint8.
  void setImage(const at::Tensor& rgbHwcU8, const model::ElasticConfig& cfg = {});
  // input [1, 3, S, S] already normalised and padded (bypasses the resize; parity tests).
  void setEncoderInput(const at::Tensor& input, std::array<int64_t, 2> originalHW, std::array<int64_t, 2> inputHW,
                       const model::ElasticConfig& cfg = {});
  // emb [1, C, h, w] from an earlier encode.
  void setEmbedding(const at::Tensor& emb, std::array<int64_t, 2> originalHW, std::array<int64_t, 2> inputHW);

  bool hasImage() const { return m_embedding.defined(); }
  at::Tensor embedding() const { return m_embedding; }
  std::array<int64_t, 2> originalSize() const { return m_originalHW; }
  std::array<int64_t, 2> inputSize() const { return m_inputHW; }

  // Throws util::Error when no image is set, the prompt is empty, labels do not match points, or a mask input has
  // the wrong size. Points/boxes outside the image are allowed (SAM accepts them); callers validate if they care.
  Prediction predict(const Prompt& p) const;
  // Prompts of the same kind (same number of points, all with or all without box / mask input, same multimask)
  // run as one batch; otherwise they run one by one. Results in order.
  std::vector<Prediction> predictBatch(const std::vector<Prompt>& prompts) const;

  model::Sam model() const { return m_sam; }
  c10::Device device() const { return m_device; }

 private:
  std::vector<Prediction> run(const std::vector<Prompt>& prompts) const;  // one batch of same-kind prompts
  model::Sam m_sam;
  c10::Device m_device;
  at::Tensor m_embedding;
  model::TransformerImageCache m_decoderImage;  // the decoder's per-image work (prompts without a mask input)
  std::array<int64_t, 2> m_originalHW{0, 0}, m_inputHW{0, 0};
};

}  // namespace supersam::infer
