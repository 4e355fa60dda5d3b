// The decoder's per-image cache (Sam::prepareDecoder / TransformerImageCache) must give what SAM's decoder gives
// when it recomputes everything for each prompt: every prompt kind, one prompt and a batch, single and multimask,
// with SAM's decoder widths (256 wide, 8 heads) and the tiny fixture's.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "core/model/sam.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

void expectCacheEqualsPlainDecode(const model::SamArch& arch) {
  at::manual_seed(4);
  model::Sam sam(arch);
  sam->eval();
  // Random weights are all at the default init; give the decoder weights of a scale that makes the outputs vary.
  for (auto& p : sam->mask_decoder->parameters()) p.data().normal_(0, 0.08);
  c10::InferenceMode guard;
  const int64_t side = arch.tokensPerSide(), S = static_cast<int64_t>(arch.imageSize);
  const at::Tensor emb = at::randn({1, arch.promptEmbedDim, side, side});
  const model::TransformerImageCache cache = sam->prepareDecoder(emb);
  for (int64_t B : {1, 3}) {
    const at::Tensor coords = at::rand({B, 3, 2}) * static_cast<double>(S);
    const at::Tensor labels = at::randint(0, 2, {B, 3}, at::kLong);
    const at::Tensor boxes = at::cat({at::rand({B, 2}) * (S / 2.0), S / 2.0 + at::rand({B, 2}) * (S / 2.0)}, 1);
    struct Case {
      const char* name;
      at::Tensor c, l, b;
    };
    for (const Case& k : {Case{"points", coords, labels, at::Tensor()}, Case{"box", at::Tensor(), at::Tensor(), boxes},
                          Case{"box+points", coords.narrow(1, 0, 1), labels.narrow(1, 0, 1), boxes}}) {
      for (bool multimask : {false, true}) {
        SCOPED_TRACE(std::string(k.name) + " B=" + std::to_string(B) + (multimask ? " multimask" : " single"));
        const model::DecoderOutput plain = sam->decode(emb, k.c, k.l, k.b, at::Tensor(), multimask);
        const model::DecoderOutput cached = sam->decode(cache, k.c, k.l, k.b, multimask);
        ASSERT_EQ(cached.lowResMasks.sizes(), plain.lowResMasks.sizes());
        EXPECT_LT(test::relativeError(cached.lowResMasks, plain.lowResMasks), 1e-5);
        // A handful of IoU values: their spread is no scale, their magnitude is.
        const double iouScale = 1.0 + plain.iou.abs().max().item<double>();
        EXPECT_LT((cached.iou - plain.iou).abs().max().item<double>(), 1e-5 * iouScale);
      }
    }
  }
  EXPECT_THROW(sam->decode(model::TransformerImageCache{}, at::rand({1, 1, 2}), at::ones({1, 1}, at::kLong),
                           at::Tensor(), false),
               c10::Error);
}

}  // namespace

TEST(DecoderCache, EqualsThePlainDecoderWithSamsDecoderWidths) {
  model::SamArch arch = model::SamArch::preset("vit_b");
  // The decoder of every SAM preset; a small encoder so that the model builds quickly (it is not run).
  arch.imageSize = 512;
  arch.encoderEmbedDim = 64;
  arch.encoderDepth = 2;
  arch.encoderNumHeads = 2;
  arch.encoderGlobalAttnIndexes = {1};
  arch.windowSize = 8;
  arch.name = "custom";
  expectCacheEqualsPlainDecode(arch);
}

TEST(DecoderCache, EqualsThePlainDecoderOnTheTinyArch) {
  expectCacheEqualsPlainDecode(model::SamArch::fromFile(test::fixturesDir() + "/tiny/arch.json"));
}
