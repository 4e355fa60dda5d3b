#include "core/eval/miou.h"

#include <ATen/ATen.h>

#include <gtest/gtest.h>

using namespace supersam::eval;

namespace {
at::Tensor rect(int64_t h, int64_t w, int64_t y0, int64_t x0, int64_t rh, int64_t rw) {
  at::Tensor m = at::zeros({h, w}, at::kBool);
  m.narrow(0, y0, rh).narrow(1, x0, rw).fill_(true);
  return m;
}
}  // namespace

TEST(Miou, HandMadeMasks) {
  at::Tensor a = rect(10, 10, 0, 0, 4, 5);  // 20 px
  at::Tensor b = rect(10, 10, 2, 0, 4, 5);  // 20 px, overlap 2x5 = 10
  EXPECT_DOUBLE_EQ(maskIou(a, b), 10.0 / 30.0);
  EXPECT_DOUBLE_EQ(maskIou(a, a), 1.0);
  EXPECT_DOUBLE_EQ(maskIou(a, rect(10, 10, 6, 6, 2, 2)), 0.0);
  EXPECT_DOUBLE_EQ(maskIou(at::zeros({3, 3}), at::zeros({3, 3})), 1.0);
  EXPECT_DOUBLE_EQ(maskIou(a.to(at::kFloat), b.to(at::kByte)), 10.0 / 30.0);
}

TEST(Miou, CroppedGroundTruthMatchesFullIou) {
  at::Tensor gt = rect(12, 9, 3, 2, 5, 4);
  CroppedMask c = cropMask(gt);
  EXPECT_EQ(c.x0, 2);
  EXPECT_EQ(c.y0, 3);
  EXPECT_EQ(c.area, 20);
  EXPECT_EQ(c.crop.sizes(), (at::IntArrayRef{5, 4}));
  at::Tensor preds = at::stack({gt, rect(12, 9, 0, 0, 12, 9), rect(12, 9, 0, 0, 1, 1), rect(12, 9, 4, 3, 6, 6)});
  at::Tensor ious = iouAgainst(preds, c);
  ASSERT_EQ(ious.size(0), 4);
  for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(ious[i].item<double>(), maskIou(preds[i], gt), 1e-6) << i;
  EXPECT_NEAR(ious[1].item<double>(), 20.0 / 108.0, 1e-6);
  // Empty ground truth: IoU 1 for an empty prediction, 0 otherwise.
  CroppedMask empty = cropMask(at::zeros({4, 4}, at::kBool));
  at::Tensor e = iouAgainst(at::stack({at::zeros({4, 4}, at::kBool), rect(4, 4, 0, 0, 1, 1)}), empty);
  EXPECT_FLOAT_EQ(e[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(e[1].item<float>(), 0.0f);
}

TEST(Miou, Accumulator) {
  MiouAccumulator acc, other;
  EXPECT_EQ(acc.mean(), 0.0);
  acc.add(0.5);
  acc.add(1.0);
  other.add(0.0);
  acc.merge(other);
  EXPECT_EQ(acc.count(), 3);
  EXPECT_DOUBLE_EQ(acc.mean(), 0.5);
}

TEST(Miou, BoxFillBaselineIsTheIouOfTheFilledTightBox) {
  // An L shape: 4 x 3 box, 6 pixels; filling its box gives IoU 6 / 12, as maskIou of the filled box says.
  at::Tensor gt = at::zeros({6, 8}, at::kBool);
  gt.slice(0, 1, 5).slice(1, 2, 3).fill_(true);  // 4 rows of column 2
  gt.slice(0, 4, 5).slice(1, 2, 5).fill_(true);  // the bottom row, columns 2-4
  const CroppedMask c = cropMask(gt);
  at::Tensor filled = at::zeros({6, 8}, at::kBool);
  filled.slice(0, 1, 5).slice(1, 2, 5).fill_(true);
  EXPECT_NEAR(boxFillIou(c), 6.0 / 12.0, 1e-12);
  EXPECT_NEAR(boxFillIou(c), maskIou(filled, gt), 1e-12);
  EXPECT_DOUBLE_EQ(boxFillIou(cropMask(at::zeros({4, 4}, at::kBool))), 0.0);
}
