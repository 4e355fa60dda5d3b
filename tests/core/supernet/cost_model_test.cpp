#include "core/supernet/cost_model.h"

#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/supernet/search_space.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;
using supernet::Subnet;

TEST(CostModel, FullVitBMatchesTheOfficialStateDict) {
  auto arch = model::SamArch::preset("vit_b");
  std::ifstream in(test::fixturesDir() + "/vit_b_state_dict.json");
  ASSERT_TRUE(in.good());
  nlohmann::json ref = nlohmann::json::parse(in);
  auto shapes = supernet::parameterShapes(arch);
  ASSERT_EQ(shapes.size(), ref.size());
  for (const auto& t : shapes) {
    ASSERT_TRUE(ref.contains(t.name)) << t.name;
    EXPECT_EQ(ref[t.name]["shape"].get<std::vector<int64_t>>(), t.shape) << t.name;
  }
  auto c = supernet::computeCost(arch);
  EXPECT_EQ(c.params, 93735728);
  EXPECT_EQ(c.encoderParams, 89670912);
  EXPECT_EQ(c.bytesFp32, 4 * 93735728LL);
  EXPECT_EQ(c.bytesFp16, 2 * 93735728LL);
}

TEST(CostModel, SubnetParamsAndMacsByHand) {
  auto arch = model::SamArch::preset("vit_b");
  auto full = supernet::computeCost(arch);
  Subnet s = Subnet::full(arch);
  s.setBlock(1, {false, 0});
  s.setBlock(11, {true, 1536});
  auto c = supernet::computeCost(arch, s);
  const int64_t C = 768;
  // A windowed block: norms 4C, rel-pos 2 x 27 x 64, qkv, proj, MLP 3072.
  int64_t block1 = 4 * C + 2 * 27 * 64 + (3 * C * C + 3 * C) + (C * C + C) + (3072 * C + 3072) + (C * 3072 + C);
  int64_t slice11 = 1536 * C + 1536 + C * 1536;
  EXPECT_EQ(full.params - c.params, block1 + slice11);
  // MACs: block 1 removed, block 11 (global, 64x64 tokens) MLP halved.
  int64_t macs1 = supernet::blockMacs(arch, 1, 3072);
  int64_t mlpHalf = 2 * 64 * 64 * C * 1536;
  EXPECT_EQ(full.encoderMacs - c.encoderMacs, macs1 + mlpHalf);
  // A windowed block at 64x64 tokens, window 14: padded to 70x70 = 25 windows of 196 tokens.
  int64_t expected1 = 4900LL * C * 3 * C + 2LL * 25 * 12 * 196 * 196 * 64 + 2LL * 25 * 12 * 196 * 14 * 64 +
                      4900LL * C * C + 2LL * 4096 * C * 3072;
  EXPECT_EQ(macs1, expected1);
  // ViT-B encoder is ~487 GMACs per 1024x1024 image in the literature (window padding included here).
  EXPECT_GT(full.gmacs(), 450);
  EXPECT_LT(full.gmacs(), 520);
  EXPECT_THROW(supernet::computeCost(arch, Subnet::parse("3072,3072")), util::Error);
}
