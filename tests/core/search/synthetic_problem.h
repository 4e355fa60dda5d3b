#pragma once
// Synthetic search problems shaped like a SAM ViT-B supernet: 12 blocks x 5 MLP width choices
// (0.25, 0.33, 0.5, 0.75, 1.0 of the full width) + 5 prunable blocks (kept / dropped). Shared by the search tests
// and tests/bench/bench_search.cpp. Costs are integers ("units") so that the constrained optimum is known exactly
// from a dynamic programme over the blocks (a multiple-choice knapsack).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/search/tuner.h"

namespace supersam::search::testing {

struct SyntheticSupernet {
  static constexpr int kBlocks = 12;
  std::vector<int> prunable = {1, 2, 5, 6, 9};
  std::vector<int64_t> widthUnits = {3, 4, 6, 9, 12};  // MLP cost per choice (full = 12)
  int64_t attnUnits = 4;                               // attention cost of a kept block
  std::vector<double> widthSens;                       // quality lost per block at the narrowest width
  std::vector<double> dropSens;                        // quality lost when a prunable block is dropped
  double noise = 0.0;                                  // deterministic per configuration, uniform +-noise
  bool widthAsInt = false;                             // ordinal int parameters instead of enums

  explicit SyntheticSupernet(uint64_t seed = 7) {
    Rng rng(seed);
    for (int b = 0; b < kBlocks; ++b) widthSens.push_back(0.005 + 0.04 * rng.uniform());
    for (size_t i = 0; i < prunable.size(); ++i) dropSens.push_back(0.01 + 0.05 * rng.uniform());
  }

  // Quality loss of block b at width choice w (concave in width: the first neurons matter most).
  double widthLoss(int b, int w) const {
    const double r = static_cast<double>(widthUnits[static_cast<size_t>(w)]) / 12.0;
    return widthSens[static_cast<size_t>(b)] * std::pow(1.0 - r, 1.5) / std::pow(0.75, 1.5);
  }

  Space space() const {
    Space s;
    const std::vector<std::string> labels = {"0.25", "0.33", "0.5", "0.75", "1.0"};
    for (int b = 0; b < kBlocks; ++b) {
      if (widthAsInt) {
        s.addInt("w" + std::to_string(b), 0, 4);
      } else {
        s.addEnum("w" + std::to_string(b), labels);
      }
    }
    for (int b : prunable) s.addBool("keep" + std::to_string(b));
    return s;
  }

  bool kept(const Config& c, int b) const {
    for (size_t i = 0; i < prunable.size(); ++i) {
      if (prunable[i] == b) return c[static_cast<size_t>(kBlocks) + i] != 0;
    }
    return true;
  }

  Metrics evaluate(const Config& c) const {
    double q = 0.8;
    int64_t cost = 8;  // neck, embeddings, decoder
    for (int b = 0; b < kBlocks; ++b) {
      if (!kept(c, b)) {
        for (size_t i = 0; i < prunable.size(); ++i) {
          if (prunable[i] == b) q -= dropSens[i];
        }
        continue;
      }
      q -= widthLoss(b, static_cast<int>(c[static_cast<size_t>(b)]));
      cost += attnUnits + widthUnits[static_cast<size_t>(c[static_cast<size_t>(b)])];
    }
    if (noise > 0) {
      const uint64_t h = std::stoull(fnv1aHex(space().describe(c)), nullptr, 16);
      q += noise * (2.0 * static_cast<double>(h % 1000003) / 1000003.0 - 1.0);
    }
    Metrics m;
    m.quality = q;
    m.params = static_cast<double>(cost);
    return m;
  }

  Metrics minimum() const {
    Metrics m;
    m.params = 8.0;
    for (int b = 0; b < kBlocks; ++b) m.params += kept(smallestConfig(), b) ? attnUnits + widthUnits[0] : 0;
    return m;
  }

  Config smallestConfig() const { return Config(static_cast<size_t>(kBlocks) + prunable.size(), 0); }

  Problem problem(std::optional<double> maxParams) const {
    Problem p;
    p.space = space();
    p.constraints.maxParams = maxParams;
    p.evaluate = [this](const Config& c) { return evaluate(c); };
    p.minimumCost = [this] { return minimum(); };
    return p;
  }

  // The best noise-free quality reachable within `budget` cost units (exact, by dynamic programming).
  double optimum(int64_t budget) const {
    const double kNeg = -1e18;
    std::vector<double> best(static_cast<size_t>(budget + 1), kNeg);
    if (budget >= 8) best[8] = 0.8;
    for (int b = 0; b < kBlocks; ++b) {
      std::vector<double> next(best.size(), kNeg);
      for (size_t c = 0; c < best.size(); ++c) {
        if (best[c] == kNeg) continue;
        for (int w = 0; w < 5; ++w) {
          const size_t nc = c + static_cast<size_t>(attnUnits + widthUnits[static_cast<size_t>(w)]);
          if (nc < next.size()) next[nc] = std::max(next[nc], best[c] - widthLoss(b, w));
        }
        for (size_t i = 0; i < prunable.size(); ++i) {
          if (prunable[i] == b) next[c] = std::max(next[c], best[c] - dropSens[i]);
        }
      }
      best = next;
    }
    return *std::max_element(best.begin(), best.end());
  }
};

}  // namespace supersam::search::testing
