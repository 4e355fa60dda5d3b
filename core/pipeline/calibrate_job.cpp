#include "core/pipeline/calibrate_job.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

#include <ATen/ATen.h>

#include "core/data/dataset.h"
#include "core/data/dataset_spec.h"
#include "core/eval/evaluator.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/util/error.h"

namespace supersam::pipeline {

namespace {
namespace fs = std::filesystem;

bool isImageFile(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp" || e == ".tif" || e == ".tiff";
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

std::vector<std::string> listFolderImages(const std::string& dir) {
  if (!fs::is_directory(dir)) throw util::Error("images: '" + dir + "' is not a folder");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && isImageFile(e.path())) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> listCalibrationImages(const std::string& dir, int64_t maxImages) {
  if (!fs::is_directory(dir)) throw util::Error("calibration images: '" + dir + "' is not a folder");
  std::vector<std::string> files = listFolderImages(dir);
  if (files.empty()) throw util::Error("calibration images: no jpg/png/bmp/tif images in '" + dir + "'");
  if (maxImages > 0 && static_cast<int64_t>(files.size()) > maxImages) files.resize(static_cast<size_t>(maxImages));
  return files;
}

CalibrateOutcome calibrateCheckpoint(const CalibrateJob& job, const util::JobControl& control, const NoteFn& note) {
  if (job.out.empty()) throw util::Error("calibrate: no output file given (--out)");
  if (fs::is_directory(job.out)) throw util::Error("calibrate: output '" + job.out + "' is a folder, expected a file");
  if (job.imagesDir.empty() == job.dataset.empty()) {
    throw util::Error("calibrate: give exactly one of a folder of images (--images) or a dataset (--dataset)");
  }
  if (job.maxImages <= 0) throw util::Error("calibrate: the number of images must be > 0, got " +
                                            std::to_string(job.maxImages));
  const auto say = [&](const std::string& s) {
    if (note) note(s);
  };
  const auto t0 = std::chrono::steady_clock::now();
  infer::LoadedModel loaded = infer::loadModel(job.checkpoint, job.arch);
  const model::SamArch& arch = loaded.arch;
  say(loaded.path + " (" + arch.name + ", " + std::to_string(arch.encoderDepth) + " blocks)");

  // One forward-only progress over the phases: reading 0-10 %, reordering 10-40 %, sensitivity 40-100 %.
  const util::JobControl reading = util::phaseOf(control, 0.0, 0.1);
  util::JobControl phases;
  phases.cancel = control.cancel;
  if (control.progress) {
    phases.progress = [control](long long done, long long total, const std::string& status) {
      const bool sensitivity = status.rfind("sensitivity", 0) == 0;
      util::phaseOf(control, sensitivity ? 0.4 : 0.1, sensitivity ? 1.0 : 0.4).report(done, total, status);
    };
  }
  // Calibration inputs [1, 3, S, S]: the folder's images, or the dataset's.
  std::vector<at::Tensor> inputs;
  std::vector<data::Dataset> datasets;
  if (!job.imagesDir.empty()) {
    const auto files = listCalibrationImages(job.imagesDir, job.maxImages);
    for (const auto& f : files) {
      control.check();
      std::array<int64_t, 2> hw{};
      inputs.push_back(infer::preprocessImage(data::loadImageRgb(f), arch, &hw));
      reading.report(static_cast<long long>(inputs.size()), static_cast<long long>(files.size()), "reading images");
    }
  } else {
    data::ReadOptions ro;
    ro.limit = job.maxImages;
    datasets = data::loadDatasets(job.dataset, ro);
    for (const auto& d : datasets) {
      for (const auto& s : d.samples) {
        if (static_cast<int64_t>(inputs.size()) >= job.maxImages) break;
        control.check();
        std::array<int64_t, 2> hw{};
        inputs.push_back(infer::preprocessImage(data::loadSampleImage(s), arch, &hw));
        reading.report(static_cast<long long>(inputs.size()), job.maxImages, "reading images");
      }
    }
    if (inputs.empty()) throw util::Error("calibrate: dataset '" + job.dataset + "' has no images");
  }
  say(std::to_string(inputs.size()) + " calibration images");

  supernet::CalibrationOptions options;
  options.method = job.method;
  options.prunableCount = job.prunable >= 0 ? job.prunable : supernet::defaultPrunableCount(arch.encoderDepth);
  options.pMax = job.pMax;
  options.ratios = job.ratios;
  options.seed = job.seed;
  std::unique_ptr<eval::PreparedEvalSet> set;
  std::unique_ptr<infer::Predictor> predictor;
  if (!datasets.empty()) {
    eval::EvalProtocol protocol;
    protocol.promptKind = data::PromptKind::Box;
    protocol.maxImages = job.maxImages;
    protocol.maxObjectsPerImage = job.maxObjects;
    protocol.seed = job.seed;
    set = std::make_unique<eval::PreparedEvalSet>(datasets, protocol, &arch, int64_t{1} << 30,
                                                  util::JobControl{{}, control.cancel});
    predictor = std::make_unique<infer::Predictor>(loaded.sam);
    options.quality = [&](const model::ElasticConfig& cfg) {
      return eval::evaluate(*predictor, cfg, *set, util::JobControl{{}, control.cancel}).overall.single;
    };
    options.metric = "miou_box_single";
    options.qualityImages = set->imageCount();
  }
  CalibrateOutcome outcome;
  outcome.loadSeconds = secondsSince(t0);
  supernet::CalibrationResult result = supernet::calibrateSupernet(loaded.sam, inputs, options, phases);
  control.check();  // a cancel during the last unit of work still writes nothing
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : loaded.metadata) {
    if (k != "supernet") meta[k] = v;
  }
  const auto tw = std::chrono::steady_clock::now();
  supernet::saveSupernetCheckpoint(loaded.sam, result.info, job.out, meta);
  outcome.writeSeconds = secondsSince(tw);
  outcome.info = result.info;
  outcome.arch = arch;
  outcome.modelPath = loaded.path;
  outcome.images = static_cast<int64_t>(inputs.size());
  outcome.reorderSeconds = result.reorderSeconds;
  outcome.sensitivitySeconds = result.sensitivitySeconds;
  return outcome;
}

}  // namespace supersam::pipeline
