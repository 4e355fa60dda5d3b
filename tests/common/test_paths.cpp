#include "tests/common/test_paths.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include <ATen/ATen.h>

namespace fs = std::filesystem;

namespace supersam::test {

std::string sharedDir() {
  const char* env = std::getenv("SUPERSAM_SHARED_DIR");
  std::string dir = env && *env ? env : SUPERSAM_TEST_SHARED_DIR;
  if (!fs::is_directory(dir)) {
    throw std::runtime_error("the shared test material is missing: expected a folder at '" + dir +
                             "' (set SUPERSAM_SHARED_DIR to where ../shared is)");
  }
  return fs::canonical(dir).string();
}

std::string fixturesDir() {
  std::string d = sharedDir() + "/fixtures/sam-reference";
  if (!fs::is_directory(d)) throw std::runtime_error("reference fixtures missing: expected '" + d + "'");
  return d;
}

std::string dataDir() {
  const char* env = std::getenv("SUPERSAM_DATA_DIR");
  std::string d = env && *env ? std::string(env) : sharedDir() + "/data";
  if (!fs::is_directory(d)) throw std::runtime_error("datasets missing: expected '" + d + "' (SUPERSAM_DATA_DIR)");
  return d;
}

std::string tempDir(const std::string& name) {
  // One folder per process: ctest runs test cases of one executable in parallel, and they share names.
  fs::path p = fs::path(SUPERSAM_TEST_BINARY_DIR) / "test-output" / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

double relativeError(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor fa = a.to(at::kDouble), fb = b.to(at::kDouble);
  if (fa.sizes() != fb.sizes()) throw std::runtime_error("relativeError: shapes differ");
  double sd = fb.std().item<double>();
  double m = (fa - fb).abs().max().item<double>();
  return m / (sd > 0 ? sd : 1.0);
}

}  // namespace supersam::test
