// The decoder's cross-attention between a few prompt tokens and many image tokens is computed re-associated (see
// DecoderAttentionImpl::fewQueries / fewKeys). It must equal SAM's attention written out plainly, in both directions,
// for one prompt and for a batch of prompts, and its gradients must match too (training uses the same path).
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/model/transformer.h"
#include "tests/common/sam_literal.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

at::Tensor reference(model::DecoderAttentionImpl& a, int64_t heads, const at::Tensor& q, const at::Tensor& k,
                     const at::Tensor& v) {
  EXPECT_EQ(a.numHeads(), heads);
  return test::samAttention(a, q, k, v);
}

}  // namespace

TEST(DecoderAttention, ReassociatedCrossAttentionEqualsSams) {
  at::manual_seed(11);
  const int64_t C = 256, heads = 8;
  model::DecoderAttention a(C, heads, 2);  // internal width 128: 7 tokens x 8 heads = 56 < 128 takes the fast path
  for (auto& p : a->parameters()) p.data().normal_(0, 0.05);
  for (int64_t B : {1, 3}) {
    at::Tensor tokens = at::randn({B, 7, C});
    at::Tensor image = at::randn({B, 1024, C});
    at::Tensor image2 = at::randn({B, 1024, C});
    // tokens -> image (few queries) and image -> tokens (few keys)
    at::Tensor t2i = a->forward(tokens, image, image2);
    at::Tensor i2t = a->forward(image, tokens, tokens * 0.5);
    EXPECT_LT(test::relativeError(t2i, reference(*a, heads, tokens, image, image2)), 1e-5) << "B=" << B;
    EXPECT_LT(test::relativeError(i2t, reference(*a, heads, image, tokens, tokens * 0.5)), 1e-5) << "B=" << B;
  }
  // Gradients agree as well.
  at::Tensor tokens = at::randn({2, 7, C}).requires_grad_(true);
  at::Tensor image = at::randn({2, 600, C}).requires_grad_(true);
  at::Tensor w = at::randn({2, 600, C});
  (a->forward(image, tokens, tokens) * w).sum().backward();
  at::Tensor gFast = tokens.grad().clone(), gImgFast = image.grad().clone();
  tokens.mutable_grad().zero_(), image.mutable_grad().zero_();
  (reference(*a, heads, image, tokens, tokens) * w).sum().backward();
  EXPECT_LT(test::relativeError(gFast, tokens.grad()), 1e-4);
  EXPECT_LT(test::relativeError(gImgFast, image.grad()), 1e-4);
}
