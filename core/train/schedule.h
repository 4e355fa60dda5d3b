#pragma once
// Learning-rate schedule: linear warm-up from 0 to the base rate over `warmupSteps`, then cosine decay to
// `minFactor * baseLr` at `totalSteps`. A pure function of the step index, so resuming needs only the step.
// Thread-safety: a plain value.

#include <cstdint>

namespace supersam::train {

struct WarmupCosine {
  double baseLr = 1e-4;
  int64_t warmupSteps = 0;
  int64_t totalSteps = 1;
  double minFactor = 0.01;

  // Rate used for optimizer step `step` (0-based). Warm-up: baseLr * (step + 1) / warmupSteps.
  // Decay: progress p = (step - warmup) / max(1, total - warmup), clamped to [0,1];
  // rate = baseLr * (minFactor + (1 - minFactor) * 0.5 * (1 + cos(pi p))).
  double lr(int64_t step) const;
};

}  // namespace supersam::train
