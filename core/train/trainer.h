#pragma once
// Sandwich-rule supernet training (BigNAS-style). Each step the largest subnet, the smallest subnet and n random
// subnets of the search space see the same batch; the gradients of all members accumulate into the shared weights,
// then ONE AdamW step with a warm-up + cosine learning rate. Loss per member: SAM's focal (20) + dice (1) on the
// mask logits + MSE of the IoU head (losses.h); optional in-place distillation of the smaller members from the
// largest member's (detached) logits. Boxes use the single-mask output; a point uses the best of the 3 multimask
// outputs by loss. The prompt encoder is frozen; encoder and decoder train (configurable).
//
// Exact resume: a step is a pure function of (weights, optimizer state, step index, subnet RNG state): the data
// order and prompts derive from (seed, step) (batch.h), the subnets from a std::mt19937_64 saved in the checkpoint.
// Data-parallel: with a Distributed group each rank takes batch / world images of the global batch, the subnet
// RNG is the same on every rank, gradients are averaged over ranks before the step, and rank 0 alone writes
// checkpoints, logs and validation.
// Thread-safety: one Trainer is driven by one thread; JobControl's cancel token may be set from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "core/data/dataset.h"
#include "core/model/sam.h"
#include "core/supernet/search_space.h"
#include "core/supernet/subnet.h"
#include "core/train/batch.h"
#include "core/train/losses.h"
#include "core/train/schedule.h"
#include "core/util/progress.h"

namespace torch::optim {
class AdamW;
}
namespace supersam::eval {
class PreparedEvalSet;
}

namespace supersam::train {

class Distributed;

struct TrainConfig {
  int64_t steps = 1000;
  int64_t batch = 4;  // global images per step; must be divisible by the world size
  double lr = 1e-4;
  double weightDecay = 0.01;
  int64_t warmup = 50;
  double minLrFactor = 0.01;
  int64_t randomSubnets = 2;
  bool distill = false;
  LossWeights loss;
  PromptOptions prompts;
  AugmentOptions augment;  // off by default; training images only, never validation
  bool trainImageEncoder = true;
  bool trainMaskDecoder = true;
  bool trainPromptEncoder = false;
  int64_t checkpointEvery = 100;  // steps; 0 = only at the end and on cancel
  std::string checkpointPath;     // empty = no checkpoints
  std::string logPath;            // JSONL, appended; empty = none
  int64_t validateEvery = 0;      // steps; 0 = only at the end
  int64_t valImages = 8;          // per validation dataset
  uint64_t seed = 0;
  c10::Device device = c10::kCPU;
};

struct MemberStats {
  std::string name;  // largest, smallest, random1, ...
  std::string subnet;
  double loss = 0, focal = 0, dice = 0, iou = 0, distill = 0, realIoU = 0;
};

struct StepStats {
  int64_t step = 0;  // the step just done (0-based)
  double lr = 0;
  double loss = 0;   // sum over members (this rank's shard)
  int64_t objects = 0;
  double seconds = 0;
  std::vector<MemberStats> members;
};

// Validation with core/eval's protocol (exact boxes; one point at the mask's centre), on the first valImages images
// of each validation dataset and at most PromptOptions::maxObjects objects per image.
struct ValScore {
  std::string subnetName;  // largest, middle, smallest
  std::string subnet;
  std::string dataset;
  double boxMIoU = 0;          // exact box, single-mask output
  double pointMIoU = 0;        // one point, multimask output ranked first by the IoU head
  double pointOracleMIoU = 0;  // one point, best of the 3 multimask outputs
  int64_t objects = 0;
};

// Typed events of Trainer::run, on the training thread, rank 0 only. The CLI's progress bar and the studio's job
// dialog are two views of them (with JobControl's report/cancel).
struct TrainEvents {
  std::function<void(const StepStats&)> onStep;  // after every completed step (StepStats::step is 0-based)
  std::function<void(int64_t step, const std::vector<ValScore>&)> onValidation;
  std::function<void(int64_t step, const std::string& path)> onCheckpoint;  // a resumable checkpoint was written
};

class Trainer {
 public:
  // `sam` is trained in place. `metadata` (format, arch, supernet, ...) is carried into checkpoints and the output.
  // `dist` may be null (one process); it must outlive the Trainer.
  Trainer(model::Sam sam, supernet::SearchSpace space, std::map<std::string, std::string> metadata,
          std::vector<data::Dataset> trainSets, std::vector<data::Dataset> valSets, TrainConfig cfg,
          Distributed* dist = nullptr);
  ~Trainer();

  // Restores weights, optimizer, step and RNG from a checkpoint written by this trainer (same arch, same
  // trainable set). util::Error naming the file otherwise.
  void resume(const std::string& checkpointPath);

  // Trains from step() to cfg.steps, checkpointing and validating as configured. Returns true when finished;
  // false when cancelled (a checkpoint of the last completed step is written first). Progress: one report per
  // step with "loss X  lr Y  Z steps/s". util::Error on bad data.
  bool run(const util::JobControl& job, const TrainEvents& events = {});
  StepStats trainStep();  // one sandwich step (collective when distributed)
  std::vector<ValScore> validate();

  void saveCheckpoint(const std::string& path) const;
  // The trained supernet as our safetensors (format=supersam, arch, supernet carried, "training" summary).
  void saveSupernet(const std::string& path, bool fp16 = false) const;

  int64_t step() const { return m_step; }
  model::Sam model() const { return m_sam; }
  const TrainConfig& config() const { return m_cfg; }
  // The subnets used for validation: largest, middle (middle width everywhere, every block kept), smallest.
  std::vector<std::pair<std::string, supernet::Subnet>> validationSubnets() const;

 private:
  void logJson(const nlohmann::json& j) const;
  bool isRoot() const;

  model::Sam m_sam;
  supernet::SearchSpace m_space;
  std::map<std::string, std::string> m_metadata;
  std::vector<data::Dataset> m_trainSets;
  std::vector<data::Dataset> m_valSets;
  TrainConfig m_cfg;
  Distributed* m_dist;
  WarmupCosine m_schedule;
  std::unique_ptr<DataOrder> m_order;
  std::vector<std::pair<std::string, at::Tensor>> m_params;  // trainable, named, optimizer order
  std::unique_ptr<torch::optim::AdamW> m_opt;
  std::mt19937_64 m_rng;
  int64_t m_step = 0;
  double m_lastLoss = 0;
  std::unique_ptr<eval::PreparedEvalSet> m_valBox, m_valPoint;  // built at the first validation
};

}  // namespace supersam::train
