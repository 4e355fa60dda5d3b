// The fused decoder kernels against the ATen compositions they replace, and the decoder's fused path against its
// general one (the path taken under autograd or off the CPU).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "core/model/common.h"
#include "core/model/decoder_kernels.h"
#include "core/model/gemm.h"
#include "core/model/mask_decoder.h"
#include "core/model/transformer.h"

namespace supersam::model {
namespace {

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(DecoderKernels, LayerNormRowsMatchesAtenWithAndWithoutGelu) {
  at::manual_seed(3);
  for (const int64_t width : {64, 256, 37}) {
    // Rows with an offset and a spread, so that a one-pass variance or a missing mean would show.
    at::Tensor x = at::randn({1000, width}) * 4.0 + 3.0;
    at::Tensor gamma = at::randn({width}), beta = at::randn({width}), inputBias = at::randn({width}) * 2.0;
    for (const bool gelu : {false, true}) {
      for (const bool biased : {false, true}) {
        at::Tensor expected = at::layer_norm(biased ? x + inputBias : x, {width}, gamma, beta, 1e-6);
        if (gelu) expected = at::gelu(expected);
        at::Tensor got = x.clone();
        kernels::layerNormRows(got.data_ptr<float>(), got.size(0), width, biased ? inputBias.data_ptr<float>() : nullptr,
                               gamma.data_ptr<float>(), beta.data_ptr<float>(), 1e-6f, gelu);
        EXPECT_LT(maxAbsDiff(got, expected), 2e-5) << "width " << width << " gelu " << gelu << " bias " << biased;
      }
    }
  }
}

TEST(DecoderKernels, GeluIsExactErfFormOverItsWholeRange) {
  // Far tails included: large negative inputs must give -0 not NaN, large positive ones x itself.
  at::Tensor x = at::linspace(-60.0, 60.0, 240001);
  // Through geluHyperMasks: an h = w = 1 block of 16 pixels with c = 1 channel and hyper = 1 reads back GELU.
  const int64_t n = x.size(0) / 16 * 16;
  at::Tensor y = x.narrow(0, 0, n).clone();
  at::Tensor expected = at::gelu(y.clone().to(at::kDouble)).to(at::kFloat);
  at::Tensor got = at::empty({n});
  at::Tensor one = at::ones({1});
  for (int64_t b = 0; b < n; b += 16) {
    at::Tensor out = at::empty({1, 4, 4});
    kernels::geluHyperMasks(y.data_ptr<float>() + b, 1, 1, 1, nullptr, one.data_ptr<float>(), 1,
                            out.data_ptr<float>());
    // Pixel q = (di * 2 + dj) * 4 + ei * 2 + ej sits at row 2di + ei, column 2dj + ej.
    for (int q = 0; q < 16; ++q) {
      const int di = q / 8, dj = (q / 4) % 2, ei = (q / 2) % 2, ej = q % 2;
      got[b + q] = out[0][2 * di + ei][2 * dj + ej];
    }
  }
  EXPECT_FALSE(got.isnan().any().item<bool>());
  EXPECT_LT(maxAbsDiff(got, expected), 5e-6);
  EXPECT_LT(((got - expected).abs() / expected.abs().clamp_min(1.0)).max().item<double>(), 5e-7);
}

TEST(DecoderKernels, FewRowsLinearMatchesAtenIncludingNarrowedWeights) {
  at::manual_seed(5);
  at::NoGradGuard ng;
  const at::Tensor w = at::randn({300, 200}), b = at::randn({300});
  // Through oneDNN's sgemm (gemm.h) where the process has it, and through kernels::fewRowsLinear without it.
  for (const bool fastGemm : {true, false}) {
    setFastGemmEnabled(fastGemm);
    for (const int64_t rows : {1, 7, 16}) {
      const at::Tensor x = at::randn({1, rows, 200});
      EXPECT_LT(maxAbsDiff(linear(x, w, b), at::linear(x, w, b)), 1e-4) << rows << " rows, gemm " << fastGemm;
      EXPECT_LT(maxAbsDiff(linear(x, w, at::Tensor()), at::linear(x, w)), 1e-4);
      // An elastic MLP's second layer: the first 120 input columns of each weight row (row stride 200).
      const at::Tensor xs = at::randn({rows, 120});
      EXPECT_LT(maxAbsDiff(linear(xs, w.narrow(1, 0, 120), b), at::linear(xs, w.narrow(1, 0, 120), b)), 1e-4);
    }
  }
  setFastGemmEnabled(true);
  // Many rows, or gradients recorded: ATen's product, with its autograd graph.
  const at::Tensor many = at::randn({40, 200});
  EXPECT_LT(maxAbsDiff(linear(many, w, b), at::linear(many, w, b)), 1e-4);
  c10::AutoGradMode grad(true);
  const at::Tensor wg = w.clone().requires_grad_(true);
  EXPECT_TRUE(linear(at::randn({3, 200}), wg, b).requires_grad());
}

TEST(DecoderKernels, FusedUpscalingAndMaskProductMatchTheGeneralPath) {
  at::manual_seed(11);
  const int64_t C = 32;
  TwoWayTransformer transformer(2, C, 2, 64, 2);
  MaskDecoder decoder(C, transformer, 3, 3, 64);
  // Non-trivial LayerNorm2d parameters, so the kernel's gamma/beta order is checked.
  for (auto& p : decoder->named_parameters()) {
    at::NoGradGuard ng;
    p.value().normal_(0.0, 0.5);
  }
  const at::Tensor image = at::randn({1, C, 8, 8}), pe = at::randn({1, C, 8, 8});
  const at::Tensor sparse = at::randn({2, 3, C}), dense = at::randn({2, C, 8, 8});
  for (const bool multimask : {false, true}) {
    at::Tensor generalMasks, generalIou, fusedMasks, fusedIou;
    {
      c10::AutoGradMode grad(true);  // gradients recorded: the general path
      std::tie(generalMasks, generalIou) = decoder->forward(image, pe, sparse, dense, multimask);
    }
    {
      at::NoGradGuard ng;
      std::tie(fusedMasks, fusedIou) = decoder->forward(image, pe, sparse, dense, multimask);
    }
    ASSERT_EQ(fusedMasks.sizes(), generalMasks.sizes());
    const double scale = generalMasks.abs().max().item<double>();
    EXPECT_LT(maxAbsDiff(fusedMasks, generalMasks.detach()) / scale, 1e-5) << "multimask " << multimask;
    EXPECT_LT(maxAbsDiff(fusedIou, generalIou.detach()), 1e-5);
  }
}

}  // namespace
}  // namespace supersam::model
