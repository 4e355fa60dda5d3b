#include "core/search/subnet_search.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/data/dataset_spec.h"
#include "core/eval/evaluator.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/search/opentuner_backend.h"
#include "core/search/results_db.h"
#include "core/search/subnet_problem.h"
#include "core/search/technique.h"
#include "core/supernet/latency_table.h"
#include "core/util/error.h"

namespace supersam::search {

namespace {

// A content fingerprint of a file (size + FNV of its first and last MiB), so that results of another supernet
// saved under the same name are never reused.
std::string fileFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw util::Error("cannot read supernet '" + path + "'");
  const std::streamoff size = in.tellg();
  const std::streamoff chunk = 1 << 20;
  std::string head(static_cast<size_t>(std::min(size, chunk)), '\0');
  in.seekg(0);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::string tail(static_cast<size_t>(std::min(size, chunk)), '\0');
  in.seekg(size - static_cast<std::streamoff>(tail.size()));
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return std::to_string(size) + "-" + fnv1aHex(head + tail);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw util::Error(message);
}

}  // namespace

void SubnetSearchSettings::validate() const {
  require(!modelPath.empty(), "subnet search: no supernet checkpoint given");
  require(!dataset.empty(), "subnet search: no dataset spec given");
  require(!dbPath.empty(), "subnet search: no results database file given");
  require(backend == "native" || backend == "native-port" || backend == "random" || backend == "opentuner",
          "search backend must be native, native-port, random or opentuner, got '" + backend + "'");
  require(metric == "oracle" || metric == "ranked" || metric == "single",
          "search metric must be oracle, ranked or single, got '" + metric + "'");
  require(widths == "ordinal" || widths == "enum", "search widths must be ordinal or enum, got '" + widths + "'");
  require(prompt == "box" || prompt == "point", "search prompt must be box or point, got '" + prompt + "'");
  require(maxEvaluations > 0 || maxSeconds > 0, "subnet search: give a budget of evaluations or of seconds");
  require(maxEvaluations >= 0 && maxSeconds >= 0, "subnet search: budgets must not be negative");
  require(parallelism >= 1, "subnet search: parallelism must be at least 1, got " + std::to_string(parallelism));
  require(seeds == "auto" || seeds == "on" || seeds == "off",
          "search seeds must be auto, on or off, got '" + seeds + "'");
  require(backend != "opentuner" || !python.empty(), "subnet search: backend opentuner needs a Python path");
  require(latency == "measured" || latency == "predicted",
          "search latency must be measured or predicted, got '" + latency + "'");
  require(latency == "predicted" || latencyTable.empty(), "subnet search: a latency table file needs latency predicted");
}

std::string subnetProtocolKey(const SubnetSearchSettings& s, const nlohmann::json& evalProtocol,
                              const std::string& latencyTableKey) {
  const nlohmann::json key = {{"supernet", fileFingerprint(s.modelPath)},
                              {"dataset", s.dataset},
                              {"protocol", evalProtocol},
                              {"metric", s.metric},
                              {"latency", s.latency == "predicted" ? "predicted-" + latencyTableKey
                                          : s.constraints.maxLatencyMs ? "encoder-median3" : "none"}};
  return key.dump();
}

SubnetSearchOutcome runSubnetSearch(const SubnetSearchSettings& s, const util::JobControl& job,
                                    const PointFn& onPoint,
                                    const std::function<void(const SubnetSearchSetup&)>& onSetup) {
  s.validate();
  SubnetSearchOutcome outcome;
  SubnetSearchSetup& setup = outcome.setup;

  // Model and search space.
  infer::LoadedModel loaded = infer::loadModel(s.modelPath, s.archOverride);
  setup.arch = loaded.arch;
  supernet::SearchSpace subnetSpace = searchSpaceFromMetadata(loaded.metadata, loaded.arch);
  if (s.widthsOnly) subnetSpace = subnetSpace.withPrunable({}, 0.0);
  const SubnetEncoding encoding(subnetSpace, s.widths == "ordinal");
  setup.spaceName = subnetSpace.name();
  setup.spaceSize = subnetSpace.size();
  setup.parameters = encoding.space().size();

  // Evaluation protocol, prepared once (cancellable while images load).
  const std::vector<data::Dataset> datasets = data::loadDatasets(s.dataset);
  eval::EvalProtocol protocol;
  protocol.promptKind = s.prompt == "point" ? data::PromptKind::Point : data::PromptKind::Box;
  protocol.maxImages = s.maxImages;
  protocol.maxObjectsPerImage = s.maxObjectsPerImage;
  protocol.seed = 0;
  util::JobControl prepareJob;
  prepareJob.cancel = job.cancel;
  const eval::PreparedEvalSet prepared(datasets, protocol, &loaded.arch, int64_t{1} << 30, prepareJob);
  setup.images = prepared.imageCount();
  setup.objects = prepared.objectCount();
  if (setup.objects == 0) throw util::Error("dataset '" + s.dataset + "' has no object to evaluate on");
  setup.protocolKey = subnetProtocolKey(s, protocol.toJson());

  // Predicted latency: the table for this machine (loaded, or measured now: cancellable, writes nothing then).
  std::optional<supernet::LatencyTable> latencyTable;
  if (s.latency == "predicted") {
    supernet::LatencyTableSource src = supernet::loadOrMeasureLatencyTable(
        loaded.sam->image_encoder, loaded.arch, supernet::widthsOf(subnetSpace), "", s.latencyTable,
        supernet::LatencyMeasureOptions{}, job);
    setup.latencyTablePath = src.path;
    setup.latencyTableMeasured = src.measured;
    latencyTable = std::move(src.table);
    // Results predicted from another machine's table are not this protocol's.
    setup.protocolKey = subnetProtocolKey(s, protocol.toJson(), latencyTable->validity.key());
  }

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
  const bool measureLatency = s.constraints.maxLatencyMs && !latencyTable;
  if (measureLatency) {
    const auto& img = prepared.datasets().front().images.front();
    latencyInput = img.encoderInput.defined()
                       ? img.encoderInput
                       : at::zeros({1, 3, loaded.arch.imageSize, loaded.arch.imageSize}, at::kFloat);
  }
  auto quality = [&](const supernet::Subnet& subnet) {
    infer::Predictor& predictor = predictorForThisThread();
    const model::ElasticConfig cfg = subnet.toElastic();
    const eval::EvalResult r = eval::evaluate(predictor, cfg, prepared);
    Metrics m;
    const eval::MiouTriple& t = r.overall;
    m.quality = s.metric == "oracle" ? t.oracle : s.metric == "ranked" ? t.ranked : t.single;
    m.details = {{"miou_oracle", t.oracle}, {"miou_ranked", t.ranked}, {"miou_single", t.single},
                 {"objects", r.objects}, {"eval_seconds", r.seconds},
                 {"miou_box_fill", r.overallBoxFill}};  // the baseline of the same objects, beside every mIoU
    if (measureLatency) {
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
  const Problem problem =
      makeSubnetProblem(encoding, loaded.arch, s.constraints, quality, latencyTable ? &*latencyTable : nullptr);

  SearchOptions options;
  options.maxEvaluations = s.maxEvaluations;
  options.maxSeconds = s.maxSeconds;
  options.seed = s.seed;
  options.parallelism = s.parallelism;
  const bool seeded = s.seeds == "on" || (s.seeds == "auto" && s.backend != "random");
  if (seeded) {
    for (const supernet::Subnet& seed : budgetSeeds(encoding.subnetSpace(), loaded.arch, s.constraints, 3,
                                                    latencyTable ? &*latencyTable : nullptr)) {
      options.seeds.push_back(encoding.fromSubnet(seed));
    }
  }

  // Database and run record (the same settings resume a run that did not complete).
  ResultsDb db(s.dbPath);
  const nlohmann::json runSettings = {{"supernet", s.modelPath},
                                      {"protocol_key", setup.protocolKey},
                                      {"constraints", s.constraints.toJson()},
                                      {"latency", s.latency},
                                      {"budget", options.maxEvaluations},
                                      {"time", options.maxSeconds},
                                      {"widths", s.widths},
                                      {"seeds", seeded},
                                      {"parallel", options.parallelism}};
  setup.runId = db.openRun(s.backend, options.seed, runSettings);
  DbResultStore store(db, setup.protocolKey, setup.runId);

  try {
    std::unique_ptr<Technique> technique;
    if (s.backend == "opentuner") {
      OpenTunerOptions ot;
      ot.python = s.python;
      ot.database = s.opentunerDb.empty() ? s.dbPath + ".opentuner.sqlite" : s.opentunerDb;
      ot.seed = options.seed;
      technique = std::make_unique<OpenTunerTechnique>(problem.space, ot);
    } else {
      technique = makeTechnique(s.backend);
    }
    if (onSetup) onSetup(setup);
    outcome.report = runSearch(problem, *technique, options, job, onPoint, &store);
    technique.reset();  // ends an OpenTuner run
  } catch (...) {
    db.setRunStatus(setup.runId, "failed");
    throw;
  }
  db.setRunStatus(setup.runId, outcome.report.cancelled ? "cancelled" : "complete");
  return outcome;
}

}  // namespace supersam::search
