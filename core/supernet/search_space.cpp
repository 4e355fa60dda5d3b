#include "core/supernet/search_space.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace supersam::supernet {

namespace {

std::string joinInts(const std::vector<int64_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

std::string allowedText(const BlockSpace& b) {
  return joinInts(b.widths) + (b.prunable ? ", x" : "");
}

// Portable draws (the std distributions differ between standard libraries; these do not).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }
size_t uniformIndex(std::mt19937_64& rng, size_t n) { return static_cast<size_t>(uniform01(rng) * n) % n; }

}  // namespace

SearchSpace::SearchSpace(std::string name, std::vector<BlockSpace> blocks)
    : m_name(std::move(name)), m_blocks(std::move(blocks)) {
  validate();
}

std::vector<int64_t> SearchSpace::widthsFromRatios(int64_t fullWidth, const std::vector<double>& ratios) {
  std::vector<int64_t> w;
  for (double r : ratios) {
    if (!(r > 0.0 && r <= 1.0)) {
      throw util::Error("width ratio " + std::to_string(r) + " is outside (0, 1]");
    }
    w.push_back(std::max<int64_t>(1, static_cast<int64_t>(std::llround(r * static_cast<double>(fullWidth)))));
  }
  w.push_back(fullWidth);
  std::sort(w.begin(), w.end());
  w.erase(std::unique(w.begin(), w.end()), w.end());
  return w;
}

SearchSpace SearchSpace::widthOnly(const model::SamArch& arch, const std::vector<double>& ratios) {
  std::vector<BlockSpace> blocks;
  for (int64_t i = 0; i < arch.encoderDepth; ++i) blocks.push_back({widthsFromRatios(arch.mlpDim(i), ratios)});
  return SearchSpace("width_only", std::move(blocks));
}

SearchSpace SearchSpace::official(const model::SamArch& arch, const std::vector<double>& ratios) {
  std::vector<int64_t> picked;
  for (int64_t b : {1, 2, 5, 6, 9}) {
    int64_t j = arch.encoderDepth == 12 ? b : static_cast<int64_t>(std::llround(b * arch.encoderDepth / 12.0));
    if (arch.encoderDepth != 12) j = std::clamp<int64_t>(j, 1, arch.encoderDepth - 2);
    if (j < 1 || j > arch.encoderDepth - 2) continue;  // depth < 3: nothing prunable
    if (std::find(picked.begin(), picked.end(), j) == picked.end()) picked.push_back(j);
  }
  SearchSpace s = widthOnly(arch, ratios).withPrunable(picked, 0.5);
  s.m_name = "official";
  return s;
}

SearchSpace SearchSpace::measured(const model::SamArch& arch, const std::vector<double>& importance,
                                  int64_t prunableCount, double pMax, const std::vector<double>& ratios) {
  const int64_t depth = arch.encoderDepth;
  if (static_cast<int64_t>(importance.size()) != depth) {
    throw util::Error("measured search space: " + std::to_string(importance.size()) +
                      " importance values for an encoder of " + std::to_string(depth) + " blocks");
  }
  if (prunableCount < 0 || prunableCount >= depth) {
    throw util::Error("measured search space: prunable block count " + std::to_string(prunableCount) +
                      " must be in [0, " + std::to_string(depth - 1) + "] (at least one block stays)");
  }
  if (!(pMax >= 0.0 && pMax <= 1.0)) {
    throw util::Error("measured search space: p_max " + std::to_string(pMax) + " is outside [0, 1]");
  }
  for (size_t i = 0; i < importance.size(); ++i) {
    if (!std::isfinite(importance[i])) {
      throw util::Error("measured search space: importance of block " + std::to_string(i) + " is not finite");
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(depth));
  for (int64_t i = 0; i < depth; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return importance[size_t(a)] < importance[size_t(b)]; });
  const double lo = *std::min_element(importance.begin(), importance.end());
  const double hi = *std::max_element(importance.begin(), importance.end());
  SearchSpace s = widthOnly(arch, ratios);
  for (int64_t k = 0; k < prunableCount; ++k) {
    int64_t b = order[static_cast<size_t>(k)];
    double norm = hi > lo ? (importance[size_t(b)] - lo) / (hi - lo) : 0.0;
    s.m_blocks[size_t(b)].prunable = true;
    s.m_blocks[size_t(b)].dropProbability = pMax * (1.0 - norm);
  }
  s.m_name = "measured";
  s.validate();
  return s;
}

SearchSpace SearchSpace::withPrunable(const std::vector<int64_t>& blocks, double p) const {
  if (!(p >= 0.0 && p <= 1.0)) throw util::Error("drop probability " + std::to_string(p) + " is outside [0, 1]");
  SearchSpace s = *this;
  for (auto& b : s.m_blocks) {
    b.prunable = false;
    b.dropProbability = 0.0;
  }
  for (int64_t i : blocks) {
    if (i < 0 || i >= depth()) {
      throw util::Error("prunable block " + std::to_string(i) + " is out of range (the encoder has " +
                        std::to_string(depth()) + " blocks, 0.." + std::to_string(depth() - 1) + ")");
    }
    s.m_blocks[size_t(i)].prunable = true;
    s.m_blocks[size_t(i)].dropProbability = p;
  }
  s.m_name = "custom";
  return s;
}

const BlockSpace& SearchSpace::block(int64_t i) const {
  if (i < 0 || i >= depth()) {
    throw util::Error("search space block " + std::to_string(i) + " out of range (" + std::to_string(depth()) +
                      " blocks)");
  }
  return m_blocks[size_t(i)];
}

std::vector<int64_t> SearchSpace::prunableBlocks() const {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < depth(); ++i) {
    if (m_blocks[size_t(i)].prunable) out.push_back(i);
  }
  return out;
}

Subnet SearchSpace::largest() const {
  std::vector<SubnetBlock> b;
  for (const auto& bs : m_blocks) b.push_back({true, bs.widths.back()});
  return Subnet(std::move(b));
}

Subnet SearchSpace::smallest() const {
  std::vector<SubnetBlock> b;
  for (const auto& bs : m_blocks) b.push_back(bs.prunable ? SubnetBlock{false, 0} : SubnetBlock{true, bs.widths.front()});
  return Subnet(std::move(b));
}

Subnet SearchSpace::sample(std::mt19937_64& rng) const {
  std::vector<SubnetBlock> b;
  for (const auto& bs : m_blocks) {
    if (bs.prunable && uniform01(rng) < bs.dropProbability) {
      b.push_back({false, 0});
    } else {
      b.push_back({true, bs.widths[uniformIndex(rng, bs.widths.size())]});
    }
  }
  return Subnet(std::move(b));
}

double SearchSpace::size() const {
  if (m_blocks.empty()) return 0.0;
  double n = 1.0;
  for (const auto& bs : m_blocks) n *= static_cast<double>(bs.widths.size() + (bs.prunable ? 1 : 0));
  return n;
}

void SearchSpace::check(const Subnet& s) const {
  if (s.depth() != depth()) {
    throw util::Error("subnet \"" + s.toString() + "\" has " + std::to_string(s.depth()) +
                      " blocks, the search space '" + m_name + "' has " + std::to_string(depth()));
  }
  for (int64_t i = 0; i < depth(); ++i) {
    const auto& bs = m_blocks[size_t(i)];
    const auto& b = s.block(i);
    if (!b.kept) {
      if (!bs.prunable) {
        std::vector<int64_t> pr = prunableBlocks();
        throw util::Error("subnet block " + std::to_string(i) + " is dropped but is not prunable in the search space '" +
                          m_name + "' (allowed for block " + std::to_string(i) + ": " + allowedText(bs) +
                          "; prunable blocks: " + (pr.empty() ? std::string("none") : joinInts(pr)) + ")");
      }
    } else if (!std::binary_search(bs.widths.begin(), bs.widths.end(), b.mlpWidth)) {
      throw util::Error("subnet block " + std::to_string(i) + ": width " + std::to_string(b.mlpWidth) +
                        " is not allowed in the search space '" + m_name + "' (allowed: " + allowedText(bs) + ")");
    }
  }
}

bool SearchSpace::contains(const Subnet& s) const {
  try {
    check(s);
    return true;
  } catch (const util::Error&) {
    return false;
  }
}

void SearchSpace::validate() const {
  if (m_blocks.empty()) throw util::Error("search space '" + m_name + "' has no blocks");
  for (size_t i = 0; i < m_blocks.size(); ++i) {
    const auto& b = m_blocks[i];
    std::string where = "search space '" + m_name + "', block " + std::to_string(i);
    if (b.widths.empty()) throw util::Error(where + ": no widths (expected at least the full width)");
    for (size_t k = 0; k < b.widths.size(); ++k) {
      if (b.widths[k] <= 0) throw util::Error(where + ": width " + std::to_string(b.widths[k]) + " is not positive");
      if (k && b.widths[k] <= b.widths[k - 1]) {
        throw util::Error(where + ": widths must be strictly ascending, got [" + joinInts(b.widths) + "]");
      }
    }
    if (!(b.dropProbability >= 0.0 && b.dropProbability <= 1.0)) {
      throw util::Error(where + ": drop probability " + std::to_string(b.dropProbability) + " is outside [0, 1]");
    }
    if (!b.prunable && b.dropProbability != 0.0) {
      throw util::Error(where + ": drop probability " + std::to_string(b.dropProbability) +
                        " on a block that is not prunable (expected 0)");
    }
  }
  if (static_cast<int64_t>(prunableBlocks().size()) == depth()) {
    throw util::Error("search space '" + m_name + "': every block is prunable; at least one must stay");
  }
}

void SearchSpace::validateFor(const model::SamArch& arch) const {
  validate();
  if (depth() != arch.encoderDepth) {
    throw util::Error("search space '" + m_name + "' has " + std::to_string(depth()) + " blocks, the architecture '" +
                      arch.name + "' has " + std::to_string(arch.encoderDepth));
  }
  for (int64_t i = 0; i < depth(); ++i) {
    if (m_blocks[size_t(i)].widths.back() != arch.mlpDim(i)) {
      throw util::Error("search space '" + m_name + "', block " + std::to_string(i) + ": largest width " +
                        std::to_string(m_blocks[size_t(i)].widths.back()) + " differs from the block's MLP width " +
                        std::to_string(arch.mlpDim(i)) + " (the full width must be allowed)");
    }
  }
}

nlohmann::json SearchSpace::toJson() const {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : m_blocks) {
    blocks.push_back({{"widths", b.widths}, {"prunable", b.prunable}, {"drop_probability", b.dropProbability}});
  }
  return {{"name", m_name}, {"blocks", blocks}};
}

SearchSpace SearchSpace::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || !j.contains("blocks") || !j["blocks"].is_array()) {
    throw util::Error(source + ": expected an object with a \"blocks\" array");
  }
  std::string name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : "custom";
  std::vector<BlockSpace> blocks;
  for (size_t i = 0; i < j["blocks"].size(); ++i) {
    const auto& jb = j["blocks"][i];
    std::string where = source + ", block " + std::to_string(i);
    if (!jb.is_object() || !jb.contains("widths") || !jb["widths"].is_array()) {
      throw util::Error(where + ": expected an object with a \"widths\" array");
    }
    BlockSpace b;
    for (const auto& w : jb["widths"]) {
      if (!w.is_number_integer()) throw util::Error(where + ": width " + w.dump() + " is not an integer");
      b.widths.push_back(w.get<int64_t>());
    }
    if (jb.contains("prunable")) {
      if (!jb["prunable"].is_boolean()) throw util::Error(where + ": \"prunable\" must be true or false");
      b.prunable = jb["prunable"].get<bool>();
    }
    if (jb.contains("drop_probability")) {
      if (!jb["drop_probability"].is_number()) throw util::Error(where + ": \"drop_probability\" must be a number");
      b.dropProbability = jb["drop_probability"].get<double>();
    }
    blocks.push_back(std::move(b));
  }
  try {
    return SearchSpace(name, std::move(blocks));
  } catch (const util::Error& e) {
    throw util::Error(source + ": " + e.what());
  }
}

std::string SearchSpace::describe() const {
  std::ostringstream os;
  os << "search space '" << m_name << "': " << depth() << " blocks, " << size() << " subnets\n";
  for (int64_t i = 0; i < depth(); ++i) {
    const auto& b = m_blocks[size_t(i)];
    os << "  block " << i << ": widths {" << joinInts(b.widths) << "}";
    if (b.prunable) os << ", prunable, p_drop " << b.dropProbability;
    os << "\n";
  }
  return os.str();
}

}  // namespace supersam::supernet
