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
#include "core/pipeline/calibrate_job.h"
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

util::JobControl progressPrinter(const std::string& what) {
  util::JobControl job;
  job.progress = [what](long long done, long long total, const std::string& status) {
    std::fprintf(stderr, "\r%s: %3lld%% %s\033[K", what.c_str(), total > 0 ? done * 100 / total : 0, status.c_str());
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
  pipeline::CalibrateJob job;
  job.checkpoint = args.required("checkpoint");
  job.arch = args.get("arch");
  job.out = args.required("out");
  if (args.has("images") == args.has("dataset")) throw util::Error("calibrate: give exactly one of --images or --dataset");
  job.imagesDir = args.get("images").value_or("");
  job.dataset = args.get("dataset").value_or("");
  util::setThreads(args.getInt("threads", 0));
  job.method = supernet::parseReorderMethod(args.get("reorder").value_or("wanda"));
  job.maxImages = args.getInt64("max-images", 16);
  if (job.maxImages <= 0) throw util::Error("--max-images must be > 0");
  job.maxObjects = args.getInt64("max-objects", 8);
  job.seed = static_cast<uint64_t>(args.getInt64("seed", 0));
  job.pMax = args.getDouble("p-max", 0.5);
  job.prunable = args.getInt64("prunable", -1);
  if (auto r = args.get("ratios")) job.ratios = parseNumberList(*r, "--ratios", 1, 64);

  const auto t0 = std::chrono::steady_clock::now();
  const pipeline::CalibrateOutcome result = pipeline::calibrateCheckpoint(
      job, progressPrinter("calibrate"), [](const std::string& s) { std::cerr << "calibrate: " << s << "\n"; });
  const auto t4 = std::chrono::steady_clock::now();
  const supernet::SupernetInfo& info = result.info;
  const supernet::SensitivityTable& table = *info.sensitivity;
  const model::SamArch& arch = result.arch;
  const supernet::ReorderMethod method = job.method;
  const std::string& out = job.out;

  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::cout << table.toText(arch) << "\n" << info.space.describe();
  const auto largest = supernet::computeCost(arch), smallest = supernet::computeCost(arch, info.space.smallest());
  std::printf("largest subnet:  %lld parameters, %.2f GMACs\nsmallest subnet: %lld parameters (%.1f%%), %.2f GMACs\n",
              static_cast<long long>(largest.params), largest.gmacs(), static_cast<long long>(smallest.params),
              100.0 * smallest.params / largest.params, smallest.gmacs());
  std::printf("reorder: %s; times: load %.1f s, reorder %.1f s, sensitivity %.1f s, write %.1f s (total %.1f s)\n",
              supernet::reorderMethodName(method).c_str(), result.loadSeconds, result.reorderSeconds,
              result.sensitivitySeconds, result.writeSeconds, secs(t0, t4));
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("calibrate", "reorder MLP neurons, measure block sensitivity, write a supernet checkpoint", kUsage,
                 runCalibrate);

}  // namespace supersam::cli
