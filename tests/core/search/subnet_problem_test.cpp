#include "core/search/subnet_problem.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace supersam::search
