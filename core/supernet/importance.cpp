#include "core/supernet/importance.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/util/error.h"

namespace supersam::supernet {

std::string reorderMethodName(ReorderMethod m) {
  switch (m) {
    case ReorderMethod::Wanda: return "wanda";
    case ReorderMethod::Magnitude: return "magnitude";
    case ReorderMethod::Random: return "random";
    case ReorderMethod::None: return "none";
  }
  return "none";
}

ReorderMethod parseReorderMethod(const std::string& name) {
  for (auto m : {ReorderMethod::Wanda, ReorderMethod::Magnitude, ReorderMethod::Random, ReorderMethod::None}) {
    if (reorderMethodName(m) == name) return m;
  }
  throw util::Error("unknown reorder method '" + name + "' (expected wanda, magnitude, random or none)");
}

std::vector<BlockActivationStats> collectActivationStats(model::ImageEncoderViT& encoder,
                                                         const std::vector<at::Tensor>& batches,
                                                         const util::JobControl& job) {
  if (batches.empty()) throw util::Error("wanda importance needs at least one calibration image");
  c10::InferenceMode guard;
  const int64_t depth = encoder->depth();
  std::vector<BlockActivationStats> stats(static_cast<size_t>(depth));
  for (size_t b = 0; b < batches.size(); ++b) {
    job.check();
    at::Tensor x = encoder->embed(batches[b].to(at::kFloat));
    for (int64_t i = 0; i < depth; ++i) {
      model::Block blk = encoder->block(i);
      at::Tensor a = blk->attentionResidual(x);
      at::Tensor h = blk->norm2->forward(a);
      at::Tensor n1 = h.reshape({-1, h.size(-1)}).to(at::kDouble).pow(2).sum(0).sqrt();
      at::Tensor g = at::gelu(blk->mlp->lin1->forward(h));
      at::Tensor n2 = g.reshape({-1, g.size(-1)}).to(at::kDouble).pow(2).sum(0).sqrt();
      auto& s = stats[size_t(i)];
      s.lin1InputNorm = s.lin1InputNorm.defined() ? s.lin1InputNorm + n1 : n1;
      s.lin2InputNorm = s.lin2InputNorm.defined() ? s.lin2InputNorm + n2 : n2;
      x = a + blk->mlp->lin2->forward(g);
    }
    job.report(static_cast<long long>(b + 1), static_cast<long long>(batches.size()), "importance statistics");
  }
  const double n = static_cast<double>(batches.size());
  for (auto& s : stats) {
    s.lin1InputNorm = (s.lin1InputNorm / n).to(at::kFloat);
    s.lin2InputNorm = (s.lin2InputNorm / n).to(at::kFloat);
  }
  return stats;
}

std::vector<at::Tensor> neuronScores(model::ImageEncoderViT& encoder, ReorderMethod method,
                                     const std::vector<BlockActivationStats>& stats, uint64_t seed) {
  torch::NoGradGuard noGrad;
  const int64_t depth = encoder->depth();
  if (method == ReorderMethod::Wanda && static_cast<int64_t>(stats.size()) != depth) {
    throw util::Error("wanda importance: activation statistics for " + std::to_string(stats.size()) +
                      " blocks, the encoder has " + std::to_string(depth));
  }
  std::mt19937_64 rng(seed);
  std::vector<at::Tensor> scores;
  for (int64_t i = 0; i < depth; ++i) {
    model::Block blk = encoder->block(i);
    at::Tensor w1 = blk->mlp->lin1->weight.detach().to(at::kDouble).abs();  // [W, C]
    at::Tensor w2 = blk->mlp->lin2->weight.detach().to(at::kDouble).abs();  // [C, W]
    const int64_t W = w1.size(0);
    switch (method) {
      case ReorderMethod::Wanda: {
        const auto& s = stats[size_t(i)];
        at::Tensor s1 = at::matmul(w1, s.lin1InputNorm.to(at::kDouble));       // sum_i |W1[j,i]| n1[i]
        at::Tensor s2 = w2.sum(0) * s.lin2InputNorm.to(at::kDouble);           // sum_o |W2[o,j]| n2[j]
        scores.push_back((s1 + s2) / 2);
        break;
      }
      case ReorderMethod::Magnitude:
        scores.push_back((w1.sum(1) + w2.sum(0)) / 2);
        break;
      case ReorderMethod::Random: {
        std::vector<int64_t> perm(static_cast<size_t>(W));
        std::iota(perm.begin(), perm.end(), 0);
        for (int64_t k = W - 1; k > 0; --k) std::swap(perm[size_t(k)], perm[size_t(rng() % uint64_t(k + 1))]);
        // Scores that sort into `perm`: the neuron placed at position k gets W - k.
        at::Tensor sc = at::empty({W}, at::kDouble);
        auto acc = sc.accessor<double, 1>();
        for (int64_t k = 0; k < W; ++k) acc[perm[size_t(k)]] = static_cast<double>(W - k);
        scores.push_back(sc);
        break;
      }
      case ReorderMethod::None: {
        scores.push_back(at::arange(W, 0, -1, at::kDouble));
        break;
      }
    }
  }
  return scores;
}

std::vector<int64_t> descendingOrder(const at::Tensor& scores) {
  at::Tensor s = scores.detach().to(at::kDouble).contiguous();
  const int64_t n = s.numel();
  const double* p = s.data_ptr<double>();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [p](int64_t a, int64_t b) { return p[a] > p[b]; });
  return order;
}

void applyPermutation(model::ImageEncoderViT& encoder, int64_t block, const std::vector<int64_t>& perm) {
  model::Block blk = encoder->block(block);
  auto& lin1 = blk->mlp->lin1;
  auto& lin2 = blk->mlp->lin2;
  const int64_t W = lin1->weight.size(0);
  if (static_cast<int64_t>(perm.size()) != W) {
    throw util::Error("block " + std::to_string(block) + ": permutation of " + std::to_string(perm.size()) +
                      " neurons for an MLP of width " + std::to_string(W));
  }
  std::vector<char> seen(static_cast<size_t>(W), 0);
  for (int64_t v : perm) {
    if (v < 0 || v >= W || seen[size_t(v)]) {
      throw util::Error("block " + std::to_string(block) + ": the neuron order is not a permutation of 0.." +
                        std::to_string(W - 1) + " (bad or repeated entry " + std::to_string(v) + ")");
    }
    seen[size_t(v)] = 1;
  }
  torch::NoGradGuard noGrad;
  at::Tensor idx = at::tensor(perm, at::TensorOptions().dtype(at::kLong)).to(lin1->weight.device());
  lin1->weight.copy_(lin1->weight.index_select(0, idx));
  lin1->bias.copy_(lin1->bias.index_select(0, idx));
  lin2->weight.copy_(lin2->weight.index_select(1, idx));
}

nlohmann::json ReorderRecord::toJson() const {
  return {{"method", reorderMethodName(method)},
          {"seed", seed},
          {"calibration_batches", calibrationBatches},
          {"permutations", permutations}};
}

ReorderRecord ReorderRecord::fromJson(const nlohmann::json& j) {
  ReorderRecord r;
  try {
    r.method = parseReorderMethod(j.at("method").get<std::string>());
    r.seed = j.value("seed", uint64_t{0});
    r.calibrationBatches = j.value("calibration_batches", int64_t{0});
    if (j.contains("permutations")) r.permutations = j["permutations"].get<std::vector<std::vector<int64_t>>>();
  } catch (const nlohmann::json::exception& e) {
    throw util::Error(std::string("supernet reorder record: ") + e.what());
  }
  return r;
}

ReorderRecord reorderEncoder(model::ImageEncoderViT& encoder, ReorderMethod method,
                             const std::vector<at::Tensor>& calibration, uint64_t seed, const util::JobControl& job) {
  ReorderRecord rec;
  rec.method = method;
  rec.seed = seed;
  std::vector<BlockActivationStats> stats;
  if (method == ReorderMethod::Wanda) {
    stats = collectActivationStats(encoder, calibration, job);
    rec.calibrationBatches = static_cast<int64_t>(calibration.size());
  }
  auto scores = neuronScores(encoder, method, stats, seed);
  for (int64_t i = 0; i < encoder->depth(); ++i) {
    job.check();
    rec.permutations.push_back(descendingOrder(scores[size_t(i)]));
    applyPermutation(encoder, i, rec.permutations.back());
  }
  return rec;
}

}  // namespace supersam::supernet
