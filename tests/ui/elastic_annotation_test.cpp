// Elastic annotation on the tiny reference SAM: the fast preview (a small subnet's masks first, the chosen subnet's
// after it, new prompts answered on the preview meanwhile), escalation to a larger subnet, and the choice of the
// preview and of the ladder from a results file.
#include <optional>

#include <QCoreApplication>
#include <QSignalSpy>
#include <gtest/gtest.h>

#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/engine/elastic_annotation.h"
#include "ui/engine/session_engine.h"
#include "ui/workers/inference_worker.h"

namespace supersam::ui {
namespace {

PromptSet points(std::vector<std::array<float, 2>> xy, std::vector<int> labels) {
  PromptSet p;
  p.points = std::move(xy);
  p.labels = std::move(labels);
  return p;
}

// The masks of `prompts` on a fresh engine that only ever encoded `cfg`.
PredictionResult fresh(const model::ElasticConfig& cfg, const PromptSet& prompts) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  e.setImage(test::toRgb(test::syntheticImage()));
  return e.run(cfg, prompts, false);
}

void expectSameMasks(const PredictionResult& a, const PredictionResult& b) {
  ASSERT_EQ(a.masks.size(), b.masks.size());
  for (size_t i = 0; i < a.masks.size(); ++i) EXPECT_EQ(a.masks[i].data, b.masks[i].data) << "mask " << i;
  EXPECT_EQ(a.iou, b.iou);
  EXPECT_EQ(a.best, b.best);
}

TEST(ElasticAnnotation, TheChosenEncodeAnswersOnThePreviewMeanwhileAndEndsExact) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const SubnetSpace s = e.space();
  e.setImage(test::toRgb(test::syntheticImage()));
  const auto small = s.smallest(), large = s.largest();
  const PromptSet p = points({{75, 50}}, {1});
  const PredictionResult preview = e.run(small, p, false);
  EXPECT_EQ(preview.subnet, s.toString(small));
  expectSameMasks(preview, fresh(small, p));

  // While the chosen (largest) subnet encodes, new prompts are decoded on the preview's embedding.
  const PromptSet p2 = points({{75, 50}, {10, 10}}, {1, 0});
  std::vector<PredictionResult> meanwhile;
  int blocks = 0;
  e.run(large, {}, false, true, [&](int) {
    ++blocks;
    if (meanwhile.empty()) meanwhile.push_back(e.decodeCurrent(p2));
  });
  EXPECT_GT(blocks, 0);
  ASSERT_EQ(meanwhile.size(), 1u);
  EXPECT_EQ(meanwhile[0].subnet, s.toString(small));
  expectSameMasks(meanwhile[0], fresh(small, p2));
  EXPECT_EQ(e.currentSubnet(), s.toString(large));
  // The latest prompts re-decoded on the chosen subnet: exactly a fresh run of the chosen subnet.
  const PredictionResult final = e.run(large, p2, false);
  EXPECT_EQ(final.encodedFromBlock, -1);  // no second encode
  expectSameMasks(final, fresh(large, p2));
}

TEST(ElasticAnnotation, AnAbandonedEncodeKeepsThePreviousEmbeddingAndResumes) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const SubnetSpace s = e.space();
  e.setImage(test::toRgb(test::syntheticImage()));
  const PromptSet p = points({{75, 50}}, {1});
  e.run(s.smallest(), p, false);
  struct Newer {};
  EXPECT_THROW(e.run(s.largest(), p, false, true,
                     [](int b) {
                       if (b == 2) throw Newer{};
                     }),
               Newer);
  EXPECT_EQ(e.currentSubnet(), s.toString(s.smallest()));  // still the preview's embedding
  expectSameMasks(e.decodeCurrent(p), fresh(s.smallest(), p));
  const PredictionResult r = e.run(s.largest(), p, false);
  EXPECT_EQ(r.encodedFromBlock, 2);  // blocks 0 and 1 were finished before the abandon
  expectSameMasks(r, fresh(s.largest(), p));
}

TEST(ElasticAnnotation, TheAlternativeSubnetLeavesTheCurrentOneAndIsReusedWhenChosen) {
  SessionEngine e;
  e.loadModel(test::tinyCheckpoint());
  const SubnetSpace s = e.space();
  e.setImage(test::toRgb(test::syntheticImage()));
  const PromptSet p = points({{75, 50}, {20, 80}}, {1, 0});
  const PredictionResult chosen = e.run(s.smallest(), p, false);
  const PredictionResult alt = e.runAlternative(s.largest(), p);
  EXPECT_EQ(alt.subnet, s.toString(s.largest()));
  EXPECT_GE(alt.encodedFromBlock, 0);
  expectSameMasks(alt, fresh(s.largest(), p));
  // The current subnet's masks are untouched and need no encode.
  const PredictionResult again = e.run(s.smallest(), p, false);
  EXPECT_EQ(again.encodedFromBlock, -1);
  expectSameMasks(again, chosen);
  // Choosing the alternative's subnet reuses its embedding.
  const PredictionResult up = e.run(s.largest(), p, false);
  EXPECT_EQ(up.encodedFromBlock, -1);
  expectSameMasks(up, alt);
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    worker.engine().loadModel(test::tinyCheckpoint());
    space = worker.engine().space();
    image = std::make_shared<const ImageRgb>(test::toRgb(test::syntheticImage()));
  }
  InferenceRequest request(uint64_t id, const PromptSet& p, const model::ElasticConfig& cfg) {
    InferenceRequest r;
    r.id = id;
    r.image = image;
    r.imageSerial = 1;
    r.subnet = cfg;
    r.prompts = p;
    return r;
  }
  InferenceWorker worker;  // lives on the test thread: its queued calls run in the spy's event loop
  SubnetSpace space;
  std::shared_ptr<const ImageRgb> image;
};

TEST_F(WorkerTest, ANewImageShowsThePreviewFirstThenTheChosenSubnetForTheLatestPrompts) {
  PreviewSettings ps;
  ps.subnet = space.smallest();
  worker.setPreview(ps);
  std::vector<PredictionResult> got;
  const PromptSet p1 = points({{75, 50}}, {1});
  const PromptSet p2 = points({{75, 50}, {10, 10}}, {1, 0});
  // Prompts placed while the chosen subnet encodes: posted when the preview reaches the screen.
  bool posted = false;
  QObject::connect(&worker, &InferenceWorker::resultReady, [&](const PredictionResult& r) {
    got.push_back(r);
    if (!posted) worker.post(request(2, p2, space.largest()));
    posted = true;
  });
  worker.post(request(1, p1, space.largest()));
  ASSERT_TRUE(test::waitUntil([&] { return got.size() >= 3; }, 30000)) << got.size() << " results";
  QCoreApplication::processEvents();
  ASSERT_EQ(got.size(), 3u);
  // 1: the preview of the first prompts; 2: the newer prompts on the preview; 3: the chosen subnet, newer prompts.
  EXPECT_TRUE(got[0].preview);
  EXPECT_EQ(got[0].requestId, 1u);
  EXPECT_EQ(got[0].subnet, space.toString(space.smallest()));
  EXPECT_EQ(got[0].finalSubnet, space.toString(space.largest()));
  EXPECT_GE(got[0].sinceImageMs, 0);
  expectSameMasks(got[0], fresh(space.smallest(), p1));
  EXPECT_TRUE(got[1].preview);
  EXPECT_EQ(got[1].requestId, 2u);
  expectSameMasks(got[1], fresh(space.smallest(), p2));
  EXPECT_FALSE(got[2].preview);
  EXPECT_EQ(got[2].requestId, 2u);
  EXPECT_EQ(got[2].subnet, space.toString(space.largest()));
  EXPECT_GE(got[2].sinceImageMs, got[0].sinceImageMs);
  expectSameMasks(got[2], fresh(space.largest(), p2));

  // The same image again: no preview, the chosen subnet's embedding is reused.
  got.clear();
  worker.post(request(3, p1, space.largest()));
  ASSERT_TRUE(test::waitUntil([&] { return !got.empty(); }));
  QCoreApplication::processEvents();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].preview);
  EXPECT_EQ(got[0].encodedFromBlock, -1);
}

TEST_F(WorkerTest, APreviewEqualToTheChosenSubnetIsSkipped) {
  PreviewSettings ps;
  ps.subnet = space.largest();
  worker.setPreview(ps);
  std::vector<PredictionResult> got;
  QObject::connect(&worker, &InferenceWorker::resultReady, [&](const PredictionResult& r) { got.push_back(r); });
  worker.post(request(1, points({{75, 50}}, {1}), space.largest()));
  ASSERT_TRUE(test::waitUntil([&] { return !got.empty(); }));
  QCoreApplication::processEvents();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].preview);
  EXPECT_EQ(got[0].encodedFromBlock, 0);
}

TEST_F(WorkerTest, ALowScoreClimbsTheLadderAndTheFirstClearlyBetterRungIsOffered) {
  const auto mid = space.normalised(space.fromSliders(space.depth(), 0.5));
  ASSERT_LT(space.figures(space.smallest()).params, space.figures(mid).params);
  ASSERT_LT(space.figures(mid).params, space.figures(space.largest()).params);
  PreviewSettings ps;
  ps.enabled = false;
  ps.escalate = true;
  ps.threshold = 1.01;  // every mask is "low": the escalation always runs
  ps.ladder = {space.largest(), space.smallest(), mid};  // any order: climbed by size
  worker.setPreview(ps);
  int results = 0;
  std::vector<PredictionResult> offers;
  QObject::connect(&worker, &InferenceWorker::resultReady, [&](const PredictionResult&) { ++results; });
  QObject::connect(&worker, &InferenceWorker::escalationReady,
                   [&](const PredictionResult& r) { offers.push_back(r); });
  QSignalSpy busy(&worker, &InferenceWorker::busyChanged);
  int offered = 0;
  // Several prompts: whichever way each one goes, an offer must be the first rung (by size) whose IoU beats the
  // chosen subnet's by minGain, with exactly that rung's masks; none when no rung does.
  const std::vector<PromptSet> prompts = {points({{75, 50}}, {1}), points({{10, 10}}, {1}),
                                          points({{120, 80}, {75, 50}}, {1, 0}), points({{40, 30}}, {0})};
  for (size_t k = 0; k < prompts.size(); ++k) {
    offers.clear();
    results = 0;
    worker.post(request(10 + k, prompts[k], space.smallest()));
    ASSERT_TRUE(test::waitUntil([&] { return results == 1 && !worker.engine().currentSubnet().empty(); }));
    // busyChanged(false) closes the request, escalation included.
    ASSERT_TRUE(test::waitUntil([&] { return !busy.isEmpty() && !busy.last().at(0).toBool(); }));
    QCoreApplication::processEvents();
    const PredictionResult small = fresh(space.smallest(), prompts[k]);
    std::optional<PredictionResult> expected;
    for (const auto& rung : {mid, space.largest()}) {
      const PredictionResult r = fresh(rung, prompts[k]);
      if (r.iou[r.best] >= small.iou[small.best] + ps.minGain) {
        expected = r;
        break;
      }
    }
    ASSERT_EQ(offers.size(), expected ? 1u : 0u) << "prompt " << k;
    if (expected) {
      ++offered;
      EXPECT_EQ(offers[0].requestId, 10 + k);
      EXPECT_EQ(offers[0].subnet, expected->subnet);
      expectSameMasks(offers[0], *expected);
    }
    busy.clear();
  }
  EXPECT_GT(offered, 0);  // the tiny model's larger rungs do score these prompts higher
  // A mask scoring above the threshold is not escalated at all.
  ps.threshold = 0.0;
  worker.setPreview(ps);
  offers.clear();
  results = 0;
  busy.clear();
  worker.post(request(20, prompts[0], space.smallest()));
  ASSERT_TRUE(test::waitUntil([&] { return results == 1 && !busy.isEmpty() && !busy.last().at(0).toBool(); }));
  QCoreApplication::processEvents();
  EXPECT_TRUE(offers.empty());
}

TEST(ElasticAnnotation, TheLadderIsTheFrontAndTheAutoPreviewCostsAtMostHalf) {
  SessionEngine e;
  const std::string demo = findAsset({"models/demo_supernet.safetensors"}).toStdString();
  ASSERT_FALSE(demo.empty());
  e.loadModel(demo);
  const SubnetSpace s = e.space();
  const auto results = readResults(findAsset({"models/demo_results.csv"}).toStdString());
  ASSERT_GT(results.size(), 10u);
  const auto ladder = ladderFromResults(s, results);
  ASSERT_GE(ladder.size(), 2u);
  ASSERT_LT(ladder.size(), results.size());
  for (size_t i = 1; i < ladder.size(); ++i) {
    EXPECT_LT(s.figures(ladder[i - 1]).params, s.figures(ladder[i]).params);
  }
  // Every rung is a front point: no result at most as large scores strictly better.
  for (const auto& rung : ladder) {
    const std::string text = s.toString(rung);
    double q = -1, p = s.figures(rung).params / 1e6;
    for (const auto& r : results) {
      if (r.subnet == text) q = r.miou;
    }
    ASSERT_GE(q, 0) << text;
    for (const auto& r : results) EXPECT_FALSE(r.paramsM <= p - 1e-9 && r.miou > q) << r.subnet << " beats " << text;
  }
  const auto chosen = s.largest();
  const auto preview = autoPreview(s, chosen, ladder);
  ASSERT_FALSE(preview.empty());
  const double limit = s.figures(chosen).gmacs / 2;
  EXPECT_LE(s.figures(preview).gmacs, limit);
  for (const auto& rung : ladder) {
    const double g = s.figures(rung).gmacs;
    if (g <= limit) EXPECT_LE(g, s.figures(preview).gmacs);  // the costliest rung under the limit
  }
  // A cost function of the caller's (e.g. predicted ms) is used instead of GMACs; nothing cheap enough: no preview.
  EXPECT_TRUE(autoPreview(s, chosen, ladder, 0.0).empty());
  const auto underSmallest = autoPreview(s, s.smallest(), ladder);
  if (!underSmallest.empty()) EXPECT_LE(s.figures(underSmallest).gmacs, s.figures(s.smallest()).gmacs / 2);
  const auto byDepth = autoPreview(s, chosen, ladder, 0.6, [&](const model::ElasticConfig& c) {
    return static_cast<double>(s.keptBlocks(c));
  });
  ASSERT_FALSE(byDepth.empty());
  EXPECT_LE(s.keptBlocks(byDepth), s.keptBlocks(chosen) * 0.6);
}

}  // namespace
}  // namespace supersam::ui
