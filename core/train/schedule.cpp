#include "core/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace supersam::train {

double WarmupCosine::lr(int64_t step) const {
  if (step < 0) step = 0;
  if (warmupSteps > 0 && step < warmupSteps) {
    return baseLr * static_cast<double>(step + 1) / static_cast<double>(warmupSteps);
  }
  const double span = static_cast<double>(std::max<int64_t>(1, totalSteps - warmupSteps));
  const double p = std::clamp(static_cast<double>(step - warmupSteps) / span, 0.0, 1.0);
  return baseLr * (minFactor + (1.0 - minFactor) * 0.5 * (1.0 + std::cos(M_PI * p)));
}

}  // namespace supersam::train
