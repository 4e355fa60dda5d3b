#include "core/supernet/extract.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/infer/model_loader.h"
#include "core/io/safetensors.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/importance.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;
using supernet::Subnet;

TEST(Extract, ExportedSubnetEqualsTheSupernetRunningIt) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 17);
  at::manual_seed(4);
  at::Tensor x = at::randn({1, 3, 128, 128});
  supernet::reorderEncoder(sam->image_encoder, supernet::ReorderMethod::Magnitude);

  // Block 1 (global) dropped, block 2 (window) at a quarter: block 3 is global and must stay global as block 2.
  Subnet s = Subnet::parse("128,x,64,192", arch);
  model::SamArch small = supernet::extractedArch(arch, s);
  EXPECT_EQ(small.encoderDepth, 3);
  EXPECT_EQ(small.encoderMlpDims, (std::vector<int64_t>{128, 64, 192}));
  EXPECT_EQ(small.encoderSourceBlocks, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(small.encoderGlobalAttnIndexes, (std::vector<int64_t>{2}));

  model::Sam extracted = supernet::extractModel(sam, s);
  auto cfg = s.toElastic();
  at::Tensor want, got;
  {
    c10::InferenceMode g;
    want = sam->image_encoder->forward(x, &cfg);
    got = extracted->image_encoder->forward(x);
  }
  EXPECT_LT(test::relativeError(got, want), 1e-6);

  // Cost model == the exported tensors, key by key.
  std::string dir = test::tempDir("supernet_extract");
  std::string path = dir + "/small.safetensors";
  supernet::exportSubnet(sam, s, path);
  auto file = io::loadSafetensors(path);
  int64_t numel = 0;
  for (const auto& [k, t] : file.tensors) numel += t.numel();
  EXPECT_EQ(numel, supernet::computeCost(arch, s).params);
  EXPECT_EQ(numel, supernet::computeCost(small).params);
  auto shapes = supernet::parameterShapes(small);
  ASSERT_EQ(shapes.size(), file.tensors.size());
  for (const auto& t : shapes) {
    const at::Tensor* f = file.find(t.name);
    ASSERT_NE(f, nullptr) << t.name;
    EXPECT_EQ(f->sizes().vec(), t.shape) << t.name;
  }
  EXPECT_EQ(file.metadata.at("format"), "supersam");
  auto meta = nlohmann::json::parse(file.metadata.at("supernet"));
  EXPECT_EQ(meta["extracted"]["subnet"], "128,x,64,192");

  // Loadable by the product's loader, same outputs, prompts included.
  auto loaded = infer::loadModel(path);
  EXPECT_EQ(loaded.arch, small);
  at::Tensor fromFile;
  {
    c10::InferenceMode g;
    fromFile = loaded.sam->image_encoder->forward(x);
    EXPECT_LT(test::relativeError(fromFile, want), 1e-6);
    at::Tensor box = at::tensor({10.f, 20.f, 90.f, 100.f}).reshape({1, 4});
    auto a = sam->decode(want, at::Tensor(), at::Tensor(), box, at::Tensor(), true);
    auto b = loaded.sam->decode(fromFile, at::Tensor(), at::Tensor(), box, at::Tensor(), true);
    EXPECT_LT(test::relativeError(b.lowResMasks, a.lowResMasks), 1e-5);
  }
  // The full subnet exports the whole model unchanged.
  Subnet full = Subnet::full(arch);
  EXPECT_EQ(supernet::computeCost(supernet::extractedArch(arch, full)).params, supernet::computeCost(arch).params);
  EXPECT_THROW(supernet::extractedArch(arch, Subnet::parse("x,x,x,x")), util::Error);
  EXPECT_THROW(supernet::extractedArch(arch, Subnet::parse("128,x,64")), util::Error);
}

TEST(Extract, ExtractOfAnExtractKeepsSourceIndices) {
  auto arch = test::tinyArch();
  model::SamArch a = supernet::extractedArch(arch, Subnet::parse("256,x,256,256", arch));
  model::SamArch b = supernet::extractedArch(a, Subnet::parse("x,128,256", a));
  EXPECT_EQ(b.encoderSourceBlocks, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(b.encoderGlobalAttnIndexes, (std::vector<int64_t>{1}));
  EXPECT_EQ(b.encoderMlpDims, (std::vector<int64_t>{128, 256}));
}
