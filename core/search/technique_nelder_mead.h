#pragma once
// OpenTuner's RandomNelderMead (alpha 2, gamma 2, beta 0.5, sigma 0.5) wrapped in its SequentialSearchTechnique,
// written as a state machine instead of Python generators.
// Simplex = a random point plus one random point per numeric parameter (a space with no numeric parameter gives a
// one-point simplex: the technique then never proposes anything, as in OpenTuner). Each round: sort by the
// objective; centroid over numeric parameters (complex ones copied from the best); reflect R = c + alpha (c - worst);
// if R beats the best, expand E = c + gamma (R - c) and keep the better; else if R beats the second best keep R;
// else contract towards base = (R if R <= worst else worst): c + beta (base - c), accepted if no worse than base,
// otherwise shrink every point towards the best by sigma. Stops for good when nothing new was requested for
// 3 |simplex| + 1 rounds or the simplex stopped changing. Thread-safety: driver thread only.

#include <vector>

#include "core/search/technique.h"

namespace supersam::search {

class NelderMead : public Technique {
 public:
  struct Options {
    double alpha = 2.0, gamma = 2.0, beta = 0.5, sigma = 0.5;
    int noveltyThreshold = 50, resetThreshold = 500;
  };
  NelderMead() : NelderMead(Options{}) {}
  explicit NelderMead(Options o) : m_opt(o) {}

  std::string name() const override { return "RandomNelderMead"; }
  Proposal propose(SearchContext& ctx, int64_t requestId) override;
  bool finished() const { return m_done; }

 private:
  // One step of OpenTuner's main_generator: yields a configuration, a bare "None" (wait for the pending points),
  // or ends.
  enum class StepKind { Yield, YieldNone, End };
  struct Step {
    StepKind kind;
    Config config;
  };
  enum class Stage { Start, Loop, AfterReflection, AfterExpansion, AfterContraction };
  enum class Outer { Top, Emitting, Waiting, FinalEmitting };

  Step subStep(SearchContext& ctx);
  bool converged();
  Config linearPoint(SearchContext& ctx, const Config& p1, const Config& p2, double scale) const;
  Config centroid(SearchContext& ctx) const;

  Options m_opt;
  // Sub-generator state.
  Stage m_stage = Stage::Start;
  std::vector<Config> m_simplex, m_lastSimplex;
  bool m_haveLast = false;
  Config m_centroid, m_reflection, m_expansion, m_contraction, m_contractBase;
  // SequentialSearchTechnique wrapper state.
  Outer m_outer = Outer::Top;
  std::vector<Config> m_pending;
  size_t m_emitIndex = 0;
  int m_roundsSinceNovel = 0;
  bool m_done = false;
};

}  // namespace supersam::search
