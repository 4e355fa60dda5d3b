#pragma once
// SAM's training losses for the sandwich rule: focal (alpha 0.25, gamma 2) weighted 20 + dice weighted 1 on mask
// logits, MSE between the IoU head and the real IoU of the thresholded prediction, and optional in-place
// distillation (a smaller member matches the largest member's detached mask probabilities).
//
// Resolution choice: the decoder's low-resolution logits [N,M,4h,4w] are bilinearly up-sampled to the arch's
// padded input frame [S,S] (S = image_size) and compared with the ground truth resized into that frame (resize
// longest side + zero pad, exactly as the image). The padding counts as background. Losses are means over pixels
// per mask, then means over objects.
// Thread-safety: pure functions.

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace supersam::train {

struct LossWeights {
  double focal = 20.0;
  double dice = 1.0;
  double iou = 1.0;
  double distill = 1.0;  // weight of the distillation term when it is used
  double focalAlpha = 0.25;
  double focalGamma = 2.0;
};

// Per-mask focal loss, mean over pixels. logits, targets: [..., H, W] (targets 0/1 float) -> [...].
at::Tensor focalLoss(const at::Tensor& logits, const at::Tensor& targets, double alpha = 0.25, double gamma = 2.0);
// Per-mask dice loss 1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1), p = sigmoid(logits). [..., H, W] -> [...].
at::Tensor diceLoss(const at::Tensor& logits, const at::Tensor& targets);
// IoU of (logits > 0) with targets, no gradient; empty union counts as IoU 1. [..., H, W] -> [...].
at::Tensor maskIoU(const at::Tensor& logits, const at::Tensor& targets);
// Soft-target BCE of student logits against sigmoid(teacher) (teacher detached), mean over pixels. -> [...].
at::Tensor distillLoss(const at::Tensor& studentLogits, const at::Tensor& teacherLogits);

// Up-samples low-res logits [N,M,L,L] bilinearly to [N,M,S,S] (align_corners false, as SAM's postprocessing).
at::Tensor upsampleLogits(const at::Tensor& lowRes, int64_t size);

struct MaskLoss {
  at::Tensor total;     // scalar, differentiable: mean over objects of the chosen masks' weighted loss
  at::Tensor chosen;    // [N] int64 index of the mask used for each object (best of M by loss; 0 when M = 1)
  double focal = 0, dice = 0, iou = 0, distill = 0;  // unweighted means over objects, for logging
  double realIoU = 0;  // mean IoU of the chosen masks with the ground truth
};

// logits [N,M,S,S] (already up-sampled), iouPred [N,M], targets [N,S,S] float 0/1. With M > 1 each object keeps
// the mask of lowest focal*wf + dice*wd (SAM's multimask training); the IoU head is trained on the chosen mask.
// teacherLogits: optional [N,M,S,S] from the largest member (same prompt kind); the distillation term compares
// the chosen mask with the teacher's mask of the same index.
MaskLoss maskLoss(const at::Tensor& logits, const at::Tensor& iouPred, const at::Tensor& targets,
                  const LossWeights& w = {}, const at::Tensor& teacherLogits = {});

}  // namespace supersam::train
