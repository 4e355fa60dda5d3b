#pragma once
// SAM's mask post-processing (Sam.postprocess_masks followed by `> 0`) on the CPU, as one pass per mask.
//
// SAM up-samples the [L, L] low-res logits bilinearly to [S, S] (S = image_size), crops the input region [h, w] and
// resizes that bilinearly to the original [H0, W0]. Both resizes (align_corners = false, no anti-aliasing) and the
// crop are linear and separable, so along each axis their composition is one small matrix: every output row (and
// column) is a weighted sum of at most four consecutive low-res rows (columns). Applying it as a column pass over
// the low-res rows the crop reads, then a row pass that writes the mask directly, never forms the S x S or the
// float H0 x W0 intermediates. The result equals SAM's up to float rounding (the sums are associated differently),
// so a mask bit can differ only where SAM's logit is within rounding of 0. When only the masks are wanted, pixels
// whose whole tap window has one sign are set without arithmetic and only the band along the mask's boundary is
// computed (the same bits as the full pass).
//
// Thread-safety: pure functions; the passes run on at::parallel_for.

#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace supersam::infer {

// One axis of the composed map: output i = sum_k weight[i][k] * input[start[i] + k], k < taps[i] <= 4.
struct AxisTaps {
  std::vector<int32_t> start;
  std::vector<uint8_t> taps;
  std::vector<std::array<float, 4>> weight;
  int32_t first = 0, last = -1;  // the range of input indices read by any output
};

// Low-res axis of length L -> bilinear to S -> keep [0, crop) -> bilinear to `out`, with PyTorch's
// upsample_bilinear2d rules (half-pixel centres, source index clamped at 0 and at the last sample).
AxisTaps composedBilinearTaps(int64_t L, int64_t S, int64_t crop, int64_t out);

// lowRes [B, M, L, L] float on the CPU -> masks [B, M, H0, W0] bool (logit > 0), and, when `logits` is not null,
// the float logits [B, M, H0, W0] too. S = the arch's image_size; inputHW = the resized image inside the padding.
void postprocessMasksCpu(const at::Tensor& lowRes, int64_t S, std::array<int64_t, 2> inputHW,
                         std::array<int64_t, 2> originalHW, at::Tensor& masks, at::Tensor* logits);

}  // namespace supersam::infer
