#pragma once
// The SuperSAM search space: per encoder block, the allowed MLP widths (ascending, the last one the block's full
// width), whether the block is prunable (may be dropped) and its drop probability during supernet training.
// Presets:
//   widthOnly  - "1D": widths only, no block prunable (the paper's baseline).
//   official   - prunable {1, 2, 5, 6, 9} at p = 0.5 (the authors' hand-picked set for 12-block encoders; for other
//                depths the indices are scaled by depth/12, rounded and clamped to [1, depth-2] - like the
//                official set, never the first or last block - duplicates removed).
//   measured   - from a sensitivity table: the K least important blocks are prunable with
//                p_b = pMax * (1 - normalised importance_b), importance normalised to [0, 1] over all blocks.
// Default width ratios {0.25, 0.33, 0.5, 0.75, 1.0} of the block's full width, rounded to integers (1.0 is always
// included, duplicates removed). JSON: {"name", "blocks": [{"widths": [...], "prunable": b, "drop_probability": p}]}.
// Thread-safety: a plain value; sample() uses the caller's generator.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/arch.h"
#include "core/supernet/subnet.h"

namespace supersam::supernet {

struct BlockSpace {
  std::vector<int64_t> widths;  // ascending, unique, > 0; back() = the block's full width
  bool prunable = false;
  double dropProbability = 0.0;  // in [0, 1]; 0 when not prunable
  bool operator==(const BlockSpace& o) const {
    return widths == o.widths && prunable == o.prunable && dropProbability == o.dropProbability;
  }
};

class SearchSpace {
 public:
  SearchSpace() = default;
  // Validates (see validate()).
  SearchSpace(std::string name, std::vector<BlockSpace> blocks);

  static std::vector<double> defaultRatios() { return {0.25, 0.33, 0.5, 0.75, 1.0}; }
  // Rounded ratios of `fullWidth`, 1.0 added if missing; util::Error on a ratio outside (0, 1].
  static std::vector<int64_t> widthsFromRatios(int64_t fullWidth, const std::vector<double>& ratios);

  static SearchSpace widthOnly(const model::SamArch& arch, const std::vector<double>& ratios = defaultRatios());
  static SearchSpace official(const model::SamArch& arch, const std::vector<double>& ratios = defaultRatios());
  // importance: one value per block, higher = more important (e.g. quality lost when the block alone is dropped).
  static SearchSpace measured(const model::SamArch& arch, const std::vector<double>& importance,
                              int64_t prunableCount = 5, double pMax = 0.5,
                              const std::vector<double>& ratios = defaultRatios());
  // Marks `blocks` prunable with probability p (others not); util::Error naming a block out of range.
  SearchSpace withPrunable(const std::vector<int64_t>& blocks, double p) const;

  const std::string& name() const { return m_name; }
  int64_t depth() const { return static_cast<int64_t>(m_blocks.size()); }
  const std::vector<BlockSpace>& blocks() const { return m_blocks; }
  const BlockSpace& block(int64_t i) const;
  std::vector<int64_t> prunableBlocks() const;

  Subnet largest() const;   // every block kept at its full width
  Subnet smallest() const;  // minimum width everywhere, every prunable block dropped
  // Each prunable block dropped with its probability, otherwise a width drawn uniformly from its list.
  Subnet sample(std::mt19937_64& rng) const;
  // Number of distinct subnets: prod over blocks of (#widths + (prunable ? 1 : 0)). A double (exact below 2^53).
  double size() const;

  // Throws util::Error naming the block and the allowed values when `s` is not in the space.
  void check(const Subnet& s) const;
  bool contains(const Subnet& s) const;
  // Space consistency: non-empty, widths ascending/unique/positive, probabilities in [0, 1], non-prunable p = 0.
  void validate() const;
  // validate() plus: depth and each block's full width match `arch`.
  void validateFor(const model::SamArch& arch) const;

  nlohmann::json toJson() const;
  static SearchSpace fromJson(const nlohmann::json& j, const std::string& source = "search space JSON");
  std::string describe() const;  // one line per block, for `info`

  bool operator==(const SearchSpace& o) const { return m_name == o.m_name && m_blocks == o.m_blocks; }

 private:
  std::string m_name = "custom";
  std::vector<BlockSpace> m_blocks;
};

}  // namespace supersam::supernet
