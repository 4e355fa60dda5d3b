#pragma once
// What a search maximises: quality (e.g. mIoU) subject to budgets on size and speed.
// Order of two evaluated points (compareScores): feasible beats infeasible; among infeasible points the one
// closer to the budgets wins (sum over the violated budgets of the relative excess, cost / limit - 1), then
// higher quality; among feasible points higher quality wins, ties broken by the smaller size (parameters,
// else weight bytes, else MACs). Thread-safety: plain values and pure functions.

#include <limits>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace supersam::search {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

// One evaluated configuration. Cost figures are NaN when unknown. `details` carries anything else worth keeping
// (e.g. the three mIoU numbers); it is stored in the results database as JSON.
struct Metrics {
  double quality = kUnknown;
  double params = kUnknown;
  double macs = kUnknown;
  double bytes = kUnknown;
  double latencyMs = kUnknown;
  nlohmann::json details = nlohmann::json::object();

  double size() const;  // params, else bytes, else macs, else NaN
};

struct Constraints {
  std::optional<double> maxParams, maxMacs, maxBytes, maxLatencyMs;

  bool any() const { return maxParams || maxMacs || maxBytes || maxLatencyMs; }
  std::string describe() const;  // "params <= 3.2e7, latency <= 40 ms" or "none"
  nlohmann::json toJson() const;
};

struct Score {
  bool feasible = true;
  double violation = 0.0;  // 0 when feasible; +inf when a constrained figure is unknown
  double quality = -std::numeric_limits<double>::infinity();  // NaN quality counts as -inf
  double size = std::numeric_limits<double>::infinity();
};

Score scoreOf(const Metrics& m, const Constraints& c);
// < 0 when a is better than b, 0 when equivalent, > 0 when b is better.
int compareScores(const Score& a, const Score& b);

// Throws util::Error, naming each budget and the smallest cost reachable, when no configuration can meet the
// budgets. `minimum` holds the smallest achievable value of each cost over the space (NaN = unknown: skipped).
void checkBudgetsReachable(const Constraints& c, const Metrics& minimum);

}  // namespace supersam::search
