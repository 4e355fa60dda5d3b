#include "core/search/technique_exchange.h"

#include <numeric>
#include <vector>

namespace supersam::search {

namespace {

bool canStep(const Parameter& p, int64_t v, int dir) {
  switch (p.kind) {
    case ParamKind::Int: return dir > 0 ? v < p.hi : v > p.lo;
    case ParamKind::Bool: return dir > 0 ? v == 0 : v == 1;
    case ParamKind::Enum: return false;
  }
  return false;
}

// A random parameter other than `except` that can take a step in direction `dir`, or -1.
int64_t pick(const Space& space, const Config& c, int dir, int64_t except, Rng& rng) {
  std::vector<int64_t> candidates;
  for (size_t i = 0; i < space.size(); ++i) {
    if (static_cast<int64_t>(i) != except && canStep(space.param(i), c[i], dir)) {
      candidates.push_back(static_cast<int64_t>(i));
    }
  }
  if (candidates.empty()) return -1;
  return candidates[static_cast<size_t>(rng.below(candidates.size()))];
}

}  // namespace

Proposal BudgetExchange::propose(SearchContext& ctx, int64_t) {
  // Without analytical budgets it never applies: stand aside without a record in the bandit (as a waiting
  // technique does), so that the other members share the requests exactly as in OpenTuner's ensemble.
  if (!ctx.hasAnalyticBudget()) return Proposal::wait();
  const Config* best = ctx.bestConfig();
  if (!best) return Proposal::nothing();
  if (*best != m_best) {
    m_best = *best;
    m_tries = 0;
  }
  const Space& space = ctx.space();
  if (m_tries >= 2 * static_cast<int64_t>(space.size())) return Proposal::wait();
  Rng& rng = ctx.rng();
  for (int attempt = 0; attempt < 20; ++attempt) {
    Config c = *best;
    const int64_t up = pick(space, c, +1, -1, rng);
    if (up < 0) return Proposal::nothing();
    c[static_cast<size_t>(up)] += 1;
    for (int k = 0; k < 4 && !ctx.fitsBudget(c); ++k) {
      const int64_t down = pick(space, c, -1, up, rng);
      if (down < 0) break;
      c[static_cast<size_t>(down)] -= 1;
    }
    if (!ctx.fitsBudget(c)) continue;
    std::vector<size_t> order(space.size());
    std::iota(order.begin(), order.end(), size_t{0});
    rng.shuffle(order);
    for (size_t i : order) {
      if (!canStep(space.param(i), c[i], +1)) continue;
      c[i] += 1;
      if (!ctx.fitsBudget(c)) c[i] -= 1;
    }
    if (c != *best && !ctx.hasResult(c)) {
      ++m_tries;
      return Proposal::of(std::move(c), name());
    }
  }
  return Proposal::nothing();
}

}  // namespace supersam::search
