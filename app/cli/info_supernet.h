#pragma once
// `supersam info --supernet F [--subnet STRING] [--measure]`: the supernet part of `info` (search space, costs of
// the largest, smallest and a chosen subnet, with --measure their encoder latency and peak memory on this machine,
// sensitivity table, reorder method). Called by info.cpp.

#include <optional>
#include <ostream>
#include <string>

namespace supersam::cli {

struct SupernetInfoOptions {
  std::optional<std::string> subnet;        // also describe this subnet
  std::optional<std::string> archOverride;  // --arch
  bool measure = false;                     // build the model and measure encoder latency + peak memory
  int repeats = 3;                          // timed runs per subnet (median reported)
  std::string latencyCache;                 // JSON cache of measurements ("" = none)
};

// Throws util::Error naming the file or subnet on a bad input.
int printSupernetInfo(std::ostream& out, const std::string& path, const SupernetInfoOptions& options);

}  // namespace supersam::cli
