#pragma once
// mIoU evaluation of a SAM (any subnet of a supernet, or a plain model) on labelled datasets, SAM's way: one
// prompt per ground-truth object (its exact box, or points inside it, fixed by a seed), three numbers per dataset:
//   oracle : best of the 3 multimask outputs (the paper's protocol),
//   ranked : the multimask output the IoU head ranks first,
//   single : the single-mask output (multimask = false).
// Images and prompts are prepared once (PreparedEvalSet) so that many subnets are evaluated without re-reading or
// re-decoding anything; only the image encoder and decoder run per subnet (embeddings depend on the subnet).
// Thread-safety: evaluate() uses the predictor exclusively for its duration; a PreparedEvalSet is read-only once
// built and may be shared by several evaluate() calls on different threads with different predictors.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include "core/data/dataset.h"
#include "core/data/prompts.h"
#include "core/eval/miou.h"
#include "core/infer/predictor.h"
#include "core/model/arch.h"
#include "core/model/elastic.h"
#include "core/util/progress.h"

namespace supersam::eval {

struct EvalProtocol {
  data::PromptKind promptKind = data::PromptKind::Box;
  int numPoints = 1;                                 // point prompts per object
  data::PointPlacement placement = data::PointPlacement::Center;
  int64_t maxImages = -1;          // per dataset, the first N images; -1 = all
  int64_t maxObjectsPerImage = -1; // a seeded random subset (kept in annotation order); -1 = all
  int64_t minArea = 16;            // objects with fewer pixels are skipped (on top of the reader's own filter)
  uint64_t seed = 0;               // fixes prompts and object subsets
  int64_t batchSize = 32;          // prompts per decoder call (reduced automatically for big images)

  nlohmann::json toJson() const;
};

infer::Prompt toInferPrompt(const data::PromptGeometry& g, bool multimask);

struct PreparedObject {
  int64_t objectId = 0;
  CroppedMask gt;
  data::PromptGeometry prompt;
};

struct PreparedImage {
  std::string path;
  int64_t imageId = 0;
  at::Tensor rgb;           // [H, W, 3] uint8 (always kept)
  at::Tensor encoderInput;  // [1, 3, S, S] float, precomputed for `arch` when the budget allowed; else undefined
  std::array<int64_t, 2> inputHW{0, 0};
  std::vector<PreparedObject> objects;
};

struct PreparedDataset {
  std::string name;
  std::vector<PreparedImage> images;
  int64_t objectCount() const;
};

class PreparedEvalSet {
 public:
  PreparedEvalSet() = default;
  // Loads images, decodes masks and makes prompts. With `arch`, also resizes/normalises every image for it while
  // the float inputs fit in `inputBudgetBytes` (the rest are resized at evaluation time). Images that fail to load
  // throw util::Error naming the file (datasets were already checked by their readers).
  PreparedEvalSet(const std::vector<data::Dataset>& datasets, const EvalProtocol& protocol,
                  const model::SamArch* arch = nullptr, int64_t inputBudgetBytes = int64_t{1} << 30,
                  const util::JobControl& job = {});

  const EvalProtocol& protocol() const { return m_protocol; }
  const std::vector<PreparedDataset>& datasets() const { return m_datasets; }
  const model::SamArch* preparedFor() const { return m_hasArch ? &m_arch : nullptr; }
  int64_t imageCount() const;
  int64_t objectCount() const;

 private:
  EvalProtocol m_protocol;
  std::vector<PreparedDataset> m_datasets;
  model::SamArch m_arch;
  bool m_hasArch = false;
};

struct MiouTriple {
  double oracle = 0, ranked = 0, single = 0;
};

struct DatasetResult {
  std::string name;
  int64_t images = 0;
  int64_t objects = 0;
  MiouTriple miou;
  double boxFill = 0;  // mIoU of "the mask is the object's whole box" (miou.h boxFillIou), the baseline
};

struct EvalResult {
  std::vector<DatasetResult> datasets;
  MiouTriple overall;        // mean of the per-dataset mIoUs (each domain weighs the same)
  MiouTriple pooled;         // mean over all objects of all datasets
  double overallBoxFill = 0; // the box-fill baseline, mean of the per-dataset values like `overall`
  int64_t images = 0;
  int64_t objects = 0;
  double seconds = 0;        // wall time of evaluate()
  double encoderSeconds = 0;
  double decoderSeconds = 0; // decoder + upsampling + IoU
  double promptsPerSecond = 0;        // objects / seconds (each object = one multimask + one single prediction)
  double decoderPromptsPerSecond = 0; // 2 * objects / decoderSeconds: prompt decoding rate without the encoder
  EvalProtocol protocol;
  std::string model;   // free text for reports (checkpoint path)
  std::string subnet;  // free text for reports (subnet string), empty = full model

  nlohmann::json toJson() const;
  std::string toCsv() const;  // header + one row per dataset + "overall" + "pooled" (box-fill baseline column)
};

// Called as each dataset of an evaluation is finished (a cancelled run keeps what it reported).
using DatasetDoneFn = std::function<void(const DatasetResult&)>;

// Evaluates `cfg` of the predictor's model. Progress: images done / total; cancellation between images throws
// util::Cancelled. The predictor's current image is replaced.
EvalResult evaluate(infer::Predictor& predictor, const model::ElasticConfig& cfg, const PreparedEvalSet& set,
                    const util::JobControl& job = {}, const DatasetDoneFn& onDataset = {});
// Convenience: prepares then evaluates.
EvalResult evaluate(infer::Predictor& predictor, const model::ElasticConfig& cfg,
                    const std::vector<data::Dataset>& datasets, const EvalProtocol& protocol,
                    const util::JobControl& job = {});

// Atomic writes (temporary file + rename); ".csv" -> CSV, anything else JSON. util::Error names the path.
void writeEvalResult(const EvalResult& result, const std::string& path);

}  // namespace supersam::eval
