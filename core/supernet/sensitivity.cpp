#include "core/supernet/sensitivity.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/supernet/cost_model.h"
#include "core/util/error.h"

namespace supersam::supernet {

namespace {

model::ElasticConfig dropping(int64_t depth, const std::vector<int64_t>& dropped) {
  model::ElasticConfig cfg(static_cast<size_t>(depth));
  for (int64_t b : dropped) cfg[size_t(b)].kept = false;
  return cfg;
}

int64_t paramsDropping(const model::SamArch& arch, const std::vector<int64_t>& dropped) {
  Subnet s = Subnet::full(arch);
  for (int64_t b : dropped) s.setBlock(b, {false, 0});
  return computeCost(arch, s).params;
}

}  // namespace

SensitivityTable measureSensitivity(const model::SamArch& arch, const QualityFn& quality, const std::string& metric,
                                    int64_t calibrationImages, int64_t maxCumulative, const util::JobControl& job) {
  const int64_t depth = arch.encoderDepth;
  const int64_t cumulativeRows = maxCumulative < 0 ? depth - 1 : std::min(maxCumulative, depth - 1);
  const long long total = 1 + depth + cumulativeRows;
  long long done = 0;
  SensitivityTable t;
  t.metric = metric;
  t.calibrationImages = calibrationImages;
  job.check();
  t.baseline = quality(dropping(depth, {}));
  job.report(++done, total, "full model");
  for (int64_t b = 0; b < depth; ++b) {
    job.check();
    t.dropLoss.push_back(t.baseline - quality(dropping(depth, {b})));
    job.report(++done, total, "block " + std::to_string(b) + " dropped");
  }
  t.order.resize(static_cast<size_t>(depth));
  std::iota(t.order.begin(), t.order.end(), 0);
  std::stable_sort(t.order.begin(), t.order.end(),
                   [&](int64_t a, int64_t b) { return t.dropLoss[size_t(a)] < t.dropLoss[size_t(b)]; });
  std::vector<int64_t> dropped;
  for (int64_t k = 0; k < cumulativeRows; ++k) {
    job.check();
    dropped.push_back(t.order[size_t(k)]);
    t.cumulativeLoss.push_back(t.baseline - quality(dropping(depth, dropped)));
    t.cumulativeParams.push_back(paramsDropping(arch, dropped));
    job.report(++done, total, std::to_string(k + 1) + " least important blocks dropped");
  }
  return t;
}

QualityFn embeddingQuality(model::ImageEncoderViT encoder, std::vector<at::Tensor> inputs) {
  if (inputs.empty()) throw util::Error("embedding sensitivity needs at least one calibration image");
  auto full = std::make_shared<std::vector<at::Tensor>>();
  {
    c10::InferenceMode g;
    for (const auto& x : inputs) full->push_back(encoder->forward(x));
  }
  return [encoder, inputs = std::move(inputs), full](const model::ElasticConfig& cfg) mutable {
    c10::InferenceMode g;
    double sum = 0.0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      at::Tensor e = encoder->forward(inputs[i], &cfg);
      const at::Tensor& f = (*full)[i];
      sum += ((e - f).norm().item<double>()) / std::max(f.norm().item<double>(), 1e-12);
    }
    return -sum / static_cast<double>(inputs.size());
  };
}

nlohmann::json SensitivityTable::toJson() const {
  return {{"metric", metric},
          {"calibration_images", calibrationImages},
          {"baseline", baseline},
          {"drop_loss", dropLoss},
          {"order", order},
          {"cumulative_loss", cumulativeLoss},
          {"cumulative_params", cumulativeParams}};
}

SensitivityTable SensitivityTable::fromJson(const nlohmann::json& j) {
  SensitivityTable t;
  try {
    t.metric = j.at("metric").get<std::string>();
    t.calibrationImages = j.value("calibration_images", int64_t{0});
    t.baseline = j.at("baseline").get<double>();
    t.dropLoss = j.at("drop_loss").get<std::vector<double>>();
    t.order = j.at("order").get<std::vector<int64_t>>();
    t.cumulativeLoss = j.value("cumulative_loss", std::vector<double>{});
    t.cumulativeParams = j.value("cumulative_params", std::vector<int64_t>{});
  } catch (const nlohmann::json::exception& e) {
    throw util::Error(std::string("supernet sensitivity table: ") + e.what());
  }
  if (t.order.size() != t.dropLoss.size() || t.cumulativeLoss.size() != t.cumulativeParams.size() ||
      t.cumulativeLoss.size() > t.order.size()) {
    throw util::Error("supernet sensitivity table: inconsistent lengths (drop_loss " +
                      std::to_string(t.dropLoss.size()) + ", order " + std::to_string(t.order.size()) +
                      ", cumulative_loss " + std::to_string(t.cumulativeLoss.size()) + ", cumulative_params " +
                      std::to_string(t.cumulativeParams.size()) + ")");
  }
  // `order` indexes the blocks: a permutation of 0..n-1, each block once.
  std::vector<bool> seen(t.order.size(), false);
  for (size_t k = 0; k < t.order.size(); ++k) {
    const int64_t b = t.order[k];
    if (b < 0 || b >= static_cast<int64_t>(t.order.size()) || seen[static_cast<size_t>(b)]) {
      throw util::Error("supernet sensitivity table: order[" + std::to_string(k) + "] = " + std::to_string(b) +
                        " is not a block index in 0.." + std::to_string(t.order.size() - 1) +
                        " appearing once (the order must list every block once)");
    }
    seen[static_cast<size_t>(b)] = true;
  }
  return t;
}

std::string SensitivityTable::toText(const model::SamArch& arch) const {
  const int64_t full = computeCost(arch).params;
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "sensitivity (%s, %lld calibration images; baseline quality %.6g)\n", metric.c_str(),
                static_cast<long long>(calibrationImages), baseline + 0.0);
  out += buf;
  out += "  block  attention  loss if dropped alone  rank  params without it\n";
  std::vector<int64_t> rank(dropLoss.size());
  for (size_t k = 0; k < order.size(); ++k) rank[size_t(order[k])] = static_cast<int64_t>(k);
  for (size_t b = 0; b < dropLoss.size(); ++b) {
    const bool known = static_cast<int64_t>(b) < arch.encoderDepth;
    std::snprintf(buf, sizeof buf, "  %5zu  %-9s  %21.6g  %4lld  %lld (%.1f%%)\n", b,
                  known ? (arch.isGlobal(int64_t(b)) ? "global" : "window") : "?", dropLoss[b],
                  static_cast<long long>(rank[b]),
                  static_cast<long long>(known ? paramsDropping(arch, {int64_t(b)}) : 0),
                  known ? 100.0 * paramsDropping(arch, {int64_t(b)}) / full : 0.0);
    out += buf;
  }
  if (!cumulativeLoss.empty()) {
    out += "  cumulative removal, least important first:\n  dropped  blocks                  loss  params\n";
    std::string blocks;
    for (size_t k = 0; k < cumulativeLoss.size(); ++k) {
      blocks += (k ? "," : "") + std::to_string(order[k]);
      std::snprintf(buf, sizeof buf, "  %7zu  %-18s  %10.6g  %lld (%.1f%%)\n", k + 1, blocks.c_str(),
                    cumulativeLoss[k], static_cast<long long>(cumulativeParams[k]),
                    100.0 * cumulativeParams[k] / full);
      out += buf;
    }
  }
  return out;
}

}  // namespace supersam::supernet
