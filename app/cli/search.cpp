// `supersam search`: constrained subnet search (core/search) on a supernet, every evaluation kept in a SQLite
// results database (resumable, reused across runs), best subnet and Pareto front at the end.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/search/pareto.h"
#include "core/search/results_db.h"
#include "core/search/subnet_search.h"
#include "core/supernet/cost_model.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam search --supernet FILE --dataset SPEC --db FILE [options]

Finds the subnet with the best mIoU under the budgets. Every evaluation goes to the results database: a result is
reused whenever the same subnet is evaluated under the same protocol (supernet file, datasets, prompts, metric),
and a run that was killed resumes where it stopped when started again with the same options.

  --supernet FILE        supernet checkpoint (its "supernet" metadata gives the search space; else the official one)
  --dataset SPEC         evaluation data (see `supersam eval --help`); '+' joins several datasets
  --db FILE              results database (SQLite; created if missing)
  --prompt box|point     prompt per object (default box)
  --metric M             oracle | ranked | single mIoU to maximise (default oracle, the paper's best-of-3)
  --images N             first N images of each dataset (default all)
  --objects N            at most N objects per image, a seeded subset (default 16)
  --max-params N         budget on parameters (e.g. 4.5e7)
  --max-macs N           budget on image-encoder multiply-accumulates
  --max-bytes N          budget on fp32 weight bytes
  --max-latency-ms X     budget on the image-encoder latency in ms (see --latency)
  --latency M            measured (median of 3 encoder runs of each evaluated subnet, default) | predicted (the
                         per-block latency table of this machine, `supersam latency`: measured once and cached;
                         subnets predicted over the budget are not evaluated; every result records its prediction)
  --latency-table FILE   with --latency predicted: this table file instead of the cache
  --budget EVALS         distinct subnets to evaluate (default 100)
  --time S               wall-clock budget in seconds (with --budget: whichever comes first)
  --backend B            native (built-in tuner: OpenTuner's default search plus a budget-edge local search,
                         default) | native-port (OpenTuner's default search alone) | random | opentuner (the real
                         one)
  --space 2d|1d          2d: widths and the prunable blocks (default); 1d: widths only, every block kept
  --widths ordinal|enum  width parameters as ordered integer indices (default: the tuner's numeric
                         operators then exploit that wider is better) or as enums (OpenTuner's and the official
                         code's encoding; measured ~random-search speed, see README)
  --seeds auto|on|off    start from informed subnets (the widest that fit the budgets after dropping the least
                         important prunable blocks); auto = on except for --backend random (default auto)
  --parallel K           candidates per generation, evaluated on K threads (default 1)
  --seed N               search seed; evaluation prompts use seed 0 so runs stay comparable (default 0)
  --out FILE             best subnet + figures as JSON
  --csv FILE             every result of this protocol as CSV (Pareto front marked)
  --plot FILE.png        all points and the Pareto front
  --python PATH          Python for --backend opentuner (default /usr/bin/python3)
  --opentuner-db FILE    OpenTuner's own database (default <db>.opentuner.sqlite)
  --threads N            LibTorch threads (default: all cores)
Subnets whose parameters, MACs, bytes or predicted latency already break a budget are ranked from the cost model without being
evaluated, and do not count against --budget.
Ctrl-C stops the search cleanly after the current evaluation.)";

std::atomic<bool> g_interrupted{false};
util::CancelToken* g_token = nullptr;

void onSigint(int) {
  g_interrupted.store(true);
  if (g_token) g_token->cancel();
}

std::string human(double v) {
  char buf[32];
  if (std::isnan(v)) return "-";
  if (std::fabs(v) >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  } else if (std::fabs(v) >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

std::optional<double> optionalNumber(const Args& a, const std::string& name) {
  if (!a.has(name)) return std::nullopt;
  const double v = a.getDouble(name, 0.0);
  if (!(v > 0)) throw util::Error("--" + name + " must be a positive number");
  return v;
}

search::SubnetSearchSettings settingsFrom(const Args& a) {
  search::SubnetSearchSettings s;
  s.modelPath = a.required("supernet");
  s.dataset = a.required("dataset");
  s.dbPath = a.required("db");
  s.prompt = a.get("prompt").value_or("box");
  s.metric = a.get("metric").value_or("oracle");
  s.maxImages = a.getInt64("images", -1);
  s.maxObjectsPerImage = a.getInt64("objects", 16);
  s.constraints.maxParams = optionalNumber(a, "max-params");
  s.constraints.maxMacs = optionalNumber(a, "max-macs");
  s.constraints.maxBytes = optionalNumber(a, "max-bytes");
  s.constraints.maxLatencyMs = optionalNumber(a, "max-latency-ms");
  s.latency = a.get("latency").value_or("measured");
  s.latencyTable = a.get("latency-table").value_or("");
  s.maxEvaluations = a.getInt64("budget", a.has("time") ? 0 : 100);
  s.maxSeconds = a.getDouble("time", 0.0);
  s.backend = a.get("backend").value_or("native");
  s.widths = a.get("widths").value_or("ordinal");
  const std::string depth = a.get("space").value_or("2d");
  if (depth != "2d" && depth != "1d") throw util::Error("--space must be 2d or 1d, got '" + depth + "'");
  s.widthsOnly = depth == "1d";
  s.parallelism = std::max(1, a.getInt("parallel", 1));
  s.seeds = a.get("seeds").value_or("auto");
  s.seed = static_cast<uint64_t>(a.getInt64("seed", 0));
  s.python = a.get("python").value_or("/usr/bin/python3");
  s.opentunerDb = a.get("opentuner-db").value_or("");
  s.validate();
  return s;
}

void printBest(const search::SubnetSearchSettings& s, const search::SubnetSearchOutcome& o) {
  const search::SearchReport& report = o.report;
  std::printf("stopped: %s after %.1f s; %lld evaluated, %lld reused, %lld duplicate requests, %lld over a budget "
              "(not evaluated)\n",
              report.stopReason.c_str(), report.seconds, static_cast<long long>(report.evaluated),
              static_cast<long long>(report.reused), static_cast<long long>(report.duplicates),
              static_cast<long long>(report.screened));
  const search::EvaluatedPoint* best = report.bestPoint();
  if (!best) throw util::Error("the search evaluated nothing");
  const supernet::Cost fullCost = supernet::computeCost(o.setup.arch);
  std::printf("best subnet%s: %s\n  mIoU %.4f (%s; oracle %.4f, ranked %.4f, single %.4f)\n  params %s (%.1f %% of "
              "the full model), MACs %s, fp32 %s bytes%s\n",
              best->score.feasible ? "" : " (NO subnet met the budgets; closest)", best->id.text.c_str(),
              best->metrics.quality, s.metric.c_str(), best->metrics.details.value("miou_oracle", NAN),
              best->metrics.details.value("miou_ranked", NAN), best->metrics.details.value("miou_single", NAN),
              human(best->metrics.params).c_str(), 100.0 * best->metrics.params / static_cast<double>(fullCost.params),
              human(best->metrics.macs).c_str(), human(best->metrics.bytes).c_str(),
              std::isnan(best->metrics.latencyMs)
                  ? ""
                  : (", latency " + human(best->metrics.latencyMs) + " ms" + (s.latency == "predicted" ? " (predicted)" : ""))
                        .c_str());
}

void writeBestJson(const std::string& path, const search::SubnetSearchSettings& s,
                   const search::SubnetSearchOutcome& o) {
  const search::EvaluatedPoint* best = o.report.bestPoint();
  nlohmann::json j = {{"subnet", best->id.text},
                      {"hash", best->id.hash},
                      {"feasible", best->score.feasible},
                      {"quality", best->metrics.quality},
                      {"metric", s.metric},
                      {"details", best->metrics.details},
                      {"params", best->metrics.params},
                      {"macs", best->metrics.macs},
                      {"bytes_fp32", best->metrics.bytes},
                      {"constraints", s.constraints.toJson()},
                      {"backend", s.backend},
                      {"seed", s.seed},
                      {"run", o.setup.runId},
                      {"evaluated", o.report.evaluated},
                      {"reused", o.report.reused},
                      {"stop_reason", o.report.stopReason}};
  if (!std::isnan(best->metrics.latencyMs)) j["latency_ms"] = best->metrics.latencyMs;
  j["latency"] = s.latency;
  util::writeFileAtomic(path, j.dump(2) + "\n");
}

int runSearchCommand(const std::vector<std::string>& argv) {
  Args a(argv,
         {"supernet", "dataset", "db", "prompt", "metric", "images", "objects", "max-params", "max-macs", "max-bytes",
          "max-latency-ms", "latency", "latency-table", "budget", "time", "backend", "widths", "space", "parallel", "seeds", "seed", "out", "csv",
          "plot", "python", "opentuner-db", "threads"},
         {});
  util::setThreads(a.getInt("threads", 0));
  const search::SubnetSearchSettings s = settingsFrom(a);

  auto onSetup = [&](const search::SubnetSearchSetup& setup) {
    std::cout << "supernet " << s.modelPath << ": space '" << setup.spaceName << "', " << setup.spaceSize
              << " subnets, " << setup.parameters << " parameters\n"
              << "evaluation: " << setup.images << " images, " << setup.objects << " objects (" << s.prompt
              << " prompts, " << s.metric << " mIoU)\n"
              << "run " << setup.runId << " (" << s.backend << ", seed " << s.seed
              << "), budgets: " << s.constraints.describe() << std::endl;
    if (!setup.latencyTablePath.empty()) {
      std::cout << "latency predicted from the table " << setup.latencyTablePath
                << (setup.latencyTableMeasured ? " (measured now)" : "") << std::endl;
    }
  };
  auto onPoint = [&](const search::EvaluatedPoint& p, const search::SearchReport& r) {
    const search::EvaluatedPoint* best = r.bestPoint();
    std::printf("[%lld%s] %s mIoU %.4f params %s MACs %s%s%s%s | best %.4f  %s\n",
                static_cast<long long>(p.index + 1),
                s.maxEvaluations > 0 ? ("/" + std::to_string(s.maxEvaluations)).c_str() : "",
                p.reused ? "reused " : "", p.metrics.quality, human(p.metrics.params).c_str(),
                human(p.metrics.macs).c_str(),
                std::isnan(p.metrics.latencyMs) ? "" : (" latency " + human(p.metrics.latencyMs) + " ms").c_str(),
                p.score.feasible ? "" : " (over budget)", p.newBest ? " *" : "", best ? best->metrics.quality : NAN,
                p.id.text.c_str());
    std::fflush(stdout);
  };

  util::CancelToken token;
  g_token = &token;
  struct sigaction sa {};
  sa.sa_handler = onSigint;
  struct sigaction old {};
  sigaction(SIGINT, &sa, &old);
  util::JobControl job;
  job.cancel = &token;
  search::SubnetSearchOutcome outcome;
  try {
    outcome = search::runSubnetSearch(s, job, onPoint, onSetup);
  } catch (...) {
    sigaction(SIGINT, &old, nullptr);
    g_token = nullptr;
    throw;
  }
  sigaction(SIGINT, &old, nullptr);
  g_token = nullptr;

  printBest(s, outcome);
  search::ResultsDb db(s.dbPath);
  const std::vector<search::StoredResult> all = db.results(outcome.setup.protocolKey);
  const std::vector<size_t> front = search::paretoFront(all);
  std::printf("Pareto front of this protocol (%zu of %zu results):\n", front.size(), all.size());
  for (size_t i : front) {
    std::printf("  params %-9s mIoU %.4f  %s\n", human(all[i].metrics.params).c_str(), all[i].metrics.quality,
                all[i].subnet.c_str());
  }
  if (auto out = a.get("out")) writeBestJson(*out, s, outcome);
  if (auto csv = a.get("csv")) search::exportCsv(*csv, all);
  if (auto plot = a.get("plot")) {
    search::PlotOptions po;
    po.budget = s.constraints.maxParams.value_or(0.0);
    po.yLabel = s.metric + " mIoU";
    search::plotPareto(*plot, all, po);
  }
  return outcome.report.cancelled ? 130 : 0;
}

}  // namespace

SUPERSAM_COMMAND("search", "constrained subnet search (built-in tuner, random, or OpenTuner) with a results database",
                 kUsage, runSearchCommand);

}  // namespace supersam::cli
