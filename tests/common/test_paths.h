#pragma once
// Where tests find ../shared (fixtures, datasets). A test that needs it fails loudly when it is missing: it never
// skips, because a skipped test would pass by skipping.

#include <string>

#include <ATen/core/Tensor.h>

namespace supersam::test {

// $SUPERSAM_SHARED_DIR, else <source>/../shared. Throws (failing the test) with a clear message if absent.
std::string sharedDir();
std::string fixturesDir();  // sharedDir()/fixtures/sam-reference
std::string dataDir();      // $SUPERSAM_DATA_DIR, else sharedDir()/data
// A fresh empty folder under the build tree for this test's outputs.
std::string tempDir(const std::string& name);
// Max |a-b| / std(b): the parity measure of the reference fixtures.
double relativeError(const at::Tensor& a, const at::Tensor& b);

}  // namespace supersam::test
