#pragma once
// Importance reordering of every encoder block's MLP hidden neurons, so that any prefix of k neurons is the best k
// (SuperSAM's "unstructured parameter prioritisation"). Methods:
//   wanda     - score_j = (mean over batches of sum_i |W1[j,i]| * ||X1[:,i]||_2
//                          + mean over batches of sum_o |W2[o,j]| * ||X2[:,j]||_2) / 2,
//               X1 = lin1's input tokens (all tokens of a batch, norm over tokens), X2 = the GELU outputs.
//               Statistics are collected per call (no table survives between calls).
//   magnitude - score_j = (sum_i |W1[j,i]| + sum_o |W2[o,j]|) / 2.
//   random    - a seeded random order (std::mt19937_64 Fisher-Yates, portable).
//   none      - identity.
// Neurons are sorted by descending score (stable); lin1 rows + bias and lin2 columns are permuted in place, so the
// full-width network computes the same function. Thread-safety: mutates the encoder; no other thread may use it.

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include "core/model/image_encoder.h"
#include "core/util/progress.h"

namespace supersam::supernet {

enum class ReorderMethod { Wanda, Magnitude, Random, None };
std::string reorderMethodName(ReorderMethod m);  // "wanda", "magnitude", "random", "none"
ReorderMethod parseReorderMethod(const std::string& name);  // util::Error listing the names otherwise

// Per block, the calibration statistics Wanda needs: means over batches of per-channel L2 norms over tokens.
struct BlockActivationStats {
  at::Tensor lin1InputNorm;  // [C] float
  at::Tensor lin2InputNorm;  // [W] float (GELU outputs)
};

// Runs the full-width encoder block by block on each batch ([B, 3, S, S], normalised + padded) under
// InferenceMode. Reports progress per batch; honours cancellation between batches.
std::vector<BlockActivationStats> collectActivationStats(model::ImageEncoderViT& encoder,
                                                         const std::vector<at::Tensor>& batches,
                                                         const util::JobControl& job = {});

// Per block neuron scores [W] (higher = more important). `stats` is required for wanda only.
std::vector<at::Tensor> neuronScores(model::ImageEncoderViT& encoder, ReorderMethod method,
                                     const std::vector<BlockActivationStats>& stats = {}, uint64_t seed = 0);

// The permutation that sorts `scores` descending (stable): perm[k] = the old index of the neuron now at k.
std::vector<int64_t> descendingOrder(const at::Tensor& scores);

// Permutes block `block`'s lin1 rows + bias and lin2 columns in place: new neuron k = old neuron perm[k].
// util::Error when `perm` is not a permutation of 0..W-1.
void applyPermutation(model::ImageEncoderViT& encoder, int64_t block, const std::vector<int64_t>& perm);

struct ReorderRecord {
  ReorderMethod method = ReorderMethod::None;
  uint64_t seed = 0;
  int64_t calibrationBatches = 0;
  std::vector<std::vector<int64_t>> permutations;  // one per block; perm[k] = original neuron at position k

  nlohmann::json toJson() const;
  static ReorderRecord fromJson(const nlohmann::json& j);
};

// Scores, sorts and permutes every block. `calibration` is required (non-empty) for wanda.
ReorderRecord reorderEncoder(model::ImageEncoderViT& encoder, ReorderMethod method,
                             const std::vector<at::Tensor>& calibration = {}, uint64_t seed = 0,
                             const util::JobControl& job = {});

}  // namespace supersam::supernet
