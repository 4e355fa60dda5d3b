#pragma once
// The search driver: asks a Technique for configurations, evaluates the new ones (optionally several at once on
// threads), scores them against the budgets and tells the technique how each request went.
//
// Duplicates: a configuration is evaluated at most once per run. A repeated request gets the earlier result, is
// credited to the bandit as "not a new best", and does NOT count against the evaluation budget (OpenTuner counts
// it against --test-limit); requests that bring nothing new are counted, and after `maxIdleRequests` of them in a
// row the run stops as exhausted. A configuration found in the ResultStore (evaluated by an earlier or killed
// run under the same protocol) is reused without evaluation but counts as one of this run's configurations, so a
// resumed run replays exactly the run it continues and stops at the same place. Two configurations with the same
// Identity (e.g. differing only in the width of a dropped block) are evaluated once: the second is told the first
// one's result, as a duplicate, and is neither a new point nor counted against the budget.
//
// Screening: when the problem knows a configuration's analytical costs without evaluating it (Problem::costOf) and
// those already break a budget, the configuration is not evaluated. It gets a result from its costs alone
// (infeasible, ranked by how far it is over the analytical budgets, no quality), the technique is told, and it does
// not count as an evaluation: the evaluation budget is spent on configurations that can be feasible. Screened
// configurations are not EvaluatedPoints (not in `points`, not saved, no onPoint); SearchReport::screened counts them.
//
// Seeds: SearchOptions::seeds are requested first, in order, before the technique proposes anything (OpenTuner's
// seed configurations); their results are known to the techniques through bestConfig() and compare().
//
// Thread-safety: runSearch is synchronous. With parallelism > 1, Problem::evaluate is called from several threads
// at once and must be thread-safe; ResultStore::save is serialised by the driver; callbacks run on the calling
// thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/search/objective.h"
#include "core/search/space.h"
#include "core/search/technique.h"
#include "core/util/progress.h"

namespace supersam::search {

// How a configuration is known outside the search: canonical text (a subnet string) and a hash of it.
struct Identity {
  std::string hash;
  std::string text;
};

std::string fnv1aHex(const std::string& text);  // 16 hex digits

struct Problem {
  Space space;
  Constraints constraints;
  std::function<Metrics(const Config&)> evaluate;   // required
  std::function<Metrics()> minimumCost;             // optional: smallest reachable cost figures (NaN = unknown)
  std::function<Identity(const Config&)> identify;  // optional: default = space.describe() + fnv1aHex
  // optional: the analytical costs of a configuration (params, MACs, bytes; quality NaN), cheap; enables screening
  // (above). Its latencyMs is ignored unless costOfHasLatency (a predicted latency, e.g. from a latency table: a
  // latency budget then screens too, exactly like the analytical ones).
  std::function<Metrics(const Config&)> costOf;
  bool costOfHasLatency = false;

  Identity identityOf(const Config& c) const;
};

// A persistent cache of results, e.g. the results database bound to one protocol (results_db.h).
class ResultStore {
 public:
  virtual ~ResultStore() = default;
  virtual std::optional<Metrics> lookup(const Identity& id) = 0;
  // Must be durable when it returns (a killed run keeps every saved result).
  virtual void save(const Identity& id, const Metrics& m, double seconds, const std::string& technique) = 0;
};

struct SearchOptions {
  int64_t maxEvaluations = 100;  // distinct configurations of this run (evaluated or reused); 0 = unlimited
  double maxSeconds = 0.0;       // wall-clock budget; 0 = unlimited
  uint64_t seed = 1;
  int parallelism = 1;           // requests per generation, evaluated concurrently
  int64_t maxIdleRequests = 2000;
  std::vector<Config> seeds;          // requested first, in order (invalid ones are an error)
  int64_t maxScreenedInARow = 100000;  // stop when the technique proposes only screened configurations
};

struct EvaluatedPoint {
  int64_t index = 0;  // order in this run
  Config config;
  Identity id;
  Metrics metrics;
  Score score;
  std::string technique;
  bool reused = false;   // taken from the ResultStore, not evaluated by this run
  bool newBest = false;
  double seconds = 0.0;  // evaluation time (0 when reused)
};

struct SearchReport {
  std::vector<EvaluatedPoint> points;
  int64_t best = -1;  // index into points
  int64_t requests = 0, duplicates = 0, evaluated = 0, reused = 0;
  int64_t screened = 0;  // over an analytical budget: scored from their costs, not evaluated
  double seconds = 0.0;
  std::string stopReason;
  bool cancelled = false;

  const EvaluatedPoint* bestPoint() const { return best >= 0 ? &points[static_cast<size_t>(best)] : nullptr; }
};

using PointFn = std::function<void(const EvaluatedPoint& point, const SearchReport& soFar)>;

// Runs until a budget is spent, the space is exhausted, or job.cancel is set (then returns what it has with
// cancelled = true). Throws util::Error before any evaluation when the budgets cannot be met
// (Problem::minimumCost), and passes on exceptions thrown by Problem::evaluate.
SearchReport runSearch(const Problem& problem, Technique& technique, const SearchOptions& options,
                       const util::JobControl& job = {}, const PointFn& onPoint = {}, ResultStore* store = nullptr);

}  // namespace supersam::search
