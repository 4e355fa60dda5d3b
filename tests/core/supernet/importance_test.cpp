#include "core/supernet/importance.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/supernet/search_space.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;

namespace {

std::vector<at::Tensor> calibrationBatches(int n, uint64_t seed) {
  at::manual_seed(seed);
  std::vector<at::Tensor> out;
  for (int i = 0; i < n; ++i) out.push_back(at::randn({1, 3, 128, 128}));
  return out;
}

at::Tensor encode(model::Sam& sam, const at::Tensor& x, const model::ElasticConfig* cfg = nullptr) {
  c10::InferenceMode g;
  return sam->image_encoder->forward(x, cfg);
}

}  // namespace

TEST(Elastic, LargestSubnetEqualsPlainModelBitForBit) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto sam = test::randomSam(arch, 3);
  at::Tensor x = calibrationBatches(1, 5)[0];
  auto largest = supernet::SearchSpace::official(arch).largest().toElastic();
  at::Tensor a = encode(sam, x), b = encode(sam, x, &largest);
  EXPECT_TRUE(at::equal(a, b));
  // A smaller subnet differs, and equals running its blocks by hand (dropped = identity, width = prefix).
  supernet::Subnet s = supernet::Subnet::parse("128,x,64,256", arch);
  auto cfg = s.toElastic();
  at::Tensor c = encode(sam, x, &cfg);
  EXPECT_FALSE(at::allclose(a, c));
  c10::InferenceMode g;
  auto& enc = sam->image_encoder;
  at::Tensor h = enc->embed(x);
  h = enc->block(0)->forward(h, 128);
  h = enc->block(2)->forward(h, 64);
  h = enc->block(3)->forward(h);
  EXPECT_TRUE(at::equal(enc->neckForward(h), c));
}

TEST(Importance, ReorderingLeavesTheFullModelUnchanged) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto batches = calibrationBatches(2, 11);
  for (auto method : {supernet::ReorderMethod::Wanda, supernet::ReorderMethod::Magnitude,
                      supernet::ReorderMethod::Random, supernet::ReorderMethod::None}) {
    auto sam = test::randomSam(arch, 3);
    at::Tensor before = encode(sam, batches[0]);
    auto w1Before = sam->image_encoder->block(2)->mlp->lin1->weight.clone();
    auto rec = supernet::reorderEncoder(sam->image_encoder, method, batches, 99);
    at::Tensor after = encode(sam, batches[0]);
    EXPECT_LT(test::relativeError(after, before), 1e-5) << supernet::reorderMethodName(method);
    ASSERT_EQ(rec.permutations.size(), 4u);
    ASSERT_EQ(rec.permutations[2].size(), 256u);
    // The recorded permutation is the one applied: new row k = old row perm[k].
    auto idx = at::tensor(rec.permutations[2], at::kLong);
    EXPECT_TRUE(at::equal(sam->image_encoder->block(2)->mlp->lin1->weight, w1Before.index_select(0, idx)));
    bool identity = true;
    for (size_t k = 0; k < rec.permutations[2].size(); ++k) identity = identity && rec.permutations[2][k] == int64_t(k);
    EXPECT_EQ(identity, method == supernet::ReorderMethod::None) << supernet::reorderMethodName(method);
    // Round trip through the metadata JSON.
    auto back = supernet::ReorderRecord::fromJson(nlohmann::json::parse(rec.toJson().dump()));
    EXPECT_EQ(back.permutations, rec.permutations);
    EXPECT_EQ(back.method, method);
  }
}

TEST(Importance, WandaScoresAreSortedAfterReorderAndStatsAreNotCarriedOver) {
  util::setThreads(2);
  auto arch = test::tinyArch();
  auto batches = calibrationBatches(2, 12);
  auto sam = test::randomSam(arch, 4);
  supernet::reorderEncoder(sam->image_encoder, supernet::ReorderMethod::Wanda, batches);
  // Recomputing the scores on the reordered model gives a non-increasing sequence in every block.
  auto stats = supernet::collectActivationStats(sam->image_encoder, batches);
  auto scores = supernet::neuronScores(sam->image_encoder, supernet::ReorderMethod::Wanda, stats);
  for (const auto& s : scores) {
    at::Tensor d = s.slice(0, 1) - s.slice(0, 0, -1);
    EXPECT_LE(d.max().item<double>(), 1e-9 * s.abs().max().item<double>());
  }
  // Statistics depend only on this call's batches (no global table kept between calls).
  auto again = supernet::collectActivationStats(sam->image_encoder, batches);
  EXPECT_TRUE(at::allclose(again[1].lin1InputNorm, stats[1].lin1InputNorm));
  auto other = supernet::collectActivationStats(sam->image_encoder, {batches[0]});
  auto only0 = supernet::collectActivationStats(sam->image_encoder, {batches[0]});
  EXPECT_TRUE(at::allclose(other[0].lin2InputNorm, only0[0].lin2InputNorm));
  // A wanda-ordered prefix keeps more of the block's function than the reversed (least important first) order.
  EXPECT_THROW(supernet::parseReorderMethod("sorted"), util::Error);
  EXPECT_THROW(supernet::reorderEncoder(sam->image_encoder, supernet::ReorderMethod::Wanda, {}), util::Error);
  EXPECT_THROW(supernet::applyPermutation(sam->image_encoder, 0, {0, 0, 1}), util::Error);
}
