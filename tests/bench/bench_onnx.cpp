// bench_onnx: the ONNX export's cost and ONNX Runtime's encoder time against LibTorch's (a benchmark, not a test).
//   bench_onnx [--model demo|vit_b] [--subnet STRING] [--threads 2] [--runs 3] [--out DIR]
// demo: the shipped demo supernet; vit_b: a randomly initialised ViT-B-sized SAM. Exports the subnet (default: the
// largest for demo, for vit_b blocks 3 and 7 dropped and every other MLP at half width), times the export, then the
// encoder in LibTorch (the supernet running the subnet, mean of --runs after one warm-up) and encoder.onnx in ONNX
// Runtime (tests/onnx/run_model.js, node's onnxruntime-node, same runs and threads, its own warm-up), and prints
// the ratios.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/export/onnx_export.h"
#include "core/infer/model_loader.h"
#include "core/supernet/subnet.h"
#include "core/util/atomic_file.h"
#include "core/util/json_guard.h"
#include "core/util/process_env.h"
#include "core/util/runtime.h"

using namespace supersam;
using Clock = std::chrono::steady_clock;

namespace {
std::string argValue(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return def;
}
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

int main(int argc, char** argv) {
  util::prepareProcess(argv);
  const std::string which = argValue(argc, argv, "--model", "demo");
  const int threads = std::stoi(argValue(argc, argv, "--threads", "2"));
  const int runs = std::stoi(argValue(argc, argv, "--runs", "3"));
  const std::string out = argValue(argc, argv, "--out", "/tmp/bench_onnx_" + which);
  util::setThreads(threads);
  at::manual_seed(0);

  model::Sam sam{nullptr};
  std::string subnetText = argValue(argc, argv, "--subnet", "");
  if (which == "demo") {
    sam = infer::loadModel(std::string(SUPERSAM_SOURCE_DIR) + "/resources/models/demo_supernet.safetensors").sam;
    if (subnetText.empty()) subnetText = "largest";
  } else {
    sam = model::Sam(model::SamArch::preset(which));
    sam->eval();
    if (subnetText.empty()) {
      const model::SamArch& a = sam->arch();
      for (int64_t i = 0; i < a.encoderDepth; ++i) {
        if (i) subnetText += ",";
        subnetText += (i == 3 || i == 7) ? std::string("x") : std::to_string(i % 2 ? a.mlpDim(i) / 2 : a.mlpDim(i));
      }
    }
  }
  const model::SamArch& arch = sam->arch();
  const supernet::Subnet s = subnetText == "largest" ? supernet::Subnet::full(arch)
                                                      : supernet::Subnet::parse(subnetText, arch);
  std::printf("bench_onnx: %s (image_size %lld), subnet %s, %d threads (LibTorch and ONNX Runtime)\n", which.c_str(),
              static_cast<long long>(arch.imageSize), s.toString().c_str(), threads);

  auto t0 = Clock::now();
  const exporter::OnnxExportResult r = exporter::exportOnnx(sam, s, out + "/model");
  const double exportS = secondsSince(t0);
  std::printf("export: %.2f s (encoder %.1f MB, %lld nodes; decoder %.1f MB, %lld nodes)\n", exportS,
              r.encoderBytes / 1e6, static_cast<long long>(r.encoderNodes), r.decoderBytes / 1e6,
              static_cast<long long>(r.decoderNodes));

  const at::Tensor x = at::randn({1, 3, arch.imageSize, arch.imageSize});
  double torchS = 0;
  {
    c10::InferenceMode g;
    const auto cfg = s.toElastic();
    sam->image_encoder->forward(x, &cfg);  // warm-up
    t0 = Clock::now();
    for (int i = 0; i < runs; ++i) sam->image_encoder->forward(x, &cfg);
    torchS = secondsSince(t0) / runs;
  }
  std::printf("export time / one LibTorch encoder run: %.2f\n", exportS / torchS);

  // ONNX Runtime through node.
  const std::string io = out + "/io";
  std::system(("mkdir -p '" + io + "'").c_str());
  util::writeFileAtomic(io + "/x.bin", std::string(reinterpret_cast<const char*>(x.data_ptr<float>()),
                                                   x.numel() * sizeof(float)));
  nlohmann::json spec = nlohmann::json::array();
  spec.push_back({{"name", "input_image"}, {"shape", x.sizes().vec()}, {"file", "x.bin"}});
  util::writeFileAtomic(io + "/inputs.json", spec.dump());
  const std::string cmd = "node '" + std::string(SUPERSAM_SOURCE_DIR) + "/tests/onnx/run_model.js' '" +
                          r.encoderPath + "' '" + io + "' " + std::to_string(runs) + " " + std::to_string(threads);
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "bench_onnx: ONNX Runtime failed (%s)\n", cmd.c_str());
    return 1;
  }
  const nlohmann::json o = util::parseJson(util::readFileBytes(io + "/outputs.json"), "outputs.json");
  const double ortS = o.at("run_ms").get<double>() / 1000.0;
  std::printf("encoder: LibTorch %.3f s, ONNX Runtime %.3f s (session load %.2f s); ONNX Runtime / LibTorch = %.2f\n",
              torchS, ortS, o.at("load_ms").get<double>() / 1000.0, ortS / torchS);
  return 0;
}
