#pragma once
// A subnet of the SuperSAM supernet: for each image-encoder block, kept or dropped, and the number of
// (importance-ordered) MLP hidden neurons it keeps. A plain value.
//
// Canonical string form (human-readable, copy-pasteable, no spaces so it survives a shell unquoted):
//   one token per block, separated by commas; a kept block is its MLP width, a dropped block is "x".
//   e.g. ViT-B with block 2 dropped and block 11 at half width: "3072,3072,x,3072,3072,3072,3072,3072,3072,3072,3072,1536"
// parse(toString(s)) == s. parse() accepts surrounding/inner whitespace and "X" too, but toString() is canonical.
// JSON form: {"blocks": [{"kept": true, "mlp_width": 3072}, {"kept": false}, ...], "string": "..."}.
// hash(): 12 lowercase hex digits of FNV-1a 64 over the canonical string; stable across runs and machines.
// Thread-safety: a plain value.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/arch.h"
#include "core/model/elastic.h"

namespace supersam::supernet {

class SearchSpace;

struct SubnetBlock {
  bool kept = true;
  int64_t mlpWidth = 0;  // > 0 when kept; 0 when dropped (a dropped block has no width)
  bool operator==(const SubnetBlock& o) const { return kept == o.kept && mlpWidth == o.mlpWidth; }
  bool operator!=(const SubnetBlock& o) const { return !(*this == o); }
};

class Subnet {
 public:
  Subnet() = default;
  // Widths of dropped blocks are normalised to 0. Throws util::Error on a kept block with width <= 0.
  explicit Subnet(std::vector<SubnetBlock> blocks);

  // Every block kept at its full width (the arch's per-block MLP width).
  static Subnet full(const model::SamArch& arch);

  // Parses the canonical string. With a space, also checks the subnet belongs to it (depth, allowed widths,
  // only prunable blocks dropped); errors name the block and the allowed values. Throws util::Error.
  static Subnet parse(const std::string& text, const SearchSpace* space = nullptr);
  // Parses and checks against an arch only (depth, 1 <= width <= the block's MLP width).
  static Subnet parse(const std::string& text, const model::SamArch& arch);
  std::string toString() const;

  static Subnet fromJson(const nlohmann::json& j);
  nlohmann::json toJson() const;

  std::string hash() const;  // 12 hex chars, FNV-1a 64 of toString()

  int64_t depth() const { return static_cast<int64_t>(m_blocks.size()); }
  const std::vector<SubnetBlock>& blocks() const { return m_blocks; }
  const SubnetBlock& block(int64_t i) const;
  bool kept(int64_t i) const { return block(i).kept; }
  int64_t width(int64_t i) const { return block(i).mlpWidth; }
  int64_t keptCount() const;
  void setBlock(int64_t i, SubnetBlock b);  // same normalisation/checks as the constructor

  // Throws util::Error naming the block when the subnet does not fit `arch` (depth, width > the block's MLP width).
  void checkAgainst(const model::SamArch& arch) const;

  // What the encoder runs. Widths are explicit (never -1), dropped blocks have kept = false.
  model::ElasticConfig toElastic() const;
  static Subnet fromElastic(const model::ElasticConfig& cfg, const model::SamArch& arch);

  bool operator==(const Subnet& o) const { return m_blocks == o.m_blocks; }
  bool operator!=(const Subnet& o) const { return !(*this == o); }

 private:
  std::vector<SubnetBlock> m_blocks;
};

// FNV-1a 64-bit over bytes; exposed for other caches keyed by strings.
uint64_t fnv1a64(const std::string& bytes);

}  // namespace supersam::supernet
