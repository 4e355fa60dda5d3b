#pragma once
// The subnet search as a generic search Problem: one parameter per block with more than one MLP width (an enum of
// the widths, OpenTuner's and the official code's choice, or an ordinal integer index so that differential
// evolution and Nelder-Mead can move along it) and one boolean per prunable block (kept). Identity = the subnet's
// canonical string and hash (core/supernet/subnet.h), so results are shared with every other tool keyed by them.
// Costs come from the analytical cost model (params, encoder MACs, fp32 weight bytes); quality and latency from
// the caller's callback. Thread-safety: the mapping is immutable; the objective is as thread-safe as the callback.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/model/arch.h"
#include "core/search/tuner.h"
#include "core/supernet/latency_table.h"
#include "core/supernet/search_space.h"
#include "core/supernet/subnet.h"

namespace supersam::search {

class SubnetEncoding {
 public:
  SubnetEncoding(const supernet::SearchSpace& space, bool ordinalWidths);

  const Space& space() const { return m_space; }
  const supernet::SearchSpace& subnetSpace() const { return m_subnets; }
  supernet::Subnet toSubnet(const Config& c) const;
  Config fromSubnet(const supernet::Subnet& s) const;  // util::Error when not in the space

 private:
  supernet::SearchSpace m_subnets;
  Space m_space;
  std::vector<int> m_widthParam;  // per block: parameter index or -1 (single width)
  std::vector<int> m_keepParam;   // per block: parameter index or -1 (not prunable)
};

// Quality (and optionally latencyMs and details) of one subnet; costs are filled in by the problem.
using SubnetObjective = std::function<Metrics(const supernet::Subnet&)>;

// The encoding (and the latency table, when given) must outlive the problem. With a latency table, latency is the
// table's prediction (LatencyTable::predictMs): costOf carries it (costOfHasLatency), so a latency budget screens
// subnets without evaluating them, evaluate() sets Metrics::latencyMs to it (whatever the callback returned) and
// details["predicted_latency_ms"], and minimumCost() gives the table's minimum over the space.
Problem makeSubnetProblem(const SubnetEncoding& encoding, const model::SamArch& arch, const Constraints& constraints,
                          SubnetObjective quality, const supernet::LatencyTable* latencyTable = nullptr);

// Informed starting points for a search under analytical budgets (OpenTuner's seed configurations), from the space
// and the cost model alone (no evaluation): for k = all, all - 1, ... prunable blocks dropped (those with the highest
// drop probability, i.e. the least important, first), the widest width step used by every kept block that fits the
// budgets, then the kept blocks widened one step at a time (the lowest drop probability first, round after round)
// while the budgets still hold. Distinct, feasible, at most `maxSeeds`; the largest subnet alone when there is no
// analytical budget. A latency budget counts only with a latency table (predicted); otherwise the search measures it.
std::vector<supernet::Subnet> budgetSeeds(const supernet::SearchSpace& space, const model::SamArch& arch,
                                          const Constraints& constraints, size_t maxSeeds = 3,
                                          const supernet::LatencyTable* latencyTable = nullptr);

// The search space recorded in a supernet checkpoint's "supernet" metadata ({"search_space": ...} or the space
// itself); the official preset for `arch` when there is none (widths only when the official one does not fit).
supernet::SearchSpace searchSpaceFromMetadata(const std::map<std::string, std::string>& metadata,
                                              const model::SamArch& arch);

}  // namespace supersam::search
