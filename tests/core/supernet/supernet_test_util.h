#pragma once
// Helpers shared by the supernet tests: a tiny architecture and a randomly initialised model.

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "core/model/arch.h"
#include "core/model/sam.h"

namespace supersam::test {

// 4 blocks (global at 1 and 3), width 64, MLP 256, 128x128 input, window 3 over 8x8 tokens (padded windows).
inline model::SamArch tinyArch() {
  model::SamArch a;
  a.name = "custom";
  a.imageSize = 128;
  a.patchSize = 16;
  a.encoderEmbedDim = 64;
  a.encoderDepth = 4;
  a.encoderNumHeads = 2;
  a.encoderGlobalAttnIndexes = {1, 3};
  a.windowSize = 3;
  a.mlpRatio = 4.0;
  a.promptEmbedDim = 32;
  a.maskInChans = 16;
  a.decoderMlpDim = 64;
  a.decoderNumHeads = 8;
  a.iouHeadHiddenDim = 32;
  return a;
}

// Every parameter and buffer drawn from N(0, 0.02^2) around its initial value (norm weights around 1), seeded.
inline void randomize(torch::nn::Module& m, uint64_t seed) {
  at::manual_seed(seed);
  at::NoGradGuard g;
  for (auto& p : m.named_parameters()) {
    at::Tensor t = p.value();
    bool norm = p.key().find("norm") != std::string::npos || p.key().find("neck.1") != std::string::npos ||
                p.key().find("neck.3") != std::string::npos;
    if (norm && p.key().find("weight") != std::string::npos) {
      t.copy_(1.0 + 0.1 * at::randn_like(t));
    } else {
      t.copy_(0.2 * at::randn_like(t));
    }
  }
}

inline model::Sam randomSam(const model::SamArch& arch, uint64_t seed = 1) {
  model::Sam sam(arch);
  randomize(*sam, seed);
  sam->eval();
  return sam;
}

}  // namespace supersam::test
