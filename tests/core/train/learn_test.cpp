// The losses teach what they should: free logits optimised with Adam on focal + dice + IoU MSE converge to the target
// mask (IoU of the thresholded logits > 0.95) and the IoU head to the real IoU; the decoder learns box -> mask.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "core/model/sam.h"
#include "core/train/losses.h"
#include "tests/common/test_paths.h"

using namespace supersam;

TEST(Learning, FreeLogitsFitTheTarget) {
  at::Tensor target = at::zeros({1, 64, 64});
  target[0].narrow(0, 10, 20).narrow(1, 5, 30).fill_(1);
  at::Tensor logits = at::zeros({1, 1, 64, 64}).requires_grad_(true);
  at::Tensor iou = at::zeros({1, 1}).requires_grad_(true);
  torch::optim::Adam opt({logits, iou}, torch::optim::AdamOptions(1e-1));
  train::MaskLoss l;
  for (int i = 0; i < 60; ++i) {
    opt.zero_grad();
    l = train::maskLoss(logits, iou, target);
    l.total.backward();
    opt.step();
  }
  EXPECT_GT(l.realIoU, 0.95);
  EXPECT_NEAR(iou.item<double>(), l.realIoU, 0.1);
}


// The tiny mask decoder learns "box -> inside of the box" on a fixed random image embedding. Measured: with
// focal:dice = 1:1 the IoU reaches 0.95 in 100 Adam steps; with SAM's 20:1 only 0.48 (the focal term first pulls
// every logit negative), which is why the demo supernet, trained from random init on a tight CPU budget, uses 1:1.
TEST(Learning, DecoderLearnsBoxFillOnAFixedEmbedding) {
  at::manual_seed(3);
  model::Sam sam(model::SamArch::fromFile(test::fixturesDir() + "/tiny/arch.json"));
  const int64_t s = sam->arch().imageSize;
  at::Tensor emb = at::randn({1, sam->arch().promptEmbedDim, s / 16, s / 16});
  at::Tensor boxes = at::tensor({16.f, 24.f, 80.f, 100.f, 60.f, 10.f, 120.f, 50.f}).view({2, 4});
  at::Tensor target = at::zeros({2, s, s});
  target[0].narrow(0, 24, 76).narrow(1, 16, 64).fill_(1);
  target[1].narrow(0, 10, 40).narrow(1, 60, 60).fill_(1);
  torch::optim::Adam opt(sam->mask_decoder->parameters(), torch::optim::AdamOptions(1e-3));
  train::LossWeights w;
  w.focal = 1.0;
  train::MaskLoss l;
  for (int i = 0; i < 100; ++i) {
    opt.zero_grad();
    model::DecoderOutput o = sam->decode(emb, {}, {}, boxes, {}, false);
    l = train::maskLoss(train::upsampleLogits(o.lowResMasks, s), o.iou, target, w);
    l.total.backward();
    opt.step();
  }
  EXPECT_GT(l.realIoU, 0.8);
}
