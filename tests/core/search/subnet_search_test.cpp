// runSubnetSearch on the tiny reference model and two DSB2018 validation images: a run records its results and
// its status; a second run under the same protocol evaluates nothing (every result comes from the database); an
// OpenTuner that cannot start fails clearly and marks the run failed.
#include "core/search/subnet_search.h"

#include <gtest/gtest.h>

#include <set>

#include "core/search/results_db.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"

namespace supersam::search {
namespace {

SubnetSearchSettings tinySettings(const std::string& dir) {
  SubnetSearchSettings s;
  s.modelPath = test::fixturesDir() + "/tiny/checkpoint.pth";
  s.archOverride = test::fixturesDir() + "/tiny/arch.json";
  s.dataset = "dsb2018:" + test::dataDir() + "/dsb2018-nuclei:val,limit=2";
  s.maxImages = 2;
  s.maxObjectsPerImage = 3;
  s.maxEvaluations = 5;
  s.seed = 7;
  s.dbPath = dir + "/results.sqlite";
  return s;
}

TEST(SubnetSearch, ASecondRunUnderTheSameProtocolReusesEveryResult) {
  util::setThreads(1);
  const std::string dir = test::tempDir("subnet-search-reuse");
  const SubnetSearchSettings s = tinySettings(dir);

  int setups = 0;
  int64_t pointsSeen = 0;
  const SubnetSearchOutcome first = runSubnetSearch(
      s, {}, [&](const EvaluatedPoint&, const SearchReport&) { ++pointsSeen; },
      [&](const SubnetSearchSetup& setup) {
        ++setups;
        EXPECT_EQ(pointsSeen, 0) << "setup is reported before any evaluation";
        EXPECT_GT(setup.objects, 0);
      });
  EXPECT_EQ(setups, 1);
  ASSERT_FALSE(first.report.points.empty());
  EXPECT_EQ(pointsSeen, static_cast<int64_t>(first.report.points.size()));
  EXPECT_GT(first.report.evaluated, 0);
  EXPECT_EQ(first.report.evaluated + first.report.reused, static_cast<int64_t>(first.report.points.size()));
  EXPECT_EQ(first.setup.images, 2);
  EXPECT_NE(first.setup.protocolKey.find("dsb2018"), std::string::npos) << first.setup.protocolKey;

  const SubnetSearchOutcome second = runSubnetSearch(s, {}, {});
  EXPECT_EQ(second.setup.protocolKey, first.setup.protocolKey);
  EXPECT_NE(second.setup.runId, first.setup.runId) << "a completed run is not resumed";
  EXPECT_EQ(second.report.evaluated, 0) << "every result must come from the database";
  EXPECT_EQ(second.report.reused, static_cast<int64_t>(second.report.points.size()));
  ASSERT_EQ(second.report.points.size(), first.report.points.size());
  for (size_t i = 0; i < first.report.points.size(); ++i) {
    EXPECT_EQ(second.report.points[i].id.hash, first.report.points[i].id.hash) << "same seed, same sequence";
    EXPECT_DOUBLE_EQ(second.report.points[i].metrics.quality, first.report.points[i].metrics.quality);
  }

  ResultsDb db(s.dbPath);
  std::set<std::string> distinct;
  for (const auto& p : first.report.points) distinct.insert(p.id.hash);
  EXPECT_EQ(db.count(first.setup.protocolKey), static_cast<int64_t>(distinct.size()));
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) EXPECT_EQ(r.status, "complete") << "run " << r.id;
}

TEST(SubnetSearch, AnOpenTunerThatCannotStartFailsTheRun) {
  util::setThreads(1);
  const std::string dir = test::tempDir("subnet-search-opentuner");
  SubnetSearchSettings s = tinySettings(dir);
  s.backend = "opentuner";
  s.python = dir + "/no-such-python";
  EXPECT_THROW(runSubnetSearch(s, {}, {}), util::Error);
  ResultsDb db(s.dbPath);
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "failed");
  EXPECT_EQ(db.count(), 0);
}

TEST(SubnetSearch, BadSettingsAreRejectedBeforeAnythingIsLoaded) {
  SubnetSearchSettings s;
  s.modelPath = "/nonexistent.pth";
  s.dataset = "dsb2018:/nonexistent:val";
  s.dbPath = "/nonexistent/db.sqlite";
  s.backend = "hyperopt";
  EXPECT_THROW(s.validate(), util::Error);
  s.backend = "random";
  s.widths = "log";
  EXPECT_THROW(s.validate(), util::Error);
  s.widths = "enum";
  s.maxEvaluations = 0;
  EXPECT_THROW(s.validate(), util::Error);
  s.maxEvaluations = 3;
  EXPECT_NO_THROW(s.validate());
}

// The 1D space (widths only) of a supernet with prunable blocks never drops a block; the 2D space does.
TEST(SubnetSearch, OneDimensionalSpaceKeepsEveryBlock) {
  util::setThreads(1);
  const std::string dir = test::tempDir("subnet-search-1d");
  SubnetSearchSettings s;
  s.modelPath = std::string(SUPERSAM_SOURCE_DIR) + "/resources/models/demo_supernet.safetensors";
  s.dataset = "dsb2018:" + test::dataDir() + "/dsb2018-nuclei:val,limit=1";
  s.maxImages = 1;
  s.maxObjectsPerImage = 2;
  s.maxEvaluations = 6;
  s.backend = "random";
  s.dbPath = dir + "/results.sqlite";
  auto dropped = [](const SubnetSearchOutcome& o) {
    int n = 0;
    for (const auto& p : o.report.points) n += p.id.text.find('x') != std::string::npos ? 1 : 0;
    return n;
  };
  s.widthsOnly = true;
  const SubnetSearchOutcome oneD = runSubnetSearch(s, {}, {});
  ASSERT_EQ(oneD.report.points.size(), 6u);
  EXPECT_EQ(dropped(oneD), 0);
  s.widthsOnly = false;
  const SubnetSearchOutcome twoD = runSubnetSearch(s, {}, {});
  EXPECT_GT(dropped(twoD), 0) << "six random subnets of the 2D space all kept every prunable block";
  EXPECT_GT(twoD.setup.spaceSize, oneD.setup.spaceSize);
}

}  // namespace
}  // namespace supersam::search
