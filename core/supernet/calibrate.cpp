#include "core/supernet/calibrate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <ATen/ATen.h>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace supersam::supernet {

int64_t defaultPrunableCount(int64_t depth) {
  return std::clamp<int64_t>(static_cast<int64_t>(std::llround(5.0 * static_cast<double>(depth) / 12.0)), 0,
                             std::max<int64_t>(0, depth - 1));
}

CalibrationResult calibrateSupernet(model::Sam& sam, const std::vector<at::Tensor>& inputs,
                                    const CalibrationOptions& options, const util::JobControl& job) {
  if (inputs.empty()) throw util::Error("calibration needs at least one image");
  const model::SamArch& arch = sam->arch();
  using Clock = std::chrono::steady_clock;
  CalibrationResult r;
  auto t0 = Clock::now();
  util::JobControl reorderJob = job;
  reorderJob.progress = [&job](long long d, long long t, const std::string& s) { job.report(d, t, "reorder: " + s); };
  ReorderRecord reorder = reorderEncoder(sam->image_encoder, options.method, inputs, options.seed, reorderJob);
  auto t1 = Clock::now();
  util::JobControl sensJob = job;
  sensJob.progress = [&job](long long d, long long t, const std::string& s) { job.report(d, t, "sensitivity: " + s); };
  SensitivityTable table;
  if (options.quality) {
    table = measureSensitivity(arch, options.quality, options.metric, options.qualityImages, -1, sensJob);
  } else {
    table = measureSensitivity(arch, embeddingQuality(sam->image_encoder, inputs), "embedding_rel_change",
                               static_cast<int64_t>(inputs.size()), -1, sensJob);
  }
  auto t2 = Clock::now();
  const int64_t k = options.prunableCount < 0 ? defaultPrunableCount(arch.encoderDepth) : options.prunableCount;
  r.info.space = SearchSpace::measured(arch, table.importance(), k, options.pMax, options.ratios);
  r.info.spaceSource = "checkpoint";
  r.info.sensitivity = std::move(table);
  r.info.reorder = std::move(reorder);
  r.reorderSeconds = std::chrono::duration<double>(t1 - t0).count();
  r.sensitivitySeconds = std::chrono::duration<double>(t2 - t1).count();
  return r;
}

void saveSupernetCheckpoint(const model::Sam& sam, const SupernetInfo& info, const std::string& path,
                            const std::map<std::string, std::string>& baseMetadata) {
  std::map<std::string, std::string> meta = baseMetadata;
  meta["format"] = "supersam";
  meta["arch"] = sam->arch().toJsonText();
  meta["supernet"] = info.toJsonText();
  io::StateDict sd = io::stateDictOf(*sam);
  for (auto& kv : sd) kv.second = kv.second.to(at::kCPU);
  io::saveSafetensors(path, sd, meta);
}

}  // namespace supersam::supernet
