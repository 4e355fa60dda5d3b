// The studio's front is core's (core/search/pareto.h): one rule for NaN, unknown figures and ties.
#include <algorithm>

#include "core/search/pareto.h"
#include "ui/engine/results_store.h"

namespace supersam::ui {

std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& costQuality) {
  return search::paretoFront(costQuality);
}

std::vector<size_t> paretoFront(const std::vector<EvaluatedSubnet>& points) {
  std::vector<std::pair<double, double>> cq;
  cq.reserve(points.size());
  for (const auto& p : points) cq.emplace_back(p.paramsM, p.miou);
  return search::paretoFront(cq);
}

int bestPoint(const std::vector<EvaluatedSubnet>& points) {
  if (points.empty()) return -1;
  const auto it = std::max_element(points.begin(), points.end(),
                                   [](const auto& a, const auto& b) { return a.miou < b.miou; });
  return static_cast<int>(it - points.begin());
}

}  // namespace supersam::ui
