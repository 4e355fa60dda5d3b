// `supersam convert` and `supersam info` end to end, through the built program (SUPERSAM_TEST_BINARY_DIR/app).
#include <filesystem>
#include <map>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/infer/model_loader.h"
#include "core/io/hf_sam_keys.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

using test::runSupersam;

std::string tinyPth() { return test::fixturesDir() + "/tiny/checkpoint.pth"; }

void expectSameWeights(const io::StateDict& a, const io::StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  std::map<std::string, at::Tensor> m(b.begin(), b.end());
  for (const auto& [k, t] : a) {
    ASSERT_TRUE(m.count(k)) << k;
    EXPECT_TRUE(m.at(k).equal(t)) << k;
  }
}

}  // namespace

TEST(ConvertInfoCli, PthToSafetensorsThenInfo) {
  std::string dir = test::tempDir("cli_convert_info");
  auto conv = runSupersam("convert '" + tinyPth() + "' --out '" + dir + "/tiny.safetensors'");
  ASSERT_EQ(conv.rc, 0) << conv.output;

  auto converted = io::loadSafetensors(dir + "/tiny.safetensors");
  EXPECT_EQ(converted.metadata.at("format"), "supersam");
  EXPECT_EQ(model::SamArch::fromJsonText(converted.metadata.at("arch")),
            model::SamArch::fromFile(test::fixturesDir() + "/tiny/arch.json"));
  expectSameWeights(io::readCheckpoint(tinyPth()).tensors, converted.tensors);

  auto info = runSupersam("info '" + dir + "/tiny.safetensors'");
  ASSERT_EQ(info.rc, 0) << info.output;
  for (const char* expected : {"format:           safetensors", "arch:             custom", "\"encoder_num_heads\":2",
                               "parameters:       308,908", "image_encoder   267,200", "MLPs          132,352",
                               "prompt_encoder  1,100", "mask_decoder    40,608", "format: supersam", "arch: {"}) {
    EXPECT_NE(info.output.find(expected), std::string::npos) << expected << "\n" << info.output;
  }
  auto pthInfo = runSupersam("info '" + tinyPth() + "'");
  EXPECT_EQ(pthInfo.rc, 0) << pthInfo.output;
  EXPECT_NE(pthInfo.output.find("format:           pytorch-zip"), std::string::npos) << pthInfo.output;
}

TEST(ConvertInfoCli, HuggingFaceSafetensorsConvertToOurs) {
  std::string dir = test::tempDir("cli_convert_hf");
  auto ours = io::readCheckpoint(tinyPth());
  io::saveSafetensors(dir + "/hf.safetensors", io::samStateDictToHf(ours.tensors, "tiny"), {{"format", "pt"}});
  auto conv = runSupersam("convert '" + dir + "/hf.safetensors' --out '" + dir + "/ours.safetensors'");
  ASSERT_EQ(conv.rc, 0) << conv.output;
  EXPECT_NE(conv.output.find("huggingface-safetensors"), std::string::npos) << conv.output;
  auto back = infer::loadModel(dir + "/ours.safetensors");
  EXPECT_EQ(back.format, io::CheckpointFormat::Safetensors);
  expectSameWeights(ours.tensors, io::stateDictOf(*back.sam));
}

TEST(ConvertInfoCli, ErrorsNameTheFileAndExitNonZero) {
  std::string dir = test::tempDir("cli_convert_errors");
  auto missing = runSupersam("info '" + dir + "/absent.pth'");
  EXPECT_NE(missing.rc, 0);
  EXPECT_NE(missing.output.find("absent.pth"), std::string::npos) << missing.output;

  auto wrongArch = runSupersam("convert '" + tinyPth() + "' --arch vit_b --out '" + dir + "/x.safetensors'");
  EXPECT_NE(wrongArch.rc, 0);
  EXPECT_NE(wrongArch.output.find("'image_encoder.pos_embed' has shape [1, 8, 8, 64]"), std::string::npos)
      << wrongArch.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.safetensors"));

  auto infoWrongArch = runSupersam("info '" + tinyPth() + "' --arch vit_b");
  EXPECT_NE(infoWrongArch.rc, 0);
  EXPECT_NE(infoWrongArch.output.find("does not fit architecture 'vit_b'"), std::string::npos) << infoWrongArch.output;

  auto noOut = runSupersam("convert '" + tinyPth() + "'");
  EXPECT_NE(noOut.rc, 0);
  EXPECT_NE(noOut.output.find("--out"), std::string::npos) << noOut.output;
}
