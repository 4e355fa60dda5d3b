// `supersam search`: constrained subnet search (core/search) on a supernet, every evaluation kept in a SQLite
// results database (resumable, reused across runs), best subnet and Pareto front at the end.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/data/dataset_spec.h"
#include "core/eval/evaluator.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/search/opentuner_backend.h"
#include "core/search/pareto.h"
#include "core/search/results_db.h"
#include "core/search/subnet_problem.h"
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
  --max-latency-ms X     budget on the measured image-encoder latency (median of 3 runs, this machine)
  --budget EVALS         distinct subnets to evaluate (default 100)
  --time S               wall-clock budget in seconds (with --budget: whichever comes first)
  --backend B            native (built-in OpenTuner-style tuner, default) | random | opentuner (the real one)
  --widths ordinal|enum  width parameters as ordered integer indices (default: the tuner's numeric
                         operators then exploit that wider is better) or as enums (OpenTuner's and the official
                         code's encoding; measured ~random-search speed, see README)
  --parallel K           candidates per generation, evaluated on K threads (default 1)
  --seed N               search seed; evaluation prompts use seed 0 so runs stay comparable (default 0)
  --out FILE             best subnet + figures as JSON
  --csv FILE             every result of this protocol as CSV (Pareto front marked)
  --plot FILE.png        all points and the Pareto front
  --python PATH          Python for --backend opentuner (default /usr/bin/python3)
  --opentuner-db FILE    OpenTuner's own database (default <db>.opentuner.sqlite)
  --threads N            LibTorch threads (default: all cores)
Ctrl-C stops the search cleanly after the current evaluation.)";

std::atomic<bool> g_interrupted{false};
util::CancelToken* g_token = nullptr;

void onSigint(int) {
  g_interrupted.store(true);
  if (g_token) g_token->cancel();
}

// A content fingerprint of the supernet file (size + FNV of its first and last MiB), so that results of another
// supernet saved under the same name are never reused.
std::string fileFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw util::Error("cannot read '" + path + "'");
  const std::streamoff size = in.tellg();
  const std::streamoff chunk = 1 << 20;
  std::string bytes(static_cast<size_t>(std::min(size, chunk)), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::string tail(static_cast<size_t>(std::min(size, chunk)), '\0');
  in.seekg(size - static_cast<std::streamoff>(tail.size()));
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return std::to_string(size) + "-" + search::fnv1aHex(bytes + tail);
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

int runSearchCommand(const std::vector<std::string>& argv) {
  Args a(argv,
         {"supernet", "dataset", "db", "prompt", "metric", "images", "objects", "max-params", "max-macs", "max-bytes",
          "max-latency-ms", "budget", "time", "backend", "widths", "parallel", "seed", "out", "csv", "plot", "python",
          "opentuner-db", "threads"},
         {});
  util::setThreads(a.getInt("threads", 0));
  const std::string backend = a.get("backend").value_or("native");
  if (backend != "native" && backend != "random" && backend != "opentuner") {
    throw util::Error("--backend must be native, random or opentuner, got '" + backend + "'");
  }
  const std::string metric = a.get("metric").value_or("oracle");
  if (metric != "oracle" && metric != "ranked" && metric != "single") {
    throw util::Error("--metric must be oracle, ranked or single, got '" + metric + "'");
  }
  const std::string widths = a.get("widths").value_or("ordinal");
  if (widths != "enum" && widths != "ordinal") throw util::Error("--widths must be enum or ordinal");
  const std::string prompt = a.get("prompt").value_or("box");
  if (prompt != "box" && prompt != "point") throw util::Error("--prompt must be box or point, got '" + prompt + "'");

  search::Constraints constraints;
  constraints.maxParams = optionalNumber(a, "max-params");
  constraints.maxMacs = optionalNumber(a, "max-macs");
  constraints.maxBytes = optionalNumber(a, "max-bytes");
  constraints.maxLatencyMs = optionalNumber(a, "max-latency-ms");

  search::SearchOptions options;
  options.maxEvaluations = a.getInt64("budget", a.has("time") ? 0 : 100);
  options.maxSeconds = a.getDouble("time", 0.0);
  options.seed = static_cast<uint64_t>(a.getInt64("seed", 0));
  options.parallelism = std::max(1, a.getInt("parallel", 1));
  if (options.maxEvaluations <= 0 && options.maxSeconds <= 0) throw util::Error("give --budget EVALS or --time S");

  // Model and search space.
  const std::string supernetPath = a.required("supernet");
  infer::LoadedModel loaded = infer::loadModel(supernetPath);
  const supernet::SearchSpace subnetSpace = search::searchSpaceFromMetadata(loaded.metadata, loaded.arch);
  search::SubnetEncoding encoding(subnetSpace, widths == "ordinal");
  std::cout << "supernet " << supernetPath << ": space '" << subnetSpace.name() << "', " << subnetSpace.size()
            << " subnets, " << encoding.space().size() << " parameters\n";

  // Evaluation protocol, prepared once.
  const std::string datasetSpec = a.required("dataset");
  const std::vector<data::Dataset> datasets = data::loadDatasets(datasetSpec);
  eval::EvalProtocol protocol;
  protocol.promptKind = prompt == "box" ? data::PromptKind::Box : data::PromptKind::Point;
  protocol.maxImages = a.getInt64("images", -1);
  protocol.maxObjectsPerImage = a.getInt64("objects", 16);
  protocol.seed = 0;
  const eval::PreparedEvalSet prepared(datasets, protocol, &loaded.arch);
  std::cout << "evaluation: " << prepared.imageCount() << " images, " << prepared.objectCount() << " objects ("
            << prompt << " prompts, " << metric << " mIoU)\n";
  if (prepared.objectCount() == 0) throw util::Error("dataset '" + datasetSpec + "' has no object to evaluate on");

  const nlohmann::json protocolJson = {{"supernet", fileFingerprint(supernetPath)},
                                       {"dataset", datasetSpec},
                                       {"protocol", protocol.toJson()},
                                       {"metric", metric},
                                       {"latency", constraints.maxLatencyMs ? "encoder-median3" : "none"}};
  const std::string protocolKey = protocolJson.dump();

  // One predictor per evaluating thread (a predictor holds the current image).
  std::mutex predictorsMutex;
  std::map<std::thread::id, std::unique_ptr<infer::Predictor>> predictors;
  auto predictorForThisThread = [&]() -> infer::Predictor& {
    std::lock_guard<std::mutex> lock(predictorsMutex);
    auto& p = predictors[std::this_thread::get_id()];
    if (!p) p = std::make_unique<infer::Predictor>(loaded.sam);
    return *p;
  };
  at::Tensor latencyInput;
  if (constraints.maxLatencyMs) {
    const auto& img = prepared.datasets().front().images.front();
    latencyInput = img.encoderInput.defined()
                       ? img.encoderInput
                       : at::zeros({1, 3, loaded.arch.imageSize, loaded.arch.imageSize}, at::kFloat);
  }
  auto quality = [&](const supernet::Subnet& s) {
    infer::Predictor& predictor = predictorForThisThread();
    const model::ElasticConfig cfg = s.toElastic();
    const eval::EvalResult r = eval::evaluate(predictor, cfg, prepared);
    search::Metrics m;
    const eval::MiouTriple& t = r.overall;
    m.quality = metric == "oracle" ? t.oracle : metric == "ranked" ? t.ranked : t.single;
    m.details = {{"miou_oracle", t.oracle}, {"miou_ranked", t.ranked}, {"miou_single", t.single},
                 {"objects", r.objects}, {"eval_seconds", r.seconds}};
    if (constraints.maxLatencyMs) {
      c10::InferenceMode guard;
      std::vector<double> ms;
      for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        (void)loaded.sam->image_encoder->forward(latencyInput, &cfg);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      m.latencyMs = ms[1];
    }
    return m;
  };
  search::Problem problem = search::makeSubnetProblem(encoding, loaded.arch, constraints, quality);

  // Database and run record.
  const std::string dbPath = a.required("db");
  search::ResultsDb db(dbPath);
  const nlohmann::json settings = {{"supernet", supernetPath},   {"protocol_key", protocolKey},
                                   {"constraints", constraints.toJson()}, {"budget", options.maxEvaluations},
                                   {"time", options.maxSeconds}, {"widths", widths},
                                   {"parallel", options.parallelism}};
  const int64_t runId = db.openRun(backend, options.seed, settings);
  search::DbResultStore store(db, protocolKey, runId);

  std::unique_ptr<search::Technique> technique;
  if (backend == "opentuner") {
    search::OpenTunerOptions ot;
    ot.python = a.get("python").value_or("/usr/bin/python3");
    ot.database = a.get("opentuner-db").value_or(dbPath + ".opentuner.sqlite");
    ot.seed = options.seed;
    technique = std::make_unique<search::OpenTunerTechnique>(problem.space, ot);
  } else {
    technique = search::makeTechnique(backend);
  }
  std::cout << "run " << runId << " (" << backend << ", seed " << options.seed << "), budgets: "
            << constraints.describe() << "\n";

  util::CancelToken token;
  g_token = &token;
  struct sigaction sa {};
  sa.sa_handler = onSigint;
  struct sigaction old {};
  sigaction(SIGINT, &sa, &old);
  util::JobControl job;
  job.cancel = &token;
  auto onPoint = [&](const search::EvaluatedPoint& p, const search::SearchReport& r) {
    const search::EvaluatedPoint* best = r.bestPoint();
    std::printf("[%lld%s] %s mIoU %.4f params %s MACs %s%s%s%s | best %.4f  %s\n",
                static_cast<long long>(p.index + 1),
                options.maxEvaluations > 0 ? ("/" + std::to_string(options.maxEvaluations)).c_str() : "",
                p.reused ? "reused " : "", p.metrics.quality, human(p.metrics.params).c_str(),
                human(p.metrics.macs).c_str(),
                std::isnan(p.metrics.latencyMs) ? "" : (" latency " + human(p.metrics.latencyMs) + " ms").c_str(),
                p.score.feasible ? "" : " (over budget)", p.newBest ? " *" : "", best ? best->metrics.quality : NAN,
                p.id.text.c_str());
    std::fflush(stdout);
  };
  search::SearchReport report;
  try {
    report = search::runSearch(problem, *technique, options, job, onPoint, &store);
  } catch (...) {
    sigaction(SIGINT, &old, nullptr);
    g_token = nullptr;
    db.setRunStatus(runId, "failed");
    throw;
  }
  sigaction(SIGINT, &old, nullptr);
  g_token = nullptr;
  technique.reset();  // ends an OpenTuner run
  db.setRunStatus(runId, report.cancelled ? "cancelled" : "complete");

  std::printf("stopped: %s after %.1f s; %lld evaluated, %lld reused, %lld duplicate requests\n",
              report.stopReason.c_str(), report.seconds, static_cast<long long>(report.evaluated),
              static_cast<long long>(report.reused), static_cast<long long>(report.duplicates));
  const search::EvaluatedPoint* best = report.bestPoint();
  if (!best) throw util::Error("the search evaluated nothing");
  const supernet::Cost fullCost = supernet::computeCost(loaded.arch);
  std::printf("best subnet%s: %s\n  mIoU %.4f (%s; oracle %.4f, ranked %.4f, single %.4f)\n  params %s (%.1f %% of "
              "the full model), MACs %s, fp32 %s bytes%s\n",
              best->score.feasible ? "" : " (NO subnet met the budgets; closest)", best->id.text.c_str(),
              best->metrics.quality, metric.c_str(), best->metrics.details.value("miou_oracle", NAN),
              best->metrics.details.value("miou_ranked", NAN), best->metrics.details.value("miou_single", NAN),
              human(best->metrics.params).c_str(), 100.0 * best->metrics.params / static_cast<double>(fullCost.params),
              human(best->metrics.macs).c_str(), human(best->metrics.bytes).c_str(),
              std::isnan(best->metrics.latencyMs) ? "" : (", latency " + human(best->metrics.latencyMs) + " ms").c_str());

  const std::vector<search::StoredResult> all = db.results(protocolKey);
  const std::vector<size_t> front = search::paretoFront(all);
  std::printf("Pareto front of this protocol (%zu of %zu results):\n", front.size(), all.size());
  for (size_t i : front) {
    std::printf("  params %-9s mIoU %.4f  %s\n", human(all[i].metrics.params).c_str(), all[i].metrics.quality,
                all[i].subnet.c_str());
  }
  if (auto out = a.get("out")) {
    nlohmann::json j = {{"subnet", best->id.text},
                        {"hash", best->id.hash},
                        {"feasible", best->score.feasible},
                        {"quality", best->metrics.quality},
                        {"metric", metric},
                        {"details", best->metrics.details},
                        {"params", best->metrics.params},
                        {"macs", best->metrics.macs},
                        {"bytes_fp32", best->metrics.bytes},
                        {"constraints", constraints.toJson()},
                        {"backend", backend},
                        {"seed", options.seed},
                        {"run", runId},
                        {"evaluated", report.evaluated},
                        {"reused", report.reused},
                        {"stop_reason", report.stopReason}};
    if (!std::isnan(best->metrics.latencyMs)) j["latency_ms"] = best->metrics.latencyMs;
    util::writeFileAtomic(*out, j.dump(2) + "\n");
  }
  if (auto csv = a.get("csv")) search::exportCsv(*csv, all);
  if (auto plot = a.get("plot")) {
    search::PlotOptions po;
    po.budget = constraints.maxParams.value_or(0.0);
    po.yLabel = metric + " mIoU";
    search::plotPareto(*plot, all, po);
  }
  return report.cancelled ? 130 : 0;
}

}  // namespace

SUPERSAM_COMMAND("search", "constrained subnet search (built-in tuner, random, or OpenTuner) with a results database",
                 kUsage, runSearchCommand);

}  // namespace supersam::cli
