// main of the core test suites: the same process settings as the programs (OpenBLAS kernels, see
// core/util/process_env.h), then GoogleTest.
#include <gtest/gtest.h>

#include "core/util/process_env.h"

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
