#include "core/search/objective.h"

#include <cmath>
#include <sstream>
#include <vector>

#include "core/util/error.h"

namespace supersam::search {

namespace {

std::string number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

struct Budget {
  const char* name;
  const char* unit;
  std::optional<double> limit;
  double value;
};

std::vector<Budget> budgets(const Constraints& c, const Metrics& m) {
  return {{"params", "", c.maxParams, m.params},
          {"MACs", "", c.maxMacs, m.macs},
          {"weight bytes", "", c.maxBytes, m.bytes},
          {"latency", " ms", c.maxLatencyMs, m.latencyMs}};
}

}  // namespace

double Metrics::size() const {
  if (!std::isnan(params)) return params;
  if (!std::isnan(bytes)) return bytes;
  return macs;
}

std::string Constraints::describe() const {
  std::string s;
  for (const Budget& b : budgets(*this, Metrics{})) {
    if (!b.limit) continue;
    if (!s.empty()) s += ", ";
    s += std::string(b.name) + " <= " + number(*b.limit) + b.unit;
  }
  return s.empty() ? "none" : s;
}

nlohmann::json Constraints::toJson() const {
  nlohmann::json j = nlohmann::json::object();
  if (maxParams) j["max_params"] = *maxParams;
  if (maxMacs) j["max_macs"] = *maxMacs;
  if (maxBytes) j["max_bytes"] = *maxBytes;
  if (maxLatencyMs) j["max_latency_ms"] = *maxLatencyMs;
  return j;
}

Score scoreOf(const Metrics& m, const Constraints& c) {
  Score s;
  s.quality = std::isnan(m.quality) ? -std::numeric_limits<double>::infinity() : m.quality;
  const double size = m.size();
  s.size = std::isnan(size) ? std::numeric_limits<double>::infinity() : size;
  for (const Budget& b : budgets(c, m)) {
    if (!b.limit) continue;
    if (std::isnan(b.value)) {
      s.violation = std::numeric_limits<double>::infinity();
    } else if (b.value > *b.limit) {
      s.violation += *b.limit > 0 ? b.value / *b.limit - 1.0 : std::numeric_limits<double>::infinity();
    }
  }
  s.feasible = s.violation == 0.0;
  return s;
}

int compareScores(const Score& a, const Score& b) {
  if (a.feasible != b.feasible) return a.feasible ? -1 : 1;
  if (!a.feasible && a.violation != b.violation) return a.violation < b.violation ? -1 : 1;
  if (a.quality != b.quality) return a.quality > b.quality ? -1 : 1;
  if (a.size != b.size) return a.size < b.size ? -1 : 1;
  return 0;
}

void checkBudgetsReachable(const Constraints& c, const Metrics& minimum) {
  std::string problems;
  for (const Budget& b : budgets(c, minimum)) {
    if (!b.limit) continue;
    if (*b.limit <= 0) {
      problems += std::string(problems.empty() ? "" : "; ") + b.name + " budget " + number(*b.limit) + b.unit +
                  " must be positive";
    } else if (!std::isnan(b.value) && b.value > *b.limit) {
      problems += std::string(problems.empty() ? "" : "; ") + b.name + " budget " + number(*b.limit) + b.unit +
                  " is below the smallest reachable " + number(b.value) + b.unit;
    }
  }
  if (!problems.empty()) {
    throw util::Error("no configuration can meet the budgets: " + problems +
                      " (raise the budget or use a larger search space)");
  }
}

}  // namespace supersam::search
