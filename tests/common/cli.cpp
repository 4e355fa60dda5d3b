#include "tests/common/cli.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace supersam::test {

std::string supersamPath() {
  const std::string bin = std::string(SUPERSAM_TEST_BINARY_DIR) + "/app/supersam";
  if (!std::filesystem::exists(bin)) throw std::runtime_error("build the `supersam` target first: " + bin + " is missing");
  return bin;
}

CliResult runSupersam(const std::string& args) {
  CliResult r;
  FILE* p = popen((supersamPath() + " " + args + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace supersam::test
