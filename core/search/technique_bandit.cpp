#include "core/search/technique_bandit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/search/technique_de.h"
#include "core/search/technique_exchange.h"
#include "core/search/technique_greedy.h"
#include "core/search/technique_nelder_mead.h"
#include "core/util/error.h"

namespace supersam::search {

AucBanditQueue::AucBanditQueue(size_t keys, double c, size_t window)
    : m_c(c), m_window(window), m_uses(keys, 0), m_sum(keys, 0), m_decay(keys, 0) {}

std::vector<size_t> AucBanditQueue::orderedKeys(Rng& rng) const {
  std::vector<size_t> keys(m_uses.size());
  std::iota(keys.begin(), keys.end(), size_t{0});
  rng.shuffle(keys);  // break ties at random
  std::vector<double> scores(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) scores[k] = score(k);
  std::stable_sort(keys.begin(), keys.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  std::reverse(keys.begin(), keys.end());
  return keys;
}

void AucBanditQueue::onResult(size_t key, bool newBest) {
  m_history.emplace_back(key, newBest);
  m_uses[key] += 1;
  if (newBest) {
    m_sum[key] += m_uses[key];
    m_decay[key] += 1;
  }
  if (m_history.size() > m_window) {
    const auto [old, oldBest] = m_history.front();
    m_history.pop_front();
    m_uses[old] -= 1;
    m_sum[old] -= m_decay[old];
    if (oldBest) m_decay[old] -= 1;
  }
}

double AucBanditQueue::exploitation(size_t key) const {
  const double n = static_cast<double>(m_uses.at(key));
  return n > 0 ? static_cast<double>(m_sum[key]) * 2.0 / (n * (n + 1.0)) : 0.0;
}

double AucBanditQueue::exploitationSlow(size_t key) const {
  double score = 0.0;
  double pos = 0.0;
  for (const auto& [k, b] : m_history) {
    if (k != key) continue;
    pos += 1.0;
    if (b) score += pos;
  }
  return pos > 0 ? score * 2.0 / (pos * (pos + 1.0)) : 0.0;
}

double AucBanditQueue::exploration(size_t key) const {
  const long long n = m_uses.at(key);
  if (n <= 0) return std::numeric_limits<double>::infinity();
  return std::sqrt(2.0 * std::log2(static_cast<double>(m_history.size())) / static_cast<double>(n));
}

AucBanditMetaTechnique::AucBanditMetaTechnique(std::vector<std::unique_ptr<Technique>> members, std::string name,
                                               double c, size_t window)
    : m_members(std::move(members)),
      m_name(std::move(name)),
      m_bandit(m_members.size(), c, window),
      m_proposals(m_members.size(), 0) {}

namespace {
// OpenTuner's AUCBanditMetaTechniqueA members, in its order.
std::vector<std::unique_ptr<Technique>> openTunerMembers() {
  std::vector<std::unique_ptr<Technique>> members;
  members.push_back(std::make_unique<DifferentialEvolution>());
  members.push_back(std::make_unique<GreedyMutation>(GreedyMutation::Kind::Uniform, 0.1));
  members.push_back(std::make_unique<GreedyMutation>(GreedyMutation::Kind::Normal, 0.3, 0.1));
  members.push_back(std::make_unique<NelderMead>());
  return members;
}
}  // namespace

std::unique_ptr<AucBanditMetaTechnique> AucBanditMetaTechnique::makeDefault() {
  return std::make_unique<AucBanditMetaTechnique>(openTunerMembers(), "AUCBanditMetaTechniqueA");
}

std::unique_ptr<AucBanditMetaTechnique> AucBanditMetaTechnique::makeBuiltIn() {
  std::vector<std::unique_ptr<Technique>> members = openTunerMembers();
  members.push_back(std::make_unique<BudgetExchange>());
  return std::make_unique<AucBanditMetaTechnique>(std::move(members), "AUCBanditMetaTechniqueA+BudgetExchange");
}

Proposal AucBanditMetaTechnique::propose(SearchContext& ctx, int64_t requestId) {
  for (size_t k : m_bandit.orderedKeys(ctx.rng())) {
    Proposal p = m_members[k]->propose(ctx, requestId);
    if (p.kind == Proposal::Kind::Config) {
      m_outstanding[requestId] = k;
      m_proposals[k] += 1;
      return p;
    }
    if (p.kind == Proposal::Kind::Nothing) m_bandit.onResult(k, false);
    // Wait: the member waits for results; skip it without a record.
  }
  return Proposal::nothing();
}

void AucBanditMetaTechnique::onResult(SearchContext& ctx, int64_t requestId, const Outcome& outcome) {
  auto it = m_outstanding.find(requestId);
  if (it == m_outstanding.end()) return;
  const size_t k = it->second;
  m_outstanding.erase(it);
  m_bandit.onResult(k, outcome.wasNewBest && !outcome.duplicate);
  m_members[k]->onResult(ctx, requestId, outcome);
}

std::unique_ptr<Technique> makeTechnique(const std::string& name) {
  if (name == "native") return AucBanditMetaTechnique::makeBuiltIn();
  if (name == "native-port") return AucBanditMetaTechnique::makeDefault();
  if (name == "random") return std::make_unique<PureRandom>();
  throw util::Error("unknown search technique '" + name + "': expected native, native-port or random");
}

}  // namespace supersam::search
