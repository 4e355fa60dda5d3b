#include "core/supernet/sensitivity.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/supernet/search_space.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;

TEST(Sensitivity, PluggableQualityGivesExactTable) {
  auto arch = test::tinyArch();
  // A fake "mIoU": each dropped block costs a known amount.
  const std::vector<double> cost = {0.30, 0.05, 0.10, 0.02};
  int calls = 0;
  supernet::QualityFn q = [&](const model::ElasticConfig& cfg) {
    ++calls;
    double v = 0.8;
    for (size_t b = 0; b < cfg.size(); ++b) v -= cfg[b].kept ? 0.0 : cost[b];
    return v;
  };
  long long lastDone = 0, lastTotal = 0;
  util::JobControl job;
  job.progress = [&](long long d, long long t, const std::string&) { lastDone = d, lastTotal = t; };
  auto t = supernet::measureSensitivity(arch, q, "miou", 7, -1, job);
  EXPECT_EQ(calls, 1 + 4 + 3);
  EXPECT_EQ(lastDone, 8);
  EXPECT_EQ(lastTotal, 8);
  EXPECT_DOUBLE_EQ(t.baseline, 0.8);
  for (size_t b = 0; b < 4; ++b) EXPECT_NEAR(t.dropLoss[b], cost[b], 1e-12);
  EXPECT_EQ(t.order, (std::vector<int64_t>{3, 1, 2, 0}));
  ASSERT_EQ(t.cumulativeLoss.size(), 3u);
  EXPECT_NEAR(t.cumulativeLoss[0], 0.02, 1e-12);
  EXPECT_NEAR(t.cumulativeLoss[1], 0.07, 1e-12);
  EXPECT_NEAR(t.cumulativeLoss[2], 0.17, 1e-12);
  EXPECT_GT(t.cumulativeParams[0], t.cumulativeParams[1]);

  auto back = supernet::SensitivityTable::fromJson(nlohmann::json::parse(t.toJson().dump()));
  EXPECT_EQ(back.order, t.order);
  EXPECT_EQ(back.dropLoss, t.dropLoss);
  std::string text = t.toText(arch);
  EXPECT_NE(text.find("global"), std::string::npos) << text;
  EXPECT_NE(text.find("3,1,2"), std::string::npos) << text;

  // The measured space makes the least important blocks prunable.
  auto space = supernet::SearchSpace::measured(arch, t.importance(), 2, 0.5);
  EXPECT_EQ(space.prunableBlocks(), (std::vector<int64_t>{1, 3}));
  EXPECT_DOUBLE_EQ(space.block(3).dropProbability, 0.5);

  // Cancellation between evaluations.
  util::CancelToken cancel;
  cancel.cancel();
  util::JobControl stop;
  stop.cancel = &cancel;
  EXPECT_THROW(supernet::measureSensitivity(arch, q, "miou", 7, -1, stop), util::Cancelled);
}

TEST(Sensitivity, EmbeddingChangeOnCalibrationImages) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 8);
  at::manual_seed(3);
  auto q = supernet::embeddingQuality(sam->image_encoder, {at::randn({1, 3, 128, 128}), at::randn({1, 3, 128, 128})});
  auto t = supernet::measureSensitivity(arch, q, "embedding_rel_change", 2, 1);
  EXPECT_EQ(t.baseline, 0.0);  // the full model reproduces itself exactly
  for (double l : t.dropLoss) EXPECT_GT(l, 1e-4);
  ASSERT_EQ(t.cumulativeLoss.size(), 1u);
  EXPECT_DOUBLE_EQ(t.cumulativeLoss[0], t.dropLoss[size_t(t.order[0])]);

  // Stored in and read back from the supernet metadata.
  supernet::SupernetInfo info;
  info.space = supernet::SearchSpace::measured(arch, t.importance(), 1);
  info.sensitivity = t;
  auto read = supernet::readSupernetInfo({{"supernet", info.toJsonText()}}, arch);
  EXPECT_EQ(read.spaceSource, "checkpoint");
  EXPECT_EQ(read.space, info.space);
  ASSERT_TRUE(read.sensitivity.has_value());
  EXPECT_EQ(read.sensitivity->order, t.order);
  // Without metadata: a default space; malformed metadata is an error.
  EXPECT_NE(supernet::readSupernetInfo({}, arch).spaceSource.find("default"), std::string::npos);
  EXPECT_THROW(supernet::readSupernetInfo({{"supernet", "{oops"}}, arch), util::Error);
  auto vitb = model::SamArch::preset("vit_b");
  EXPECT_THROW(supernet::readSupernetInfo({{"supernet", info.toJsonText()}}, vitb), util::Error);
}

// Checkpoint metadata is user input: a sensitivity order that is not a permutation of the blocks once indexed heap
// memory unchecked (issue 14). Every such table is refused with a message naming the entry.
TEST(Sensitivity, HostileTablesInCheckpointMetadataAreRefused) {
  const model::SamArch arch = test::tinyArch();
  const int64_t n = arch.encoderDepth;
  const auto table = [&](std::vector<int64_t> order, size_t cumulative) {
    std::vector<double> loss(static_cast<size_t>(n), 0.1);
    return nlohmann::json{{"metric", "embedding"}, {"baseline", 0.0}, {"drop_loss", loss}, {"order", order},
                          {"cumulative_loss", std::vector<double>(cumulative, 0.2)},
                          {"cumulative_params", std::vector<int64_t>(cumulative, 5)}};
  };
  std::vector<int64_t> good(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) good[static_cast<size_t>(i)] = n - 1 - i;
  const supernet::SensitivityTable ok = supernet::SensitivityTable::fromJson(table(good, 2));
  EXPECT_FALSE(ok.toText(arch).empty());

  std::vector<std::vector<int64_t>> bad;
  for (int64_t v : {n, int64_t{-1}, int64_t{-4}, int64_t{100000000}}) {
    auto o = good;
    o[1] = v;
    bad.push_back(o);
  }
  auto dup = good;
  dup[0] = dup[1];
  bad.push_back(dup);
  for (const auto& o : bad) {
    try {
      supernet::SensitivityTable::fromJson(table(o, 2));
      ADD_FAILURE() << "accepted order with " << o[0] << "," << o[1];
    } catch (const util::Error& e) {
      EXPECT_NE(std::string(e.what()).find("order["), std::string::npos) << e.what();
    }
  }
  // More cumulative rows than blocks (they once printed heap words).
  EXPECT_THROW(supernet::SensitivityTable::fromJson(table(good, static_cast<size_t>(n) + 1)), util::Error);
  // A table for another depth than the model's, through the metadata reader every command uses.
  nlohmann::json other = table({1, 0}, 0);
  other["drop_loss"] = {0.1, 0.2};
  const std::map<std::string, std::string> meta = {{"supernet", nlohmann::json{{"sensitivity", other}}.dump()}};
  EXPECT_THROW(supernet::readSupernetInfo(meta, arch), util::Error);
}

TEST(Sensitivity, DeeplyNestedMetadataIsRefusedWithoutRecursing) {
  const model::SamArch arch = test::tinyArch();
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::map<std::string, std::string> meta = {{"supernet", "{\"extracted\": " + deep + "}"}};
  try {
    supernet::readSupernetInfo(meta, arch);
    FAIL() << "accepted";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("supernet"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model::SamArch::fromJsonText("{\"a\": " + deep + "}", "deep.json"), util::Error);
}
