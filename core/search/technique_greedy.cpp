#include "core/search/technique_greedy.h"

#include <numeric>
#include <vector>

namespace supersam::search {

Proposal GreedyMutation::propose(SearchContext& ctx, int64_t) {
  const Config* best = ctx.bestConfig();
  const Config parent = best ? *best : ctx.space().random(ctx.rng());
  Config cfg = parent;
  for (int z = 0; z < 10; ++z) {
    mutate(ctx, cfg);
    if (cfg != parent) return Proposal::of(cfg, name());
  }
  return Proposal::nothing();
}

void GreedyMutation::mutate(SearchContext& ctx, Config& cfg) const {
  const Space& space = ctx.space();
  Rng& rng = ctx.rng();
  std::vector<size_t> params(space.size());
  std::iota(params.begin(), params.end(), size_t{0});
  rng.shuffle(params);
  for (size_t i = 0; i < params.size(); ++i) {
    if (static_cast<int>(i) >= m_mustMutate && !rng.chance(m_rate)) continue;
    const size_t k = params[i];
    if (m_kind == Kind::Uniform) {
      space.randomize(cfg, k, rng);
    } else if (space.param(k).isPrimitive()) {
      space.normalMutation(cfg, k, m_sigma, rng);
    } else {
      space.randomOperator(cfg, k, rng);
    }
  }
}

}  // namespace supersam::search
