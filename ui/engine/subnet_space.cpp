#include "ui/engine/subnet_space.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/model/arch.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/search_space.h"
#include "core/supernet/supernet_info.h"
#include "core/supernet/subnet.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::ui {

struct SubnetSpace::Impl {
  model::SamArch arch;
  ModelInfo info;
  supernet::SearchSpace space;
};

namespace {
supernet::Subnet toSubnet(const model::ElasticConfig& cfg, const model::SamArch& arch) {
  if (cfg.empty()) return supernet::Subnet::full(arch);
  return supernet::Subnet::fromElastic(cfg, arch);
}
}  // namespace

const model::SamArch& SubnetSpace::arch() const { return m_impl->arch; }

SubnetSpace::SubnetSpace(const model::SamArch& arch, ModelInfo info, const std::string& searchSpaceJson) {
  auto impl = std::make_shared<Impl>();
  impl->arch = arch;
  const auto depth = arch.encoderDepth;
  if (!searchSpaceJson.empty()) {
    impl->space = supernet::SearchSpace::fromJson(util::parseJson(searchSpaceJson, info.path + ": search space"), info.path);
  } else {
    impl->space = supernet::defaultSearchSpace(arch);
  }
  if (impl->space.prunableBlocks().empty() && depth > 1 && searchSpaceJson.empty()) {
    // An uncalibrated shallow encoder (the official preset covers every block, so the default has none
    // prunable): the explorer still lets every block but the first go, latest first.
    std::vector<int64_t> prunable;
    for (int64_t i = 1; i < depth; ++i) prunable.push_back(i);
    impl->space = impl->space.withPrunable(prunable, 0.5);
  }
  impl->space.validateFor(arch);
  if (static_cast<int64_t>(info.blocks.size()) != depth) {
    info.blocks.assign(static_cast<size_t>(depth), BlockInfo{});
    for (int i = 0; i < depth; ++i) info.blocks[i].index = i;
  }
  for (int i = 0; i < depth; ++i) {
    auto& b = info.blocks[i];
    const auto& bs = impl->space.block(i);
    b.index = i;
    b.global = arch.isGlobal(i);
    b.prunable = bs.prunable;
    b.fullWidth = arch.mlpDim(i);
    b.widthChoices = bs.widths;
  }
  // The depth slider drops prunable blocks least sensitive first; ties (or no measurement) fall back to the
  // highest drop probability, then the later block.
  std::vector<int> order;
  for (int i = 0; i < depth; ++i) {
    if (info.blocks[i].prunable) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const auto& A = info.blocks[a];
    const auto& B = info.blocks[b];
    if (A.sensitivity != B.sensitivity) return A.sensitivity < B.sensitivity;
    const double pa = impl->space.block(a).dropProbability, pb = impl->space.block(b).dropProbability;
    if (pa != pb) return pa > pb;
    return a > b;
  });
  info.dropOrder = order;
  impl->info = std::move(info);
  m_impl = std::move(impl);
}

int SubnetSpace::depth() const { return m_impl ? static_cast<int>(m_impl->arch.encoderDepth) : 0; }

const ModelInfo& SubnetSpace::info() const {
  static const ModelInfo kEmpty;
  return m_impl ? m_impl->info : kEmpty;
}

int SubnetSpace::prunableCount() const { return m_impl ? static_cast<int>(m_impl->info.dropOrder.size()) : 0; }

model::ElasticConfig SubnetSpace::largest() const {
  return m_impl ? m_impl->space.largest().toElastic() : model::ElasticConfig{};
}

model::ElasticConfig SubnetSpace::smallest() const {
  return m_impl ? m_impl->space.smallest().toElastic() : model::ElasticConfig{};
}

model::ElasticConfig SubnetSpace::fromSliders(int keptBlocks, double widthRatio, bool roundDown) const {
  if (!m_impl) return {};
  const int d = depth();
  const int toDrop = std::clamp(d - keptBlocks, 0, prunableCount());
  model::ElasticConfig cfg(static_cast<size_t>(d));
  for (int i = 0; i < d; ++i) {
    const auto& widths = m_impl->space.block(i).widths;
    const double want = widthRatio * static_cast<double>(m_impl->arch.mlpDim(i));
    int64_t w = roundDown ? widths.front() : widths.back();
    for (int64_t c : widths) {  // ascending
      if (roundDown && static_cast<double>(c) <= want + 1e-6) w = c;
      if (!roundDown && static_cast<double>(c) >= want - 1e-6) {
        w = c;
        break;
      }
    }
    cfg[i] = model::BlockChoice{true, w};
  }
  for (int k = 0; k < toDrop; ++k) cfg[m_impl->info.dropOrder[k]].kept = false;
  return cfg;
}

model::ElasticConfig SubnetSpace::normalised(const model::ElasticConfig& cfg) const {
  if (!m_impl) return cfg;
  return toSubnet(cfg, m_impl->arch).toElastic();
}

int SubnetSpace::keptBlocks(const model::ElasticConfig& cfg) const {
  if (cfg.empty()) return depth();
  return static_cast<int>(std::count_if(cfg.begin(), cfg.end(), [](const auto& c) { return c.kept; }));
}

double SubnetSpace::meanWidthRatio(const model::ElasticConfig& cfg) const {
  if (!m_impl || cfg.empty()) return 1.0;
  double kept = 0, full = 0;
  for (size_t i = 0; i < cfg.size(); ++i) {
    if (!cfg[i].kept) continue;
    const double f = static_cast<double>(m_impl->arch.mlpDim(static_cast<int64_t>(i)));
    kept += cfg[i].mlpWidth < 0 ? f : static_cast<double>(cfg[i].mlpWidth);
    full += f;
  }
  return full > 0 ? kept / full : 1.0;
}

std::string SubnetSpace::toString(const model::ElasticConfig& cfg) const {
  if (!m_impl) return {};
  return toSubnet(cfg, m_impl->arch).toString();
}

std::string SubnetSpace::hash(const model::ElasticConfig& cfg) const {
  if (!m_impl) return {};
  return toSubnet(cfg, m_impl->arch).hash();
}

model::ElasticConfig SubnetSpace::parse(const std::string& text) const {
  if (!m_impl) throw util::Error("no model loaded: cannot read subnet '" + text + "'");
  return supernet::Subnet::parse(text, m_impl->arch).toElastic();
}

SubnetFigures SubnetSpace::figures(const model::ElasticConfig& cfg) const {
  SubnetFigures f;
  if (!m_impl) return f;
  const auto cost = supernet::computeCost(m_impl->arch, toSubnet(cfg, m_impl->arch));
  f.params = cost.params;
  f.encoderParams = cost.encoderParams;
  f.weightMB = cost.mbFp32();
  f.gmacs = cost.gmacs();
  return f;
}

int SubnetSpace::firstDifference(const model::ElasticConfig& a, const model::ElasticConfig& b) const {
  const auto na = normalised(a), nb = normalised(b);
  const int d = depth();
  for (int i = 0; i < d; ++i) {
    if (i >= static_cast<int>(na.size()) || i >= static_cast<int>(nb.size()) || na[i] != nb[i]) return i;
  }
  return d;
}

}  // namespace supersam::ui
