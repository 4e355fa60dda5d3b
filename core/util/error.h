#pragma once
// Recoverable, user-facing failures (bad file, wrong architecture, infeasible constraint). The message names the
// file or value and what was expected; the CLI prints it and exits non-zero, the GUI shows it and keeps running.
// Programming errors use TORCH_CHECK / assertions instead.

#include <stdexcept>
#include <string>

namespace supersam::util {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Raised when a long job stops because its CancelToken was set.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace supersam::util
