#pragma once
// The training checkpoint: ONE safetensors file, written atomically (temporary file + rename, io::saveSafetensors),
// so a kill at any moment leaves either the previous checkpoint or the new one, never a torn file. It holds
//   - every model tensor under SAM's official key names (so it is also a valid --supernet input),
//   - per trainable parameter P the AdamW moments "trainer.exp_avg.P" and "trainer.exp_avg_sq.P",
//   - "trainer.torch_generator": the default CPU generator's state (uint8),
//   - metadata: the carried model metadata (format=supersam, arch, supernet, ...) plus "train_state", a JSON text
//     {step, seed, rng (std::mt19937_64 state as text), adam_steps {P: n}, world_size, batch}.
// The product's model loader rejects the extra tensors, so the trained supernet itself is written separately
// (Trainer::saveSupernet); loadTrainable() accepts both.
// Thread-safety: free functions.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "core/model/sam.h"

namespace torch::optim {
class AdamW;
}

namespace supersam::train {

constexpr const char* kTrainerPrefix = "trainer.";

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes model state + optimizer state + train_state JSON. `params` are the optimizer's parameters with their names,
// in the optimizer's order.
void saveTrainCheckpoint(const std::string& path, const model::Sam& sam, const torch::optim::AdamW& opt,
                         const NamedTensors& params, const std::map<std::string, std::string>& metadata,
                         const nlohmann::json& trainState);

struct LoadedTrainCheckpoint {
  NamedTensors optimizerTensors;                // the "trainer.*" tensors
  nlohmann::json trainState;                    // null when the file is not a training checkpoint
  std::map<std::string, std::string> metadata;  // without "train_state"
};

// Loads a training checkpoint's model weights into `sam` (strict: same arch) and returns the rest.
// util::Error naming the file when it is not a training checkpoint or does not match.
LoadedTrainCheckpoint readTrainCheckpoint(const std::string& path, model::Sam& sam);

// Restores AdamW moments and step counts saved by saveTrainCheckpoint into `opt` (whose parameters are `params`).
void restoreOptimizer(torch::optim::AdamW& opt, const NamedTensors& params, const LoadedTrainCheckpoint& ck,
                      const std::string& path);

struct TrainableModel {
  model::Sam sam{nullptr};
  std::map<std::string, std::string> metadata;  // format, arch, supernet, ... (never train_state)
};

// Any model file the product reads (our safetensors, a training checkpoint, official .pth, HF) as a trainable fp32
// model on the CPU. `archOverride` (preset name or arch JSON) applies to model files, not training checkpoints, with
// infer::archOverrideFor's rule. util::Error naming the file on failure.
TrainableModel loadTrainable(const std::string& path, const std::optional<std::string>& archOverride = std::nullopt);

}  // namespace supersam::train
