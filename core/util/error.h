#pragma once
// Recoverable, user-facing failures (bad file, wrong architecture, infeasible constraint). The message names the
// file or value and what was expected; the CLI prints it and exits non-zero, the GUI shows it and keeps running.
// Programming errors use TORCH_CHECK / assertions instead.

#include <stdexcept>
#include <string>

namespace supersam::util {

// Messages quote what a file holds (a key, a value, a subnet string); a crafted file can make that a megabyte.
// The message keeps its start (where the file is named) and its end, and says how much was cut in between.
inline std::string boundedMessage(const std::string& message) {
  constexpr size_t kHead = 700, kTail = 300;
  if (message.size() <= kHead + kTail + 64) return message;
  return message.substr(0, kHead) + " ... (" + std::to_string(message.size() - kHead - kTail) +
         " characters cut) ... " + message.substr(message.size() - kTail);
}

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(boundedMessage(message)) {}
};

// Raised when a long job stops because its CancelToken was set.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace supersam::util
