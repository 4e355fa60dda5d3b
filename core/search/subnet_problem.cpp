#include "core/search/subnet_problem.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/supernet/cost_model.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::search {

SubnetEncoding::SubnetEncoding(const supernet::SearchSpace& space, bool ordinalWidths) : m_subnets(space) {
  const int64_t depth = space.depth();
  m_widthParam.assign(static_cast<size_t>(depth), -1);
  m_keepParam.assign(static_cast<size_t>(depth), -1);
  for (int64_t b = 0; b < depth; ++b) {
    const auto& widths = space.block(b).widths;
    if (widths.size() < 2) continue;
    const std::string name = "block" + std::to_string(b) + "_width";
    if (ordinalWidths) {
      m_widthParam[static_cast<size_t>(b)] =
          static_cast<int>(m_space.addInt(name, 0, static_cast<int64_t>(widths.size()) - 1));
    } else {
      std::vector<std::string> labels;
      for (int64_t w : widths) labels.push_back(std::to_string(w));
      m_widthParam[static_cast<size_t>(b)] = static_cast<int>(m_space.addEnum(name, labels));
    }
  }
  for (int64_t b = 0; b < depth; ++b) {
    if (space.block(b).prunable) {
      m_keepParam[static_cast<size_t>(b)] = static_cast<int>(m_space.addBool("block" + std::to_string(b) + "_kept"));
    }
  }
  if (m_space.size() == 0) throw util::Error("search space '" + space.name() + "' has a single subnet: nothing to search");
}

supernet::Subnet SubnetEncoding::toSubnet(const Config& c) const {
  std::vector<supernet::SubnetBlock> blocks;
  for (int64_t b = 0; b < m_subnets.depth(); ++b) {
    const auto& widths = m_subnets.block(b).widths;
    const int wp = m_widthParam[static_cast<size_t>(b)];
    const int kp = m_keepParam[static_cast<size_t>(b)];
    supernet::SubnetBlock blk;
    blk.kept = kp < 0 || c.at(static_cast<size_t>(kp)) != 0;
    blk.mlpWidth = blk.kept ? widths.at(wp < 0 ? widths.size() - 1 : static_cast<size_t>(c.at(static_cast<size_t>(wp))))
                            : 0;
    blocks.push_back(blk);
  }
  return supernet::Subnet(std::move(blocks));
}

Config SubnetEncoding::fromSubnet(const supernet::Subnet& s) const {
  m_subnets.check(s);
  Config c(m_space.size(), 0);
  for (int64_t b = 0; b < m_subnets.depth(); ++b) {
    const int wp = m_widthParam[static_cast<size_t>(b)];
    const int kp = m_keepParam[static_cast<size_t>(b)];
    if (kp >= 0) c[static_cast<size_t>(kp)] = s.kept(b) ? 1 : 0;
    if (wp >= 0 && s.kept(b)) {
      const auto& widths = m_subnets.block(b).widths;
      c[static_cast<size_t>(wp)] = std::find(widths.begin(), widths.end(), s.width(b)) - widths.begin();
    }
  }
  return c;
}

Problem makeSubnetProblem(const SubnetEncoding& encoding, const model::SamArch& arch, const Constraints& constraints,
                          SubnetObjective quality, const supernet::LatencyTable* latencyTable) {
  encoding.subnetSpace().validateFor(arch);
  Problem p;
  p.space = encoding.space();
  p.constraints = constraints;
  p.costOfHasLatency = latencyTable != nullptr;
  p.identify = [&encoding](const Config& c) {
    const supernet::Subnet s = encoding.toSubnet(c);
    return Identity{s.hash(), s.toString()};
  };
  p.minimumCost = [&encoding, arch, latencyTable] {
    // The smallest subnet (minimum widths, prunable blocks dropped) minimises every analytical cost.
    const supernet::Cost c = supernet::computeCost(arch, encoding.subnetSpace().smallest());
    Metrics m;
    m.params = static_cast<double>(c.params);
    m.macs = static_cast<double>(c.encoderMacs);
    m.bytes = static_cast<double>(c.bytesFp32);
    if (latencyTable) m.latencyMs = latencyTable->minimumMs(arch, encoding.subnetSpace());
    return m;
  };
  p.costOf = [&encoding, arch, latencyTable](const Config& c) {
    const supernet::Subnet s = encoding.toSubnet(c);
    const supernet::Cost cost = supernet::computeCost(arch, s);
    Metrics m;
    m.params = static_cast<double>(cost.params);
    m.macs = static_cast<double>(cost.encoderMacs);
    m.bytes = static_cast<double>(cost.bytesFp32);
    if (latencyTable) m.latencyMs = latencyTable->predictMs(arch, s);
    return m;
  };
  p.evaluate = [&encoding, arch, quality, latencyTable](const Config& c) {
    const supernet::Subnet s = encoding.toSubnet(c);
    Metrics m = quality(s);
    const supernet::Cost cost = supernet::computeCost(arch, s);
    m.params = static_cast<double>(cost.params);
    m.macs = static_cast<double>(cost.encoderMacs);
    m.bytes = static_cast<double>(cost.bytesFp32);
    if (latencyTable) {
      m.latencyMs = latencyTable->predictMs(arch, s);
      if (!m.details.is_object()) m.details = nlohmann::json::object();
      m.details["predicted_latency_ms"] = m.latencyMs;
    }
    return m;
  };
  return p;
}

std::vector<supernet::Subnet> budgetSeeds(const supernet::SearchSpace& space, const model::SamArch& arch,
                                          const Constraints& constraints, size_t maxSeeds,
                                          const supernet::LatencyTable* latencyTable) {
  const bool latencyBudget = latencyTable && constraints.maxLatencyMs;
  const bool budgeted = constraints.maxParams || constraints.maxMacs || constraints.maxBytes || latencyBudget;
  if (!budgeted || maxSeeds == 0) return maxSeeds == 0 ? std::vector<supernet::Subnet>{} : std::vector{space.largest()};
  auto fits = [&](const supernet::Subnet& s) {
    const supernet::Cost c = supernet::computeCost(arch, s);
    return (!constraints.maxParams || static_cast<double>(c.params) <= *constraints.maxParams) &&
           (!constraints.maxMacs || static_cast<double>(c.encoderMacs) <= *constraints.maxMacs) &&
           (!constraints.maxBytes || static_cast<double>(c.bytesFp32) <= *constraints.maxBytes) &&
           (!latencyBudget || latencyTable->predictMs(arch, s) <= *constraints.maxLatencyMs);
  };
  const int64_t depth = space.depth();
  // Blocks by importance as the space records it: prunable ones by descending drop probability (least important
  // first); ties and non-prunable blocks by index.
  std::vector<int64_t> prunable = space.prunableBlocks();
  std::stable_sort(prunable.begin(), prunable.end(), [&](int64_t a, int64_t b) {
    return space.block(a).dropProbability > space.block(b).dropProbability;
  });
  std::vector<int64_t> widenOrder(static_cast<size_t>(depth));
  for (int64_t b = 0; b < depth; ++b) widenOrder[static_cast<size_t>(b)] = b;
  std::stable_sort(widenOrder.begin(), widenOrder.end(), [&](int64_t a, int64_t b) {
    return space.block(a).dropProbability < space.block(b).dropProbability;
  });
  size_t maxSteps = 0;
  for (const auto& blk : space.blocks()) maxSteps = std::max(maxSteps, blk.widths.size());

  std::vector<supernet::Subnet> seeds;
  for (int64_t dropped = static_cast<int64_t>(prunable.size()); dropped >= 0 && seeds.size() < maxSeeds; --dropped) {
    std::vector<bool> kept(static_cast<size_t>(depth), true);
    for (int64_t i = 0; i < dropped; ++i) kept[static_cast<size_t>(prunable[static_cast<size_t>(i)])] = false;
    // step[b]: index into block b's widths (clamped to its last one).
    std::vector<size_t> step(static_cast<size_t>(depth), 0);
    auto make = [&] {
      std::vector<supernet::SubnetBlock> blocks;
      for (int64_t b = 0; b < depth; ++b) {
        const auto& widths = space.block(b).widths;
        const size_t i = std::min(step[static_cast<size_t>(b)], widths.size() - 1);
        blocks.push_back(kept[static_cast<size_t>(b)] ? supernet::SubnetBlock{true, widths[i]}
                                                      : supernet::SubnetBlock{false, 0});
      }
      return supernet::Subnet(std::move(blocks));
    };
    if (!fits(make())) continue;
    for (size_t u = 1; u < maxSteps; ++u) {  // the widest uniform step that fits
      std::vector<size_t> before = step;
      std::fill(step.begin(), step.end(), u);
      if (!fits(make())) {
        step = before;
        break;
      }
    }
    for (bool widened = true; widened;) {  // then one block at a time
      widened = false;
      for (int64_t b : widenOrder) {
        const size_t i = static_cast<size_t>(b);
        if (!kept[i] || step[i] + 1 >= space.block(b).widths.size()) continue;
        ++step[i];
        if (fits(make())) {
          widened = true;
        } else {
          --step[i];
        }
      }
    }
    const supernet::Subnet s = make();
    if (std::find(seeds.begin(), seeds.end(), s) == seeds.end()) seeds.push_back(s);
  }
  return seeds;
}

supernet::SearchSpace searchSpaceFromMetadata(const std::map<std::string, std::string>& metadata,
                                              const model::SamArch& arch) {
  auto it = metadata.find("supernet");
  if (it != metadata.end()) {
    const nlohmann::json j = util::parseJsonOrDiscarded(it->second);
    if (j.is_discarded()) throw util::Error("the checkpoint's \"supernet\" metadata is not JSON");
    if (j.contains("search_space")) return supernet::SearchSpace::fromJson(j["search_space"], "supernet metadata");
    if (j.contains("blocks")) return supernet::SearchSpace::fromJson(j, "supernet metadata");
  }
  // The official preset can be unusable for very shallow encoders (every block prunable): widths only then.
  try {
    supernet::SearchSpace official = supernet::SearchSpace::official(arch);
    official.validateFor(arch);
    return official;
  } catch (const util::Error&) {
    return supernet::SearchSpace::widthOnly(arch);
  }
}

}  // namespace supersam::search
