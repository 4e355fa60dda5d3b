#include "core/search/opentuner_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/search/tuner.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"
#include "tests/core/search/synthetic_problem.h"

namespace supersam::search {
namespace {

namespace fs = std::filesystem;
using testing::SyntheticSupernet;

// A stand-in for OpenTuner implementing only the API surface the bridge uses. It proposes random unique
// configurations, returns None on every third request (the bridge must retry), checks what it is given, and
// writes a summary next to the database when the run finishes.
const char* kFakeFiles[][2] = {
    {"opentuner/__init__.py", R"py(
import argparse
_parser = argparse.ArgumentParser(add_help=False)
_parser.add_argument('--database')
_parser.add_argument('--technique', action='append')
def argparsers():
    return [_parser]
)py"},
    {"opentuner/measurement/__init__.py", ""},
    {"opentuner/measurement/inputmanager.py", "class FixedInputManager(object):\n    pass\n"},
    {"opentuner/measurement/interface.py", R"py(
class DefaultMeasurementInterface(object):
    def __init__(self, args=None, manipulator=None, objective=None, input_manager=None, **kw):
        assert input_manager is not None
        self.args, self.manipulator, self.objective = args, manipulator, objective
)py"},
    {"opentuner/resultsdb/__init__.py", ""},
    {"opentuner/resultsdb/models.py", R"py(
class _Column(object):
    def desc(self):
        return self
class Result(object):
    time = _Column()
    accuracy = _Column()
    size = _Column()
    def __init__(self, time=None, accuracy=None, size=None):
        self.time, self.accuracy, self.size = time, accuracy, size
)py"},
    {"opentuner/search/__init__.py", ""},
    {"opentuner/search/objective.py", R"py(
class SearchObjective(object):
    def result_order_by_terms(self):
        return []
class ThresholdAccuracyMinimizeTime(SearchObjective):
    def __init__(self, target):
        self.target = target
    def result_compare(self, a, b):
        ka = (-min(self.target, a.accuracy), a.time)
        kb = (-min(self.target, b.accuracy), b.time)
        return (ka > kb) - (ka < kb)
)py"},
    {"opentuner/search/manipulator.py", R"py(
import random
class EnumParameter(object):
    def __init__(self, name, options):
        self.name, self.options = name, list(options)
    def random(self):
        return random.choice(self.options)
class BooleanParameter(object):
    def __init__(self, name):
        self.name = name
    def random(self):
        return random.choice((True, False))
class IntegerParameter(object):
    def __init__(self, name, lo, hi):
        self.name, self.lo, self.hi = name, lo, hi
    def random(self):
        return random.randint(self.lo, self.hi)
class ConfigurationManipulator(object):
    def __init__(self):
        self.params = []
    def add_parameter(self, p):
        self.params.append(p)
)py"},
    {"opentuner/api.py", R"py(
import json, os, random
class _Configuration(object):
    def __init__(self, data):
        self.data = data
class _DesiredResult(object):
    def __init__(self, data):
        self.configuration = _Configuration(data)
class TuningRunManager(object):
    def __init__(self, interface, args):
        assert os.path.isabs(args.database), args.database
        self.interface, self.args = interface, args
        self.seen, self.calls, self.asks, self.reports, self.best = set(), 0, 0, 0, None
    def get_next_desired_result(self):
        self.calls += 1
        if self.calls % 3 == 0:
            return None
        params = self.interface.manipulator.params
        for _ in range(50):
            data = dict((p.name, p.random()) for p in params)
            key = json.dumps(data, sort_keys=True)
            if key not in self.seen:
                self.seen.add(key)
                self.asks += 1
                return _DesiredResult(data)
        return None
    def report_result(self, dr, result):
        assert result.time is not None and result.accuracy is not None
        self.reports += 1
        if self.best is None or self.interface.objective.result_compare(result, self.best[1]) < 0:
            self.best = (dr.configuration.data, result)
    def get_best_configuration(self):
        return self.best[0] if self.best else None
    def finish(self):
        with open(self.args.database + '.fake.json', 'w') as f:
            json.dump({'asks': self.asks, 'reports': self.reports, 'calls': self.calls,
                       'database': self.args.database}, f)
)py"},
};

fs::path makeFake(const std::string& tag) {
  const fs::path root = test::tempDir("fake_opentuner_" + tag);  // under the build tree, one folder per process
  for (const auto& f : kFakeFiles) {
    fs::path p = root / "pkg" / f[0];
    fs::create_directories(p.parent_path());
    std::ofstream(p) << f[1];
  }
  fs::create_directories(root / "work");
  fs::create_directories(root / "empty");
  return root;
}

OpenTunerOptions fakeOptions(const fs::path& root, const std::string& pythonPath) {
  OpenTunerOptions o;
  o.database = (root / "work" / "opentuner.db").string();
  o.environment["PYTHONPATH"] = pythonPath;
  o.seed = 5;
  return o;
}

TEST(OpenTunerBridge, AskTellWithAFakeOpenTuner) {
  const fs::path root = makeFake("asktell");
  SyntheticSupernet s;
  Problem p = s.problem(110.0);
  OpenTunerOptions o = fakeOptions(root, (root / "pkg").string());
  SearchOptions so;
  so.maxEvaluations = 40;
  SearchReport r;
  nlohmann::json best;
  {
    OpenTunerTechnique t(p.space, o);
    EXPECT_EQ(fs::path(t.openTunerLocation()), root / "pkg" / "opentuner");
    r = runSearch(p, t, so);
    best = t.finish();
  }
  ASSERT_EQ(r.points.size(), 40u);
  EXPECT_EQ(r.duplicates, 0);
  ASSERT_NE(r.bestPoint(), nullptr);
  EXPECT_EQ(best, p.space.toJson(r.bestPoint()->config));  // same objective on both sides
  std::ifstream in(o.database + ".fake.json");
  ASSERT_TRUE(in.good()) << "the bridge did not call finish()";
  nlohmann::json summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["asks"], 40);
  EXPECT_EQ(summary["reports"], 40);
  EXPECT_GT(summary["calls"].get<int>(), 40);  // Nones were retried
  EXPECT_EQ(summary["database"], o.database);

  // The threshold objective is accepted as well.
  o.objective = "threshold";
  OpenTunerTechnique t2(p.space, o);
  so.maxEvaluations = 5;
  EXPECT_EQ(runSearch(p, t2, so).points.size(), 5u);
}

TEST(OpenTunerBridge, ExhaustedSpaceEndsTheRun) {
  const fs::path root = makeFake("exhausted");
  Problem p;
  p.space.addEnum("e", {"a", "b", "c"});
  p.space.addBool("f");
  p.evaluate = [](const Config& c) {
    Metrics m;
    m.quality = static_cast<double>(c[0]);
    return m;
  };
  OpenTunerTechnique t(p.space, fakeOptions(root, (root / "pkg").string()));
  SearchReport r = runSearch(p, t, SearchOptions{});
  EXPECT_EQ(r.points.size(), 6u);
}

TEST(OpenTunerBridge, MissingOpenTunerGivesInstallAdvice) {
  const fs::path root = makeFake("missing");
  Space space;
  space.addBool("b");
  try {
    OpenTunerTechnique t(space, fakeOptions(root, (root / "empty").string()));
    FAIL() << "expected util::Error";
  } catch (const util::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("not importable"), std::string::npos) << m;
    EXPECT_NE(m.find("pip install opentuner"), std::string::npos) << m;
    EXPECT_NE(m.find("python3-sqlalchemy"), std::string::npos) << m;
  }
  OpenTunerOptions bad = fakeOptions(root, (root / "pkg").string());
  bad.python = (root / "no-such-python").string();
  EXPECT_THROW(OpenTunerTechnique(space, bad), util::Error);
  OpenTunerOptions noDir = fakeOptions(root, (root / "pkg").string());
  noDir.database = (root / "missing" / "ot.db").string();
  EXPECT_THROW(OpenTunerTechnique(space, noDir), util::Error);
}

// The real OpenTuner. Built only when CMake is configured with -DSUPERSAM_OPENTUNER_PYTHONPATH=<checkout> (OpenTuner
// is not a Debian package and cannot be vendored); then a checkout that does not import is a failure, not a skip.
#ifdef SUPERSAM_OPENTUNER_PYTHONPATH
TEST(OpenTunerBridge, RealOpenTuner) {
  const std::string pythonPath = SUPERSAM_OPENTUNER_PYTHONPATH;
  const std::string probe = "PYTHONPATH='" + pythonPath + "' /usr/bin/python3 -c 'import opentuner.api'";
  ASSERT_EQ(std::system(probe.c_str()), 0) << "OpenTuner does not import from " << pythonPath;
  const fs::path root = makeFake("real");
  SyntheticSupernet s;
  Problem p = s.problem(110.0);
  OpenTunerOptions o = fakeOptions(root, pythonPath);
  SearchOptions so;
  so.maxEvaluations = 40;
  OpenTunerTechnique t(p.space, o);
  EXPECT_EQ(t.openTunerLocation().find(root.string()), std::string::npos);
  const SearchReport r = runSearch(p, t, so);
  EXPECT_EQ(r.points.size(), 40u);
  const nlohmann::json best = t.finish();
  EXPECT_TRUE(best.is_object());
  EXPECT_FALSE(best.empty());
  EXPECT_TRUE(fs::exists(o.database));
}
#endif

}  // namespace
}  // namespace supersam::search
