#include "core/eval/miou.h"

#include <ATen/ATen.h>

namespace supersam::eval {

double maskIou(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 2 && a.sizes() == b.sizes(), "maskIou: expected two [H, W] masks of one shape, got ",
              a.sizes(), " and ", b.sizes());
  at::Tensor ab = a.ne(0), bb = b.ne(0);
  const int64_t inter = ab.logical_and(bb).sum().item<int64_t>();
  const int64_t uni = ab.logical_or(bb).sum().item<int64_t>();
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

CroppedMask cropMask(const at::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 2, "cropMask: expected [H, W], got ", mask.sizes());
  at::Tensor m = mask.ne(0).cpu();
  CroppedMask out;
  out.height = m.size(0);
  out.width = m.size(1);
  out.area = m.sum().item<int64_t>();
  if (out.area == 0) {
    out.crop = at::zeros({0, 0}, at::kBool);
    return out;
  }
  at::Tensor rows = m.any(1).nonzero().view(-1), cols = m.any(0).nonzero().view(-1);
  out.y0 = rows.min().item<int64_t>();
  out.x0 = cols.min().item<int64_t>();
  const int64_t h = rows.max().item<int64_t>() - out.y0 + 1, w = cols.max().item<int64_t>() - out.x0 + 1;
  out.crop = m.narrow(0, out.y0, h).narrow(1, out.x0, w).contiguous();
  return out;
}

at::Tensor iouAgainst(const at::Tensor& predictions, const CroppedMask& gt) {
  TORCH_CHECK(predictions.dim() == 3 && predictions.size(1) == gt.height && predictions.size(2) == gt.width,
              "iouAgainst: predictions ", predictions.sizes(), " do not match the ground truth [", gt.height, ", ",
              gt.width, "]");
  at::Tensor p = predictions.scalar_type() == at::kBool ? predictions : predictions.ne(0);
  at::Tensor predArea = p.sum({1, 2}).to(at::kDouble);
  at::Tensor inter = at::zeros_like(predArea);
  if (gt.area > 0) {
    at::Tensor window = p.narrow(1, gt.y0, gt.crop.size(0)).narrow(2, gt.x0, gt.crop.size(1));
    inter = window.logical_and(gt.crop.to(p.device()).unsqueeze(0)).sum({1, 2}).to(at::kDouble);
  }
  at::Tensor uni = predArea + static_cast<double>(gt.area) - inter;
  return at::where(uni > 0, inter / uni.clamp_min(1.0), at::ones_like(uni)).to(at::kFloat).cpu();
}

double boxFillIou(const CroppedMask& gt) {
  const int64_t boxArea = gt.crop.defined() ? gt.crop.size(0) * gt.crop.size(1) : 0;
  return boxArea > 0 ? static_cast<double>(gt.area) / static_cast<double>(boxArea) : 0.0;
}

}  // namespace supersam::eval
