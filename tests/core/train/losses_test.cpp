// Losses and schedule against values computed by hand (python, float64) for a 2x2 mask.
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/train/losses.h"
#include "core/train/schedule.h"

using namespace supersam::train;

namespace {
at::Tensor logits2x2() { return at::tensor({0.0f, 2.0f, -1.0f, 3.0f}).view({1, 2, 2}); }
at::Tensor targets2x2() { return at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 2, 2}); }
}  // namespace

TEST(Losses, FocalMatchesHandComputed) {
  EXPECT_NEAR(focalLoss(logits2x2(), targets2x2()).item<double>(), 0.32447529932838176, 1e-6);
}

TEST(Losses, DiceMatchesHandComputed) {
  EXPECT_NEAR(diceLoss(logits2x2(), targets2x2()).item<double>(), 0.30293996172177384, 1e-6);
}

TEST(Losses, IoUOfThresholdedPrediction) {
  EXPECT_NEAR(maskIoU(logits2x2(), targets2x2()).item<double>(), 1.0 / 3.0, 1e-6);
  // Empty prediction and empty target: IoU 1 by convention.
  EXPECT_NEAR(maskIoU(-at::ones({1, 2, 2}), at::zeros({1, 2, 2})).item<double>(), 1.0, 1e-6);
}

TEST(Losses, DistillMatchesHandComputed) {
  at::Tensor teacher = at::tensor({1.0f, -1.0f, 0.0f, 2.0f}).view({1, 2, 2});
  EXPECT_NEAR(distillLoss(logits2x2(), teacher).item<double>(), 0.8754125385053113, 1e-6);
}

TEST(Losses, MaskLossCombinesTermsAndPicksBestOfThree) {
  // Object 0 with three candidate masks; mask 1 is perfect-ish, so it must be chosen.
  at::Tensor t = targets2x2();
  at::Tensor good = (t * 2 - 1) * 8;  // confident and right
  at::Tensor logits = at::stack({logits2x2()[0], good[0], -logits2x2()[0]}).unsqueeze(0);  // [1,3,2,2]
  at::Tensor iouPred = at::tensor({0.2f, 0.9f, 0.1f}).view({1, 3});
  MaskLoss l = maskLoss(logits, iouPred, t);
  EXPECT_EQ(l.chosen.item<int64_t>(), 1);
  EXPECT_NEAR(l.realIoU, 1.0, 1e-6);
  const double focal = focalLoss(good, t).item<double>();
  const double dice = diceLoss(good, t).item<double>();
  const double iouTerm = (0.9 - 1.0) * (0.9 - 1.0);
  EXPECT_NEAR(l.total.item<double>(), 20 * focal + dice + iouTerm, 1e-5);

  // Single mask: the hand-computed numbers with weights 20 / 1 / 1; IoU head 0.5 vs real 1/3.
  MaskLoss s = maskLoss(logits2x2().unsqueeze(1), at::full({1, 1}, 0.5f), t);
  const double expect = 20 * 0.32447529932838176 + 0.30293996172177384 + std::pow(0.5 - 1.0 / 3.0, 2);
  EXPECT_NEAR(s.total.item<double>(), expect, 1e-5);
}

TEST(Losses, GradientFlowsToLogitsAndIouHeadButNotThroughRealIoU) {
  at::Tensor logits = logits2x2().unsqueeze(1).requires_grad_(true);
  at::Tensor iouPred = at::full({1, 1}, 0.5f).requires_grad_(true);
  at::Tensor teacher = at::zeros({1, 1, 2, 2});
  MaskLoss l = maskLoss(logits, iouPred, targets2x2(), LossWeights{}, teacher);
  l.total.backward();
  ASSERT_TRUE(logits.grad().defined());
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);
  // d/dp (p - 1/3)^2 = 2 (0.5 - 1/3)
  EXPECT_NEAR(iouPred.grad().item<double>(), 2 * (0.5 - 1.0 / 3.0), 1e-5);
  EXPECT_GT(l.distill, 0.0);
}

TEST(Losses, UpsampleKeepsOrResizes) {
  at::Tensor x = at::randn({2, 3, 4, 4});
  EXPECT_TRUE(upsampleLogits(x, 4).equal(x));
  EXPECT_EQ(upsampleLogits(x, 16).sizes(), (at::IntArrayRef{2, 3, 16, 16}));
}

TEST(Schedule, WarmupThenCosine) {
  WarmupCosine s{1e-3, 10, 110, 0.0};
  EXPECT_NEAR(s.lr(0), 1e-4, 1e-12);
  EXPECT_NEAR(s.lr(4), 5e-4, 1e-12);
  EXPECT_NEAR(s.lr(9), 1e-3, 1e-12);
  EXPECT_NEAR(s.lr(10), 1e-3, 1e-12);   // start of the decay
  EXPECT_NEAR(s.lr(60), 5e-4, 1e-12);   // half way: cos(pi/2) = 0
  EXPECT_NEAR(s.lr(110), 0.0, 1e-12);   // end
  EXPECT_NEAR(s.lr(500), 0.0, 1e-12);   // clamped past the end
  WarmupCosine floor{1e-3, 0, 100, 0.1};
  EXPECT_NEAR(floor.lr(0), 1e-3, 1e-12);
  EXPECT_NEAR(floor.lr(100), 1e-4, 1e-12);
  EXPECT_NEAR(floor.lr(50), 1e-4 + 0.9e-3 * 0.5, 1e-12);
}
