// `supersam calibrate`, `info --supernet [--measure]` and `export --verify` end to end, through the built program:
// the tiny reference checkpoint calibrated on real labelled data (mIoU sensitivity), then inspected, measured and
// exported; and the errors a user meets on the way.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/infer/model_loader.h"
#include "core/io/safetensors.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(SupernetCli, CalibrateOnLabelledDataThenMeasureAndExport) {
  const std::string dir = test::tempDir("supernet_cli");
  const std::string tiny = test::fixturesDir() + "/tiny/checkpoint.pth";
  const std::string sn = dir + "/supernet.safetensors", small = dir + "/small.safetensors";
  const std::string data = "pennfudan:" + test::dataDir() + "/pennfudan:val";

  const test::CliResult cal = test::runSupersam("calibrate --checkpoint '" + tiny + "' --dataset '" + data +
                                                "' --max-images 3 --max-objects 2 --prunable 2 --threads 1 --out '" +
                                                sn + "'");
  ASSERT_EQ(cal.rc, 0) << cal.output;
  // The measured table is printed: mIoU loss per block, cumulative removal, and the times of each step.
  EXPECT_NE(cal.output.find("sensitivity (miou_box_single, 3 calibration images"), std::string::npos) << cal.output;
  EXPECT_NE(cal.output.find("cumulative removal, least important first"), std::string::npos);
  EXPECT_NE(cal.output.find("times: load"), std::string::npos);
  // ... and saved with the supernet: weights, arch, search space (2 prunable blocks), sensitivity, reorder.
  const auto file = io::loadSafetensors(sn);
  ASSERT_TRUE(file.metadata.count("supernet"));
  ASSERT_TRUE(file.metadata.count("arch"));
  const nlohmann::json meta = nlohmann::json::parse(file.metadata.at("supernet"));
  EXPECT_EQ(meta.at("sensitivity").at("metric"), "miou_box_single");
  EXPECT_EQ(meta.at("sensitivity").at("drop_loss").size(), 4u);
  int prunable = 0;
  for (const auto& b : meta.at("search_space").at("blocks")) prunable += b.at("prunable").get<bool>() ? 1 : 0;
  EXPECT_EQ(prunable, 2);

  // info --supernet --measure: costs and a measured latency and peak memory for largest, smallest and the subnet.
  const std::string subnet = "128,256,x,64";
  const test::CliResult info = test::runSupersam("info --supernet '" + sn + "' --subnet " + subnet +
                                                 " --measure --repeats 1 --threads 1");
  ASSERT_EQ(info.rc, 0) << info.output;
  EXPECT_EQ(count(info.output, "measured:       encoder"), 3u) << info.output;
  EXPECT_EQ(count(info.output, "peak memory +"), 3u) << info.output;
  EXPECT_NE(info.output.find("subnet: " + subnet), std::string::npos);

  // export --verify: a physically smaller model that equals the supernet's subnet (checked by the program).
  const test::CliResult exp = test::runSupersam("export --supernet '" + sn + "' --subnet " + subnet + " --out '" +
                                                small + "' --verify --threads 1");
  ASSERT_EQ(exp.rc, 0) << exp.output;
  EXPECT_NE(exp.output.find("verify: max |exported - supernet| / std = "), std::string::npos);
  const infer::LoadedModel loaded = infer::loadModel(small);
  EXPECT_EQ(loaded.arch.encoderDepth, 3);
  EXPECT_EQ(loaded.arch.encoderMlpDims, (std::vector<int64_t>{128, 256, 64}));
  EXPECT_EQ(test::runSupersam("info '" + small + "'").rc, 0);
  // The words eval and export accept work in info too.
  const test::CliResult infoSmallest = test::runSupersam("info --supernet '" + sn + "' --subnet smallest");
  ASSERT_EQ(infoSmallest.rc, 0) << infoSmallest.output;
  EXPECT_EQ(count(infoSmallest.output, "smallest subnet"), 1u) << infoSmallest.output;

  // Bad inputs: a clear message naming the value, and a non-zero exit status.
  const test::CliResult shortSubnet =
      test::runSupersam("export --supernet '" + sn + "' --subnet 128,256,x --out '" + dir + "/bad.safetensors'");
  EXPECT_EQ(shortSubnet.rc, 1) << shortSubnet.output;
  EXPECT_NE(shortSubnet.output.find("128,256,x"), std::string::npos) << shortSubnet.output;
  const test::CliResult tooWide = test::runSupersam("info --supernet '" + sn + "' --subnet 512,256,256,256");
  EXPECT_EQ(tooWide.rc, 1) << tooWide.output;
  EXPECT_NE(tooWide.output.find("block 0"), std::string::npos) << tooWide.output;
  const test::CliResult measureAlone = test::runSupersam("info '" + tiny + "' --measure");
  EXPECT_EQ(measureAlone.rc, 1);
  EXPECT_NE(measureAlone.output.find("--measure needs --supernet"), std::string::npos) << measureAlone.output;
  const test::CliResult noData = test::runSupersam("calibrate --checkpoint '" + tiny +
                                                   "' --dataset 'pennfudan:/nonexistent/pennfudan:val' --out '" + dir +
                                                   "/x.safetensors'");
  EXPECT_EQ(noData.rc, 1);
  EXPECT_NE(noData.output.find("/nonexistent/pennfudan"), std::string::npos) << noData.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.safetensors"));
}
