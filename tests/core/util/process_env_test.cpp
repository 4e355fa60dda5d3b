#include "core/util/process_env.h"

#include <gtest/gtest.h>

namespace supersam::util {
namespace {

TEST(ProcessEnv, OpenBlasCoreIsForcedOnlyForGenericFallbacksOnCapableCpus) {
  const CpuFeatures avx512{true, true}, avx2{false, true}, old{false, false};
  EXPECT_EQ(openBlasCoreOverride("Prescott", avx512), "SkylakeX");
  EXPECT_EQ(openBlasCoreOverride("prescott", avx2), "Haswell");
  EXPECT_EQ(openBlasCoreOverride("Sandybridge", avx2), "Haswell");
  EXPECT_EQ(openBlasCoreOverride("Nehalem", avx512), "SkylakeX");
  EXPECT_EQ(openBlasCoreOverride("Prescott", old), std::nullopt);     // nothing better to run
  EXPECT_EQ(openBlasCoreOverride("SkylakeX", avx512), std::nullopt);  // already a good kernel family
  EXPECT_EQ(openBlasCoreOverride("Haswell", avx512), std::nullopt);   // the user's or OpenBLAS's own choice
  EXPECT_EQ(openBlasCoreOverride("Zen", avx2), std::nullopt);
  EXPECT_EQ(openBlasCoreOverride("", avx512), std::nullopt);  // not OpenBLAS
}

// This test program starts through prepareProcess (tests/common/test_main.cpp), as the product's programs do: on a
// CPU with AVX2 + FMA, the OpenBLAS it runs on must not be on a generic SSE kernel.
TEST(ProcessEnv, ThisProcessRunsOpenBlasOnAFastKernel) {
  const std::string core = openBlasCoreName();
  ASSERT_FALSE(core.empty()) << "LibTorch is not linked against OpenBLAS here (install libopenblas0-openmp)";
  if (cpuFeatures().avx2Fma) {
    EXPECT_EQ(openBlasCoreOverride(core, cpuFeatures()), std::nullopt) << core;
  }
}

}  // namespace
}  // namespace supersam::util
