#include "core/search/tuner.h"

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "core/util/error.h"

namespace supersam::search {

std::string fnv1aHex(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

Identity Problem::identityOf(const Config& c) const {
  if (identify) return identify(c);
  Identity id;
  id.text = space.describe(c);
  id.hash = fnv1aHex(id.text);
  return id;
}

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

class Driver : public SearchContext {
 public:
  Driver(const Problem& p, uint64_t seed) : m_problem(p), m_rng(seed) {}

  const Space& space() const override { return m_problem.space; }
  Rng& rng() override { return m_rng; }
  const Config* bestConfig() const override {
    return report.best >= 0 ? &report.points[static_cast<size_t>(report.best)].config : nullptr;
  }
  bool hasResult(const Config& c) const override { return index.count(c) > 0; }
  int compare(const Config& a, const Config& b) const override {
    auto ia = index.find(a);
    auto ib = index.find(b);
    if (ia == index.end() || ib == index.end()) {
      return (ia == index.end() ? 1 : 0) - (ib == index.end() ? 1 : 0);
    }
    return compareScores(report.points[ia->second].score, report.points[ib->second].score);
  }

  SearchReport report;
  std::map<Config, size_t> index;

 private:
  const Problem& m_problem;
  Rng m_rng;
};

enum class ReqKind { New, Reused, Duplicate };

struct Request {
  int64_t id = 0;
  Config config;
  std::string source;
  ReqKind kind = ReqKind::New;
  Identity identity;
  Metrics metrics;
  double seconds = 0.0;
  std::optional<size_t> aliasOf;  // index in the generation of the request whose result this one shares
};

std::string statusLine(const SearchReport& r) {
  const EvaluatedPoint* b = r.bestPoint();
  char buf[200];
  if (!b) return "no result yet";
  std::snprintf(buf, sizeof buf, "best quality %.4f%s, size %.4g (%" PRId64 " evaluated, %" PRId64 " reused)",
                b->score.quality, b->score.feasible ? "" : " (over budget)", b->score.size, r.evaluated, r.reused);
  return buf;
}

}  // namespace

SearchReport runSearch(const Problem& problem, Technique& technique, const SearchOptions& options,
                       const util::JobControl& job, const PointFn& onPoint, ResultStore* store) {
  if (!problem.evaluate) throw util::Error("search: the problem has no objective");
  if (problem.space.size() == 0) throw util::Error("search: the search space has no parameters");
  if (problem.minimumCost) checkBudgetsReachable(problem.constraints, problem.minimumCost());

  const auto t0 = Clock::now();
  Driver d(problem, options.seed);
  SearchReport& report = d.report;
  const double cardinality = problem.space.cardinality();
  const int parallelism = std::max(1, options.parallelism);
  int64_t nextRequest = 0;
  int64_t idle = 0;
  // Different configurations may be the same thing outside the search (a dropped block's width does not matter):
  // evaluate each identity once per run.
  std::map<std::string, size_t> byIdentity;
  std::mutex storeMutex;

  for (;;) {
    if (job.cancelled()) {
      report.cancelled = true;
      report.stopReason = "cancelled";
      break;
    }
    const auto done = static_cast<int64_t>(report.points.size());
    if (options.maxEvaluations > 0 && done >= options.maxEvaluations) {
      report.stopReason = "evaluation budget reached";
      break;
    }
    if (options.maxSeconds > 0 && since(t0) >= options.maxSeconds) {
      report.stopReason = "time budget reached";
      break;
    }
    if (static_cast<double>(done) >= cardinality) {
      report.stopReason = "search space exhausted";
      break;
    }
    if (idle > options.maxIdleRequests) {
      report.stopReason = "no new configuration in " + std::to_string(idle) + " requests";
      break;
    }

    // Ask: one generation of up to `parallelism` requests.
    const int64_t remaining = options.maxEvaluations > 0 ? options.maxEvaluations - done : INT64_MAX;
    std::vector<Request> gen;
    std::map<Config, size_t> genNew;
    std::map<std::string, size_t> genIdentity;
    int64_t fresh = 0;
    for (int z = 0; z < parallelism && fresh < remaining; ++z) {
      Proposal p = technique.propose(d, nextRequest);
      if (p.kind != Proposal::Kind::Config) break;
      if (!problem.space.isValid(p.config)) {
        throw std::logic_error("search technique " + p.source + " proposed an invalid configuration");
      }
      Request r;
      r.id = nextRequest++;
      r.config = std::move(p.config);
      r.source = std::move(p.source);
      ++report.requests;
      if (d.hasResult(r.config) || genNew.count(r.config)) {
        r.kind = ReqKind::Duplicate;
      } else {
        r.identity = problem.identityOf(r.config);
        std::optional<Metrics> cached;
        if (auto it = byIdentity.find(r.identity.hash); it != byIdentity.end()) {
          cached = report.points[it->second].metrics;
        } else if (auto g = genIdentity.find(r.identity.hash); g != genIdentity.end()) {
          r.aliasOf = g->second;  // same identity as a request of this generation: share its result
        } else if (store) {
          cached = store->lookup(r.identity);
        }
        r.kind = cached || r.aliasOf ? ReqKind::Reused : ReqKind::New;
        if (cached) r.metrics = std::move(*cached);
        if (r.kind == ReqKind::New) genIdentity[r.identity.hash] = gen.size();
        genNew[r.config] = gen.size();
        ++fresh;
      }
      gen.push_back(std::move(r));
    }
    if (gen.empty()) {
      ++idle;
      continue;
    }

    // Evaluate the new ones; each result is saved as soon as it exists.
    std::vector<size_t> todo;
    for (size_t i = 0; i < gen.size(); ++i) {
      if (gen[i].kind == ReqKind::New) todo.push_back(i);
    }
    auto evalOne = [&](size_t i) {
      Request& r = gen[i];
      const auto te = Clock::now();
      r.metrics = problem.evaluate(r.config);
      r.seconds = since(te);
      if (store) {
        std::lock_guard<std::mutex> lock(storeMutex);
        store->save(r.identity, r.metrics, r.seconds, r.source);
      }
    };
    if (todo.size() <= 1 || parallelism == 1) {
      for (size_t i : todo) evalOne(i);
    } else {
      std::vector<std::exception_ptr> errors(todo.size());
      std::vector<std::thread> threads;
      for (size_t t = 0; t < todo.size(); ++t) {
        threads.emplace_back([&, t] {
          try {
            evalOne(todo[t]);
          } catch (...) {
            errors[t] = std::current_exception();
          }
        });
      }
      for (std::thread& th : threads) th.join();
      for (const std::exception_ptr& e : errors) {
        if (e) std::rethrow_exception(e);
      }
    }

    // Tell, in request order, so that a seed gives the same run whatever the evaluation order.
    bool anyNew = false;
    for (Request& r : gen) {
      if (r.kind == ReqKind::Duplicate) {
        ++report.duplicates;
        const EvaluatedPoint& prev = report.points[d.index.at(r.config)];
        technique.onResult(d, r.id, Outcome{prev.config, prev.metrics, prev.score, false, true});
        continue;
      }
      anyNew = true;
      if (r.aliasOf) r.metrics = gen[*r.aliasOf].metrics;
      EvaluatedPoint pt;
      pt.index = static_cast<int64_t>(report.points.size());
      pt.config = r.config;
      pt.id = std::move(r.identity);
      pt.metrics = r.metrics;
      pt.score = scoreOf(pt.metrics, problem.constraints);
      pt.technique = r.source;
      pt.reused = r.kind == ReqKind::Reused;
      pt.seconds = r.seconds;
      const EvaluatedPoint* best = report.bestPoint();
      pt.newBest = !best || compareScores(pt.score, best->score) < 0;
      (pt.reused ? report.reused : report.evaluated) += 1;
      report.points.push_back(std::move(pt));
      const EvaluatedPoint& added = report.points.back();
      d.index[added.config] = static_cast<size_t>(added.index);
      byIdentity.emplace(added.id.hash, static_cast<size_t>(added.index));
      if (added.newBest) report.best = added.index;
      report.seconds = since(t0);
      if (onPoint) onPoint(added, report);
      job.report(static_cast<long long>(report.points.size()), options.maxEvaluations, statusLine(report));
      technique.onResult(d, r.id, Outcome{added.config, added.metrics, added.score, added.newBest, false});
    }
    idle = anyNew ? 0 : idle + static_cast<int64_t>(gen.size());
  }
  report.seconds = since(t0);
  return report;
}

}  // namespace supersam::search
