#pragma once
// Intersection over union of binary masks and the running means the evaluator reports.
// Thread-safety: pure functions; MiouAccumulator is a plain value (not shared between threads).

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace supersam::eval {

// a, b: [H, W] masks (any dtype, nonzero = foreground), same shape. Both empty -> 1 (they agree).
double maskIou(const at::Tensor& a, const at::Tensor& b);

// A ground-truth mask kept as its bounding-box crop: IoU against full-size predictions only touches the crop for
// the intersection, and prepared evaluation sets stay small.
struct CroppedMask {
  at::Tensor crop;  // [h, w] bool, the mask inside its tight box
  int64_t x0 = 0, y0 = 0;
  int64_t height = 0, width = 0;  // full mask size
  int64_t area = 0;
};
CroppedMask cropMask(const at::Tensor& mask);  // mask [H, W], nonzero = foreground

// predictions [M, H, W] (bool or 0/1), gt of the same H, W -> [M] float IoUs (union 0 -> 1).
at::Tensor iouAgainst(const at::Tensor& predictions, const CroppedMask& gt);

// IoU of the trivial answer "the mask is the whole box" against gt, for the gt's tight box (the exact box prompt):
// area / box area. The baseline every box-prompted model has to beat.
double boxFillIou(const CroppedMask& gt);

class MiouAccumulator {
 public:
  void add(double iou) {
    m_sum += iou;
    ++m_count;
  }
  void merge(const MiouAccumulator& o) {
    m_sum += o.m_sum;
    m_count += o.m_count;
  }
  int64_t count() const { return m_count; }
  double mean() const { return m_count ? m_sum / static_cast<double>(m_count) : 0.0; }  // 0 when nothing added

 private:
  double m_sum = 0;
  int64_t m_count = 0;
};

}  // namespace supersam::eval
