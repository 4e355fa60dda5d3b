#include "core/infer/model_loader.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

std::string tinyPth() { return test::fixturesDir() + "/tiny/checkpoint.pth"; }
std::string tinyArchJson() { return test::fixturesDir() + "/tiny/arch.json"; }

std::string loadError(const std::string& path, const std::optional<std::string>& arch) {
  try {
    infer::loadModel(path, arch);
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelLoader, FixturePthLoadsNativelyWithInferredArch) {
  util::setThreads(2);
  auto loaded = infer::loadModel(tinyPth());
  EXPECT_EQ(loaded.format, io::CheckpointFormat::PytorchZip);
  EXPECT_EQ(loaded.arch, model::SamArch::fromFile(tinyArchJson()));
  EXPECT_EQ(loaded.arch.name, "custom");
  EXPECT_EQ(loaded.path, tinyPth());
  EXPECT_FALSE(loaded.sam->is_training());

  auto fixture = io::readCheckpoint(tinyPth());
  auto params = io::stateDictOf(*loaded.sam);
  ASSERT_EQ(params.size(), fixture.tensors.size());
  std::map<std::string, at::Tensor> got(params.begin(), params.end());
  for (const auto& [k, t] : fixture.tensors) {
    ASSERT_TRUE(got.count(k)) << "model lacks " << k;
    EXPECT_TRUE(got.at(k).equal(t)) << k;
  }
}

TEST(ModelLoader, TinyCheckpointIntoVitBNamesFileAndFirstKey) {
  std::string msg = loadError(tinyPth(), std::string("vit_b"));
  EXPECT_NE(msg.find("checkpoint.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'image_encoder.pos_embed' has shape [1, 8, 8, 64] but the model expects [1, 64, 64, 768]"),
            std::string::npos)
      << msg;
}

TEST(ModelLoader, ArchFromJsonOverrideAndFromOurMetadata) {
  auto viaJson = infer::loadModel(tinyPth(), tinyArchJson());
  EXPECT_EQ(viaJson.arch, model::SamArch::fromFile(tinyArchJson()));

  // Our safetensors carry the arch; a metadata arch that disagrees with the tensors is an error naming a key.
  std::string dir = test::tempDir("model_loader_meta");
  auto arch = model::SamArch::fromFile(tinyArchJson());
  io::saveSafetensors(dir + "/tiny.safetensors", io::stateDictOf(*viaJson.sam),
                      {{"format", "supersam"}, {"arch", arch.toJsonText()}});
  auto viaMeta = infer::loadModel(dir + "/tiny.safetensors");
  EXPECT_EQ(viaMeta.format, io::CheckpointFormat::Safetensors);
  EXPECT_EQ(viaMeta.arch, arch);
  EXPECT_EQ(viaMeta.metadata.at("format"), "supersam");

  auto wrong = arch;
  wrong.decoderMlpDim = 48;
  io::saveSafetensors(dir + "/wrong.safetensors", io::stateDictOf(*viaJson.sam), {{"arch", wrong.toJsonText()}});
  std::string msg = loadError(dir + "/wrong.safetensors", std::nullopt);
  EXPECT_NE(msg.find("wrong.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mask_decoder.transformer.layers.0.mlp.lin1.weight"), std::string::npos) << msg;
}

TEST(ModelLoader, InferArchRecognisesVitBFromItsShapes) {
  auto j = nlohmann::json::parse(util::readFileBytes(test::fixturesDir() + "/vit_b_state_dict.json"));
  io::StateDict sd;
  for (auto it = j.begin(); it != j.end(); ++it) {
    // Zero-strided views: the right shapes without 375 MB of memory.
    auto shape = it.value()["shape"].get<std::vector<int64_t>>();
    sd.emplace_back(it.key(), at::zeros({1}).expand(shape));
  }
  auto arch = infer::inferArch(sd, "vit_b_state_dict.json");
  EXPECT_EQ(arch.name, "vit_b");
  EXPECT_EQ(arch, model::SamArch::preset("vit_b"));
}

TEST(ModelLoader, PerBlockMlpWidthsAreInferredAndLoad) {
  auto ck = io::readCheckpoint(tinyPth());
  for (auto& [k, t] : ck.tensors) {  // block 2 keeps its first 96 hidden neurons, as an exported subnet would
    if (k == "image_encoder.blocks.2.mlp.lin1.weight" || k == "image_encoder.blocks.2.mlp.lin1.bias")
      t = t.narrow(0, 0, 96).clone();
    if (k == "image_encoder.blocks.2.mlp.lin2.weight") t = t.narrow(1, 0, 96).clone();
  }
  ck.path = "narrowed";
  auto arch = infer::inferArch(ck.tensors, ck.path);
  EXPECT_EQ(arch.encoderMlpDims, (std::vector<int64_t>{256, 256, 96, 256}));
  EXPECT_EQ(arch.mlpDim(2), 96);
  auto loaded = infer::loadModel(ck);
  EXPECT_EQ(loaded.arch, arch);
}

TEST(ModelLoader, MissingFileIsNamed) {
  std::string msg = loadError("/nonexistent/sam.pth", std::nullopt);
  EXPECT_NE(msg.find("/nonexistent/sam.pth"), std::string::npos) << msg;
}

TEST(ModelLoader, MissingBufferIsAnErrorToo) {
  auto ck = io::readCheckpoint(tinyPth());
  ck.tensors.erase(std::remove_if(ck.tensors.begin(), ck.tensors.end(),
                                  [](const auto& kv) { return kv.first.find("pe_layer") != std::string::npos; }),
                   ck.tensors.end());
  ck.path = "no_pe.pth";
  try {
    infer::loadModel(ck, tinyArchJson());
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing key 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'"),
              std::string::npos)
        << e.what();
  }
}

// Issue 14: `segment --checkpoint tiny.pth --arch HUGE.json` built the whole model (75 s, 14.6 GB) before finding
// that the checkpoint does not fit; the shapes are compared first now.
TEST(ModelLoader, ACheckpointThatDoesNotFitTheArchFailsBeforeTheModelIsBuilt) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    infer::loadModel(test::fixturesDir() + "/tiny/checkpoint.pth", std::string("vit_h"));
    FAIL() << "loaded";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit the architecture"), std::string::npos) << e.what();
  }
  // ViT-H alone takes seconds to allocate and initialise here; the check takes milliseconds.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

// Issue 14: all-NaN weights segmented without a word.
TEST(ModelLoader, NonFiniteWeightsAreReported) {
  io::Checkpoint ck = io::readCheckpoint(test::fixturesDir() + "/tiny/checkpoint.pth");
  EXPECT_TRUE(infer::loadModel(ck, std::string(test::fixturesDir() + "/tiny/arch.json")).warnings.empty());
  for (auto& [name, t] : ck.tensors) {
    if (name == "mask_decoder.iou_token.weight") t = at::full_like(t, NAN);
  }
  const infer::LoadedModel m = infer::loadModel(ck, std::string(test::fixturesDir() + "/tiny/arch.json"));
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_NE(m.warnings[0].find("mask_decoder.iou_token.weight"), std::string::npos) << m.warnings[0];
}
