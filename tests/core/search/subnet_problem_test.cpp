#include "core/search/subnet_problem.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "core/supernet/cost_model.h"
#include "core/util/error.h"

namespace supersam::search {
namespace {

TEST(SubnetProblem, EncodingRoundTripsAndMatchesTheSpace) {
  const model::SamArch arch = model::SamArch::preset("vit_b");
  const supernet::SearchSpace space = supernet::SearchSpace::official(arch);
  for (bool ordinal : {false, true}) {
    SubnetEncoding enc(space, ordinal);
    EXPECT_EQ(enc.space().size(), 12u + space.prunableBlocks().size());
    EXPECT_EQ(enc.space().primitiveCount(), ordinal ? 12u : 0u);
    Rng rng(3);
    for (int i = 0; i < 200; ++i) {
      const Config c = enc.space().random(rng);
      const supernet::Subnet s = enc.toSubnet(c);
      EXPECT_TRUE(space.contains(s));
      EXPECT_EQ(enc.toSubnet(enc.fromSubnet(s)), s);
    }
    EXPECT_EQ(enc.toSubnet(enc.fromSubnet(space.smallest())), space.smallest());
  }
}

TEST(SubnetProblem, BudgetsAreCheckedAgainstTheSmallestSubnetAndRespected) {
  const model::SamArch arch = model::SamArch::preset("vit_b");
  const supernet::SearchSpace space = supernet::SearchSpace::official(arch);
  SubnetEncoding enc(space, false);
  const double full = static_cast<double>(supernet::computeCost(arch).params);
  const double smallest = static_cast<double>(supernet::computeCost(arch, space.smallest()).params);
  // A made-up quality: wider and deeper is better, block 0 and 11 matter most.
  auto quality = [](const supernet::Subnet& s) {
    Metrics m;
    m.quality = 0.0;
    for (int64_t b = 0; b < s.depth(); ++b) {
      const double weight = (b == 0 || b == 11) ? 3.0 : 1.0;
      m.quality += s.kept(b) ? weight * static_cast<double>(s.width(b)) / 3072.0 : 0.0;
    }
    m.details = {{"miou_oracle", m.quality}};
    return m;
  };
  Constraints tooSmall;
  tooSmall.maxParams = smallest * 0.9;
  Problem bad = makeSubnetProblem(enc, arch, tooSmall, quality);
  auto t = makeTechnique("native");
  EXPECT_THROW(runSearch(bad, *t, SearchOptions{}), util::Error);

  Constraints c;
  c.maxParams = 0.6 * full;
  Problem p = makeSubnetProblem(enc, arch, c, quality);
  SearchOptions o;
  o.maxEvaluations = 300;
  SearchReport r = runSearch(p, *t, o);
  ASSERT_NE(r.bestPoint(), nullptr);
  EXPECT_TRUE(r.bestPoint()->score.feasible);
  EXPECT_LE(r.bestPoint()->metrics.params, 0.6 * full);
  EXPECT_GT(r.bestPoint()->metrics.macs, 0.0);
  EXPECT_EQ(supernet::Subnet::parse(r.bestPoint()->id.text).hash(), r.bestPoint()->id.hash);
  std::set<std::string> ids;
  for (const auto& pt : r.points) ids.insert(pt.id.hash);
  EXPECT_EQ(ids.size(), static_cast<size_t>(r.evaluated));  // each subnet evaluated once
}

// A made-up quality for the official ViT-B space: wider and deeper is better, blocks 0 and 11 matter most.
Metrics madeUpQuality(const supernet::Subnet& s) {
  Metrics m;
  m.quality = 0.0;
  for (int64_t b = 0; b < s.depth(); ++b) {
    const double weight = (b == 0 || b == 11) ? 3.0 : 1.0;
    m.quality += s.kept(b) ? weight * static_cast<double>(s.width(b)) / 3072.0 : 0.0;
  }
  return m;
}

// Subnets over the parameter budget are ranked from the cost model and never evaluated, for every technique; they
// do not count against the evaluation budget.
TEST(SubnetProblem, OverBudgetSubnetsAreScreenedNotEvaluated) {
  const model::SamArch arch = model::SamArch::preset("vit_b");
  const supernet::SearchSpace space = supernet::SearchSpace::official(arch);
  SubnetEncoding enc(space, true);
  const double full = static_cast<double>(supernet::computeCost(arch).params);
  Constraints c;
  c.maxParams = 0.45 * full;
  for (const char* name : {"native", "random"}) {
    SCOPED_TRACE(name);
    std::atomic<int> calls{0};
    Problem p = makeSubnetProblem(enc, arch, c, [&](const supernet::Subnet& s) {
      ++calls;
      EXPECT_LE(static_cast<double>(supernet::computeCost(arch, s).params), 0.45 * full) << s.toString();
      return madeUpQuality(s);
    });
    SearchOptions o;
    o.maxEvaluations = 40;
    o.seed = 2;
    auto t = makeTechnique(name);
    const SearchReport r = runSearch(p, *t, o);
    EXPECT_EQ(r.points.size(), 40u);
    EXPECT_EQ(calls.load(), 40);
    EXPECT_GT(r.screened, 0);
    for (const EvaluatedPoint& pt : r.points) EXPECT_TRUE(pt.score.feasible) << pt.id.text;
  }
}

TEST(SubnetProblem, BudgetSeedsFitAndLeaveNoRoomToWiden) {
  const model::SamArch arch = model::SamArch::preset("vit_b");
  // Unequal drop probabilities, so that the order of dropping is defined by them: block 9 least important.
  std::vector<supernet::BlockSpace> blocks =
      supernet::SearchSpace::official(arch).withPrunable({1, 2, 5, 6, 9}, 0.3).blocks();
  blocks[9].dropProbability = 0.6;
  const supernet::SearchSpace space("test", blocks);
  const double full = static_cast<double>(supernet::computeCost(arch).params);
  EXPECT_EQ(budgetSeeds(space, arch, Constraints{}), std::vector<supernet::Subnet>{space.largest()});
  for (double fraction : {0.45, 0.6, 0.8}) {
    SCOPED_TRACE(fraction);
    Constraints c;
    c.maxParams = fraction * full;
    const std::vector<supernet::Subnet> seeds = budgetSeeds(space, arch, c, 3);
    ASSERT_FALSE(seeds.empty());
    EXPECT_LE(seeds.size(), 3u);
    std::set<std::string> distinct;
    for (const supernet::Subnet& s : seeds) {
      EXPECT_TRUE(space.contains(s));
      distinct.insert(s.toString());
      EXPECT_LE(static_cast<double>(supernet::computeCost(arch, s).params), *c.maxParams) << s.toString();
      // No kept block can take its next width without breaking the budget.
      for (int64_t b = 0; b < s.depth(); ++b) {
        const auto& widths = space.block(b).widths;
        if (!s.kept(b) || s.width(b) == widths.back()) continue;
        supernet::Subnet wider = s;
        wider.setBlock(b, {true, *std::upper_bound(widths.begin(), widths.end(), s.width(b))});
        EXPECT_GT(static_cast<double>(supernet::computeCost(arch, wider).params), *c.maxParams)
            << s.toString() << " block " << b;
      }
    }
    EXPECT_EQ(distinct.size(), seeds.size());
    // The first seed drops every prunable block; the next one keeps one of them back: block 9, the least
    // important, is dropped first, and among equally likely blocks the lower index goes first, so block 6 stays.
    for (int64_t b : space.prunableBlocks()) EXPECT_FALSE(seeds[0].kept(b));
    if (seeds.size() > 1) {
      EXPECT_TRUE(seeds[1].kept(6));
      EXPECT_FALSE(seeds[1].kept(9));
      EXPECT_FALSE(seeds[1].kept(1));
    }
  }

  // A seeded search evaluates the seeds first, under the technique name "seed".
  Constraints c;
  c.maxParams = 0.6 * full;
  SubnetEncoding enc(space, true);
  Problem p = makeSubnetProblem(enc, arch, c, madeUpQuality);
  SearchOptions o;
  o.maxEvaluations = 10;
  const std::vector<supernet::Subnet> seeds = budgetSeeds(space, arch, c, 3);
  for (const auto& s : seeds) o.seeds.push_back(enc.fromSubnet(s));
  auto t = makeTechnique("native");
  const SearchReport r = runSearch(p, *t, o);
  ASSERT_GE(r.points.size(), seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) {
    EXPECT_EQ(r.points[i].id.text, seeds[i].toString());
    EXPECT_EQ(r.points[i].technique, "seed");
  }
}

}  // namespace
}  // namespace supersam::search
