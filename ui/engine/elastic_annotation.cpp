#include "ui/engine/elastic_annotation.h"

#include <algorithm>
#include <exception>

namespace supersam::ui {

std::vector<model::ElasticConfig> ladderFromResults(const SubnetSpace& space,
                                                    const std::vector<EvaluatedSubnet>& results) {
  std::vector<model::ElasticConfig> out;
  if (!space.valid()) return out;
  std::vector<EvaluatedSubnet> mine;
  std::vector<model::ElasticConfig> cfgs;
  for (const auto& r : results) {
    try {
      cfgs.push_back(space.normalised(space.parse(r.subnet)));
      mine.push_back(r);
    } catch (const std::exception&) {
      // another model's subnet
    }
  }
  for (size_t i : paretoFront(mine)) out.push_back(cfgs[i]);
  std::stable_sort(out.begin(), out.end(), [&space](const auto& a, const auto& b) {
    return space.figures(a).params < space.figures(b).params;
  });
  return out;
}

model::ElasticConfig autoPreview(const SubnetSpace& space, const model::ElasticConfig& chosen,
                                 const std::vector<model::ElasticConfig>& ladder, double fraction,
                                 const SubnetCostFn& cost) {
  if (!space.valid()) return {};
  const auto costOf = [&](const model::ElasticConfig& c) { return cost ? cost(c) : space.figures(c).gmacs; };
  const double limit = costOf(space.normalised(chosen)) * fraction;
  const model::ElasticConfig* best = nullptr;
  double bestCost = -1;
  for (const auto& c : ladder) {
    const double k = costOf(c);
    if (k <= limit && k > bestCost) {
      best = &c;
      bestCost = k;
    }
  }
  if (best) return space.normalised(*best);
  const auto smallest = space.smallest();
  return costOf(smallest) <= limit ? space.normalised(smallest) : model::ElasticConfig{};
}

model::ElasticConfig prefixPreview(const SubnetSpace& space, const model::ElasticConfig& chosenIn, double fraction,
                                   const SubnetCostFn& cost) {
  if (!space.valid()) return {};
  const auto costOf = [&](const model::ElasticConfig& c) { return cost ? cost(c) : space.figures(c).gmacs; };
  const auto chosen = space.normalised(chosenIn);
  const auto smallest = space.normalised(space.smallest());
  const double limit = costOf(chosen) * fraction;
  for (int k = space.depth() - 1; k >= 0; --k) {
    model::ElasticConfig c = smallest;
    std::copy(chosen.begin(), chosen.begin() + k, c.begin());
    if (c != chosen && costOf(c) <= limit) return c;
  }
  return {};
}

}  // namespace supersam::ui
