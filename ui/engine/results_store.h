#pragma once
// The GUI's view of a results database (core/search): every evaluated subnet with its cost and quality.
// No Qt, no torch. Thread-safety: free functions; each call opens and closes the database.

#include <string>
#include <vector>

namespace supersam::ui {

struct EvaluatedSubnet {
  std::string subnet;     // canonical string
  double paramsM = 0;     // total parameters, millions
  double gmacs = 0;       // encoder multiply-accumulates, 1e9
  double latencyMs = -1;  // measured, -1 if unknown
  double miou = 0;        // quality (the database's headline mIoU)
  bool feasible = true;
};

// All evaluated subnets of the database at `path`. Throws util::Error naming the file.
std::vector<EvaluatedSubnet> readResults(const std::string& path);

// Indices of the points on the front: no other point is at most as large and strictly better (or equal quality
// and strictly smaller). Sorted by size ascending.
std::vector<size_t> paretoFront(const std::vector<EvaluatedSubnet>& points);

// The best-quality point (index), or -1 when empty.
int bestPoint(const std::vector<EvaluatedSubnet>& points);

}  // namespace supersam::ui
