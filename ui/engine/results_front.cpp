#include <algorithm>
#include <numeric>

#include "ui/engine/results_store.h"

namespace supersam::ui {

std::vector<size_t> paretoFront(const std::vector<EvaluatedSubnet>& points) {
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Size ascending, quality descending: a point is on the front when it beats every smaller one.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (points[a].paramsM != points[b].paramsM) return points[a].paramsM < points[b].paramsM;
    return points[a].miou > points[b].miou;
  });
  std::vector<size_t> front;
  double bestSoFar = -1e300;
  for (size_t i : order) {
    if (points[i].miou > bestSoFar) {
      front.push_back(i);
      bestSoFar = points[i].miou;
    }
  }
  return front;
}

int bestPoint(const std::vector<EvaluatedSubnet>& points) {
  if (points.empty()) return -1;
  const auto it = std::max_element(points.begin(), points.end(),
                                   [](const auto& a, const auto& b) { return a.miou < b.miou; });
  return static_cast<int>(it - points.begin());
}

}  // namespace supersam::ui
