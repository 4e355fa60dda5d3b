#pragma once
// The calibration pipeline behind `supersam calibrate` (and the GUI): importance reordering of every encoder MLP,
// layer sensitivity, the measured search space; and writing the supernet checkpoint.
// Thread-safety: mutates the model's encoder weights; nothing else may use the model meanwhile.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model/sam.h"
#include "core/supernet/importance.h"
#include "core/supernet/sensitivity.h"
#include "core/supernet/supernet_info.h"
#include "core/util/progress.h"

namespace supersam::supernet {

struct CalibrationOptions {
  ReorderMethod method = ReorderMethod::Wanda;
  int64_t prunableCount = -1;  // -1 = round(5 * depth / 12), clamped to [0, depth - 1]
  double pMax = 0.5;
  std::vector<double> ratios = SearchSpace::defaultRatios();
  uint64_t seed = 0;
  // Quality for the sensitivity; empty = the relative change of the image embedding on the calibration inputs.
  QualityFn quality;
  std::string metric = "embedding_rel_change";  // name of `quality`'s metric when given
  int64_t qualityImages = 0;                    // images `quality` evaluates (for the record)
};

struct CalibrationResult {
  SupernetInfo info;
  double reorderSeconds = 0;
  double sensitivitySeconds = 0;
};

int64_t defaultPrunableCount(int64_t depth);

// inputs: [1, 3, S, S] normalised + padded calibration images (at least one). Progress: reorder then sensitivity
// (each reports its own done/total; the status says which). Cancellation throws util::Cancelled.
CalibrationResult calibrateSupernet(model::Sam& sam, const std::vector<at::Tensor>& inputs,
                                    const CalibrationOptions& options, const util::JobControl& job = {});

// Our safetensors: the model's weights, format=supersam, arch, supernet = info (atomic). Other entries of
// `baseMetadata` are kept.
void saveSupernetCheckpoint(const model::Sam& sam, const SupernetInfo& info, const std::string& path,
                            const std::map<std::string, std::string>& baseMetadata = {});

}  // namespace supersam::supernet
