// From-scratch initialisation: the encoder's position embedding becomes a 2-D sine-cosine table that tells every
// patch position apart and repeats the same row code along a row and column code along a column.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/model/sam.h"
#include "tests/common/test_paths.h"

using namespace supersam;

TEST(Init, SinCosPositionEmbeddingSeparatesPositions) {
  model::Sam sam(model::SamArch::fromFile(test::fixturesDir() + "/tiny/arch.json"));
  EXPECT_EQ(sam->image_encoder->pos_embed.abs().max().item<double>(), 0.0);  // SAM's own init
  model::initPositionEmbeddingSinCos(*sam);
  const at::Tensor pe = sam->image_encoder->pos_embed[0];  // [side, side, dim]
  const int64_t side = pe.size(0), dim = pe.size(2);
  EXPECT_LE(pe.abs().max().item<double>(), 1.0 + 1e-6);
  // Row half depends only on y, column half only on x.
  EXPECT_TRUE(at::allclose(pe.narrow(2, 0, dim / 2), pe.narrow(2, 0, dim / 2).select(1, 0).unsqueeze(1).expand_as(
                                                        pe.narrow(2, 0, dim / 2))));
  EXPECT_TRUE(at::allclose(pe.narrow(2, dim / 2, dim / 2),
                           pe.narrow(2, dim / 2, dim / 2).select(0, 0).unsqueeze(0).expand_as(pe.narrow(2, dim / 2, dim / 2))));
  // Every pair of positions differs clearly.
  at::Tensor flat = pe.reshape({side * side, dim});
  at::Tensor d = at::cdist(flat.unsqueeze(0), flat.unsqueeze(0))[0];
  d = d + at::eye(side * side) * 1e9;
  EXPECT_GT(d.min().item<double>(), 0.1);
  EXPECT_TRUE(sam->image_encoder->pos_embed.requires_grad());  // still a trainable parameter
}
