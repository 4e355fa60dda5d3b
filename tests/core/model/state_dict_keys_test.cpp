// The module tree registers SAM's exact attribute names: the vit_b preset's parameters and buffers are exactly the
// official checkpoint's keys and shapes (pixel_mean/std are non-persistent in SAM and absent from the file).
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "core/model/sam.h"
#include "tests/common/test_paths.h"

using namespace supersam;

TEST(StateDictKeys, VitBPresetMatchesOfficialCheckpoint) {
  std::ifstream in(test::fixturesDir() + "/vit_b_state_dict.json");
  ASSERT_TRUE(in.good());
  nlohmann::json ref = nlohmann::json::parse(in);
  ASSERT_EQ(ref.size(), 314u);
  EXPECT_FALSE(ref.contains("pixel_mean"));
  EXPECT_FALSE(ref.contains("pixel_std"));

  model::Sam sam(model::SamArch::preset("vit_b"));
  std::map<std::string, std::vector<int64_t>> ours;
  for (const auto& p : sam->named_parameters(true)) ours[p.key()] = p.value().sizes().vec();
  for (const auto& b : sam->named_buffers(true)) ours[b.key()] = b.value().sizes().vec();

  int64_t total = 0, encoder = 0;
  for (const auto& [key, info] : ref.items()) {
    auto it = ours.find(key);
    ASSERT_NE(it, ours.end()) << "missing key " << key;
    EXPECT_EQ(it->second, info.at("shape").get<std::vector<int64_t>>()) << key;
    int64_t n = 1;
    for (int64_t d : it->second) n *= d;
    total += n;
    if (key.rfind("image_encoder.", 0) == 0) encoder += n;
  }
  for (const auto& [key, shape] : ours) EXPECT_TRUE(ref.contains(key)) << "extra key " << key;
  EXPECT_EQ(ours.size(), ref.size());
  EXPECT_EQ(total, 93735728);
  EXPECT_EQ(encoder, 89670912);
}
