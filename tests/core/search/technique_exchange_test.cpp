#include "core/search/technique_exchange.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "core/search/technique_bandit.h"
#include "core/search/tuner.h"

namespace supersam::search {
namespace {

// A context whose budget is "sum of the parameters' values <= limit" (ints cost their value, bools 0/1).
class BudgetContext : public SearchContext {
 public:
  BudgetContext(Space space, Config best, int64_t limit, bool budgeted)
      : m_space(std::move(space)), m_best(std::move(best)), m_limit(limit), m_budgeted(budgeted) {}
  void setBest(Config c) { m_best = std::move(c); }
  const Space& space() const override { return m_space; }
  Rng& rng() override { return m_rng; }
  const Config* bestConfig() const override { return &m_best; }
  bool hasResult(const Config& c) const override { return c == m_best; }
  int compare(const Config&, const Config&) const override { return 0; }
  bool hasAnalyticBudget() const override { return m_budgeted; }
  bool fitsBudget(const Config& c) const override { return cost(c) <= m_limit; }
  static int64_t cost(const Config& c) { return std::accumulate(c.begin(), c.end(), int64_t{0}); }

 private:
  Space m_space;
  Config m_best;
  int64_t m_limit;
  bool m_budgeted;
  Rng m_rng{9};
};

Space mixedSpace() {
  Space s;
  for (int i = 0; i < 6; ++i) s.addInt("w" + std::to_string(i), 0, 4);
  s.addBool("k0");
  s.addBool("k1");
  s.addEnum("e", {"a", "b", "c"});  // left alone
  return s;
}

TEST(BudgetExchange, NeighboursOfTheBestUseTheBudgetAndFitIt) {
  const Config best{2, 2, 2, 2, 2, 2, 1, 0, 1};  // cost 14 (the enum's index counts too, but never moves)
  BudgetContext ctx(mixedSpace(), best, 14, true);
  BudgetExchange t;
  std::set<Config> seen;
  // 2 x 9 parameters: the proposals it makes around one best before standing aside.
  for (int i = 0; i < 18; ++i) {
    const Proposal p = t.propose(ctx, i);
    ASSERT_EQ(p.kind, Proposal::Kind::Config);
    const Config& c = p.config;
    EXPECT_TRUE(ctx.fitsBudget(c));
    EXPECT_NE(c, best);
    EXPECT_EQ(c[8], best[8]) << "the enum parameter moved";
    // Nothing is left: no single step up of an int or a bool fits any more.
    for (size_t k = 0; k < 8; ++k) {
      Config up = c;
      const bool canUp = k < 6 ? up[k] < 4 : up[k] == 0;
      if (!canUp) continue;
      up[k] += 1;
      EXPECT_FALSE(ctx.fitsBudget(up)) << "parameter " << k;
    }
    seen.insert(c);
  }
  EXPECT_GT(seen.size(), 8u);  // it explores, not one fixed neighbour
  // Then it stands aside until the best changes, and polishes the new best.
  EXPECT_EQ(t.propose(ctx, 18).kind, Proposal::Kind::Wait);
  ctx.setBest(*seen.begin());
  EXPECT_EQ(t.propose(ctx, 19).kind, Proposal::Kind::Config);
}

TEST(BudgetExchange, StandsAsideWithoutAnAnalyticalBudget) {
  BudgetContext ctx(mixedSpace(), Config{2, 2, 2, 2, 2, 2, 1, 0, 1}, 14, false);
  BudgetExchange t;
  EXPECT_EQ(t.propose(ctx, 0).kind, Proposal::Kind::Wait);
}

// In the built-in tuner it takes part only where the problem has analytical budgets.
TEST(BudgetExchange, TheBuiltInTunerUsesItUnderABudgetOnly) {
  for (bool budgeted : {true, false}) {
    Problem p;
    p.space = mixedSpace();
    p.evaluate = [](const Config& c) {
      Metrics m;
      m.quality = static_cast<double>(c[0] * 3 + c[1] * 2 + c[2] + c[6]);
      m.params = static_cast<double>(BudgetContext::cost(c));
      return m;
    };
    p.costOf = [](const Config& c) {
      Metrics m;
      m.params = static_cast<double>(BudgetContext::cost(c));
      return m;
    };
    if (budgeted) p.constraints.maxParams = 12.0;
    SearchOptions o;
    o.maxEvaluations = 150;
    auto t = makeTechnique("native");
    const SearchReport r = runSearch(p, *t, o);
    int exchange = 0;
    for (const EvaluatedPoint& pt : r.points) exchange += pt.technique == "BudgetExchange" ? 1 : 0;
    if (budgeted) {
      EXPECT_GT(exchange, 0);
    } else {
      EXPECT_EQ(exchange, 0);
    }
  }
  EXPECT_NO_THROW(makeTechnique("native-port"));
}

}  // namespace
}  // namespace supersam::search
