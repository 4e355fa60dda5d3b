#pragma once
// `supersam info --supernet F [--subnet STRING]`: the supernet part of `info` (search space, costs of the largest,
// smallest and a chosen subnet, sensitivity table, reorder method). Called by info.cpp.

#include <optional>
#include <ostream>
#include <string>

namespace supersam::cli {

// Throws util::Error naming the file or subnet on a bad input.
int printSupernetInfo(std::ostream& out, const std::string& path, const std::optional<std::string>& subnet,
                      const std::optional<std::string>& archOverride);

}  // namespace supersam::cli
