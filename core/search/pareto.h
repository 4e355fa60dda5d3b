#pragma once
// The Pareto front of size vs quality (minimise size, maximise quality) over stored results, CSV export and a PNG
// plot of every point with the front drawn over them. Size = parameters, else weight bytes, else MACs
// (Metrics::size). Writes are atomic (temporary file + rename). Thread-safety: free functions on values.

#include <string>
#include <utility>
#include <vector>

#include "core/search/results_db.h"

namespace supersam::search {

// Indices into `results` of the non-dominated points, by increasing size. A point is on the front when no other
// point is at most as large and strictly better, or strictly smaller and at least as good. Points without a
// size or quality are left out; of exact duplicates (same size and quality) the first is kept.
std::vector<size_t> paretoFront(const std::vector<StoredResult>& results);
// The same rule over plain (size, quality) pairs: the one front every caller (CLI, studio plot) uses. Pairs with a
// non-finite size or quality, or a negative size (unknown figure), are left out.
std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& sizeQuality);

// hash, subnet, protocol, quality, params, macs, bytes, latency_ms, seconds, run, technique, on_front, details.
void exportCsv(const std::string& path, const std::vector<StoredResult>& results);
// Reads a file exportCsv wrote (columns found by their header names; on_front is recomputed, not read back;
// details are kept when they are a small JSON object).
// util::Error naming the file and line on a malformed file; files over 64 MB are refused.
std::vector<StoredResult> importCsv(const std::string& path);

struct PlotOptions {
  int width = 960, height = 640;
  std::string title = "Search results: size vs quality";
  std::string xLabel;  // default: "parameters" / "weight bytes" / "MACs" from the data
  std::string yLabel = "quality (mIoU)";
  double budget = 0.0;  // > 0: a dashed vertical line at this size
};
void plotPareto(const std::string& pngPath, const std::vector<StoredResult>& results, const PlotOptions& options = {});

}  // namespace supersam::search
