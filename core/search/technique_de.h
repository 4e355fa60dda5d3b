#pragma once
// OpenTuner's DifferentialEvolutionAlt: population 30, crossover rate 0.2, one forced crossover parameter,
// information sharing 1 (the global best joins the donor pool), up to 5 retries on duplicates.
// The first 30 requests are the random initial population; then the oldest member without a pending trial is the
// parent; x1, x2, x3 come from the shuffled population minus the parent plus the best; F = U(0,1)/2 + 0.5;
// parameters are shuffled and the first, and each other with probability cr, get x1 + F (x2 - x3); a trial that
// beats its parent replaces it. Thread-safety: driver thread only.

#include <optional>
#include <vector>

#include "core/search/technique.h"

namespace supersam::search {

class DifferentialEvolution : public Technique {
 public:
  struct Options {
    int populationSize = 30;
    double crossoverRate = 0.2;
    int forcedCrossovers = 1;
    int informationSharing = 1;
    int duplicateRetries = 5;
  };
  DifferentialEvolution() : DifferentialEvolution(Options{}) {}
  explicit DifferentialEvolution(Options o) : m_opt(o) {}

  std::string name() const override { return "DifferentialEvolutionAlt"; }
  Proposal propose(SearchContext& ctx, int64_t requestId) override;
  void onResult(SearchContext& ctx, int64_t requestId, const Outcome& outcome) override;

 private:
  struct Member {
    Config config;
    bool submitted = false;
    int64_t stamp = 0;  // OpenTuner's timestamp: order of creation / last use
    std::optional<Config> candidate;
  };
  Config trial(SearchContext& ctx, size_t parent);

  Options m_opt;
  std::vector<Member> m_population;
  int64_t m_clock = 0;
};

}  // namespace supersam::search
