#include "core/supernet/search_space.h"

#include <cmath>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/util/error.h"

using namespace supersam;
using supernet::SearchSpace;
using supernet::Subnet;

TEST(SearchSpace, DefaultWidthsAndOfficialPreset) {
  auto arch = model::SamArch::preset("vit_b");
  SearchSpace s = SearchSpace::official(arch);
  EXPECT_EQ(s.depth(), 12);
  EXPECT_EQ(s.block(0).widths, (std::vector<int64_t>{768, 1014, 1536, 2304, 3072}));
  EXPECT_EQ(s.prunableBlocks(), (std::vector<int64_t>{1, 2, 5, 6, 9}));
  EXPECT_DOUBLE_EQ(s.block(5).dropProbability, 0.5);
  EXPECT_DOUBLE_EQ(s.block(0).dropProbability, 0.0);
  // 5 widths everywhere, 6 choices in the 5 prunable blocks.
  EXPECT_DOUBLE_EQ(s.size(), std::pow(5.0, 7) * std::pow(6.0, 5));
  EXPECT_EQ(s.largest(), Subnet::full(arch));
  Subnet small = s.smallest();
  EXPECT_EQ(small.keptCount(), 7);
  EXPECT_EQ(small.width(0), 768);
  EXPECT_FALSE(small.kept(9));
  s.validateFor(arch);
}

TEST(SearchSpace, SamplingIsSeededAndFollowsProbabilities) {
  auto arch = model::SamArch::preset("vit_b");
  SearchSpace s = SearchSpace::official(arch);
  std::mt19937_64 a(42), b(42);
  int dropped9 = 0, dropped0 = 0;
  std::set<int64_t> widthsSeen;
  const int n = 2000;
  for (int k = 0; k < n; ++k) {
    Subnet x = s.sample(a), y = s.sample(b);
    ASSERT_EQ(x, y);
    ASSERT_TRUE(s.contains(x));
    dropped9 += x.kept(9) ? 0 : 1;
    dropped0 += x.kept(0) ? 0 : 1;
    widthsSeen.insert(x.width(0));
  }
  EXPECT_EQ(dropped0, 0);
  EXPECT_NEAR(dropped9 / double(n), 0.5, 0.05);
  EXPECT_EQ(widthsSeen.size(), 5u);
}

TEST(SearchSpace, MeasuredPresetFromImportance) {
  auto arch = model::SamArch::preset("vit_b");
  std::vector<double> imp = {9, 1, 2, 8, 7, 0, 3, 6, 5, 4, 10, 11};
  SearchSpace s = SearchSpace::measured(arch, imp, 5, 0.5);
  EXPECT_EQ(s.name(), "measured");
  EXPECT_EQ(s.prunableBlocks(), (std::vector<int64_t>{1, 2, 5, 6, 9}));
  EXPECT_DOUBLE_EQ(s.block(5).dropProbability, 0.5);               // least important: p_max
  EXPECT_DOUBLE_EQ(s.block(9).dropProbability, 0.5 * (1 - 4 / 11.0));
  EXPECT_THROW(SearchSpace::measured(arch, {1, 2}, 5), util::Error);
  EXPECT_THROW(SearchSpace::measured(arch, imp, 12), util::Error);
}

TEST(SearchSpace, JsonRoundTripAndValidation) {
  auto arch = model::SamArch::preset("vit_b");
  SearchSpace s = SearchSpace::official(arch, {0.5, 1.0});
  SearchSpace t = SearchSpace::fromJson(nlohmann::json::parse(s.toJson().dump()));
  EXPECT_EQ(s, t);
  EXPECT_EQ(t.block(3).widths, (std::vector<int64_t>{1536, 3072}));

  nlohmann::json bad = s.toJson();
  bad["blocks"][3]["widths"] = {3072, 1536};
  try {
    SearchSpace::fromJson(bad, "space.json");
    FAIL() << "descending widths accepted";
  } catch (const util::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("space.json"), std::string::npos) << m;
    EXPECT_NE(m.find("block 3"), std::string::npos) << m;
  }
  bad = s.toJson();
  bad["blocks"][0]["drop_probability"] = 0.3;  // not prunable
  EXPECT_THROW(SearchSpace::fromJson(bad), util::Error);
  bad = s.toJson();
  bad["blocks"][1]["drop_probability"] = 1.5;
  EXPECT_THROW(SearchSpace::fromJson(bad), util::Error);
  EXPECT_THROW(SearchSpace::widthsFromRatios(3072, {0.0}), util::Error);
  EXPECT_THROW(SearchSpace::widthsFromRatios(3072, {1.5}), util::Error);
  EXPECT_THROW(s.withPrunable({12}, 0.5), util::Error);
  // A space made for another arch is rejected against this one.
  auto tiny = model::SamArch::preset("vit_b");
  tiny.encoderDepth = 4;
  tiny.encoderGlobalAttnIndexes = {1, 3};
  EXPECT_THROW(s.validateFor(tiny), util::Error);
}
