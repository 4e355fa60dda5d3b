// `supersam eval`: mIoU of a model or of one subnet of a supernet on labelled datasets (core/eval).
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/data/dataset_spec.h"
#include "core/eval/evaluator.h"
#include "core/infer/model_loader.h"
#include "core/search/subnet_problem.h"
#include "core/supernet/search_space.h"
#include "core/supernet/subnet.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam eval (--checkpoint FILE | --supernet FILE) --dataset SPEC [options]

mIoU per dataset and overall, SAM's protocol: one prompt per ground-truth object (its exact box, or points inside
it fixed by --seed); three numbers: the best of the 3 multimask outputs (oracle), the multimask output ranked first
by the IoU head, and the single-mask output. "overall" is the mean of the datasets' mIoUs, "pooled" the mean over
all objects.

  --checkpoint FILE   a model (official .pth, our or Hugging Face safetensors)
  --supernet FILE     a supernet checkpoint (same loader; its metadata gives the search space for --subnet)
  --arch NAME|JSON    architecture override (default: metadata, else inferred from shapes)
  --subnet S          largest | smallest | a subnet string (one token per block: MLP width or x), default: full
  --dataset SPEC      dataset spec, repeatable or joined with '+' (see below)
  --prompt box|point  prompt kind (default box)
  --points N          foreground points per object for point prompts (default 1: the point farthest from the
                      boundary; further points random inside the mask)
  --max-images N      first N images per dataset (default all)
  --max-objects N     at most N objects per image, a seeded random subset (default all)
  --min-area N        skip objects smaller than N pixels (default 16)
  --seed N            prompt and subset seed (default 0)
  --batch N           prompts per decoder call (default 32)
  --out FILE          write results: .json or .csv (repeatable)
  --threads N         LibTorch threads (default: all cores)
  --device D          cpu (default), cuda, cuda:N
  --quiet             no progress bar

)";

void progressBar(long long done, long long total, const std::string& status,
                 std::chrono::steady_clock::time_point start) {
  static auto last = std::chrono::steady_clock::time_point{};
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last < std::chrono::milliseconds(100)) return;  // ~10 redraws/s
  last = now;
  const int width = 30;
  const int filled = total > 0 ? static_cast<int>(width * done / total) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  const double s = std::chrono::duration<double>(now - start).count();
  const double eta = done > 0 && total > done ? s / static_cast<double>(done) * static_cast<double>(total - done) : 0;
  std::fprintf(stderr, "\r[%s] %lld/%lld images  %.0fs (eta %.0fs)  %s      ", bar.c_str(), done, total, s, eta,
               status.c_str());
  if (done >= total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

model::ElasticConfig subnetConfig(const std::string& text, const infer::LoadedModel& loaded, std::string* canonical) {
  if (text.empty() || text == "full") {
    *canonical = "";
    return {};
  }
  const supernet::Subnet s =
      supernet::resolveSubnet(text, supernet::readSupernetInfo(loaded.metadata, loaded.arch).space, loaded.arch);
  *canonical = s.toString();
  return s.toElastic();
}

int runEval(const std::vector<std::string>& argv) {
  Args a(argv,
         {"checkpoint", "supernet", "arch", "subnet", "dataset", "prompt", "points", "max-images", "max-objects",
          "min-area", "seed", "batch", "out", "threads", "device"},
         {"quiet"});
  if (!a.positional().empty()) throw util::Error("eval: unexpected argument '" + a.positional()[0] + "'");
  if (a.has("checkpoint") == a.has("supernet")) throw util::Error("eval: give exactly one of --checkpoint or --supernet");
  const std::string modelPath = a.has("checkpoint") ? a.required("checkpoint") : a.required("supernet");
  std::string specs;
  for (const auto& d : a.all("dataset")) specs += (specs.empty() ? "" : "+") + d;
  if (specs.empty()) throw util::Error("eval: missing required option --dataset (see --help)");

  eval::EvalProtocol protocol;
  protocol.promptKind = data::parsePromptKind(a.get("prompt").value_or("box"));
  protocol.numPoints = a.getInt("points", 1);
  if (protocol.numPoints < 1) throw util::Error("--points: expected >= 1, got " + std::to_string(protocol.numPoints));
  protocol.maxImages = a.getInt64("max-images", -1);
  protocol.maxObjectsPerImage = a.getInt64("max-objects", -1);
  protocol.minArea = a.getInt64("min-area", 16);
  protocol.seed = static_cast<uint64_t>(a.getInt64("seed", 0));
  protocol.batchSize = std::max<int64_t>(1, a.getInt64("batch", 32));
  const std::vector<std::string> outs = a.all("out");

  util::setThreads(a.getInt("threads", 0));
  const c10::Device device = util::parseDevice(a.get("device").value_or("cpu"));

  // Datasets first: a wrong spec fails before the (slow) model load.
  data::ReadOptions ropt;
  ropt.minArea = protocol.minArea;
  ropt.limit = protocol.maxImages;
  std::vector<data::Dataset> datasets = data::loadDatasets(specs, ropt);
  for (const auto& ds : datasets) {
    std::cerr << "dataset " << ds.name << ": " << ds.samples.size() << " images, " << ds.objectCount() << " objects";
    if (ds.skippedSmall) std::cerr << " (" << ds.skippedSmall << " below " << ropt.minArea << " px skipped)";
    std::cerr << "\n";
    for (size_t i = 0; i < ds.warnings.size() && i < 5; ++i) std::cerr << "  warning: " << ds.warnings[i] << "\n";
    if (ds.warnings.size() > 5) std::cerr << "  ... and " << ds.warnings.size() - 5 << " more warnings\n";
  }

  infer::LoadedModel loaded = infer::loadModel(modelPath, a.get("arch"), device);
  for (const auto& w : loaded.warnings) std::cerr << "eval: warning: " << w << "\n";
  std::string subnetText;
  const model::ElasticConfig cfg = subnetConfig(a.get("subnet").value_or(""), loaded, &subnetText);
  infer::Predictor predictor(loaded.sam, device);

  const auto start = std::chrono::steady_clock::now();
  util::JobControl prepJob, job;
  if (!a.flag("quiet")) {
    prepJob.progress = [start](long long d, long long t, const std::string& s) {
      progressBar(d, t, s, start);
    };
    job.progress = [start](long long d, long long t, const std::string& s) { progressBar(d, t, s, start); };
  }
  const eval::PreparedEvalSet set(datasets, protocol, &loaded.arch, int64_t{1} << 30, prepJob);
  if (set.objectCount() == 0) throw util::Error("dataset '" + specs + "' has no object to evaluate on");
  eval::EvalResult r = eval::evaluate(predictor, cfg, set, job);
  r.model = modelPath;
  r.subnet = subnetText;

  std::printf("model %s (%s)%s%s, %s prompts\n", modelPath.c_str(), loaded.arch.name.c_str(),
              subnetText.empty() ? "" : ", subnet ", subnetText.c_str(),
              data::promptKindName(protocol.promptKind).c_str());
  std::printf("%-24s %7s %8s %9s %9s %9s %9s\n", "dataset", "images", "objects", "oracle", "ranked", "single",
              "box-fill");
  for (const auto& d : r.datasets) {
    std::printf("%-24s %7lld %8lld %9.4f %9.4f %9.4f %9.4f\n", d.name.c_str(), static_cast<long long>(d.images),
                static_cast<long long>(d.objects), d.miou.oracle, d.miou.ranked, d.miou.single, d.boxFill);
  }
  std::printf("%-24s %7lld %8lld %9.4f %9.4f %9.4f %9.4f\n", "overall (mean of sets)",
              static_cast<long long>(r.images), static_cast<long long>(r.objects), r.overall.oracle, r.overall.ranked,
              r.overall.single, r.overallBoxFill);
  std::printf("%-24s %7s %8s %9.4f %9.4f %9.4f\n", "pooled (all objects)", "", "", r.pooled.oracle, r.pooled.ranked,
              r.pooled.single);
  std::printf("box-fill: the mIoU of the trivial answer \"the mask is the object's whole box\" (the baseline)\n");
  std::printf("%.1f s: encoder %.1f s, decoder %.1f s; %.2f objects/s, %.1f decoder prompts/s\n", r.seconds,
              r.encoderSeconds, r.decoderSeconds, r.promptsPerSecond, r.decoderPromptsPerSecond);
  for (const auto& out : outs) {
    eval::writeEvalResult(r, out);
    std::printf("wrote %s\n", out.c_str());
  }
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("eval", "mIoU of a model or subnet on datasets (box/point prompts)",
                 std::string(kUsage) + data::datasetSpecHelp(), runEval);

}  // namespace supersam::cli
