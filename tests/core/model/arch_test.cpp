// SamArch: presets, JSON reading (unknown / missing / mistyped keys), round trip.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/model/arch.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using supersam::model::SamArch;

namespace {

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const supersam::util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Arch, PresetsHaveOfficialValues) {
  SamArch b = SamArch::preset("vit_b");
  EXPECT_EQ(b.encoderEmbedDim, 768);
  EXPECT_EQ(b.encoderDepth, 12);
  EXPECT_EQ(b.encoderNumHeads, 12);
  EXPECT_EQ(b.encoderGlobalAttnIndexes, (std::vector<int64_t>{2, 5, 8, 11}));
  EXPECT_EQ(b.fullMlpDim(), 3072);
  EXPECT_EQ(b.tokensPerSide(), 64);
  EXPECT_EQ(b.lowResSize(), 256);
  SamArch l = SamArch::preset("vit_l");
  EXPECT_EQ(l.encoderEmbedDim, 1024);
  EXPECT_EQ(l.encoderDepth, 24);
  EXPECT_EQ(l.encoderGlobalAttnIndexes, (std::vector<int64_t>{5, 11, 17, 23}));
  SamArch h = SamArch::preset("vit_h");
  EXPECT_EQ(h.encoderEmbedDim, 1280);
  EXPECT_EQ(h.encoderDepth, 32);
  EXPECT_EQ(h.encoderNumHeads, 16);
  EXPECT_EQ(h.encoderGlobalAttnIndexes, (std::vector<int64_t>{7, 15, 23, 31}));
  for (const auto& a : {b, l, h}) {
    EXPECT_EQ(a.windowSize, 14);
    EXPECT_EQ(a.promptEmbedDim, 256);
    EXPECT_EQ(a.decoderMlpDim, 2048);
    EXPECT_EQ(a.decoderNumHeads, 8);
    EXPECT_EQ(a.iouHeadHiddenDim, 256);
    EXPECT_EQ(a.maskInChans, 16);
  }
  EXPECT_NE(errorOf([] { SamArch::preset("vit_x"); }).find("vit_x"), std::string::npos);
}

TEST(Arch, ReadsTheFixtureArch) {
  SamArch a = SamArch::fromFile(supersam::test::fixturesDir() + "/tiny/arch.json");
  EXPECT_EQ(a.imageSize, 128);
  EXPECT_EQ(a.encoderEmbedDim, 64);
  EXPECT_EQ(a.encoderDepth, 4);
  EXPECT_EQ(a.windowSize, 3);
  EXPECT_EQ(a.encoderGlobalAttnIndexes, (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(a.isGlobal(1));
  EXPECT_FALSE(a.isGlobal(0));
  EXPECT_EQ(a.name, "custom");
}

TEST(Arch, JsonRoundTripAndPresetRecognised) {
  SamArch b = SamArch::preset("vit_b");
  SamArch r = SamArch::fromJsonText(b.toJsonText());
  EXPECT_EQ(r, b);
  EXPECT_EQ(r.name, "vit_b");
  b.encoderMlpDims = std::vector<int64_t>(12, 1000);
  b.encoderSourceBlocks = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  SamArch r2 = SamArch::fromJsonText(b.toJsonText());
  EXPECT_EQ(r2, b);
  EXPECT_EQ(r2.name, "custom");
  EXPECT_EQ(r2.mlpDim(3), 1000);
}

TEST(Arch, UnknownMissingAndMistypedKeysAreNamed) {
  nlohmann::json j = SamArch::preset("vit_b").toJson();
  nlohmann::json extra = j;
  extra["encoder_dpeth"] = 3;
  std::string e = errorOf([&] { SamArch::fromJson(extra, "my.json"); });
  EXPECT_NE(e.find("encoder_dpeth"), std::string::npos) << e;
  EXPECT_NE(e.find("my.json"), std::string::npos) << e;

  nlohmann::json missing = j;
  missing.erase("window_size");
  e = errorOf([&] { SamArch::fromJson(missing, "my.json"); });
  EXPECT_NE(e.find("window_size"), std::string::npos) << e;

  nlohmann::json typed = j;
  typed["encoder_depth"] = "twelve";
  e = errorOf([&] { SamArch::fromJson(typed); });
  EXPECT_NE(e.find("encoder_depth"), std::string::npos) << e;

  nlohmann::json heads = j;
  heads["encoder_num_heads"] = 7;
  e = errorOf([&] { SamArch::fromJson(heads); });
  EXPECT_NE(e.find("encoder_num_heads"), std::string::npos) << e;

  nlohmann::json dims = j;
  dims["encoder_mlp_dims"] = {1, 2};
  e = errorOf([&] { SamArch::fromJson(dims); });
  EXPECT_NE(e.find("encoder_mlp_dims"), std::string::npos) << e;

  e = errorOf([] { SamArch::fromJsonText("{not json"); });
  EXPECT_NE(e.find("JSON"), std::string::npos) << e;
  e = errorOf([] { SamArch::fromPresetOrFile("/nonexistent/arch.json"); });
  EXPECT_NE(e.find("/nonexistent/arch.json"), std::string::npos) << e;
}

// Issue 14: absurd sizes ended in an allocator backtrace after 60-90 s and 12-15 GB; each is now refused up front,
// naming the key and the range.
TEST(Arch, AbsurdSizesAreRefusedBeforeAnythingIsBuilt) {
  const nlohmann::json base = SamArch::preset("vit_b").toJson();
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"image_size", 1000000},        {"encoder_depth", 100000},   {"encoder_embed_dim", 1000000},
      {"window_size", 1000000},       {"decoder_mlp_dim", 1000000000}, {"mlp_ratio", 1e6},
      {"encoder_num_heads", 1000000}, {"prompt_embed_dim", 1000000}};
  for (const auto& [key, value] : cases) {
    nlohmann::json j = base;
    j[key] = value;
    const std::string msg = errorOf([&] { SamArch::fromJson(j, "huge.json"); });
    EXPECT_NE(msg.find("huge.json"), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find(key), std::string::npos) << key << ": " << msg;
  }
  // Each value in range, the whole too big: 16384 wide and 256 deep.
  nlohmann::json wide = base;
  wide["encoder_embed_dim"] = 8192;
  wide["encoder_depth"] = 256;
  wide["encoder_global_attn_indexes"] = {0};
  const std::string msg = errorOf([&] { SamArch::fromJson(wide, "wide.json"); });
  EXPECT_NE(msg.find("M parameters"), std::string::npos) << msg;
  nlohmann::json negative = base;
  negative["encoder_source_blocks"] = std::vector<int>(12, -1);
  EXPECT_NE(errorOf([&] { SamArch::fromJson(negative, "neg.json"); }).find("encoder_source_blocks"), std::string::npos);
  // The presets and the demo arch stay valid.
  for (const auto& n : SamArch::presetNames()) EXPECT_NO_THROW(SamArch::preset(n).validate()) << n;
}
