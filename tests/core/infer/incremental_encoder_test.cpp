#include "core/infer/incremental_encoder.h"

#include <random>

#include <gtest/gtest.h>

#include "core/supernet/search_space.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;

TEST(IncrementalEncoder, EqualsFullRecomputeAndRecomputesOnlyFromTheFirstChange) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 21);
  at::manual_seed(2);
  at::Tensor x = at::randn({1, 3, 128, 128});
  infer::IncrementalEncoder inc(sam->image_encoder);
  EXPECT_THROW(inc.encode({}), util::Error);
  inc.setInput(x);

  auto full = [&](const model::ElasticConfig& cfg) {
    c10::InferenceMode g;
    return sam->image_encoder->forward(x, &cfg);
  };

  supernet::SearchSpace space = supernet::SearchSpace::widthOnly(arch).withPrunable({1, 2}, 0.5);
  model::ElasticConfig cfg = space.largest().toElastic();
  EXPECT_TRUE(at::equal(inc.encode(cfg), full(cfg)));
  EXPECT_EQ(inc.lastRecomputedFrom(), -1);
  EXPECT_EQ(inc.blocksRecomputed(), 4);

  // Same subnet again: nothing recomputed.
  EXPECT_TRUE(at::equal(inc.encode(cfg), full(cfg)));
  EXPECT_EQ(inc.blocksRecomputed(), 0);

  // Last block's width changes: only block 3 (and the neck) run.
  cfg[3].mlpWidth = 64;
  EXPECT_TRUE(at::equal(inc.encode(cfg), full(cfg)));
  EXPECT_EQ(inc.lastRecomputedFrom(), 3);
  EXPECT_EQ(inc.blocksRecomputed(), 1);

  // Dropping block 1: from block 1 on.
  cfg[1].kept = false;
  EXPECT_TRUE(at::equal(inc.encode(cfg), full(cfg)));
  EXPECT_EQ(inc.lastRecomputedFrom(), 1);
  EXPECT_EQ(inc.blocksRecomputed(), 3);

  // A random walk over the space stays identical to a full recompute at every step.
  std::mt19937_64 rng(5);
  for (int k = 0; k < 12; ++k) {
    auto c = space.sample(rng).toElastic();
    ASSERT_TRUE(at::equal(inc.encode(c), full(c))) << "step " << k;
  }
  // Memory bound: at most (depth + 1) [1, H, W, C] floats plus the [1, C_out, H, W] embedding.
  size_t bound = (4 + 1) * 8 * 8 * 64 * sizeof(float) + 32 * 8 * 8 * sizeof(float);
  EXPECT_LE(inc.cachedBytes(), bound);
  EXPECT_GT(inc.cachedBytes(), 0u);

  // A new image drops the cache.
  inc.setInput(x * 0.5);
  at::Tensor e = inc.encode({});
  EXPECT_EQ(inc.lastRecomputedFrom(), -1);
  {
    c10::InferenceMode g;
    EXPECT_TRUE(at::equal(e, sam->image_encoder->forward(x * 0.5)));
  }
}

// The studio abandons an encode when a newer request supersedes it (fast preview, slider drags): the hook throws
// before a block; the blocks finished so far stay cached and the next encode continues from there, bit-identical.
TEST(IncrementalEncoder, AnEncodeAbandonedByTheHookKeepsItsFinishedBlocksAndStaysExact) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 23);
  at::manual_seed(3);
  at::Tensor x = at::randn({1, 3, 128, 128});
  auto full = [&](const model::ElasticConfig& cfg) {
    c10::InferenceMode g;
    return sam->image_encoder->forward(x, &cfg);
  };
  supernet::SearchSpace space = supernet::SearchSpace::widthOnly(arch).withPrunable({1, 2}, 0.5);
  const model::ElasticConfig small = space.smallest().toElastic();
  const model::ElasticConfig large = space.largest().toElastic();
  infer::IncrementalEncoder inc(sam->image_encoder);
  inc.setInput(x);
  ASSERT_TRUE(at::equal(inc.encode(small), full(small)));

  struct Stop {};
  std::vector<int64_t> seen;
  EXPECT_THROW(inc.encode(large,
                          [&](int64_t b) {
                            seen.push_back(b);
                            if (b == 2) throw Stop{};
                          }),
               Stop);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2}));  // the hook runs before each block, in order
  // Blocks 0 and 1 of `large` were finished: the retry runs only blocks 2 and 3.
  seen.clear();
  ASSERT_TRUE(at::equal(inc.encode(large, [&](int64_t b) { seen.push_back(b); }), full(large)));
  EXPECT_EQ(inc.lastRecomputedFrom(), 2);
  EXPECT_EQ(seen, (std::vector<int64_t>{2, 3}));
  // Going back to `small` after an abandoned encode is exact too.
  EXPECT_THROW(inc.encode(small, [&](int64_t) { throw Stop{}; }), Stop);
  ASSERT_TRUE(at::equal(inc.encode(small), full(small)));
  ASSERT_TRUE(at::equal(inc.encode(large), full(large)));
}
