#include "core/io/checkpoint.h"

#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "core/io/safetensors.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    scale = register_buffer("scale", at::ones({2}));
  }
  torch::nn::Linear fc{nullptr};
  at::Tensor scale;
};
TORCH_MODULE(TinyNet);

io::StateDict goodDict() {
  return {{"fc.weight", at::arange(6, at::kFloat).view({2, 3})}, {"fc.bias", at::tensor({7.f, 8.f})},
          {"scale", at::tensor({2.f, 3.f})}};
}

std::string loadError(TinyNet& net, const io::StateDict& sd) {
  try {
    io::loadStateDictInto(*net, sd, "ck.safetensors");
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Checkpoint, LoadAndStateDictRoundTrip) {
  TinyNet net;
  io::loadStateDictInto(*net, goodDict(), "mem");
  auto sd = io::stateDictOf(*net);
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_EQ(sd[0].first, "fc.weight");
  EXPECT_EQ(sd[2].first, "scale");
  for (size_t i = 0; i < sd.size(); ++i) EXPECT_TRUE(sd[i].second.equal(goodDict()[i].second)) << sd[i].first;
  EXPECT_FALSE(sd[0].second.requires_grad());
}

TEST(Checkpoint, DtypeIsConvertedToTheModules) {
  TinyNet net;
  auto sd = goodDict();
  for (auto& kv : sd) kv.second = kv.second.to(at::kDouble);
  io::loadStateDictInto(*net, sd, "mem");
  EXPECT_EQ(net->fc->weight.scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(net->fc->bias[1].item<float>(), 8.f);
}

TEST(Checkpoint, StrictErrorsNameTheKeyAndShapesAndLoadNothing) {
  TinyNet net;
  at::Tensor before = net->fc->weight.detach().clone();

  auto missing = goodDict();
  missing.erase(missing.begin() + 1);
  std::string msg = loadError(net, missing);
  EXPECT_NE(msg.find("missing key 'fc.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ck.safetensors"), std::string::npos) << msg;

  auto extra = goodDict();
  extra.emplace_back("fc2.weight", at::zeros({4}));
  msg = loadError(net, extra);
  EXPECT_NE(msg.find("unexpected key 'fc2.weight'"), std::string::npos) << msg;

  auto wrong = goodDict();
  wrong[0].second = at::zeros({2, 4});
  msg = loadError(net, wrong);
  EXPECT_NE(msg.find("'fc.weight' has shape [2, 4] but the model expects [2, 3]"), std::string::npos) << msg;

  EXPECT_TRUE(net->fc->weight.equal(before));  // nothing loaded half-way
}

TEST(Checkpoint, OurSafetensorsKeepMetadata) {
  std::string dir = test::tempDir("checkpoint_ours");
  io::saveSafetensors(dir + "/m.safetensors", goodDict(), {{"format", "supersam"}, {"arch", "{}"}});
  auto ck = io::readCheckpoint(dir + "/m.safetensors");
  EXPECT_EQ(ck.format, io::CheckpointFormat::Safetensors);
  EXPECT_EQ(ck.metadata.at("arch"), "{}");
  EXPECT_EQ(ck.path, dir + "/m.safetensors");
  TinyNet net;
  io::loadStateDictInto(*net, ck.tensors, ck.path);
  EXPECT_TRUE(net->scale.equal(at::tensor({2.f, 3.f})));
}

// A safetensors header length whose first byte is 0x80 (the opcode a legacy pickle starts with) is still ours:
// found when a re-calibrated supernet would not load.
TEST(Checkpoint, SafetensorsWhoseHeaderLengthStartsWith0x80Loads) {
  std::string dir = test::tempDir("checkpoint_0x80");
  const std::string path = dir + "/m.safetensors";
  bool hit = false;
  for (int pad = 0; pad < 600 && !hit; ++pad) {
    io::saveSafetensors(path, goodDict(), {{"format", "supersam"}, {"pad", std::string(static_cast<size_t>(pad), 'p')}});
    std::ifstream in(path, std::ios::binary);
    hit = static_cast<unsigned char>(in.get()) == 0x80;
  }
  ASSERT_TRUE(hit) << "no padding gave a header length with low byte 0x80";
  auto ck = io::readCheckpoint(path);
  EXPECT_EQ(ck.format, io::CheckpointFormat::Safetensors);
  TinyNet net;
  io::loadStateDictInto(*net, ck.tensors, ck.path);
  EXPECT_TRUE(net->scale.equal(at::tensor({2.f, 3.f})));
}

TEST(Checkpoint, UnreadableInputsAreNamed) {
  std::string dir = test::tempDir("checkpoint_bad");
  for (const std::string& p : {dir + "/absent.pth", dir}) {
    try {
      io::readCheckpoint(p);
      FAIL() << p;
    } catch (const util::Error& e) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
  util::writeFileAtomic(dir + "/legacy.pth", std::string("\x80\x02\x8a\x0a" "l\xfc\x9c" "F\xf9 j\xa8P\x19.", 16));
  try {
    io::readCheckpoint(dir + "/legacy.pth");
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
  }
  // Random bytes are not reported as a safetensors file with an absurd header size.
  util::writeFileAtomic(dir + "/junk.pth", "hello world, not a model");
  try {
    io::readCheckpoint(dir + "/junk.pth");
    FAIL();
  } catch (const util::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("junk.pth"), std::string::npos) << m;
    EXPECT_NE(m.find("neither a PyTorch zip"), std::string::npos) << m;
    EXPECT_EQ(m.find("header size"), std::string::npos) << m;
  }
}
