#pragma once
// The training pipeline behind `supersam train` and the studio's Train dialog (one implementation for both): load
// the model to train, its search space and the datasets, optionally resume from the training checkpoint, run the
// sandwich-rule trainer, and write the trained supernet ONLY when every step is done. A cancelled run leaves the
// checkpoint of its last completed step (resume with `resume = true`) and never the final output.
// Thread-safety: runs on the calling thread; JobControl's cancel token may be set from any thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/train/train_checkpoint.h"
#include "core/train/trainer.h"
#include "core/util/progress.h"

namespace supersam::pipeline {

struct TrainJob {
  std::string supernet;               // calibrated supernet, any model file, or a training checkpoint
  train::TrainableModel model;        // or a model already built (model.sam non-null): `supernet` is then ignored
  std::optional<std::string> arch;    // architecture override for a model file (infer::archOverrideFor's rule)
  std::string dataset;                // training data (core/data/dataset_spec.h)
  std::string valDataset;             // optional validation data
  std::string out;                    // the trained supernet (our safetensors), written when finished
  train::TrainConfig config;          // config.checkpointPath empty = out + ".ckpt"
  bool resume = false;                // continue exactly from config.checkpointPath (it must exist)
  bool fp16 = false;                  // write the output in float16
};

struct TrainOutcome {
  bool finished = false;  // false: cancelled, `checkpoint` holds the last completed step, `out` was not written
  int64_t step = 0;
  std::string checkpoint;
  std::string out;
};

// Messages for the user ("dsb: 12 images, 80 objects", "resumed at step 40 from X.ckpt").
using NoteFn = std::function<void(const std::string&)>;

// util::Error naming the file or value on bad input (before any training starts, where it can be checked).
TrainOutcome trainSupernet(const TrainJob& job, const util::JobControl& control, const train::TrainEvents& events = {},
                           const NoteFn& note = {}, train::Distributed* dist = nullptr);

// The checkpoint path a job uses (config.checkpointPath, else out + ".ckpt").
std::string checkpointPathOf(const TrainJob& job);

}  // namespace supersam::pipeline
