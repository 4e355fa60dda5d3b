#include "ui/engine/results_store.h"

#include <cmath>
#include <filesystem>
#include <map>

#include "core/search/results_db.h"
#include "core/util/error.h"

namespace supersam::ui {

std::vector<EvaluatedSubnet> readResults(const std::string& path) {
  if (!std::filesystem::exists(path)) throw util::Error("results database not found: " + path);
  search::ResultsDb db(path);
  // A database may hold several evaluation protocols (datasets, prompt counts); their mIoUs are not comparable,
  // so the plot shows the protocol with the most results.
  std::string protocol;
  int64_t most = -1;
  for (const auto& p : db.protocols()) {
    const int64_t n = db.count(p);
    if (n > most) {
      most = n;
      protocol = p;
    }
  }
  std::vector<EvaluatedSubnet> out;
  for (const auto& r : db.results(protocol)) {
    EvaluatedSubnet e;
    e.subnet = r.subnet;
    e.paramsM = std::isnan(r.metrics.params) ? 0 : r.metrics.params / 1e6;
    e.gmacs = std::isnan(r.metrics.macs) ? 0 : r.metrics.macs / 1e9;
    e.latencyMs = std::isnan(r.metrics.latencyMs) ? -1 : r.metrics.latencyMs;
    e.miou = std::isnan(r.metrics.quality) ? 0 : r.metrics.quality;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace supersam::ui
