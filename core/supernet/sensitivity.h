#pragma once
// Layer sensitivity of a (reordered) SAM: for each encoder block the quality lost when it alone is dropped, and the
// loss when the least important blocks are removed cumulatively (the paper's Fig. 3). Quality is any callable
// "higher is better" over a subnet, so the same code measures:
//   - "embedding_rel_change": quality = -mean over calibration images of ||E_cfg - E_full||_F / ||E_full||_F
//     (no labels needed; built by embeddingQuality());
//   - "miou": quality = mIoU with box prompts on a labelled calibration set (a QualityFn supplied by core/eval).
// Loss = quality(full) - quality(cfg); higher loss = more important block.
// Thread-safety: measureSensitivity calls `quality` sequentially from the calling thread.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include "core/model/arch.h"
#include "core/model/elastic.h"
#include "core/model/image_encoder.h"
#include "core/util/progress.h"

namespace supersam::supernet {

// Quality of the model running a subnet; higher is better. Throwing util::Error aborts the measurement.
using QualityFn = std::function<double(const model::ElasticConfig&)>;

struct SensitivityTable {
  std::string metric;              // "embedding_rel_change", "miou", ...
  int64_t calibrationImages = 0;
  double baseline = 0.0;           // quality of the full model
  std::vector<double> dropLoss;    // per block: baseline - quality(that block alone dropped)
  std::vector<int64_t> order;      // blocks by ascending dropLoss (least important first; ties by index)
  std::vector<double> cumulativeLoss;    // [k]: loss with order[0..k] dropped (k < depth - 1)
  std::vector<int64_t> cumulativeParams;  // [k]: parameter count of that model (cost model, full widths)

  std::vector<double> importance() const { return dropLoss; }
  nlohmann::json toJson() const;
  static SensitivityTable fromJson(const nlohmann::json& j);  // util::Error on missing/ill-typed keys
  // A printable table (attention kind, loss, parameters for each block; then the cumulative rows).
  std::string toText(const model::SamArch& arch) const;
};

// Evaluates 1 + depth + (depth - 1) subnets (or fewer cumulative rows when maxCumulative >= 0). Reports progress
// per evaluation; honours cancellation between evaluations.
SensitivityTable measureSensitivity(const model::SamArch& arch, const QualityFn& quality, const std::string& metric,
                                    int64_t calibrationImages, int64_t maxCumulative = -1,
                                    const util::JobControl& job = {});

// -mean relative change of the image embedding vs the full model over `inputs` ([1, 3, S, S] each, normalised +
// padded). The full embeddings are computed once here. The encoder is shared (read-only).
QualityFn embeddingQuality(model::ImageEncoderViT encoder, std::vector<at::Tensor> inputs);

}  // namespace supersam::supernet
