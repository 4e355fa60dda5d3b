#pragma once
// The elastic controls' view of a loaded supernet: which subnets exist, how the depth and width sliders map onto
// them, the canonical subnet string, and what a subnet costs. Built by SessionEngine::loadModel from the model's
// architecture, search space and measured sensitivity; GUI code keeps a copy and calls it on the GUI thread.
// No Qt, no torch. Thread-safety: an immutable value (shared state is const), safe to copy and use anywhere.

#include <memory>
#include <string>
#include <vector>

#include "core/model/elastic.h"
#include "ui/engine/types.h"

namespace supersam::model {
struct SamArch;
}

namespace supersam::ui {

class SubnetSpace {
 public:
  SubnetSpace() = default;  // invalid: no model
  SubnetSpace(const model::SamArch& arch, ModelInfo info, const std::string& searchSpaceJson);

  bool valid() const { return static_cast<bool>(m_impl); }
  int depth() const;
  const ModelInfo& info() const;
  const model::SamArch& arch() const;
  int prunableCount() const;

  model::ElasticConfig largest() const;
  model::ElasticConfig smallest() const;
  // keptBlocks in [depth - prunableCount, depth]: drops the least sensitive prunable blocks first (dropOrder);
  // widthRatio in (0, 1]: each kept block takes the smallest allowed width >= ratio * its full width, or with
  // roundDown the largest allowed width <= it (the smallest choice when none is), so that a slider moved down by
  // less than one width step still narrows the blocks.
  model::ElasticConfig fromSliders(int keptBlocks, double widthRatio, bool roundDown = false) const;
  int keptBlocks(const model::ElasticConfig& cfg) const;
  // Kept-width-weighted mean of width / full width over kept blocks.
  double meanWidthRatio(const model::ElasticConfig& cfg) const;
  // Fills explicit widths (-1 -> full width) and pads an empty config to the full depth.
  model::ElasticConfig normalised(const model::ElasticConfig& cfg) const;

  std::string toString(const model::ElasticConfig& cfg) const;
  std::string hash(const model::ElasticConfig& cfg) const;
  // Throws util::Error naming the block and the allowed values when the text is no subnet of this model.
  model::ElasticConfig parse(const std::string& text) const;

  // Parameters, weight bytes and MACs from the analytic cost model (latency left at -1).
  SubnetFigures figures(const model::ElasticConfig& cfg) const;
  // Index of the first block where a and b differ (depth if equal): incremental re-encoding starts there.
  int firstDifference(const model::ElasticConfig& a, const model::ElasticConfig& b) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> m_impl;
};

}  // namespace supersam::ui
