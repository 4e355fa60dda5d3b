#include "core/search/space.h"

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/search/technique_bandit.h"
#include "core/util/error.h"

namespace supersam::search {
namespace {

TEST(SearchSpace, IntegerUnitValuesFollowOpenTuner) {
  Space s;
  s.addInt("x", 0, 4);
  Config c{0};
  // lo' = -0.4999, hi' = 4.4999
  EXPECT_NEAR(s.unitValue(c, 0), 0.4999 / 4.9998, 1e-12);
  for (int64_t v = 0; v <= 4; ++v) {
    c[0] = v;
    Config d{0};
    s.setUnitValue(d, 0, s.unitValue(c, 0));
    EXPECT_EQ(d[0], v);
  }
  s.setUnitValue(c, 0, 0.0);
  EXPECT_EQ(c[0], 0);
  s.setUnitValue(c, 0, 1.0);
  EXPECT_EQ(c[0], 4);
  s.setUnitValue(c, 0, 0.5);
  EXPECT_EQ(c[0], 2);
}

TEST(SearchSpace, NormalMutationStaysInRange) {
  Space s;
  s.addInt("x", 3, 9);
  Rng rng(5);
  Config c{3};
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    s.normalMutation(c, 0, 0.8, rng);
    ASSERT_GE(c[0], 3);
    ASSERT_LE(c[0], 9);
    seen.insert(c[0]);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(SearchSpace, ComplexLinearCombinationCopiesAUnlessBAndCDiffer) {
  Space s;
  s.addEnum("e", {"a", "b", "c", "d", "e", "f", "g", "h"});
  s.addBool("flag");
  Rng rng(1);
  const Config A{2, 1}, B{5, 0}, C{5, 0}, D{6, 1};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.linear(1.0, A, 0.7, B, -0.7, C, rng), A);
  int changed = 0;
  for (int i = 0; i < 200; ++i) changed += s.linear(1.0, A, 0.7, B, -0.7, D, rng)[0] != A[0];
  EXPECT_GT(changed, 150);  // randomized: 7 chances in 8 to differ
}

TEST(SearchSpace, JsonRoundTripAndErrors) {
  Space s;
  s.addEnum("w0", {"0.25", "1.0"});
  s.addBool("keep1");
  s.addInt("n", -2, 2);
  const Config c{1, 0, -1};
  EXPECT_EQ(s.fromJson(s.toJson(c)), c);
  EXPECT_EQ(s.describe(c), "w0=1.0;keep1=false;n=-1");
  EXPECT_THROW(s.fromJson(nlohmann::json{{"w0", "0.5"}, {"keep1", true}, {"n", 0}}), util::Error);
  EXPECT_THROW(s.fromJson(nlohmann::json{{"w0", "1.0"}, {"keep1", true}}), util::Error);
  EXPECT_THROW(s.addBool("w0"), util::Error);
  EXPECT_DOUBLE_EQ(s.cardinality(), 2.0 * 2.0 * 5.0);
}

TEST(AucBandit, ConstantTimeBookkeepingMatchesTheDefinition) {
  AucBanditQueue q(3, 0.05, 20);
  Rng rng(11);
  for (int i = 0; i < 300; ++i) {
    q.onResult(rng.below(3), rng.chance(0.3));
    for (size_t k = 0; k < 3; ++k) ASSERT_DOUBLE_EQ(q.exploitation(k), q.exploitationSlow(k)) << i;
  }
  EXPECT_EQ(q.historySize(), 20u);
}

TEST(AucBandit, UnusedTechniquesComeFirstThenTheCreditedOne) {
  AucBanditQueue q(3);
  Rng rng(2);
  q.onResult(0, true);
  q.onResult(1, false);
  auto order = q.orderedKeys(rng);
  EXPECT_EQ(order[0], 2u);  // infinite exploration
  EXPECT_EQ(order[1], 0u);  // AUC 1 beats AUC 0
  EXPECT_EQ(order[2], 1u);
}

}  // namespace
}  // namespace supersam::search
