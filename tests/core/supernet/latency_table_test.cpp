// The per-block latency table (core/supernet/latency_table.h): the prediction formula, JSON round trip, validity,
// hostile files, cancel, the search's predicted-latency budget, and `supersam latency` end to end.
#include "core/supernet/latency_table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/search/subnet_problem.h"
#include "core/search/technique.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;

namespace {

// A hand-made table for `arch` (times unrelated to any machine): entries chosen so that every term is distinct.
supernet::LatencyTable handTable(const model::SamArch& arch, const std::vector<int64_t>& widths) {
  supernet::LatencyTable t;
  t.validity = supernet::LatencyValidity::current(arch);
  t.embedMs = 1.25;
  t.neckMs = 2.5;
  t.overheadMs = 0.75;
  t.chainMsPerBlock = 0.125;
  t.warmup = 1;
  t.repeats = 3;
  for (const std::string kind : {std::string("global"), "window" + std::to_string(arch.windowSize)}) {
    supernet::BlockKindTimes k;
    for (size_t i = 0; i < widths.size(); ++i) {
      k.widths.push_back(widths[i]);
      k.ms.push_back((kind == "global" ? 10.0 : 3.0) + 0.01 * static_cast<double>(widths[i]) + 0.5 * i * i);
    }
    t.kinds[kind] = k;
  }
  return t;
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LatencyTable, PredictionIsFixedPlusKeptBlockEntriesWithInterpolation) {
  const model::SamArch arch = test::tinyArch();  // global blocks 1 and 3, window 3, MLP 256
  const supernet::LatencyTable t = handTable(arch, {64, 128, 256});
  const auto& g = t.kinds.at("global");
  const auto& w = t.kinds.at("window3");
  const double fixed = t.embedMs + t.neckMs + t.overheadMs;
  // Measured widths: the entries themselves; a dropped block adds nothing.
  const auto s1 = supernet::Subnet::parse("64,x,256,128", arch);
  EXPECT_DOUBLE_EQ(t.predictMs(arch, s1), fixed + w.ms[0] + w.ms[2] + g.ms[1] + 3 * t.chainMsPerBlock);
  EXPECT_DOUBLE_EQ(t.sumMs(arch, s1), t.embedMs + t.neckMs + w.ms[0] + w.ms[2] + g.ms[1]);
  // Width 96 lies halfway between 64 and 128; 160 a quarter of the way from 128 to 256.
  const auto s2 = supernet::Subnet::parse("96,160,x,x", arch);
  const double w96 = w.ms[0] + 0.5 * (w.ms[1] - w.ms[0]);
  const double g160 = g.ms[1] + 0.25 * (g.ms[2] - g.ms[1]);
  EXPECT_DOUBLE_EQ(t.predictMs(arch, s2), fixed + w96 + g160 + 2 * t.chainMsPerBlock);
  // Below the smallest measured width: extrapolated from the first segment.
  EXPECT_DOUBLE_EQ(w.at(32), w.ms[0] - 0.5 * (w.ms[1] - w.ms[0]));
  // Everything dropped: the fixed parts alone.
  EXPECT_DOUBLE_EQ(t.predictMs(arch, supernet::Subnet::parse("x,x,x,x", arch)), fixed);
  // The minimum over a space with two prunable blocks: those dropped, the rest at their cheapest width.
  const auto space = supernet::SearchSpace::widthOnly(arch).withPrunable({0, 2}, 0.5);
  std::vector<supernet::SubnetBlock> cheapest = {{false, 0}, {true, space.block(1).widths.front()}, {false, 0},
                                                 {true, space.block(3).widths.front()}};
  EXPECT_DOUBLE_EQ(t.minimumMs(arch, space), t.predictMs(arch, supernet::Subnet(cheapest)));
  // Another architecture (image size): refused, naming it.
  model::SamArch other = arch;
  other.imageSize = 256;
  EXPECT_NE(errorOf([&] { t.predictMs(other, s1); }).find("another architecture"), std::string::npos);
}

TEST(LatencyTable, MeasuresJsonRoundTripAndCache) {
  util::setThreads(1);
  const model::SamArch arch = test::tinyArch();
  auto sam = test::randomSam(arch, 3);
  const std::string dir = test::tempDir("latency_table_cache");
  supernet::LatencyMeasureOptions o;
  o.warmup = 1;
  o.repeats = 3;
  std::vector<std::pair<long long, long long>> progress;
  util::JobControl job;
  job.progress = [&](long long d, long long n, const std::string&) { progress.emplace_back(d, n); };
  const auto first = supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64, 128}, dir, "", o, job);
  EXPECT_TRUE(first.measured);
  EXPECT_EQ(first.path, dir + "/" + first.table.validity.key() + ".json");
  EXPECT_TRUE(std::filesystem::exists(first.path));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, progress.back().second);
  EXPECT_EQ(first.table.validity.threads, 1);
  EXPECT_GT(first.table.embedMs, 0.0);
  EXPECT_GT(first.table.neckMs, 0.0);
  for (const std::string kind : {"global", "window3"}) {
    const auto& k = first.table.kinds.at(kind);
    EXPECT_EQ(k.widths, (std::vector<int64_t>{64, 128, 256}));  // the full width is always measured
    for (double ms : k.ms) EXPECT_GT(ms, 0.0);
  }
  EXPECT_TRUE(first.table.covers(arch, {64, 128}));
  EXPECT_FALSE(first.table.covers(arch, {100}));
  // JSON round trip, through the file.
  const supernet::LatencyTable back = supernet::loadLatencyTableFile(first.path);
  EXPECT_EQ(back.toJson(), first.table.toJson());
  const auto s = supernet::Subnet::parse("64,x,256,128", arch);
  EXPECT_EQ(back.predictMs(arch, s), first.table.predictMs(arch, s));
  // Second call: loaded, not measured.
  const auto second = supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64, 128}, dir, "", o, job);
  EXPECT_FALSE(second.measured);
  EXPECT_EQ(second.table.toJson(), first.table.toJson());
  // A width the table lacks: remeasured with it (and the old ones).
  const auto third = supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {100}, dir, "", o, job);
  EXPECT_TRUE(third.measured);
  EXPECT_TRUE(third.table.covers(arch, {64, 100, 128}));
}

TEST(LatencyTable, TableOfOtherConditionsIsNotUsed) {
  util::setThreads(1);
  const model::SamArch arch = test::tinyArch();
  auto sam = test::randomSam(arch, 4);
  const std::string dir = test::tempDir("latency_table_validity");
  supernet::LatencyMeasureOptions o;
  o.warmup = 0;
  o.repeats = 1;
  o.chainCorrection = false;
  const supernet::LatencyTable good = handTable(arch, {64, 128, 256});
  auto changed = [&](const std::function<void(supernet::LatencyValidity&)>& change) {
    supernet::LatencyTable t = good;
    change(t.validity);
    return t;
  };
  const std::vector<supernet::LatencyTable> others = {
      changed([](auto& v) { v.threads = 7; }), changed([](auto& v) { v.imageSize = 1024; }),
      changed([](auto& v) { v.embedDim = 768; }), changed([](auto& v) { v.cpuModel = "another CPU"; }),
      changed([](auto& v) { v.torchVersion = "0.0.1"; }), changed([](auto& v) { v.globalBlocks = {0}; })};
  for (const auto& other : others) {
    EXPECT_NE(other.validity.key(), good.validity.key());
    // Stale table under the current key's name, and as an explicit file: both remeasured and replaced.
    for (const bool explicitFile : {false, true}) {
      const std::string path = explicitFile ? dir + "/mine.json" : dir + "/" + good.validity.key() + ".json";
      supernet::saveLatencyTableFile(path, other);
      const auto src = supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64, 128}, dir,
                                                           explicitFile ? path : "", o, {});
      EXPECT_TRUE(src.measured) << other.validity.toJson().dump();
      EXPECT_NE(src.note.find("other conditions"), std::string::npos) << src.note;
      EXPECT_EQ(src.table.validity, good.validity);
      EXPECT_EQ(supernet::loadLatencyTableFile(path).validity, good.validity);
    }
  }
  // The same conditions: used as it is (no measurement; the hand-made numbers come back).
  supernet::saveLatencyTableFile(dir + "/mine.json", good);
  const auto same = supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64, 128}, dir, dir + "/mine.json",
                                                        o, {});
  EXPECT_FALSE(same.measured);
  EXPECT_EQ(same.table.toJson(), good.toJson());
}

TEST(LatencyTable, HostileFilesAreRefusedClearly) {
  const model::SamArch arch = test::tinyArch();
  const nlohmann::json good = handTable(arch, {64, 128, 256}).toJson();
  const std::string dir = test::tempDir("latency_table_hostile");
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> change;
    std::string expect;  // in the message
  };
  const std::vector<Case> cases = {
      {"string time", [](auto& j) { j["embed_ms"] = "fast"; }, "\"embed_ms\" must be a number"},
      {"negative time", [](auto& j) { j["kinds"]["global"]["ms"][1] = -3.0; }, "non-negative"},
      {"NaN time (null in JSON)", [](auto& j) { j["neck_ms"] = nullptr; }, "\"neck_ms\" must be a number"},
      {"missing kind", [](auto& j) { j["kinds"].erase("global"); }, "missing the times of block kind \"global\""},
      {"missing field", [](auto& j) { j.erase("validity"); }, "missing \"validity\""},
      {"widths not ascending", [](auto& j) { j["kinds"]["window3"]["widths"] = {128, 64, 256}; }, "ascending"},
      {"lengths differ", [](auto& j) { j["kinds"]["window3"]["ms"] = {1.0}; }, "same length"},
      {"threads a string", [](auto& j) { j["validity"]["threads"] = "2"; }, "\"threads\" must be an integer"},
      {"kinds an array", [](auto& j) { j["kinds"] = nlohmann::json::array(); }, "\"kinds\" must be an object"},
      {"wrong version", [](auto& j) { j["version"] = 99; }, "version 99"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = good;
    c.change(j);
    const std::string path = dir + "/bad.json";
    writeText(path, j.dump());
    const std::string msg = errorOf([&] { supernet::loadLatencyTableFile(path); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << c.name << ": " << msg;
  }
  // Deep nesting and not JSON at all.
  writeText(dir + "/deep.json", std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(errorOf([&] { supernet::loadLatencyTableFile(dir + "/deep.json"); }).find("nested deeper"),
            std::string::npos);
  writeText(dir + "/garbage.json", "{\"version\": 1,");
  EXPECT_NE(errorOf([&] { supernet::loadLatencyTableFile(dir + "/garbage.json"); }).find("not valid JSON"),
            std::string::npos);
  // A file larger than any table: refused before it is read.
  writeText(dir + "/huge.json", std::string(5u << 20, ' '));
  EXPECT_NE(errorOf([&] { supernet::loadLatencyTableFile(dir + "/huge.json"); }).find("more than a table needs"),
            std::string::npos);

  // Named explicitly, a hostile file is an error and stays as it was; in the cache it is replaced by a measured one.
  util::setThreads(1);
  auto sam = test::randomSam(arch, 5);
  supernet::LatencyMeasureOptions o;
  o.warmup = 0;
  o.repeats = 1;
  const std::string bad = dir + "/deep.json";
  EXPECT_THROW(supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64}, dir, bad, o, {}), util::Error);
  EXPECT_EQ(std::filesystem::file_size(bad), 200000u);
  const std::string cached = dir + "/" + supernet::LatencyValidity::current(arch).key() + ".json";
  writeText(cached, "[[[not a table");
  const auto src = supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64}, dir, "", o, {});
  EXPECT_TRUE(src.measured);
  EXPECT_NE(src.note.find("unreadable"), std::string::npos) << src.note;
  EXPECT_NO_THROW(supernet::loadLatencyTableFile(cached));
}

TEST(LatencyTable, CancelWritesNothing) {
  util::setThreads(1);
  const model::SamArch arch = test::tinyArch();
  auto sam = test::randomSam(arch, 6);
  const std::string dir = test::tempDir("latency_table_cancel");
  util::CancelToken token;
  util::JobControl job;
  job.cancel = &token;
  long long reports = 0;
  job.progress = [&](long long done, long long, const std::string&) {
    ++reports;
    if (done >= 3) token.cancel();  // part-way through the blocks
  };
  supernet::LatencyMeasureOptions o;
  o.warmup = 0;
  o.repeats = 1;
  EXPECT_THROW(supernet::loadOrMeasureLatencyTable(sam->image_encoder, arch, {64, 128}, dir, "", o, job),
               util::Cancelled);
  EXPECT_GE(reports, 4);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(LatencyTable, SearchWithPredictedBudgetNeverEvaluatesAPredictionOverIt) {
  const model::SamArch arch = model::SamArch::preset("vit_b");
  const supernet::SearchSpace space = supernet::SearchSpace::official(arch);
  const supernet::LatencyTable table = handTable(arch, supernet::widthsOf(space));
  const double lo = table.minimumMs(arch, space), hi = table.predictMs(arch, space.largest());
  ASSERT_LT(lo, hi);
  search::Constraints c;
  c.maxLatencyMs = lo + 0.4 * (hi - lo);
  const search::SubnetEncoding enc(space, true);
  std::vector<supernet::Subnet> evaluated;
  auto quality = [&](const supernet::Subnet& s) {
    evaluated.push_back(s);
    search::Metrics m;
    m.quality = static_cast<double>(s.keptCount());
    return m;
  };
  const search::Problem p = search::makeSubnetProblem(enc, arch, c, quality, &table);
  for (const std::string name : {"random", "native"}) {
    evaluated.clear();
    search::SearchOptions o;
    o.maxEvaluations = 30;
    o.seed = 3;
    for (const auto& s : search::budgetSeeds(space, arch, c, 3, &table)) {
      EXPECT_LE(table.predictMs(arch, s), *c.maxLatencyMs);
      o.seeds.push_back(enc.fromSubnet(s));
    }
    auto technique = search::makeTechnique(name);
    const search::SearchReport r = search::runSearch(p, *technique, o);
    EXPECT_GT(r.screened, 0) << name;
    ASSERT_EQ(evaluated.size(), r.points.size()) << name;
    for (const supernet::Subnet& s : evaluated) EXPECT_LE(table.predictMs(arch, s), *c.maxLatencyMs) << s.toString();
    for (const search::EvaluatedPoint& pt : r.points) {
      const double predicted = table.predictMs(arch, supernet::Subnet::parse(pt.id.text, arch));
      EXPECT_EQ(pt.metrics.latencyMs, predicted);
      EXPECT_EQ(pt.metrics.details.at("predicted_latency_ms").get<double>(), predicted);
      EXPECT_TRUE(pt.score.feasible);
    }
  }
  // A budget below the smallest prediction: refused before any evaluation.
  search::Constraints tooSmall;
  tooSmall.maxLatencyMs = 0.9 * lo;
  const search::Problem bad = search::makeSubnetProblem(enc, arch, tooSmall, quality, &table);
  auto t = search::makeTechnique("random");
  EXPECT_THROW(search::runSearch(bad, *t, search::SearchOptions{}), util::Error);
}

TEST(LatencyTableCli, MeasuresThenLoadsThenChecks) {
  const std::string dir = test::tempDir("latency_table_cli");
  const std::string ckpt = test::fixturesDir() + "/tiny/checkpoint.pth";
  const std::string table = dir + "/table.json";
  const std::string common = "latency --checkpoint '" + ckpt + "' --table '" + table + "' --threads 1 --warmup 0 "
                             "--repeats 1";
  const test::CliResult first = test::runSupersam(common);
  ASSERT_EQ(first.rc, 0) << first.output;
  EXPECT_NE(first.output.find("measured ("), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("global:"), std::string::npos) << first.output;
  EXPECT_TRUE(std::filesystem::exists(table));
  const test::CliResult second = test::runSupersam(common + " --check 3 --seed 2");
  ASSERT_EQ(second.rc, 0) << second.output;
  EXPECT_NE(second.output.find("loaded from " + table), std::string::npos) << second.output;
  size_t pairs = 0;
  for (size_t at = second.output.find("  predicted "); at != std::string::npos;
       at = second.output.find("  predicted ", at + 1)) {
    ++pairs;
  }
  EXPECT_EQ(pairs, 3u) << second.output;
  EXPECT_NE(second.output.find("error over 3 subnets: mean |%|"), std::string::npos) << second.output;
  // A hostile table file named explicitly: exit 1, the message names the file.
  writeText(dir + "/bad.json", "{\"version\": 1, \"validity\": 3}");
  const test::CliResult bad = test::runSupersam("latency --checkpoint '" + ckpt + "' --table '" + dir +
                                                "/bad.json' --threads 1");
  EXPECT_EQ(bad.rc, 1) << bad.output;
  EXPECT_NE(bad.output.find(dir + "/bad.json"), std::string::npos) << bad.output;
  const test::CliResult badCheck = test::runSupersam(common + " --check -2");
  EXPECT_EQ(badCheck.rc, 1) << badCheck.output;
}
