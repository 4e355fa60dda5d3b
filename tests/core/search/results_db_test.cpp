#include "core/search/results_db.h"

#include <cstdio>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "core/search/pareto.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"
#include "tests/core/search/synthetic_problem.h"

namespace supersam::search {
namespace {

namespace fs = std::filesystem;
using testing::SyntheticSupernet;

fs::path freshDir(const std::string& name) {
  return fs::path(test::tempDir("search_" + name));
}

TEST(ResultsDb, ResultsAreReusedAcrossRunsUnderTheSameProtocolOnly) {
  const fs::path dir = freshDir("reuse");
  SyntheticSupernet s;
  int calls = 0;
  Problem p = s.problem(110.0);
  p.evaluate = [&](const Config& c) {
    ++calls;
    Metrics m = s.evaluate(c);
    m.details = {{"miou_oracle", m.quality + 0.01}, {"miou_ranked", m.quality}, {"miou_single", m.quality - 0.01}};
    return m;
  };
  SearchOptions o;
  o.maxEvaluations = 40;
  ResultsDb db((dir / "r.db").string());
  {
    DbResultStore store(db, "box/dsb/seed0", db.openRun("native", 1, {{"budget", 40}}));
    auto t = makeTechnique("native");
    SearchReport r = runSearch(p, *t, o, {}, {}, &store);
    EXPECT_EQ(r.evaluated, 40);
    EXPECT_EQ(calls, 40);
  }
  {
    const int64_t run2 = db.openRun("native", 1, {{"budget", 41}});
    DbResultStore store(db, "box/dsb/seed0", run2);
    auto t = makeTechnique("native");
    SearchReport r = runSearch(p, *t, o, {}, {}, &store);
    EXPECT_EQ(r.reused, 40);
    EXPECT_EQ(r.evaluated, 0);
    EXPECT_EQ(calls, 40);
  }
  {
    DbResultStore store(db, "point/dsb/seed0", db.openRun("native", 1, {{"budget", 40}, {"prompt", "point"}}));
    auto t = makeTechnique("native");
    SearchReport r = runSearch(p, *t, o, {}, {}, &store);
    EXPECT_EQ(r.evaluated, 40);
  }
  EXPECT_EQ(db.count(), 80);
  EXPECT_EQ(db.protocols().size(), 2u);
  auto one = db.results("box/dsb/seed0").front();
  EXPECT_TRUE(one.metrics.details.contains("miou_single"));
  EXPECT_FALSE(one.subnet.empty());
  EXPECT_TRUE(std::isnan(one.metrics.latencyMs));
  EXPECT_EQ(db.runs().size(), 3u);
}

TEST(ResultsDb, RunKilledMidwayResumesWithoutLossOrRepeat) {
  const fs::path dir = freshDir("kill");
  const std::string path = (dir / "r.db").string();
  const std::string protocol = "synthetic";
  SyntheticSupernet s;
  SearchOptions o;
  o.maxEvaluations = 60;
  o.seed = 9;
  const nlohmann::json settings = {{"budget", 60}};

  // The uninterrupted run, for reference.
  Problem plain = s.problem(110.0);
  auto tRef = makeTechnique("native");
  const SearchReport reference = runSearch(plain, *tRef, o);

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      ResultsDb db(path);
      DbResultStore store(db, protocol, db.openRun("native", o.seed, settings));
      Problem slow = s.problem(110.0);
      slow.evaluate = [&](const Config& c) {
        std::this_thread::sleep_for(std::chrono::milliseconds(15));
        return s.evaluate(c);
      };
      auto t = makeTechnique("native");
      runSearch(slow, *t, o, {}, {}, &store);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());  // shown with the parent's failure
      ::_exit(3);
    } catch (...) {
      ::_exit(4);
    }
    ::_exit(0);
  }
  // Kill the child with SIGKILL once it has saved some results.
  int64_t saved = 0;
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(path)) {
        try {
          saved = ResultsDb(path).count(protocol);
        } catch (const util::Error&) {
          saved = 0;  // the child is still creating the schema
        }
      }
      if (saved >= 20) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed (exit status "
                                    << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", " << saved
                                    << " results seen): 3 = an exception, printed above";

  ResultsDb db(path);
  const int64_t before = db.count(protocol);
  ASSERT_GE(before, 20);
  ASSERT_LT(before, 60);
  std::set<std::string> savedHashes;
  for (const auto& r : db.results(protocol)) savedHashes.insert(r.hash);

  const int64_t run = db.openRun("native", o.seed, settings);
  EXPECT_EQ(db.runs().size(), 1u);  // the killed run is resumed, not duplicated
  DbResultStore store(db, protocol, run);
  Problem resumed = s.problem(110.0);
  int repeats = 0;
  resumed.evaluate = [&](const Config& c) {
    if (savedHashes.count(resumed.identityOf(c).hash)) ++repeats;
    return s.evaluate(c);
  };
  auto t = makeTechnique("native");
  const SearchReport r = runSearch(resumed, *t, o, {}, {}, &store);
  db.setRunStatus(run, "complete");
  EXPECT_EQ(repeats, 0);
  EXPECT_EQ(r.reused, before);
  EXPECT_EQ(r.evaluated, 60 - before);
  EXPECT_EQ(db.count(protocol), 60);
  ASSERT_EQ(r.points.size(), reference.points.size());
  for (size_t i = 0; i < r.points.size(); ++i) EXPECT_EQ(r.points[i].config, reference.points[i].config) << i;
  EXPECT_EQ(db.runs().front().status, "complete");
}

StoredResult point(double size, double quality) {
  StoredResult r;
  r.metrics.params = size;
  r.metrics.quality = quality;
  r.hash = std::to_string(size) + "/" + std::to_string(quality);
  r.subnet = "s," + r.hash;
  return r;
}

TEST(Pareto, FrontCsvAndPlot) {
  std::vector<StoredResult> rs = {point(10, 0.5), point(20, 0.45), point(20, 0.7), point(30, 0.7),
                                  point(5, 0.2),  point(40, 0.9),  point(35, 0.6)};
  rs.push_back(point(50, kUnknown));
  const std::vector<size_t> front = paretoFront(rs);
  EXPECT_EQ(front, (std::vector<size_t>{4, 0, 2, 5}));

  const fs::path dir = freshDir("pareto");
  exportCsv((dir / "all.csv").string(), rs);
  std::ifstream in(dir / "all.csv");
  std::string line;
  int lines = 0, onFront = 0;
  while (std::getline(in, line)) {
    ++lines;
    if (lines > 1 && line.find(",1,{}") != std::string::npos) ++onFront;
  }
  EXPECT_EQ(lines, 9);
  EXPECT_EQ(onFront, 4);

  PlotOptions po;
  po.budget = 32;
  plotPareto((dir / "front.png").string(), rs, po);
  cv::Mat img = cv::imread((dir / "front.png").string());
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, po.width);
  int redish = 0;
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      const cv::Vec3b p = img.at<cv::Vec3b>(y, x);
      redish += p[2] > 180 && p[1] < 80 && p[0] < 80;
    }
  }
  EXPECT_GT(redish, 100);
  EXPECT_THROW(plotPareto((dir / "missing" / "x.png").string(), rs), util::Error);
  EXPECT_THROW(ResultsDb((dir / "missing" / "x.db").string()), util::Error);
}


TEST(Pareto, CsvReadsBackWhatItWroteAndRefusesMalformedLines) {
  std::vector<StoredResult> rs = {point(10, 0.5), point(20, 0.7), point(30, kUnknown)};
  rs[0].subnet = "512,x,\"quoted\",384";  // commas and quotes inside a field
  rs[0].protocol = "box, 16 objects";
  rs[0].metrics.latencyMs = 12.5;
  rs[0].metrics.details = {{"miou_box_fill", 0.61}, {"objects", 130}};
  const fs::path dir = freshDir("pareto-csv");
  exportCsv((dir / "r.csv").string(), rs);
  const std::vector<StoredResult> back = importCsv((dir / "r.csv").string());
  ASSERT_EQ(back.size(), rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(back[i].subnet, rs[i].subnet);
    EXPECT_EQ(back[i].hash, rs[i].hash);
    EXPECT_EQ(back[i].protocol, rs[i].protocol);
    EXPECT_DOUBLE_EQ(back[i].metrics.params, rs[i].metrics.params);
  }
  EXPECT_DOUBLE_EQ(back[0].metrics.quality, 0.5);
  EXPECT_TRUE(std::isnan(back[2].metrics.quality));
  EXPECT_DOUBLE_EQ(back[0].metrics.latencyMs, 12.5);
  EXPECT_TRUE(std::isnan(back[1].metrics.latencyMs));
  EXPECT_DOUBLE_EQ(back[0].metrics.details.at("miou_box_fill").get<double>(), 0.61);
  EXPECT_EQ(paretoFront(back), paretoFront(rs));

  // A short line and a non-number name the file and the line; a million-deep details value is dropped, not parsed.
  const std::string header = "hash,subnet,protocol,quality,params,macs,bytes,latency_ms,seconds,run,technique,"
                             "on_front,details\n";
  const auto expectError = [&](const std::string& body, const std::string& words) {
    util::writeFileAtomic((dir / "bad.csv").string(), header + body);
    try {
      importCsv((dir / "bad.csv").string());
      ADD_FAILURE() << "accepted: " << body.substr(0, 80);
    } catch (const util::Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.csv' line 2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expectError("h,s,p,0.5\n", "4 fields");
  expectError("h,s,p,high,1,1,1,,0,1,t,0,{}\n", "'high' is not a number");
  const std::string deep = "\"" + std::string(1000000, '[') + "\"";
  util::writeFileAtomic((dir / "deep.csv").string(), header + "h,s,p,0.5,1,1,1,,0,1,t,0," + deep + "\n");
  const std::vector<StoredResult> deepBack = importCsv((dir / "deep.csv").string());
  ASSERT_EQ(deepBack.size(), 1u);
  EXPECT_TRUE(deepBack[0].metrics.details.empty());
  EXPECT_THROW(importCsv((dir / "absent.csv").string()), util::Error);
}

}  // namespace
}  // namespace supersam::search
