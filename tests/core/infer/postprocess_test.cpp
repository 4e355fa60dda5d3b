#include "core/infer/postprocess.h"

#include <array>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/infer/predictor.h"

using namespace supersam;

namespace {

// SAM's postprocess_masks, written out with ATen exactly as the reference does it: the full S x S up-sample, the
// crop, the resize to the original size (no shortcut).
at::Tensor samPostprocess(const at::Tensor& low, int64_t S, std::array<int64_t, 2> in, std::array<int64_t, 2> orig) {
  at::Tensor m = at::upsample_bilinear2d(low, {S, S}, false);
  m = m.narrow(2, 0, in[0]).narrow(3, 0, in[1]);
  return at::upsample_bilinear2d(m, {orig[0], orig[1]}, false);
}

}  // namespace

// Each composed tap set is an interpolation: non-negative weights that sum to 1 over at most 4 neighbours.
TEST(Postprocess, ComposedTapsAreConvexCombinations) {
  for (auto [L, S, crop, out] : {std::array<int64_t, 4>{256, 1024, 683, 1200}, {256, 1024, 1024, 1800},
                                 {256, 1024, 1024, 60}, {32, 128, 85, 77}, {256, 1024, 1, 5}}) {
    const infer::AxisTaps t = infer::composedBilinearTaps(L, S, crop, out);
    ASSERT_EQ(t.start.size(), static_cast<size_t>(out));
    for (int64_t i = 0; i < out; ++i) {
      const auto& w = t.weight[static_cast<size_t>(i)];
      const int n = t.taps[static_cast<size_t>(i)];
      ASSERT_GE(n, 1);
      ASSERT_LE(n, 4);
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        EXPECT_GE(w[static_cast<size_t>(k)], 0.0f);
        if (k >= n) {
          EXPECT_EQ(w[static_cast<size_t>(k)], 0.0f);
        }
        sum += w[static_cast<size_t>(k)];
      }
      EXPECT_NEAR(sum, 1.0, 1e-6) << "L " << L << " out " << out << " i " << i;
      EXPECT_LE(t.start[static_cast<size_t>(i)] + n, L);
    }
  }
  EXPECT_THROW(infer::composedBilinearTaps(256, 1024, 1025, 10), std::invalid_argument);
}

// The one-pass post-processing equals SAM's three steps at ViT-B's sizes (L 256, S 1024) and at small ones,
// for landscape, portrait, square, enlarged and shrunk originals; mask bits may differ only where SAM's logit is
// within float rounding of 0.
TEST(Postprocess, EqualsSamsResizeCropResize) {
  at::manual_seed(11);
  struct Case {
    int64_t L, S, H0, W0;
  };
  for (const Case& c : {Case{256, 1024, 1200, 1800}, Case{256, 1024, 1800, 1200}, Case{256, 1024, 1024, 1024},
                        Case{256, 1024, 333, 500}, Case{256, 1024, 2048, 1536}, Case{32, 128, 77, 133},
                        Case{32, 128, 95, 128}, Case{32, 128, 300, 41}}) {
    SCOPED_TRACE(std::to_string(c.H0) + "x" + std::to_string(c.W0) + " S " + std::to_string(c.S));
    const auto in = infer::resizedSize(c.H0, c.W0, c.S);
    // Smooth logits with both signs (like a decoder's), plus noise so that the boundary is irregular.
    at::Tensor low = at::upsample_bilinear2d(at::randn({2, 3, c.L / 8, c.L / 8}) * 4.0, {c.L, c.L}, false) +
                     0.3 * at::randn({2, 3, c.L, c.L});
    const at::Tensor ref = samPostprocess(low, c.S, in, {c.H0, c.W0});
    at::Tensor masks, logits;
    infer::postprocessMasksCpu(low, c.S, in, {c.H0, c.W0}, masks, &logits);
    ASSERT_EQ(logits.sizes(), ref.sizes());
    const double scale = ref.abs().max().item<double>();
    EXPECT_LT((logits - ref).abs().max().item<double>(), 1e-5 * scale);
    EXPECT_TRUE(at::equal(masks, logits > 0));
    const at::Tensor differ = masks != (ref > 0);
    const int64_t flips = differ.sum().item<int64_t>();
    if (flips > 0) {
      EXPECT_LT(ref.masked_select(differ).abs().max().item<double>(), 1e-5 * scale);
    }
    // Masks alone (no logits asked for) are the same bits.
    at::Tensor masksOnly;
    infer::postprocessMasksCpu(low, c.S, in, {c.H0, c.W0}, masksOnly, nullptr);
    EXPECT_TRUE(at::equal(masksOnly, masks));
  }
}
