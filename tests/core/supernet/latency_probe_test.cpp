#include "core/supernet/latency_probe.h"

#include <gtest/gtest.h>

#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;

TEST(LatencyProbe, MeasuresCachesAndPersists) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 2);
  std::string file = test::tempDir("latency_probe") + "/cache.json";
  supernet::Subnet s = supernet::Subnet::parse("64,x,64,64", arch);
  supernet::Measurement first;
  {
    supernet::LatencyProbe probe(sam->image_encoder, arch.imageSize, 1, 3, file);
    EXPECT_FALSE(probe.cached(s).has_value());
    first = probe.measure(s);
    EXPECT_GT(first.latencyMs, 0.0);
    EXPECT_LE(first.minLatencyMs, first.latencyMs);
    EXPECT_EQ(first.subnet, s.toString());
    EXPECT_EQ(first.threads, 2);
    EXPECT_GE(first.peakBytes, 0);  // Linux: the high-water mark can be reset
    // Cached: the same value comes back.
    EXPECT_EQ(probe.measure(s).latencyMs, first.latencyMs);
    probe.save();
  }
  supernet::LatencyProbe again(sam->image_encoder, arch.imageSize, 1, 3, file);
  ASSERT_TRUE(again.cached(s).has_value());
  EXPECT_EQ(again.cached(s)->latencyMs, first.latencyMs);
  EXPECT_EQ(again.size(), 1u);
  EXPECT_THROW(again.measure(supernet::Subnet::parse("64,64")), util::Error);
}
