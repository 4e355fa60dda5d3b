#pragma once
// BudgetExchange: a local search along the edge of the analytical budgets, for problems where the best
// configurations use the budget (a bigger subnet is rarely worse). Parameters must be ordered by cost: an Int's
// higher value and a Bool's true cost more (as the subnet encoding's width indices and "kept" flags do); Enums are
// left alone. From the best configuration so far: one parameter one step up, then other parameters one step down
// (at most four) until the budgets hold again, then one pass over the parameters in random order taking every step
// up that still fits. It polishes the best rather than searching: after 2 x (number of parameters) proposals around
// the same best it stands aside (Proposal::wait: no record in the bandit, the other members take the requests)
// until any technique finds a new best, so that a local optimum does not hold the whole search. It also stands
// aside without analytical budgets, and proposes nothing when no new neighbour is found in 20 tries. Not one of OpenTuner's techniques: an addition the built-in tuner's bandit can weigh against them.
// Thread-safety: driver thread only.

#include "core/search/technique.h"

namespace supersam::search {

class BudgetExchange : public Technique {
 public:
  std::string name() const override { return "BudgetExchange"; }
  Proposal propose(SearchContext& ctx, int64_t requestId) override;

 private:
  Config m_best;        // the best configuration the current proposals are around
  int64_t m_tries = 0;  // proposals made around it
};

}  // namespace supersam::search
