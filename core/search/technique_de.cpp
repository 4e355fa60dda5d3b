#include "core/search/technique_de.h"

#include <numeric>

namespace supersam::search {

Proposal DifferentialEvolution::propose(SearchContext& ctx, int64_t) {
  if (m_population.empty()) {
    for (int i = 0; i < m_opt.populationSize; ++i) {
      Member m;
      m.config = ctx.space().random(ctx.rng());
      m.stamp = m_clock++;
      m_population.push_back(std::move(m));
    }
  }
  // The initial population is submitted first, one member per request.
  for (Member& m : m_population) {
    if (!m.submitted) {
      m.submitted = true;
      return Proposal::of(m.config, name());
    }
  }
  // The oldest member without a pending trial (first on ties, as Python's stable sort).
  std::optional<size_t> parent;
  for (size_t i = 0; i < m_population.size(); ++i) {
    if (m_population[i].candidate) continue;
    if (!parent || m_population[i].stamp < m_population[*parent].stamp) parent = i;
  }
  if (!parent) return Proposal::nothing();

  Config cfg;
  for (int retry = 0; retry < m_opt.duplicateRetries; ++retry) {
    cfg = trial(ctx, *parent);
    if (!ctx.hasResult(cfg)) break;  // a duplicate would waste the request: try again
  }
  Member& p = m_population[*parent];
  p.stamp = m_clock++;  // to the back of the line
  p.candidate = cfg;
  return Proposal::of(cfg, name());
}

Config DifferentialEvolution::trial(SearchContext& ctx, size_t parent) {
  const Space& space = ctx.space();
  Rng& rng = ctx.rng();
  Config cfg = m_population[parent].config;

  std::vector<const Config*> pool;
  for (size_t i = 0; i < m_population.size(); ++i) {
    if (i != parent) pool.push_back(&m_population[i].config);
  }
  if (const Config* best = ctx.bestConfig()) {
    for (int i = 0; i < m_opt.informationSharing; ++i) pool.push_back(best);
  }
  rng.shuffle(pool);
  const Config& x1 = *pool.at(0);
  const Config& x2 = *pool.at(1);
  const Config& x3 = *pool.at(2);
  const double f = rng.uniform() / 2.0 + 0.5;

  std::vector<size_t> params(space.size());
  std::iota(params.begin(), params.end(), size_t{0});
  rng.shuffle(params);
  for (size_t i = 0; i < params.size(); ++i) {
    if (static_cast<int>(i) < m_opt.forcedCrossovers || rng.chance(m_opt.crossoverRate)) {
      space.setLinear(cfg, params[i], 1.0, x1, f, x2, -f, x3, rng);
    }
  }
  return cfg;
}

void DifferentialEvolution::onResult(SearchContext& ctx, int64_t, const Outcome& outcome) {
  for (Member& m : m_population) {
    if (m.candidate && *m.candidate == outcome.config) {
      if (ctx.lt(*m.candidate, m.config)) m.config = *m.candidate;
      m.candidate.reset();
    }
  }
}

}  // namespace supersam::search
