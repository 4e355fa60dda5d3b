#include "core/search/technique_nelder_mead.h"

#include <algorithm>

namespace supersam::search {

Proposal NelderMead::propose(SearchContext& ctx, int64_t) {
  if (m_done) return Proposal::nothing();
  for (;;) {
    switch (m_outer) {
      case Outer::Top: {
        ++m_roundsSinceNovel;
        m_outer = Outer::Emitting;  // after the sub-step below
        if (m_roundsSinceNovel % m_opt.noveltyThreshold == 0) {
          if (m_roundsSinceNovel > m_opt.resetThreshold) {
            m_stage = Stage::Start;
            m_haveLast = false;
            m_roundsSinceNovel = 0;
          }
          m_emitIndex = SIZE_MAX;  // marks "sub-step still to run" for the next call
          return Proposal::nothing();  // give the other techniques a shot
        }
        m_emitIndex = SIZE_MAX;
        break;
      }
      case Outer::Emitting: {
        if (m_emitIndex == SIZE_MAX) {
          Step step = subStep(ctx);
          m_emitIndex = 0;
          if (step.kind == StepKind::End) {
            m_outer = Outer::FinalEmitting;
            break;
          }
          if (step.kind == StepKind::Yield) m_pending.push_back(std::move(step.config));
        }
        while (m_emitIndex < m_pending.size()) {
          const Config& p = m_pending[m_emitIndex++];
          if (!ctx.hasResult(p)) {
            m_roundsSinceNovel = 0;
            return Proposal::of(p, name());
          }
        }
        m_outer = Outer::Waiting;
        break;
      }
      case Outer::Waiting: {
        m_pending.erase(std::remove_if(m_pending.begin(), m_pending.end(),
                                       [&](const Config& p) { return ctx.hasResult(p); }),
                        m_pending.end());
        if (!m_pending.empty()) {
          m_roundsSinceNovel = 0;
          return Proposal::wait();
        }
        m_outer = Outer::Top;
        break;
      }
      case Outer::FinalEmitting: {
        while (m_emitIndex < m_pending.size()) {
          const Config& p = m_pending[m_emitIndex++];
          if (!ctx.hasResult(p)) return Proposal::of(p, name());
        }
        m_done = true;
        return Proposal::nothing();
      }
    }
  }
}

NelderMead::Step NelderMead::subStep(SearchContext& ctx) {
  const Space& space = ctx.space();
  for (;;) {
    switch (m_stage) {
      case Stage::Start: {
        m_simplex.clear();
        m_simplex.push_back(space.random(ctx.rng()));
        for (size_t i = 0; i < space.size(); ++i) {
          if (space.param(i).isPrimitive()) m_simplex.push_back(space.random(ctx.rng()));
        }
        if (m_simplex.size() <= 1) return {StepKind::End, {}};  // nothing numeric to move along
        for (const Config& p : m_simplex) m_pending.push_back(p);
        m_stage = Stage::Loop;
        return {StepKind::YieldNone, {}};
      }
      case Stage::Loop: {
        if (converged()) return {StepKind::End, {}};
        std::stable_sort(m_simplex.begin(), m_simplex.end(),
                         [&](const Config& a, const Config& b) { return ctx.compare(a, b) < 0; });
        m_centroid = centroid(ctx);
        m_reflection = linearPoint(ctx, m_centroid, m_simplex.back(), m_opt.alpha);
        m_stage = Stage::AfterReflection;
        return {StepKind::Yield, m_reflection};
      }
      case Stage::AfterReflection: {
        if (ctx.lt(m_reflection, m_simplex[0])) {
          m_expansion = linearPoint(ctx, m_centroid, m_reflection, -m_opt.gamma);
          m_stage = Stage::AfterExpansion;
          return {StepKind::Yield, m_expansion};
        }
        if (ctx.lt(m_reflection, m_simplex[1])) {
          m_simplex.back() = m_reflection;
          m_stage = Stage::Loop;
          break;
        }
        m_contractBase = ctx.lte(m_reflection, m_simplex.back()) ? m_reflection : m_simplex.back();
        m_contraction = linearPoint(ctx, m_centroid, m_contractBase, -m_opt.beta);
        m_stage = Stage::AfterContraction;
        return {StepKind::Yield, m_contraction};
      }
      case Stage::AfterExpansion: {
        m_simplex.back() = ctx.lt(m_expansion, m_reflection) ? m_expansion : m_reflection;
        m_stage = Stage::Loop;
        break;
      }
      case Stage::AfterContraction: {
        if (ctx.lte(m_contraction, m_contractBase)) {
          m_simplex.back() = m_contraction;
          m_stage = Stage::Loop;
          break;
        }
        for (size_t i = 1; i < m_simplex.size(); ++i) {
          m_simplex[i] = linearPoint(ctx, m_simplex[0], m_simplex[i], -m_opt.sigma);
        }
        for (const Config& p : m_simplex) m_pending.push_back(p);
        m_stage = Stage::Loop;
        return {StepKind::YieldNone, {}};
      }
    }
  }
}

bool NelderMead::converged() {
  if (m_roundsSinceNovel > 3 * static_cast<int>(m_simplex.size()) + 1) return true;
  if (m_haveLast && m_lastSimplex == m_simplex) return true;
  m_lastSimplex = m_simplex;
  m_haveLast = true;
  return false;
}

Config NelderMead::linearPoint(SearchContext& ctx, const Config& p1, const Config& p2, double scale) const {
  // p1 + scale (p1 - p2), OpenTuner's linear_point.
  return ctx.space().linear(1.0, p1, scale, p1, -scale, p2, ctx.rng());
}

Config NelderMead::centroid(SearchContext& ctx) const {
  const Space& space = ctx.space();
  Config c = m_simplex[0];
  for (size_t i = 0; i < space.size(); ++i) {
    if (!space.param(i).isPrimitive()) continue;
    double sum = 0.0;
    for (const Config& p : m_simplex) sum += space.unitValue(p, i);
    space.setUnitValue(c, i, sum / static_cast<double>(m_simplex.size()));
  }
  return c;
}

}  // namespace supersam::search
