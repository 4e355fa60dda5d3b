#include "core/supernet/calibrate.h"

#include <gtest/gtest.h>

#include "core/infer/model_loader.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;

TEST(Calibrate, WritesALoadableSupernetWithItsMetadata) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 31);
  at::manual_seed(6);
  std::vector<at::Tensor> inputs = {at::randn({1, 3, 128, 128}), at::randn({1, 3, 128, 128})};
  at::Tensor before;
  {
    c10::InferenceMode g;
    before = sam->image_encoder->forward(inputs[0]);
  }
  supernet::CalibrationOptions opt;
  opt.method = supernet::ReorderMethod::Wanda;
  long long reports = 0;
  util::JobControl job;
  job.progress = [&](long long, long long, const std::string&) { ++reports; };
  auto result = supernet::calibrateSupernet(sam, inputs, opt, job);
  EXPECT_GT(reports, 0);
  EXPECT_EQ(result.info.space.prunableBlocks().size(), 2u);  // round(5 * 4 / 12)
  ASSERT_TRUE(result.info.sensitivity.has_value());
  EXPECT_EQ(result.info.sensitivity->metric, "embedding_rel_change");

  std::string path = test::tempDir("supernet_calibrate") + "/supernet.safetensors";
  supernet::saveSupernetCheckpoint(sam, result.info, path, {{"note", "kept"}});
  auto loaded = infer::loadModel(path);
  EXPECT_EQ(loaded.arch, arch);
  EXPECT_EQ(loaded.metadata.at("format"), "supersam");
  EXPECT_EQ(loaded.metadata.at("note"), "kept");
  auto info = supernet::readSupernetInfo(loaded.metadata, loaded.arch);
  EXPECT_EQ(info.space, result.info.space);
  ASSERT_TRUE(info.reorder.has_value());
  EXPECT_EQ(info.reorder->method, supernet::ReorderMethod::Wanda);
  EXPECT_EQ(info.reorder->permutations, result.info.reorder->permutations);
  ASSERT_TRUE(info.sensitivity.has_value());
  EXPECT_EQ(info.sensitivity->order, result.info.sensitivity->order);
  // The reordered checkpoint computes the same function as the original model.
  c10::InferenceMode g;
  EXPECT_LT(test::relativeError(loaded.sam->image_encoder->forward(inputs[0]), before), 1e-5);

  EXPECT_THROW(supernet::calibrateSupernet(sam, {}, opt), util::Error);
}
