#pragma once
// Running the built `supersam` program from a test (end-to-end tests of the command line).

#include <string>

namespace supersam::test {

struct CliResult {
  int rc = -1;
  std::string output;  // stdout and stderr together
};

// SUPERSAM_TEST_BINARY_DIR/app/supersam; throws (failing the test) when it is not built.
std::string supersamPath();
// Runs `supersam <args>` through the shell (quote paths in `args`) and waits for it.
CliResult runSupersam(const std::string& args);

}  // namespace supersam::test
