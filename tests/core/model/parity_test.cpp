// Number-for-number parity with the reference SAM on the tiny random-weight fixture, starting from encoder_input:
// patch embedding, every block, the image embedding, and every prompt case (low-res logits, IoU, upscaled logits).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "tests/core/model/tiny_fixture.h"

using namespace supersam;

namespace {

constexpr double kTol = 1e-4;  // max|a-b| / std(b), the fixture README's bound for a faithful float32 port

struct Case {
  std::string name;
  int nPoints;  // first n points (-1 = none)
  bool box, mask, multimask;
};

const Case kCases[] = {{"points_multi", 3, false, false, true},
                       {"points_single", 3, false, false, false},
                       {"box_single", 0, true, false, false},
                       {"box_points_multi", 1, true, false, true},
                       {"mask_input_single", 1, false, true, false}};

}  // namespace

TEST(Parity, EncoderEveryStage) {
  auto& f = test::tinyFixture();
  c10::InferenceMode guard;
  auto& enc = *f.sam->image_encoder;
  at::Tensor x = f.inputs.at("encoder_input");
  at::Tensor pe = enc.patch_embed->forward(x);
  EXPECT_LT(test::relativeError(pe, f.outputs.at("patch_embed_out")), kTol);
  at::Tensor h = enc.embed(x);
  for (int64_t i = 0; i < enc.depth(); ++i) {
    h = enc.forwardBlock(i, h, model::BlockChoice{});
    double e = test::relativeError(h, f.outputs.at("block" + std::to_string(i) + "_out"));
    EXPECT_LT(e, kTol) << "block " << i;
    std::printf("  block%lld_out %.2e\n", static_cast<long long>(i), e);
  }
  at::Tensor emb = enc.neckForward(h);
  EXPECT_LT(test::relativeError(emb, f.outputs.at("image_embedding")), kTol);
  EXPECT_LT(test::relativeError(f.sam->encodeImage(x), f.outputs.at("image_embedding")), kTol);
  // Negative control: the measure does see a small change.
  EXPECT_GT(test::relativeError(emb * 1.001 + 1e-3, f.outputs.at("image_embedding")), kTol);
}

TEST(Parity, EncoderMatchesWithAutogradPath) {
  // The out-of-place (autograd) attention path computes the same as the chunked in-place one.
  auto& f = test::tinyFixture();
  at::Tensor x = f.inputs.at("encoder_input");
  at::Tensor emb = f.sam->encodeImage(x);
  EXPECT_TRUE(emb.requires_grad());
  EXPECT_LT(test::relativeError(emb.detach(), f.outputs.at("image_embedding")), kTol);
}

TEST(Parity, DecoderEveryPromptCase) {
  auto& f = test::tinyFixture();
  c10::InferenceMode guard;
  at::Tensor emb = f.outputs.at("image_embedding");
  at::Tensor orig = f.inputs.at("original_hw"), in = f.inputs.at("input_hw");
  std::array<int64_t, 2> originalHW{orig[0].item<int64_t>(), orig[1].item<int64_t>()};
  std::array<int64_t, 2> inputHW{in[0].item<int64_t>(), in[1].item<int64_t>()};
  at::Tensor scale = at::tensor({static_cast<float>(inputHW[1]) / originalHW[1],
                                 static_cast<float>(inputHW[0]) / originalHW[0]});
  at::Tensor pts = f.inputs.at("points_xy") * scale;
  at::Tensor lbl = f.inputs.at("points_label");
  at::Tensor box = (f.inputs.at("box_xyxy").view({2, 2}) * scale).view({1, 4});
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    at::Tensor coords, labels, boxes, mask;
    if (c.nPoints > 0) {
      coords = pts.narrow(0, 0, c.nPoints).unsqueeze(0);
      labels = lbl.narrow(0, 0, c.nPoints).unsqueeze(0);
    }
    if (c.box) boxes = box;
    if (c.mask) mask = f.outputs.at("box_single.low_res_logits").unsqueeze(0);
    auto out = f.sam->decode(emb, coords, labels, boxes, mask, c.multimask);
    ASSERT_EQ(out.lowResMasks.size(1), c.multimask ? 3 : 1);
    double eLow = test::relativeError(out.lowResMasks[0], f.outputs.at(c.name + ".low_res_logits"));
    double eIou = test::relativeError(out.iou[0], f.outputs.at(c.name + ".iou"));
    at::Tensor up = f.sam->postprocessMasks(out.lowResMasks, inputHW, originalHW);
    double eUp = test::relativeError(up[0], f.outputs.at(c.name + ".mask_logits"));
    EXPECT_LT(eLow, kTol);
    EXPECT_LT(eIou, kTol);
    EXPECT_LT(eUp, kTol);
    std::printf("  %-18s low_res %.2e  iou %.2e  mask_logits %.2e\n", c.name.c_str(), eLow, eIou, eUp);
  }
}
