#include "core/search/tuner.h"

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
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

struct Screened {
  Metrics metrics;
  Score score;
};

// The configuration's result from its analytical costs alone when those already break a budget whose figure they
// know; nullopt when it may be feasible (or nothing is known) and must be evaluated.
std::optional<Screened> screen(const Problem& problem, const Config& c) {
  if (!problem.costOf || !problem.constraints.any()) return std::nullopt;
  Screened s;
  s.metrics = problem.costOf(c);
  s.metrics.quality = kUnknown;
  if (!problem.costOfHasLatency) s.metrics.latencyMs = kUnknown;
  const Constraints& all = problem.constraints;
  Constraints known;
  if (all.maxParams && !std::isnan(s.metrics.params)) known.maxParams = all.maxParams;
  if (all.maxMacs && !std::isnan(s.metrics.macs)) known.maxMacs = all.maxMacs;
  if (all.maxBytes && !std::isnan(s.metrics.bytes)) known.maxBytes = all.maxBytes;
  if (all.maxLatencyMs && !std::isnan(s.metrics.latencyMs)) known.maxLatencyMs = all.maxLatencyMs;
  s.score = scoreOf(s.metrics, known);
  if (s.score.feasible) return std::nullopt;
  return s;
}

// New: evaluated now. Reused: found in the ResultStore. Duplicate: this configuration already has a result in this
// run. Alias: another configuration of this run (or of this generation) has the same identity.
class Driver : public SearchContext {
 public:
  Driver(const Problem& p, uint64_t seed) : m_problem(p), m_rng(seed) {}

  const Space& space() const override { return m_problem.space; }
  Rng& rng() override { return m_rng; }
  const Config* bestConfig() const override {
    return report.best >= 0 ? &report.points[static_cast<size_t>(report.best)].config : nullptr;
  }
  bool hasResult(const Config& c) const override { return index.count(c) > 0 || screened.count(c) > 0; }
  bool hasAnalyticBudget() const override {
    const Constraints& b = m_problem.constraints;
    return m_problem.costOf && (b.maxParams || b.maxMacs || b.maxBytes || (b.maxLatencyMs && m_problem.costOfHasLatency));
  }
  bool fitsBudget(const Config& c) const override { return !screen(m_problem, c).has_value(); }
  int compare(const Config& a, const Config& b) const override {
    const Score* sa = scoreOf(a);
    const Score* sb = scoreOf(b);
    if (!sa || !sb) return (sa ? 0 : 1) - (sb ? 0 : 1);
    return compareScores(*sa, *sb);
  }
  // The known result of `c` (evaluated, reused, screened, or an alias of an evaluated one) as the technique is told
  // it, naming `c` itself; c must have a result and must outlive the Outcome.
  Outcome outcomeOf(const Config& c, bool duplicate) const {
    if (auto it = index.find(c); it != index.end()) {
      const EvaluatedPoint& p = report.points[it->second];
      return Outcome{c, p.metrics, p.score, false, duplicate};
    }
    const Screened& s = screened.at(c);
    return Outcome{c, s.metrics, s.score, false, duplicate};
  }

  SearchReport report;
  std::map<Config, size_t> index;
  std::map<Config, Screened> screened;

 private:
  const Score* scoreOf(const Config& c) const {
    if (auto it = index.find(c); it != index.end()) return &report.points[it->second].score;
    if (auto it = screened.find(c); it != screened.end()) return &it->second.score;
    return nullptr;
  }
  const Problem& m_problem;
  Rng m_rng;
};

enum class ReqKind { New, Reused, Duplicate, Alias };

struct Request {
  int64_t id = 0;
  Config config;
  std::string source;
  bool seed = false;  // from SearchOptions::seeds: no technique proposed it
  ReqKind kind = ReqKind::New;
  Identity identity;
  Metrics metrics;
  double seconds = 0.0;
};

std::string statusLine(const SearchReport& r) {
  const EvaluatedPoint* b = r.bestPoint();
  char buf[200];
  if (!b) return "no result yet";
  std::snprintf(buf, sizeof buf, "best quality %.4f%s, size %.4g (%" PRId64 " evaluated, %" PRId64 " reused)",
                b->score.quality, b->score.feasible ? "" : " (over budget)", b->score.size, r.evaluated, r.reused);
  return buf;
}

// One search run: a loop of generations, each asked of the technique (ask), evaluated (possibly side by side,
// evaluate) and told back in request order (tell), until a stop condition holds (stopReason).
class SearchRun {
 public:
  SearchRun(const Problem& problem, Technique& technique, const SearchOptions& options, const util::JobControl& job,
            const PointFn& onPoint, ResultStore* store)
      : m_problem(problem), m_technique(technique), m_options(options), m_job(job), m_onPoint(onPoint),
        m_store(store), m_d(problem, options.seed), m_cardinality(problem.space.cardinality()),
        m_parallelism(std::max(1, options.parallelism)) {}

  SearchReport run() {
    for (;;) {
      if (std::optional<std::string> why = stopReason()) {
        m_d.report.stopReason = *why;
        m_d.report.cancelled = *why == "cancelled";
        break;
      }
      int64_t screenedHere = 0;
      std::vector<Request> gen = ask(screenedHere);
      if (gen.empty()) {
        if (screenedHere == 0) ++m_idle;
        continue;
      }
      evaluate(gen);
      const bool anyNew = tell(gen);
      m_idle = anyNew ? 0 : m_idle + static_cast<int64_t>(gen.size());
    }
    m_d.report.seconds = since(m_t0);
    return std::move(m_d.report);
  }

 private:
  std::optional<std::string> stopReason() const {
    const SearchReport& report = m_d.report;
    const auto done = static_cast<int64_t>(report.points.size());
    if (m_job.cancelled()) return "cancelled";
    if (m_options.maxEvaluations > 0 && done >= m_options.maxEvaluations) return "evaluation budget reached";
    if (m_options.maxSeconds > 0 && since(m_t0) >= m_options.maxSeconds) return "time budget reached";
    if (static_cast<double>(done + report.screened) >= m_cardinality) return "search space exhausted";
    if (m_idle > m_options.maxIdleRequests) return "no new configuration in " + std::to_string(m_idle) + " requests";
    if (m_screenedInARow > m_options.maxScreenedInARow) {
      return "no configuration within the budgets proposed in " + std::to_string(m_screenedInARow) + " requests";
    }
    return std::nullopt;
  }

  // One generation of up to `parallelism` requests needing an evaluation (plus duplicates and aliases, answered
  // from results); configurations over an analytical budget are told at once and left out.
  std::vector<Request> ask(int64_t& screenedHere) {
    SearchReport& report = m_d.report;
    const auto done = static_cast<int64_t>(report.points.size());
    const int64_t remaining = m_options.maxEvaluations > 0 ? m_options.maxEvaluations - done : INT64_MAX;
    std::vector<Request> gen;
    std::map<Config, size_t> genNew;
    std::map<std::string, size_t> genIdentity;
    int64_t fresh = 0;
    for (int z = 0; z < m_parallelism && fresh < remaining && m_screenedInARow <= m_options.maxScreenedInARow;) {
      const bool fromSeed = m_nextSeed < m_options.seeds.size();
      Proposal p = fromSeed ? Proposal::of(m_options.seeds[m_nextSeed++], "seed")
                            : m_technique.propose(m_d, m_nextRequest);
      if (p.kind != Proposal::Kind::Config) break;
      if (!m_problem.space.isValid(p.config)) {
        throw std::logic_error("search technique " + p.source + " proposed an invalid configuration");
      }
      Request r;
      r.id = m_nextRequest++;
      r.config = std::move(p.config);
      r.source = std::move(p.source);
      r.seed = fromSeed;
      ++report.requests;
      if (m_d.hasResult(r.config) || genNew.count(r.config)) {
        r.kind = ReqKind::Duplicate;
      } else if (std::optional<Screened> sc = screen(m_problem, r.config)) {
        // Over an analytical budget: known without an evaluation, told at once, not part of the generation.
        ++report.screened;
        ++m_screenedInARow;
        ++screenedHere;
        auto [it, inserted] = m_d.screened.emplace(std::move(r.config), std::move(*sc));
        (void)inserted;
        if (!r.seed) {
          m_technique.onResult(m_d, r.id, Outcome{it->first, it->second.metrics, it->second.score, false, false});
        }
        continue;
      } else {
        m_screenedInARow = 0;
        r.identity = m_problem.identityOf(r.config);
        if (m_byIdentity.count(r.identity.hash) || genIdentity.count(r.identity.hash)) {
          r.kind = ReqKind::Alias;  // the same subnet under another configuration: its result, no evaluation
        } else {
          std::optional<Metrics> cached;
          if (m_store) cached = m_store->lookup(r.identity);
          r.kind = cached ? ReqKind::Reused : ReqKind::New;
          if (cached) r.metrics = std::move(*cached);
          genIdentity[r.identity.hash] = gen.size();
          ++fresh;
        }
        genNew[r.config] = gen.size();
      }
      gen.push_back(std::move(r));
      ++z;
    }
    return gen;
  }

  // Evaluates the new requests (side by side when parallel); each result is saved as soon as it exists.
  void evaluate(std::vector<Request>& gen) {
    std::vector<size_t> todo;
    for (size_t i = 0; i < gen.size(); ++i) {
      if (gen[i].kind == ReqKind::New) todo.push_back(i);
    }
    auto evalOne = [&](size_t i) {
      Request& r = gen[i];
      const auto te = Clock::now();
      r.metrics = m_problem.evaluate(r.config);
      r.seconds = since(te);
      if (m_store) {
        std::lock_guard<std::mutex> lock(m_storeMutex);
        m_store->save(r.identity, r.metrics, r.seconds, r.source);
      }
    };
    if (todo.size() <= 1 || m_parallelism == 1) {
      for (size_t i : todo) evalOne(i);
      return;
    }
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

  // Tells the technique in request order, so that a seed gives the same run whatever the evaluation order.
  // True when the generation added a point.
  bool tell(std::vector<Request>& gen) {
    SearchReport& report = m_d.report;
    bool anyNew = false;
    for (Request& r : gen) {
      if (r.kind == ReqKind::Duplicate || r.kind == ReqKind::Alias) {
        ++report.duplicates;
        if (r.kind == ReqKind::Alias) m_d.index[r.config] = m_byIdentity.at(r.identity.hash);
        if (!r.seed) m_technique.onResult(m_d, r.id, m_d.outcomeOf(r.config, true));
        continue;
      }
      anyNew = true;
      EvaluatedPoint pt;
      pt.index = static_cast<int64_t>(report.points.size());
      pt.config = r.config;
      pt.id = std::move(r.identity);
      pt.metrics = r.metrics;
      pt.score = scoreOf(pt.metrics, m_problem.constraints);
      pt.technique = r.source;
      pt.reused = r.kind == ReqKind::Reused;
      pt.seconds = r.seconds;
      const EvaluatedPoint* best = report.bestPoint();
      pt.newBest = !best || compareScores(pt.score, best->score) < 0;
      (pt.reused ? report.reused : report.evaluated) += 1;
      report.points.push_back(std::move(pt));
      const EvaluatedPoint& added = report.points.back();
      m_d.index[added.config] = static_cast<size_t>(added.index);
      m_byIdentity.emplace(added.id.hash, static_cast<size_t>(added.index));
      if (added.newBest) report.best = added.index;
      report.seconds = since(m_t0);
      if (m_onPoint) m_onPoint(added, report);
      m_job.report(static_cast<long long>(report.points.size()), m_options.maxEvaluations, statusLine(report));
      if (!r.seed) {
        m_technique.onResult(m_d, r.id, Outcome{added.config, added.metrics, added.score, added.newBest, false});
      }
    }
    return anyNew;
  }

  const Problem& m_problem;
  Technique& m_technique;
  const SearchOptions& m_options;
  const util::JobControl& m_job;
  const PointFn& m_onPoint;
  ResultStore* m_store;
  Driver m_d;
  const Clock::time_point m_t0 = Clock::now();
  const double m_cardinality;
  const int m_parallelism;
  int64_t m_nextRequest = 0;
  int64_t m_idle = 0;
  size_t m_nextSeed = 0;
  int64_t m_screenedInARow = 0;
  // Different configurations may be the same thing outside the search (a dropped block's width does not matter):
  // each identity is evaluated once per run.
  std::map<std::string, size_t> m_byIdentity;
  std::mutex m_storeMutex;
};

}  // namespace

SearchReport runSearch(const Problem& problem, Technique& technique, const SearchOptions& options,
                       const util::JobControl& job, const PointFn& onPoint, ResultStore* store) {
  if (!problem.evaluate) throw util::Error("search: the problem has no objective");
  if (problem.space.size() == 0) throw util::Error("search: the search space has no parameters");
  if (problem.minimumCost) checkBudgetsReachable(problem.constraints, problem.minimumCost());
  for (const Config& c : options.seeds) {
    if (!problem.space.isValid(c)) throw util::Error("search: a seed configuration is not in the search space");
  }
  return SearchRun(problem, technique, options, job, onPoint, store).run();
}

}  // namespace supersam::search
