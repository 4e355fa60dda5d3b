// Elastic execution of the encoder: a full-width config is the plain network bit for bit, a dropped block is the
// identity, and an MLP width prefix equals a network whose MLP has only those neurons.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/modules/linear.h>

#include "tests/core/model/tiny_fixture.h"

using namespace supersam;

TEST(Elastic, FullWidthConfigIsBitIdentical) {
  auto& f = test::tinyFixture();
  c10::InferenceMode guard;
  at::Tensor x = f.inputs.at("encoder_input");
  model::ElasticConfig full(static_cast<size_t>(f.arch.encoderDepth), model::BlockChoice{true, -1});
  model::ElasticConfig explicitWidth;
  for (int64_t i = 0; i < f.arch.encoderDepth; ++i) explicitWidth.push_back({true, f.arch.mlpDim(i)});
  at::Tensor a = f.sam->encodeImage(x);
  EXPECT_TRUE(at::equal(a, f.sam->encodeImage(x, &full)));
  EXPECT_TRUE(at::equal(a, f.sam->encodeImage(x, &explicitWidth)));
}

TEST(Elastic, DroppedBlockIsIdentity) {
  auto& f = test::tinyFixture();
  c10::InferenceMode guard;
  auto& enc = *f.sam->image_encoder;
  at::Tensor h = enc.embed(f.inputs.at("encoder_input"));
  at::Tensor same = enc.forwardBlock(1, h, model::BlockChoice{false, -1});
  EXPECT_TRUE(at::equal(same, h));

  // Dropping block 2 of 4: the encoder output equals running blocks 0, 1, 3 by hand.
  model::ElasticConfig cfg(4);
  cfg[2].kept = false;
  at::Tensor manual = h;
  for (int64_t i : {0, 1, 3}) manual = enc.block(i)->forward(manual);
  EXPECT_TRUE(at::allclose(f.sam->encodeImage(f.inputs.at("encoder_input"), &cfg), enc.neckForward(manual), 1e-5, 1e-6));
}

TEST(Elastic, WidthPrefixEqualsSmallerMlp) {
  auto& f = test::tinyFixture();
  c10::InferenceMode guard;
  auto& enc = *f.sam->image_encoder;
  at::Tensor h = enc.embed(f.inputs.at("encoder_input"));
  auto blk = enc.block(0);
  const int64_t w = 100;  // of 256
  at::Tensor y = blk->forward(h, w);

  // Reference: the same block's attention, then an MLP built from the first w neurons by hand.
  at::Tensor a = blk->attentionResidual(h);
  at::Tensor n = blk->norm2->forward(a);
  auto& mlp = *blk->mlp;
  at::Tensor hid = at::gelu(at::linear(n, mlp.lin1->weight.slice(0, 0, w).clone(), mlp.lin1->bias.slice(0, 0, w).clone()));
  at::Tensor ref = a + at::linear(hid, mlp.lin2->weight.slice(1, 0, w).clone(), mlp.lin2->bias);
  EXPECT_TRUE(at::allclose(y, ref, 1e-5, 1e-6));
  EXPECT_FALSE(at::allclose(y, blk->forward(h), 1e-3, 1e-3));  // the prefix really changes the output
  EXPECT_THROW(blk->forward(h, 257), c10::Error);
}
