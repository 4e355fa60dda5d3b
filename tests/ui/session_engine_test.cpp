// The interactive engine facade on the tiny reference SAM (random weights): loading, caching, incremental
// re-encoding that matches a full encode, subnet strings and figures.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/model/arch.h"
#include "core/util/error.h"
#include "tests/ui/ui_test_support.h"
#include "ui/engine/session_engine.h"

namespace supersam::ui {
namespace {

using test::onePoint;

TEST(SessionEngine, LoadsTheTinyCheckpointWithItsArchBeside) {
  SessionEngine e;
  const ModelInfo info = e.loadModel(test::tinyCheckpoint());
  EXPECT_TRUE(e.hasModel());
  EXPECT_EQ(info.imageSize, 128);
  ASSERT_EQ(info.blocks.size(), 4u);
  EXPECT_TRUE(info.blocks[1].global);
  EXPECT_FALSE(info.blocks[0].global);
  EXPECT_EQ(info.blocks[0].fullWidth, 256);
  EXPECT_EQ(info.blocks[0].widthChoices.back(), 256);
  const SubnetSpace s = e.space();
  ASSERT_TRUE(s.valid());
  EXPECT_EQ(s.toString(s.largest()), "256,256,256,256");
}

TEST(SessionEngine, BadCheckpointThrowsAndKeepsThePreviousModel) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const std::string bad = test::tempDir("ui-bad-ckpt") + "/nothing.pth";
  EXPECT_THROW(e.loadModel(bad), util::Error);
  EXPECT_TRUE(e.hasModel());
  EXPECT_EQ(e.space().depth(), 4);
}

TEST(SessionEngine, PredictsThreeCandidatesAtImageSizeAndCachesTheEmbedding) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  e.setImage(test::toRgb(test::syntheticImage()));
  const auto cfg = e.space().largest();
  const PredictionResult r = e.run(cfg, onePoint(75, 50), /*withReference=*/true);
  ASSERT_EQ(r.masks.size(), 3u);
  ASSERT_EQ(r.iou.size(), 3u);
  EXPECT_EQ(r.masks[0].width, 150);
  EXPECT_EQ(r.masks[0].height, 100);
  EXPECT_EQ(r.encodedFromBlock, 0);
  EXPECT_GE(r.best, 0);
  EXPECT_LT(r.best, 3);
  EXPECT_DOUBLE_EQ(r.agreementIoU, 1.0);  // the largest subnet agrees with itself
  const PredictionResult r2 = e.run(cfg, onePoint(20, 20), false);
  EXPECT_EQ(r2.encodedFromBlock, -1) << "a prompt change must not re-encode";
  EXPECT_EQ(r2.masks.size(), 3u);
}

TEST(SessionEngine, IncrementalReencodeMatchesAFreshFullEncode) {
  SessionEngine inc, fresh;
  inc.loadModel(test::tinyCheckpoint());
  fresh.loadModel(test::tinyCheckpoint());
  const auto img = test::toRgb(test::syntheticImage());
  inc.setImage(img);
  fresh.setImage(img);
  const SubnetSpace s = inc.space();
  auto cfg = s.largest();
  inc.run(cfg, {}, false);
  cfg[3].mlpWidth = s.info().blocks[3].widthChoices.front();
  const PredictionResult a = inc.run(cfg, onePoint(60, 40), false);
  EXPECT_EQ(a.encodedFromBlock, 3) << "only the last block should re-run";
  const PredictionResult b = fresh.run(cfg, onePoint(60, 40), false);
  EXPECT_EQ(b.encodedFromBlock, 0);
  ASSERT_EQ(a.masks.size(), b.masks.size());
  for (size_t i = 0; i < a.masks.size(); ++i) {
    EXPECT_NEAR(a.iou[i], b.iou[i], 1e-5);
    EXPECT_GE(maskIoU(a.masks[i], b.masks[i]), 0.999);
  }
}

TEST(SessionEngine, SubnetStringsSlidersAndFigures) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const SubnetSpace s = e.space();
  const auto big = s.largest(), small = s.smallest();
  EXPECT_EQ(s.parse(s.toString(small)), small);
  EXPECT_THROW(s.parse("1,2"), util::Error);
  EXPECT_LT(s.figures(small).params, s.figures(big).params);
  EXPECT_LT(s.figures(small).gmacs, s.figures(big).gmacs);
  EXPECT_GT(s.figures(big).weightMB, 0.0);
  // The depth slider drops prunable blocks; the width slider narrows every kept block.
  const auto fewer = s.fromSliders(s.depth() - 1, 1.0);
  EXPECT_EQ(s.keptBlocks(fewer), s.depth() - 1);
  const auto narrow = s.fromSliders(s.depth(), 0.25);
  EXPECT_LT(s.meanWidthRatio(narrow), 0.5);
  EXPECT_EQ(s.firstDifference(big, big), s.depth());
}

TEST(SessionEngine, RunWithoutImageIsAnError) {
  SessionEngine e;
  EXPECT_THROW(e.run({}, onePoint(1, 1), false), util::Error);
  e.loadModel(test::tinyCheckpoint());
  EXPECT_THROW(e.run({}, onePoint(1, 1), false), util::Error);
}

TEST(SessionEngine, LatencyIsMeasured) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  EXPECT_GT(e.measureLatency(e.space().largest(), 1), 0.0);
}

}  // namespace
}  // namespace supersam::ui

namespace supersam::ui {
namespace {

TEST(SessionEngine, ExportedSubnetLoadsAsASmallerStandaloneModel) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const SubnetSpace s = e.space();
  auto cfg = s.fromSliders(s.depth() - 1, 0.5);
  const std::string path = test::tempDir("ui-export") + "/subnet.safetensors";
  e.exportSubnet(cfg, path);
  SessionEngine x;
  const ModelInfo info = x.loadModel(path);
  EXPECT_EQ(static_cast<int>(info.blocks.size()), s.depth() - 1);
  EXPECT_EQ(x.space().figures(x.space().largest()).params, s.figures(cfg).params);
  // The standalone model segments like the subnet it came from.
  const auto img = test::toRgb(test::syntheticImage());
  e.setImage(img);
  x.setImage(img);
  PromptSet p;
  p.points = {{70.f, 45.f}};
  p.labels = {1};
  const auto a = e.run(cfg, p, false), b = x.run(x.space().largest(), p, false);
  ASSERT_EQ(a.iou.size(), b.iou.size());
  for (size_t i = 0; i < a.iou.size(); ++i) EXPECT_NEAR(a.iou[i], b.iou[i], 1e-4);
}

}  // namespace
}  // namespace supersam::ui

namespace supersam::ui {
namespace {

// A model whose weights are NaN loads (the user may want to inspect it) but says so: the studio shows the warning.
TEST(SessionEngine, NonFiniteWeightsComeWithAWarning) {
  SessionEngine e;
  EXPECT_TRUE(e.loadModel(test::tinyCheckpoint()).warnings.empty());
  io::Checkpoint ck = io::readCheckpoint(test::tinyCheckpoint());
  for (auto& [name, t] : ck.tensors) t = at::full_like(t, NAN);
  const std::string dir = test::tempDir("engine-nan");
  const std::string arch = model::SamArch::fromFile(test::tinyArch()).toJsonText();
  io::saveSafetensors(dir + "/nan.safetensors", ck.tensors, {{"arch", arch}});
  const ModelInfo info = e.loadModel(dir + "/nan.safetensors");
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_NE(info.warnings[0].find("NaN or infinite"), std::string::npos) << info.warnings[0];
}

}  // namespace
}  // namespace supersam::ui

namespace supersam::ui {
namespace {
// File > Export subnet as ONNX: the same core export as `supersam export --onnx` (whose tests run the files in ONNX
// Runtime); here the studio's engine writes the pair for the current subnet and refuses a folder it cannot make.
TEST(SessionEngine, ExportsTheSubnetAsAnOnnxPair) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const std::string base = test::tempDir("ui-onnx");
  const std::string dir = base + "/pair";
  e.exportOnnx(e.space().smallest(), dir);
  for (const char* f : {"encoder.onnx", "decoder.onnx", "supersam_onnx.json", "encoder_rgb.onnx", "x-anylabeling.yaml"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(dir + "/" + f)) << f;
  }
  // The smaller subnet's encoder is a smaller file than the largest subnet's.
  const std::string big = base + "/big";
  e.exportOnnx(e.space().largest(), big);
  EXPECT_LT(std::filesystem::file_size(dir + "/encoder.onnx"), std::filesystem::file_size(big + "/encoder.onnx"));
  std::ofstream(base + "/file") << "x";
  EXPECT_THROW(e.exportOnnx(e.space().largest(), base + "/file/sub"), util::Error);
}
}  // namespace
}  // namespace supersam::ui
