#pragma once
// OpenTuner's UniformGreedyMutation (rate 0.1) and NormalGreedyMutation (rate 0.3 in AUCBanditMetaTechniqueA,
// sigma 0.1). Parent = the global best (a random configuration before any result). The parameters are shuffled;
// the first always mutates, each other with probability `rate`. Uniform: randomize. Normal: normal mutation for
// numeric parameters, a random operator (bool flip, enum randomize) for complex ones. Mutations accumulate over
// up to 10 tries until the child differs from the parent; otherwise nothing is proposed.
// Thread-safety: driver thread only.

#include "core/search/technique.h"

namespace supersam::search {

class GreedyMutation : public Technique {
 public:
  enum class Kind { Uniform, Normal };
  GreedyMutation(Kind kind, double rate, double sigma = 0.1) : m_kind(kind), m_rate(rate), m_sigma(sigma) {}

  std::string name() const override {
    return m_kind == Kind::Uniform ? "UniformGreedyMutation" : "NormalGreedyMutation";
  }
  Proposal propose(SearchContext& ctx, int64_t requestId) override;

 private:
  void mutate(SearchContext& ctx, Config& cfg) const;

  Kind m_kind;
  double m_rate;
  double m_sigma;
  int m_mustMutate = 1;
};

}  // namespace supersam::search
