#pragma once
// OpenTuner's default search, AUCBanditMetaTechniqueA: an AUC bandit over DifferentialEvolutionAlt,
// UniformGreedyMutation, NormalGreedyMutation(rate 0.3) and RandomNelderMead. Each request the bandit ranks the
// members and the first that proposes a configuration wins; a member that proposes nothing is recorded as a
// 0 in the history; a member that is waiting for results is skipped without a record.
// Credit: b = 1 when the result was a new global best (strictly better). A duplicate request (the configuration
// already had a result) is credited b = 0: it found nothing new. OpenTuner may pass on the original result's
// new-best flag to a duplicate; we do not, so a technique that repeats itself loses standing.
// Thread-safety: driver thread only.

#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "core/search/technique.h"

namespace supersam::search {

// The bandit's bookkeeping over a sliding window of (technique, b) pairs, O(1) per update.
class AucBanditQueue {
 public:
  AucBanditQueue(size_t keys, double c = 0.05, size_t window = 500);

  // Keys ordered best first: shuffled, then stable-sorted by score.
  std::vector<size_t> orderedKeys(Rng& rng) const;
  void onResult(size_t key, bool newBest);

  double exploitation(size_t key) const;      // AUC_k, O(1)
  double exploitationSlow(size_t key) const;  // the same from the whole history, for tests
  double exploration(size_t key) const;       // sqrt(2 log2 |H| / n_k), +inf when n_k = 0
  double score(size_t key) const { return exploitation(key) + m_c * exploration(key); }
  size_t historySize() const { return m_history.size(); }
  size_t uses(size_t key) const { return m_uses.at(key); }

 private:
  double m_c;
  size_t m_window;
  std::deque<std::pair<size_t, bool>> m_history;
  std::vector<long long> m_uses, m_sum, m_decay;
};

class AucBanditMetaTechnique : public Technique {
 public:
  AucBanditMetaTechnique(std::vector<std::unique_ptr<Technique>> members, std::string name, double c = 0.05,
                         size_t window = 500);
  // AUCBanditMetaTechniqueA with OpenTuner's default settings.
  static std::unique_ptr<AucBanditMetaTechnique> makeDefault();
  // The built-in tuner: the same members plus BudgetExchange (technique_exchange.h), which only proposes when the
  // problem has analytical budgets.
  static std::unique_ptr<AucBanditMetaTechnique> makeBuiltIn();

  std::string name() const override { return m_name; }
  Proposal propose(SearchContext& ctx, int64_t requestId) override;
  void onResult(SearchContext& ctx, int64_t requestId, const Outcome& outcome) override;

  const AucBanditQueue& bandit() const { return m_bandit; }
  const std::vector<std::unique_ptr<Technique>>& members() const { return m_members; }
  // How many configurations each member proposed (indexed like members()).
  const std::vector<long long>& proposals() const { return m_proposals; }

 private:
  std::vector<std::unique_ptr<Technique>> m_members;
  std::string m_name;
  AucBanditQueue m_bandit;
  std::map<int64_t, size_t> m_outstanding;  // request id -> member
  std::vector<long long> m_proposals;
};

}  // namespace supersam::search
