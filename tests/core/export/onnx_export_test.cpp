// The ONNX export against LibTorch: both files are run in ONNX Runtime (npm's onnxruntime-node, tests/onnx) and
// compared with the supernet's own outputs for the same subnet, prompts and mask input.
#include "core/export/onnx_export.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/infer/model_loader.h"
#include "core/supernet/subnet.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"
#include "core/util/runtime.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;
namespace fs = std::filesystem;

namespace {

const std::string kOnnxDir = std::string(SUPERSAM_SOURCE_DIR) + "/tests/onnx";
const std::string kDemo = std::string(SUPERSAM_SOURCE_DIR) + "/resources/models/demo_supernet.safetensors";

// Fails the test (never skips) when ONNX Runtime is not installed.
void requireOnnxRuntime() {
  ASSERT_TRUE(fs::exists(kOnnxDir + "/node_modules/onnxruntime-node/package.json"))
      << "ONNX Runtime for node is missing: install it with `cd tests/onnx && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm "
         "ci` (packaging/test.sh does)";
}

// Runs `model` in ONNX Runtime on `inputs` (float32) and returns its outputs by name.
std::map<std::string, at::Tensor> runOnnx(const std::string& model, const std::string& ioDir,
                                          const std::vector<std::pair<std::string, at::Tensor>>& inputs) {
  fs::create_directories(ioDir);
  nlohmann::json spec = nlohmann::json::array();
  for (const auto& [name, t] : inputs) {
    const at::Tensor c = t.to(at::kFloat).contiguous();
    util::writeFileAtomic(ioDir + "/" + name + ".bin",
                          std::string(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * sizeof(float)));
    spec.push_back({{"name", name}, {"shape", c.sizes().vec()}, {"file", name + ".bin"}});
  }
  util::writeFileAtomic(ioDir + "/inputs.json", spec.dump());
  const std::string cmd = "node '" + kOnnxDir + "/run_model.js' '" + model + "' '" + ioDir + "' > '" + ioDir +
                          "/node.log' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "ONNX Runtime failed on " << model << ": " << util::readFileBytes(ioDir + "/node.log");
    return {};
  }
  const nlohmann::json out = util::parseJson(util::readFileBytes(ioDir + "/outputs.json"), "outputs.json");
  std::map<std::string, at::Tensor> result;
  for (const auto& o : out.at("outputs")) {
    const std::string bytes = util::readFileBytes(ioDir + "/" + o.at("file").get<std::string>());
    std::vector<int64_t> shape = o.at("shape").get<std::vector<int64_t>>();
    at::Tensor t = at::empty(shape, at::kFloat);
    EXPECT_EQ(static_cast<size_t>(t.numel()) * sizeof(float), bytes.size());
    std::memcpy(t.data_ptr<float>(), bytes.data(), std::min(bytes.size(), t.numel() * sizeof(float)));
    result[o.at("name").get<std::string>()] = t;
  }
  return result;
}

double maxAbs(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a - b).abs().max().item<double>();
}

// One decoder case in the ONNX interface: points already include box corners (labels 2, 3) or the padding point.
struct Prompt {
  std::vector<float> xy;      // N x 2, resized-input frame
  std::vector<float> labels;  // N
  bool withMask = false;
};

// The LibTorch reference for one case, as SAM's SamOnnxModel computes it: the prompt encoder and all four masks of
// the mask decoder, the mask chosen by point count, post-processed to `orig`.
struct Reference {
  at::Tensor lowRes, iou, masks;
};

Reference reference(model::SamImpl& sam, const at::Tensor& embedding, const Prompt& p, const at::Tensor& maskInput,
                    std::array<int64_t, 2> orig) {
  c10::InferenceMode g;
  const int64_t N = static_cast<int64_t>(p.labels.size());
  // Split the ONNX-style list back into points and a box for the model's own prompt encoder.
  std::vector<float> pts, lab, box;
  bool pad = false;
  for (int64_t i = 0; i < N; ++i) {
    if (p.labels[i] == 2.f || p.labels[i] == 3.f) {
      box.push_back(p.xy[2 * i]);
      box.push_back(p.xy[2 * i + 1]);
    } else if (p.labels[i] == -1.f) {
      pad = true;
    } else {
      pts.push_back(p.xy[2 * i]);
      pts.push_back(p.xy[2 * i + 1]);
      lab.push_back(p.labels[i]);
    }
  }
  EXPECT_EQ(pad, box.empty()) << "the model's prompt encoder pads exactly when there is no box";
  at::Tensor coords, labels, boxes;
  if (!lab.empty()) {
    coords = at::tensor(pts).view({1, -1, 2});
    labels = at::tensor(lab).view({1, -1});
  }
  if (!box.empty()) boxes = at::tensor(box).view({1, 4});
  auto [sparse, dense] = sam.prompt_encoder->forward(coords, labels, boxes, p.withMask ? maskInput : at::Tensor());
  auto [masks, iou] = sam.mask_decoder->predictMasks(embedding, sam.prompt_encoder->getDensePe(), sparse, dense, 0, 4);
  int64_t best = 0;
  if (N <= 2) best = 1 + iou.narrow(1, 1, 3).argmax(1).item<int64_t>();
  Reference r;
  r.lowRes = masks.narrow(1, best, 1);
  r.iou = iou.narrow(1, best, 1);
  const double S = static_cast<double>(sam.arch().imageSize);
  const double scale = S / static_cast<double>(std::max(orig[0], orig[1]));
  std::array<int64_t, 2> inputHW = {static_cast<int64_t>(std::floor(orig[0] * scale + 0.5)),
                                    static_cast<int64_t>(std::floor(orig[1] * scale + 0.5))};
  r.masks = sam.postprocessMasks(r.lowRes, inputHW, orig);
  return r;
}

// Exports `s` of `sam`, runs both files on a random image and the prompts, compares with LibTorch.
void checkAgainstLibTorch(model::Sam& sam, const supernet::Subnet& s, const std::string& name,
                          const std::vector<Prompt>& prompts) {
  const std::string dir = test::tempDir("onnx_export_" + name);
  const exporter::OnnxExportResult r = exporter::exportOnnx(sam, s, dir + "/model");
  EXPECT_GT(r.encoderBytes, 0);
  EXPECT_TRUE(fs::exists(r.sidecarPath));
  const nlohmann::json side = util::parseJson(util::readFileBytes(r.sidecarPath), r.sidecarPath);
  EXPECT_EQ(side.at("opset").get<int64_t>(), exporter::kOnnxOpset);
  EXPECT_EQ(side.at("subnet").get<std::string>(), s.toString());
  EXPECT_EQ(side.at("input_size").get<int64_t>(), sam->arch().imageSize);

  const int64_t S = sam->arch().imageSize, L = sam->arch().lowResSize();
  at::manual_seed(11);
  const at::Tensor image = at::randn({1, 3, S, S});
  at::Tensor want;
  {
    c10::InferenceMode g;
    auto cfg = s.toElastic();
    want = sam->image_encoder->forward(image, &cfg);
  }
  auto enc = runOnnx(r.encoderPath, dir + "/enc", {{"input_image", image}});
  ASSERT_TRUE(enc.count("image_embeddings"));
  const double encDiff = maxAbs(enc["image_embeddings"], want);
  EXPECT_LE(encDiff, 1e-4) << name << ": encoder, embedding std " << want.std().item<double>();

  const at::Tensor maskInput = 4.0 * at::randn({1, 1, L, L});
  const std::array<int64_t, 2> orig = {S * 3 / 4 + 5, S + 37};
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Prompt& p = prompts[i];
    const int64_t N = static_cast<int64_t>(p.labels.size());
    auto out = runOnnx(r.decoderPath, dir + "/dec" + std::to_string(i),
                       {{"image_embeddings", want},
                        {"point_coords", at::tensor(p.xy).view({1, N, 2})},
                        {"point_labels", at::tensor(p.labels).view({1, N})},
                        {"mask_input", maskInput},
                        {"has_mask_input", at::tensor({p.withMask ? 1.f : 0.f})},
                        {"orig_im_size", at::tensor({static_cast<float>(orig[0]), static_cast<float>(orig[1])})}});
    ASSERT_EQ(out.size(), 3u) << name << " case " << i;
    const Reference ref = reference(*sam, want, p, maskInput, orig);
    EXPECT_LE(maxAbs(out["low_res_masks"], ref.lowRes), 1e-4) << name << " case " << i;
    EXPECT_LE(maxAbs(out["iou_predictions"], ref.iou), 1e-4) << name << " case " << i;
    EXPECT_LE(maxAbs(out["masks"], ref.masks), 1e-4) << name << " case " << i;
    EXPECT_EQ(out["masks"].sizes().vec(), (std::vector<int64_t>{1, 1, orig[0], orig[1]}));
  }
}

std::vector<Prompt> promptsFor(int64_t S) {
  const float s = static_cast<float>(S);
  return {
      // One foreground point and the padding point (N = 2: the best of the three multimask outputs).
      {{0.4f * s, 0.5f * s, 0.f, 0.f}, {1.f, -1.f}, false},
      // Two points and a box (N = 4: the single-mask output).
      {{0.3f * s, 0.3f * s, 0.6f * s, 0.2f * s, 0.1f * s, 0.15f * s, 0.8f * s, 0.7f * s}, {1.f, 0.f, 2.f, 3.f}, false},
      // A box alone (N = 2).
      {{0.2f * s, 0.25f * s, 0.7f * s, 0.9f * s}, {2.f, 3.f}, false},
      // Three points, the padding point and a mask input (N = 4).
      {{0.5f * s, 0.5f * s, 0.2f * s, 0.6f * s, 0.9f * s, 0.1f * s, 0.f, 0.f}, {1.f, 1.f, 0.f, -1.f}, true},
  };
}

}  // namespace

TEST(OnnxExport, DemoSubnetMatchesLibTorch) {
  ASSERT_NO_FATAL_FAILURE(requireOnnxRuntime());
  util::setThreads(2);
  infer::LoadedModel demo = infer::loadModel(kDemo);
  // Blocks 3 (windowed) and 8 (global) dropped, several MLPs narrower.
  const auto s = supernet::Subnet::parse("512,384,512,x,256,512,448,512,x,320,512,512", demo.arch);
  checkAgainstLibTorch(demo.sam, s, "demo_subnet", promptsFor(demo.arch.imageSize));
}

TEST(OnnxExport, DemoFullModelMatchesLibTorch) {
  ASSERT_NO_FATAL_FAILURE(requireOnnxRuntime());
  util::setThreads(2);
  infer::LoadedModel demo = infer::loadModel(kDemo);
  checkAgainstLibTorch(demo.sam, supernet::Subnet::full(demo.arch), "demo_full",
                       {promptsFor(demo.arch.imageSize)[1]});
}

// The demo's windows tile its 16x16 token grid exactly; this random model's 3x3 windows over 8x8 tokens are padded.
TEST(OnnxExport, PaddedWindowsMatchLibTorch) {
  ASSERT_NO_FATAL_FAILURE(requireOnnxRuntime());
  util::setThreads(2);
  const model::SamArch arch = test::tinyArch();
  model::Sam sam = test::randomSam(arch, 23);
  sam->eval();
  const auto s = supernet::Subnet::parse("256,x,128,192", arch);
  checkAgainstLibTorch(sam, s, "tiny_padded", promptsFor(arch.imageSize));
}

// encoder_rgb.onnx: SAM's preprocessing (normalise, channels first, zero-pad) in the graph, for X-AnyLabeling.
TEST(OnnxExport, RgbEncoderMatchesPreprocessingThenEncoder) {
  ASSERT_NO_FATAL_FAILURE(requireOnnxRuntime());
  util::setThreads(2);
  const model::SamArch arch = test::tinyArch();
  model::Sam sam = test::randomSam(arch, 31);
  sam->eval();
  const auto s = supernet::Subnet::parse("128,256,x,256", arch);
  const std::string dir = test::tempDir("onnx_export_rgb");
  const exporter::OnnxExportResult r = exporter::exportOnnx(sam, s, dir + "/model", {}, true);
  ASSERT_TRUE(fs::exists(r.rgbEncoderPath));
  const std::string yaml = util::readFileBytes(r.anylabelingConfigPath);
  EXPECT_NE(yaml.find("type: segment_anything"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("encoder_model_path: encoder_rgb.onnx"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("decoder_model_path: decoder.onnx"), std::string::npos) << yaml;
  for (const auto& hw : std::vector<std::array<int64_t, 2>>{{arch.imageSize * 3 / 4, arch.imageSize}, {arch.imageSize, 70}}) {
    at::manual_seed(hw[1]);
    const at::Tensor rgb = at::rand({hw[0], hw[1], 3}) * 255.0;
    at::Tensor want;
    {
      c10::InferenceMode g;
      auto cfg = s.toElastic();
      want = sam->image_encoder->forward(sam->preprocess(rgb.permute({2, 0, 1}).unsqueeze(0)), &cfg);
    }
    auto out = runOnnx(r.rgbEncoderPath, dir + "/io" + std::to_string(hw[1]), {{"input_image", rgb}});
    ASSERT_TRUE(out.count("image_embeddings"));
    EXPECT_LE(maxAbs(out["image_embeddings"], want), 1e-4) << hw[0] << "x" << hw[1];
  }
}

TEST(OnnxExport, OutputFolderThatCannotBeCreatedIsAnError) {
  const model::SamArch arch = test::tinyArch();
  model::Sam sam = test::randomSam(arch, 3);
  const std::string dir = test::tempDir("onnx_export_bad_dir");
  util::writeFileAtomic(dir + "/a_file", std::string("not a folder"));
  const std::string target = dir + "/a_file/onnx";
  try {
    exporter::exportOnnx(sam, supernet::Subnet::full(arch), target);
    FAIL() << "expected util::Error";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/a_file/onnx/encoder.onnx"));
}

TEST(OnnxExport, CliWritesBothFilesAndRejectsBadInput) {
  const std::string dir = test::tempDir("onnx_export_cli");
  // A subnet with the wrong number of blocks: exit 1, the message names the subnet; nothing written.
  test::CliResult bad = test::runSupersam("export --supernet '" + kDemo + "' --subnet 512,512,x --onnx '" + dir +
                                          "/bad'");
  EXPECT_EQ(bad.rc, 1) << bad.output;
  EXPECT_NE(bad.output.find("512,512,x"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir + "/bad/encoder.onnx"));
  // An output folder below a file: exit 1, the message names it.
  util::writeFileAtomic(dir + "/file", std::string("x"));
  test::CliResult unwritable =
      test::runSupersam("export --supernet '" + kDemo + "' --subnet largest --onnx '" + dir + "/file/onnx'");
  EXPECT_EQ(unwritable.rc, 1) << unwritable.output;
  EXPECT_NE(unwritable.output.find(dir + "/file/onnx"), std::string::npos) << unwritable.output;
  // --onnx alone (no --out) writes the two models and the sidecar; --onnx-rgb adds X-AnyLabeling's pair.
  test::CliResult ok = test::runSupersam("export --supernet '" + kDemo + "' --subnet smallest --onnx '" + dir +
                                         "/ok' --onnx-rgb");
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_TRUE(fs::exists(dir + "/ok/encoder.onnx"));
  EXPECT_TRUE(fs::exists(dir + "/ok/decoder.onnx"));
  EXPECT_TRUE(fs::exists(dir + "/ok/supersam_onnx.json"));
  EXPECT_TRUE(fs::exists(dir + "/ok/encoder_rgb.onnx"));
  EXPECT_TRUE(fs::exists(dir + "/ok/x-anylabeling.yaml"));
  EXPECT_NE(ok.output.find("opset 17"), std::string::npos) << ok.output;
}
