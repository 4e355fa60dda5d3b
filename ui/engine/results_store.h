#pragma once
// The GUI's view of a results database (core/search): every evaluated subnet with its cost and quality.
// No Qt, no torch. Thread-safety: free functions; each call opens and closes the database.

#include <string>
#include <utility>
#include <vector>

namespace supersam::ui {

struct EvaluatedSubnet {
  std::string subnet;     // canonical string
  double paramsM = 0;     // total parameters, millions
  double gmacs = 0;       // encoder multiply-accumulates, 1e9
  double latencyMs = -1;  // measured, -1 if unknown
  double predictedMs = -1;  // predicted by this machine's latency table (filled by the studio), -1 if unknown
  double miou = 0;        // quality (the database's headline mIoU)
  double boxFill = -1;    // mIoU of "the mask fills the object's box" on the same objects; -1 if not recorded
  bool feasible = true;
};

// All evaluated subnets of the results database (SQLite) or CSV (supersam search --csv) at `path`, of the
// protocol with the most results. Throws util::Error naming the file.
std::vector<EvaluatedSubnet> readResults(const std::string& path);

// Indices of the points on the front (core/search/pareto.h's rule): no other point is at most as large and
// strictly better (or equal quality and strictly smaller); unknown (negative or NaN) figures are left out. Sorted by
// cost ascending. The first form uses parameters as the cost; the second any (cost, quality) pairs.
std::vector<size_t> paretoFront(const std::vector<EvaluatedSubnet>& points);
std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& costQuality);

// The best-quality point (index), or -1 when empty.
int bestPoint(const std::vector<EvaluatedSubnet>& points);

}  // namespace supersam::ui
