#include "core/train/losses.h"

#include <ATen/ATen.h>

namespace supersam::train {

at::Tensor focalLoss(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma) {
  TORCH_CHECK(logits.sizes() == targets.sizes(), "focalLoss: logits ", logits.sizes(), " vs targets ",
              targets.sizes());
  at::Tensor p = at::sigmoid(logits);
  at::Tensor ce = at::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::None);
  at::Tensor pt = p * targets + (1 - p) * (1 - targets);
  at::Tensor loss = ce * at::pow(1 - pt, gamma);
  if (alpha >= 0) loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss;
  return loss.flatten(-2).mean(-1);
}

at::Tensor diceLoss(const at::Tensor& logits, const at::Tensor& targets) {
  TORCH_CHECK(logits.sizes() == targets.sizes(), "diceLoss: logits ", logits.sizes(), " vs targets ",
              targets.sizes());
  at::Tensor p = at::sigmoid(logits).flatten(-2);
  at::Tensor t = targets.flatten(-2);
  at::Tensor num = 2 * (p * t).sum(-1) + 1;
  at::Tensor den = p.sum(-1) + t.sum(-1) + 1;
  return 1 - num / den;
}

at::Tensor maskIoU(const at::Tensor& logits, const at::Tensor& targets) {
  at::NoGradGuard noGrad;
  at::Tensor pred = (logits.detach() > 0).flatten(-2);
  at::Tensor t = (targets > 0.5).flatten(-2);
  at::Tensor inter = (pred & t).sum(-1).to(at::kFloat);
  at::Tensor uni = (pred | t).sum(-1).to(at::kFloat);
  return at::where(uni > 0, inter / uni.clamp_min(1), at::ones_like(uni));
}

at::Tensor distillLoss(const at::Tensor& studentLogits, const at::Tensor& teacherLogits) {
  at::Tensor soft = at::sigmoid(teacherLogits.detach());
  return at::binary_cross_entropy_with_logits(studentLogits, soft, {}, {}, at::Reduction::None)
      .flatten(-2)
      .mean(-1);
}

at::Tensor upsampleLogits(const at::Tensor& lowRes, int64_t size) {
  if (lowRes.size(-1) == size && lowRes.size(-2) == size) return lowRes;
  return at::upsample_bilinear2d(lowRes, {size, size}, /*align_corners=*/false);
}

MaskLoss maskLoss(const at::Tensor& logits, const at::Tensor& iouPred, const at::Tensor& targets,
                  const LossWeights& w, const at::Tensor& teacherLogits) {
  TORCH_CHECK(logits.dim() == 4 && targets.dim() == 3 && logits.size(0) == targets.size(0) &&
                  logits.size(2) == targets.size(1) && logits.size(3) == targets.size(2),
              "maskLoss: logits [N,M,S,S] ", logits.sizes(), " vs targets [N,S,S] ", targets.sizes());
  TORCH_CHECK(iouPred.dim() == 2 && iouPred.size(0) == logits.size(0) && iouPred.size(1) == logits.size(1),
              "maskLoss: iouPred [N,M] ", iouPred.sizes(), " vs logits ", logits.sizes());
  const int64_t n = logits.size(0);
  const int64_t m = logits.size(1);
  at::Tensor t = targets.unsqueeze(1).expand_as(logits).to(logits.scalar_type());
  at::Tensor focal = focalLoss(logits, t, w.focalAlpha, w.focalGamma);  // [N,M]
  at::Tensor dice = diceLoss(logits, t);                                // [N,M]
  at::Tensor maskTerm = w.focal * focal + w.dice * dice;
  at::Tensor chosen = m > 1 ? std::get<1>(maskTerm.detach().min(1))
                            : at::zeros({n}, logits.options().dtype(at::kLong));
  at::Tensor idx = chosen.unsqueeze(1);
  at::Tensor chosenFocal = focal.gather(1, idx).squeeze(1);
  at::Tensor chosenDice = dice.gather(1, idx).squeeze(1);
  at::Tensor chosenLogits =
      logits.gather(1, idx.view({n, 1, 1, 1}).expand({n, 1, logits.size(2), logits.size(3)})).squeeze(1);
  at::Tensor realIoU = maskIoU(chosenLogits, targets);
  at::Tensor predIoU = iouPred.gather(1, idx).squeeze(1);
  at::Tensor iouTerm = (predIoU - realIoU).pow(2);

  MaskLoss out;
  at::Tensor total = w.focal * chosenFocal + w.dice * chosenDice + w.iou * iouTerm;
  if (teacherLogits.defined()) {
    TORCH_CHECK(teacherLogits.sizes() == logits.sizes(), "maskLoss: teacher ", teacherLogits.sizes(), " vs ",
                logits.sizes());
    at::Tensor teacher =
        teacherLogits.gather(1, idx.view({n, 1, 1, 1}).expand({n, 1, logits.size(2), logits.size(3)}))
            .squeeze(1);
    at::Tensor d = distillLoss(chosenLogits, teacher);
    total = total + w.distill * d;
    out.distill = d.mean().item<double>();
  }
  out.total = total.mean();
  out.chosen = chosen;
  out.focal = chosenFocal.mean().item<double>();
  out.dice = chosenDice.mean().item<double>();
  out.iou = iouTerm.mean().item<double>();
  out.realIoU = realIoU.mean().item<double>();
  return out;
}

}  // namespace supersam::train
