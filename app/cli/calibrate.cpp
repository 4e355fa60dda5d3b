// `supersam calibrate`: turns a SAM checkpoint into a SuperSAM supernet checkpoint: importance reordering of every
// encoder MLP, layer sensitivity, a measured search space; writes weights + arch + "supernet" metadata atomically
// and prints the sensitivity table.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/data/dataset.h"
#include "core/data/dataset_spec.h"
#include "core/eval/evaluator.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/supernet/calibrate.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/importance.h"
#include "core/supernet/sensitivity.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

namespace fs = std::filesystem;

const char* kUsage = R"(supersam calibrate --checkpoint F (--images DIR | --dataset SPEC) --out SUPERNET.safetensors [options]

Builds a SuperSAM supernet checkpoint from a SAM checkpoint:
  1. reorders every image-encoder MLP by neuron importance (Wanda-style by default) so any prefix of k neurons is
     the best k; the full model computes the same function;
  2. measures each block's sensitivity (quality lost when it alone is dropped, then cumulative removal of the least
     important blocks): with --dataset, mIoU with box prompts (single-mask output); with --images, the relative
     change of the image embedding;
  3. makes the K least important blocks prunable with p = p_max * (1 - normalised importance);
  4. writes the reordered weights, arch and "supernet" metadata (search space, sensitivity, reorder permutations).

  --checkpoint F       SAM checkpoint (.pth, our or Hugging Face safetensors)
  --arch NAME|JSON     architecture override (vit_b, vit_l, vit_h or an arch JSON)
  --images DIR         calibration images (jpg/png/bmp/tif; sorted by name, the first --max-images)
  --dataset SPEC       labelled calibration set (see `supersam eval --help` for SPEC); mIoU sensitivity
  --reorder M          wanda (default), magnitude, random or none
  --prunable K         prunable blocks (default round(5 * depth / 12): 5 of 12)
  --p-max P            largest drop probability (default 0.5)
  --ratios LIST        width ratios (default 0.25,0.33,0.5,0.75,1.0)
  --max-images N       calibration images (default 16)
  --max-objects N      objects per image for mIoU (default 8)
  --seed S             seed for random reordering and object subsets (default 0)
  --threads N          LibTorch threads (default: all cores)
  --out F              the supernet checkpoint (.safetensors), written atomically)";

bool isImageFile(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp" || e == ".tif" || e == ".tiff";
}

std::vector<std::string> listImages(const std::string& dir, int64_t maxImages) {
  if (!fs::is_directory(dir)) throw util::Error("--images: '" + dir + "' is not a folder");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && isImageFile(e.path())) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw util::Error("--images: no jpg/png/bmp/tif images in '" + dir + "'");
  if (maxImages > 0 && static_cast<int64_t>(files.size()) > maxImages) files.resize(static_cast<size_t>(maxImages));
  return files;
}

util::JobControl progressPrinter(const std::string& what) {
  util::JobControl job;
  job.progress = [what](long long done, long long total, const std::string& status) {
    std::fprintf(stderr, "\r%s: %lld/%lld %s\033[K", what.c_str(), done, total, status.c_str());
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
  return job;
}

int runCalibrate(const std::vector<std::string>& argv) {
  Args args(argv,
            {"checkpoint", "arch", "images", "dataset", "reorder", "prunable", "p-max", "ratios", "max-images",
             "max-objects", "seed", "threads", "out"},
            {});
  const std::string checkpoint = args.required("checkpoint");
  const std::string out = args.required("out");
  if (args.has("images") == args.has("dataset")) throw util::Error("calibrate: give exactly one of --images or --dataset");
  util::setThreads(args.getInt("threads", 0));
  const auto method = supernet::parseReorderMethod(args.get("reorder").value_or("wanda"));
  const int64_t maxImages = args.getInt64("max-images", 16);
  if (maxImages <= 0) throw util::Error("--max-images must be > 0");
  const uint64_t seed = static_cast<uint64_t>(args.getInt64("seed", 0));
  const double pMax = args.getDouble("p-max", 0.5);
  std::vector<double> ratios = supernet::SearchSpace::defaultRatios();
  if (auto r = args.get("ratios")) ratios = parseNumberList(*r, "--ratios", 1, 64);

  const auto t0 = std::chrono::steady_clock::now();
  infer::LoadedModel loaded = infer::loadModel(checkpoint, args.get("arch"));
  const model::SamArch& arch = loaded.arch;
  const int64_t depth = arch.encoderDepth;
  const int64_t prunable = args.getInt64("prunable", supernet::defaultPrunableCount(depth));
  std::cerr << "calibrate: " << loaded.path << " (" << arch.name << ", " << depth << " blocks)\n";

  // Calibration inputs [1, 3, S, S]: the images, or the dataset's images.
  std::vector<at::Tensor> inputs;
  std::vector<data::Dataset> datasets;
  if (auto dir = args.get("images")) {
    for (const auto& f : listImages(*dir, maxImages)) {
      std::array<int64_t, 2> hw{};
      inputs.push_back(infer::preprocessImage(data::loadImageRgb(f), arch, &hw));
    }
  } else {
    data::ReadOptions ro;
    ro.limit = maxImages;
    datasets = data::loadDatasets(*args.get("dataset"), ro);
    for (const auto& d : datasets) {
      for (const auto& s : d.samples) {
        if (static_cast<int64_t>(inputs.size()) >= maxImages) break;
        std::array<int64_t, 2> hw{};
        inputs.push_back(infer::preprocessImage(data::loadSampleImage(s), arch, &hw));
      }
    }
    if (inputs.empty()) throw util::Error("--dataset: '" + *args.get("dataset") + "' has no images");
  }
  std::cerr << "calibrate: " << inputs.size() << " calibration images\n";

  // Reorder, measure, make the space; then write the checkpoint.
  supernet::CalibrationOptions options;
  options.method = method;
  options.prunableCount = prunable;
  options.pMax = pMax;
  options.ratios = ratios;
  options.seed = seed;
  std::unique_ptr<eval::PreparedEvalSet> set;
  std::unique_ptr<infer::Predictor> predictor;
  if (!datasets.empty()) {
    eval::EvalProtocol protocol;
    protocol.promptKind = data::PromptKind::Box;
    protocol.maxImages = maxImages;
    protocol.maxObjectsPerImage = args.getInt64("max-objects", 8);
    protocol.seed = seed;
    set = std::make_unique<eval::PreparedEvalSet>(datasets, protocol, &arch);
    predictor = std::make_unique<infer::Predictor>(loaded.sam);
    options.quality = [&](const model::ElasticConfig& cfg) {
      return eval::evaluate(*predictor, cfg, *set).overall.single;
    };
    options.metric = "miou_box_single";
    options.qualityImages = set->imageCount();
  }
  const auto t1 = std::chrono::steady_clock::now();
  supernet::CalibrationResult result =
      supernet::calibrateSupernet(loaded.sam, inputs, options, progressPrinter("calibrate"));
  const supernet::SupernetInfo& info = result.info;
  const supernet::SensitivityTable& table = *info.sensitivity;
  const auto t3 = std::chrono::steady_clock::now();
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : loaded.metadata) {
    if (k != "supernet") meta[k] = v;
  }
  supernet::saveSupernetCheckpoint(loaded.sam, info, out, meta);
  const auto t4 = std::chrono::steady_clock::now();

  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::cout << table.toText(arch) << "\n" << info.space.describe();
  const auto largest = supernet::computeCost(arch), smallest = supernet::computeCost(arch, info.space.smallest());
  std::printf("largest subnet:  %lld parameters, %.2f GMACs\nsmallest subnet: %lld parameters (%.1f%%), %.2f GMACs\n",
              static_cast<long long>(largest.params), largest.gmacs(), static_cast<long long>(smallest.params),
              100.0 * smallest.params / largest.params, smallest.gmacs());
  std::printf("reorder: %s; times: load %.1f s, reorder %.1f s, sensitivity %.1f s, write %.1f s (total %.1f s)\n",
              supernet::reorderMethodName(method).c_str(), secs(t0, t1), result.reorderSeconds,
              result.sensitivitySeconds, secs(t3, t4),
              secs(t0, t4));
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("calibrate", "reorder MLP neurons, measure block sensitivity, write a supernet checkpoint", kUsage,
                 runCalibrate);

}  // namespace supersam::cli
