#include "ui/engine/results_store.h"

#include <cmath>
#include <filesystem>
#include <map>

#include "core/search/pareto.h"
#include "core/search/results_db.h"
#include "core/util/error.h"

namespace supersam::ui {

std::vector<EvaluatedSubnet> readResults(const std::string& path) {
  if (!std::filesystem::exists(path)) throw util::Error("results database not found: " + path);
  // A file may hold several evaluation protocols (datasets, prompt counts); their mIoUs are not comparable, so the
  // plot shows the protocol with the most results.
  std::vector<search::StoredResult> results;
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".csv" || ext == ".CSV") {
    std::vector<search::StoredResult> all = search::importCsv(path);
    std::map<std::string, int64_t> counts;
    for (const auto& r : all) ++counts[r.protocol];
    std::string protocol;
    int64_t most = -1;
    for (const auto& [p, n] : counts) {
      if (n > most) most = n, protocol = p;
    }
    for (auto& r : all) {
      if (r.protocol == protocol) results.push_back(std::move(r));
    }
  } else {
    search::ResultsDb db(path);
    std::string protocol;
    int64_t most = -1;
    for (const auto& p : db.protocols()) {
      const int64_t n = db.count(p);
      if (n > most) most = n, protocol = p;
    }
    results = db.results(protocol);
  }
  std::vector<EvaluatedSubnet> out;
  for (const auto& r : results) {
    EvaluatedSubnet e;
    e.subnet = r.subnet;
    e.paramsM = std::isnan(r.metrics.params) ? 0 : r.metrics.params / 1e6;
    e.gmacs = std::isnan(r.metrics.macs) ? 0 : r.metrics.macs / 1e9;
    e.latencyMs = std::isnan(r.metrics.latencyMs) ? -1 : r.metrics.latencyMs;
    e.miou = std::isnan(r.metrics.quality) ? 0 : r.metrics.quality;
    if (r.metrics.details.is_object() && r.metrics.details.contains("miou_box_fill") &&
        r.metrics.details["miou_box_fill"].is_number()) {
      e.boxFill = r.metrics.details["miou_box_fill"].get<double>();
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace supersam::ui
