#pragma once
// What the image encoder runs: for each block, kept or dropped, and how many of its (importance-ordered) MLP
// hidden neurons it keeps. A plain value passed explicitly to the encoder; no hidden state. The richer Subnet type
// (string form, hash, search space) lives in core/supernet and converts to this.

#include <cstdint>
#include <vector>

namespace supersam::model {

struct BlockChoice {
  bool kept = true;
  int64_t mlpWidth = -1;  // number of hidden neurons kept (prefix); -1 = the block's full width
  bool operator==(const BlockChoice& o) const { return kept == o.kept && mlpWidth == o.mlpWidth; }
  bool operator!=(const BlockChoice& o) const { return !(*this == o); }
};

// One entry per encoder block. An empty config means "everything, full width".
using ElasticConfig = std::vector<BlockChoice>;

}  // namespace supersam::model
