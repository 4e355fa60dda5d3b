#include "core/eval/evaluator.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "core/data/dataset_spec.h"
#include "core/infer/model_loader.h"
#include "core/util/atomic_file.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {
// The tiny reference fixture (random weights): low mIoU, but every number must be valid.
infer::Predictor tinyPredictor() {
  infer::LoadedModel m = infer::loadModel(test::fixturesDir() + "/tiny/checkpoint.pth",
                                          test::fixturesDir() + "/tiny/arch.json");
  return infer::Predictor(m.sam);
}

std::vector<data::Dataset> threeDomains() {
  const std::string d = test::dataDir();
  return data::loadDatasets("dsb2018:" + d + "/dsb2018-nuclei:val,limit=2+pennfudan:" + d +
                            "/pennfudan:val,limit=2+isbi2012:" + d + "/isbi2012-em:val,limit=2");
}

void expectValid(const eval::MiouTriple& t) {
  for (double v : {t.oracle, t.ranked, t.single}) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  EXPECT_GE(t.oracle, t.ranked - 1e-12);  // the oracle picks the best of the three
}
}  // namespace

TEST(Evaluator, TinyModelOnThreeDatasetsGivesValidNumbers) {
  // One thread: the tiny model's ops are too small to split, and two OpenMP threads on a busy 2-core machine spend
  // most of their time spinning at barriers (measured 30x slower under load).
  util::setThreads(1);
  auto datasets = threeDomains();
  infer::Predictor predictor = tinyPredictor();
  eval::EvalProtocol protocol;
  protocol.maxObjectsPerImage = 2;
  protocol.seed = 3;
  const model::SamArch arch = predictor.model()->arch();
  eval::PreparedEvalSet set(datasets, protocol, &arch);
  EXPECT_EQ(set.imageCount(), 6);
  // At most 2 per image; the first Penn-Fudan val images have fewer pedestrians.
  const int64_t objects = set.objectCount();
  EXPECT_GE(objects, 9);
  EXPECT_LE(objects, 12);
  long long lastDone = 0, lastTotal = 0;
  util::JobControl job;
  job.progress = [&](long long d, long long t, const std::string&) {
    lastDone = d;
    lastTotal = t;
  };
  eval::EvalResult r = eval::evaluate(predictor, {}, set, job);
  EXPECT_EQ(lastDone, 6);
  EXPECT_EQ(lastTotal, 6);
  ASSERT_EQ(r.datasets.size(), 3u);
  EXPECT_EQ(r.datasets[0].name, "dsb2018:val");
  EXPECT_EQ(r.objects, objects);
  for (const auto& d : r.datasets) {
    EXPECT_EQ(d.images, 2);
    expectValid(d.miou);
  }
  expectValid(r.overall);
  expectValid(r.pooled);
  EXPECT_GT(r.promptsPerSecond, 0.0);
  std::printf("tiny eval: %lld objects, %.2f s (encoder %.2f s, decoder %.2f s), %.1f prompts/s\n",
              static_cast<long long>(r.objects), r.seconds, r.encoderSeconds, r.decoderSeconds, r.promptsPerSecond);

  // Deterministic: the same subnet again gives the same numbers; a smaller subnet runs too.
  eval::EvalResult again = eval::evaluate(predictor, {}, set);
  EXPECT_DOUBLE_EQ(again.overall.oracle, r.overall.oracle);
  EXPECT_DOUBLE_EQ(again.overall.single, r.overall.single);
  model::ElasticConfig small(static_cast<size_t>(arch.encoderDepth), model::BlockChoice{true, arch.fullMlpDim() / 2});
  small[0].kept = false;
  eval::EvalResult sub = eval::evaluate(predictor, small, set);
  expectValid(sub.overall);

  // Point prompts, via the convenience overload; results written as JSON and CSV.
  protocol.promptKind = data::PromptKind::Point;
  protocol.maxImages = 1;
  eval::EvalResult pts = eval::evaluate(predictor, {}, datasets, protocol);
  EXPECT_EQ(pts.images, 3);
  expectValid(pts.overall);
  const std::string dir = test::tempDir("eval_results");
  eval::writeEvalResult(pts, dir + "/r.json");
  eval::writeEvalResult(pts, dir + "/r.csv");
  auto j = nlohmann::json::parse(util::readFileBytes(dir + "/r.json"));
  EXPECT_EQ(j["protocol"]["prompt"], "point");
  EXPECT_EQ(j["datasets"].size(), 3u);
  const std::string csv = util::readFileBytes(dir + "/r.csv");
  EXPECT_EQ(csv.rfind("dataset,prompt,images,objects,miou_oracle,miou_ranked,miou_single,miou_box_fill\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
}

TEST(Evaluator, CancelStopsBetweenImages) {
  util::setThreads(1);
  auto datasets = threeDomains();
  infer::Predictor predictor = tinyPredictor();
  eval::EvalProtocol protocol;
  protocol.maxObjectsPerImage = 1;
  eval::PreparedEvalSet set(datasets, protocol);
  util::CancelToken token;
  util::JobControl job;
  job.cancel = &token;
  int calls = 0;
  job.progress = [&](long long, long long, const std::string&) {
    if (++calls == 2) token.cancel();
  };
  EXPECT_THROW(eval::evaluate(predictor, {}, set, job), util::Cancelled);
  EXPECT_EQ(calls, 2);
}
