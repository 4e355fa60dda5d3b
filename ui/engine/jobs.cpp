// The GUI's long jobs over the core. Includes torch (through core headers) and no Qt.
#include "ui/engine/jobs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/data/dataset_spec.h"
#include "core/eval/evaluator.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/search/subnet_search.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/importance.h"
#include "core/supernet/sensitivity.h"
#include "core/supernet/supernet_info.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

namespace supersam::ui::jobs {

namespace {

// The architecture override: the one given, else arch.json beside a .pth checkpoint.
std::optional<std::string> archFor(const ModelSource& m) {
  namespace fs = std::filesystem;
  if (m.path.empty()) throw util::Error("no checkpoint given: open one first (File > Open checkpoint)");
  if (!m.archOverride.empty()) return m.archOverride;
  const auto beside = fs::path(m.path).parent_path() / "arch.json";
  if (fs::path(m.path).extension() == ".pth" && fs::exists(beside)) return beside.string();
  return std::nullopt;
}

infer::LoadedModel load(const ModelSource& m) { return infer::loadModel(m.path, archFor(m)); }

std::string fmt(double v, int digits = 4) {
  std::ostringstream s;
  s.precision(digits);
  s << std::fixed << v;
  return s.str();
}

// The checkpoint's tensors plus its metadata, with "format" and "arch" refreshed (as `supersam convert` writes).
std::map<std::string, std::string> baseMetadata(const infer::LoadedModel& m) {
  auto md = m.metadata;
  md["format"] = "supersam";
  md["arch"] = m.arch.toJsonText();
  return md;
}

}  // namespace

std::string calibrate(const CalibrateParams& p, const JobSink& sink) {
  if (p.out.empty()) throw util::Error("calibrate: choose an output file");
  infer::LoadedModel m = load(p.model);
  data::ReadOptions ro;
  ro.limit = std::max(1, p.images);
  const auto datasets = data::loadDatasets(p.dataset, ro);
  std::vector<at::Tensor> inputs;
  for (const auto& ds : datasets) {
    for (const auto& s : ds.samples) {
      if (static_cast<int>(inputs.size()) >= p.images) break;
      sink.control.check();
      inputs.push_back(infer::preprocessImage(data::loadImageRgb(s.imagePath), m.arch, nullptr));
    }
  }
  if (inputs.empty()) throw util::Error("calibrate: dataset '" + p.dataset + "' has no image");
  sink.control.report(0, 3, "reordering MLP neurons (" + p.method + ")");
  const auto method = supernet::parseReorderMethod(p.method);
  auto encoder = m.sam->image_encoder;
  const supernet::ReorderRecord reorder = supernet::reorderEncoder(encoder, method, inputs, 0, {{}, sink.control.cancel});
  sink.control.report(1, 3, "measuring block sensitivity");
  const auto quality = supernet::embeddingQuality(encoder, inputs);
  util::JobControl sensJob;
  sensJob.cancel = sink.control.cancel;
  sensJob.progress = [&](long long done, long long total, const std::string& status) {
    sink.control.report(1, 3, "sensitivity " + std::to_string(done) + "/" + std::to_string(total) + " " + status);
  };
  const supernet::SensitivityTable table = supernet::measureSensitivity(
      m.arch, quality, "embedding_rel_change", static_cast<int64_t>(inputs.size()), -1, sensJob);
  for (size_t b = 0; b < table.dropLoss.size(); ++b) {
    sink.send({"sensitivity", {{"block", static_cast<double>(b)}, {"loss", table.dropLoss[b]}}, {}});
  }
  const int64_t depth = m.arch.encoderDepth;
  const int64_t prunable = p.prunable >= 0 ? p.prunable : std::min<int64_t>(5, depth - 1);
  supernet::SupernetInfo info;
  info.space = supernet::SearchSpace::measured(m.arch, table.importance(), prunable, p.pMax);
  info.sensitivity = table;
  info.reorder = reorder;
  auto md = baseMetadata(m);
  md["supernet"] = info.toJsonText();
  sink.control.report(2, 3, "writing " + p.out);
  io::saveSafetensors(p.out, io::stateDictOf(*m.sam), md);
  sink.control.report(3, 3, "done");
  std::string order;
  for (auto b : table.order) order += (order.empty() ? "" : ",") + std::to_string(b);
  return "calibrated with " + std::to_string(inputs.size()) + " images; blocks least important first: " + order +
         "; wrote " + p.out;
}

std::string train(const TrainParams& p, const JobSink& sink) {
  if (p.out.empty()) throw util::Error("train: choose an output file");
  infer::LoadedModel m = load(p.model);
  m.sam->train();
  const supernet::SupernetInfo info = supernet::readSupernetInfo(m.metadata, m.arch);
  auto trainSets = data::loadDatasets(p.trainDataset);
  std::vector<data::Dataset> valSets;
  if (!p.valDataset.empty()) valSets = data::loadDatasets(p.valDataset);
  train::TrainConfig cfg;
  cfg.steps = p.steps;
  cfg.batch = p.batch;
  cfg.lr = p.lr;
  cfg.warmup = std::min<int64_t>(cfg.warmup, std::max<int64_t>(1, p.steps / 10));
  cfg.randomSubnets = p.randomSubnets;
  cfg.checkpointEvery = 0;
  cfg.validateEvery = p.validateEvery;
  cfg.valImages = p.valImages;
  train::Trainer trainer(m.sam, info.space, baseMetadata(m), std::move(trainSets), std::move(valSets), cfg);
  const auto validate = [&]() {
    for (const auto& v : trainer.validate()) {
      sink.send({"validation",
                 {{"step", static_cast<double>(trainer.step())}, {"box_miou", v.boxMIoU}, {"point_miou", v.pointMIoU}},
                 v.subnetName + " on " + v.dataset});
    }
  };
  bool cancelled = false;
  double lastLoss = 0;
  while (trainer.step() < p.steps) {
    if (sink.control.cancelled()) {
      cancelled = true;
      break;
    }
    const train::StepStats s = trainer.trainStep();
    lastLoss = s.loss;
    const double rate = s.seconds > 0 ? 1.0 / s.seconds : 0.0;
    sink.send({"train",
               {{"step", static_cast<double>(s.step + 1)}, {"loss", s.loss}, {"lr", s.lr}, {"steps_per_s", rate}},
               {}});
    sink.control.report(s.step + 1, p.steps, "loss " + fmt(s.loss) + "  lr " + fmt(s.lr, 6) + "  " + fmt(rate, 2) +
                                                  " steps/s");
    if (!valSets.empty() || !p.valDataset.empty()) {
      if (p.validateEvery > 0 && (s.step + 1) % p.validateEvery == 0) validate();
    }
  }
  if (!cancelled && !p.valDataset.empty() && (p.validateEvery <= 0 || p.steps % p.validateEvery != 0)) validate();
  trainer.saveSupernet(p.out);
  return (cancelled ? "cancelled after " : "trained ") + std::to_string(trainer.step()) + " steps, last loss " +
         fmt(lastLoss) + "; wrote " + p.out;
}

std::string evaluate(const EvaluateParams& p, const JobSink& sink) {
  infer::LoadedModel m = load(p.model);
  const auto datasets = data::loadDatasets(p.dataset);
  eval::EvalProtocol protocol;
  protocol.promptKind = p.prompt == "point" ? data::PromptKind::Point : data::PromptKind::Box;
  protocol.maxImages = p.maxImages;
  protocol.maxObjectsPerImage = p.maxObjects;
  const eval::PreparedEvalSet prepared(datasets, protocol, &m.arch, int64_t{1} << 30, sink.control);
  if (prepared.objectCount() == 0) throw util::Error("dataset '" + p.dataset + "' has no object to evaluate on");
  const supernet::Subnet subnet =
      p.subnet.empty() ? supernet::Subnet::full(m.arch) : supernet::Subnet::parse(p.subnet, m.arch);
  infer::Predictor predictor(m.sam);
  const eval::EvalResult r = eval::evaluate(predictor, subnet.toElastic(), prepared, sink.control);
  for (const auto& d : r.datasets) {
    sink.send({"dataset",
               {{"oracle", d.miou.oracle}, {"ranked", d.miou.ranked}, {"single", d.miou.single},
                {"objects", static_cast<double>(d.objects)}},
               d.name});
  }
  return "mIoU on " + std::to_string(r.objects) + " objects (" + p.prompt + " prompts): oracle best-of-3 " +
         fmt(r.overall.oracle) + ", ranked (what a user sees) " + fmt(r.overall.ranked) + ", single-mask " +
         fmt(r.overall.single) + "; " + fmt(r.promptsPerSecond, 1) + " prompts/s; subnet " + subnet.toString();
}

std::string search(const SearchParams& p, const JobSink& sink) {
  if (p.db.empty()) throw util::Error("search: choose a results database file");
  search::SubnetSearchSettings s;
  s.modelPath = p.model.path;
  s.archOverride = archFor(p.model);
  s.dataset = p.dataset;
  s.prompt = p.prompt;
  s.metric = p.metric;
  s.maxImages = p.maxImages;
  s.maxObjectsPerImage = p.maxObjects;
  if (p.maxParamsM > 0) s.constraints.maxParams = p.maxParamsM * 1e6;
  if (p.maxGmacs > 0) s.constraints.maxMacs = p.maxGmacs * 1e9;
  s.maxEvaluations = p.budget;
  s.maxSeconds = p.seconds;
  s.backend = p.backend;
  s.widths = p.widths;
  s.seed = p.seed;
  s.dbPath = p.db;
  s.python = p.python;
  sink.control.report(0, p.budget, "preparing the evaluation set");
  auto onPoint = [&](const search::EvaluatedPoint& pt, const search::SearchReport& r) {
    const double params = std::isnan(pt.metrics.params) ? 0 : pt.metrics.params;
    const double macs = std::isnan(pt.metrics.macs) ? 0 : pt.metrics.macs;
    sink.send({"search",
               {{"index", static_cast<double>(pt.index)},
                {"params_m", params / 1e6},
                {"gmacs", macs / 1e9},
                {"latency_ms", std::isnan(pt.metrics.latencyMs) ? -1.0 : pt.metrics.latencyMs},
                {"miou", pt.metrics.quality},
                {"feasible", pt.score.feasible ? 1.0 : 0.0},
                {"new_best", pt.newBest ? 1.0 : 0.0},
                {"best_miou", r.bestPoint() ? r.bestPoint()->metrics.quality : NAN}},
               pt.id.text});
    sink.control.report(pt.index + 1, p.budget, "evaluated " + std::to_string(pt.index + 1) + ", best mIoU " +
                                                    (r.bestPoint() ? fmt(r.bestPoint()->metrics.quality) : "-"));
  };
  util::JobControl job;  // cancel only: progress is reported per point above
  job.cancel = sink.control.cancel;
  const search::SubnetSearchOutcome outcome = search::runSubnetSearch(s, job, onPoint);
  const search::SearchReport& report = outcome.report;
  const search::EvaluatedPoint* best = report.bestPoint();
  std::string text = (report.cancelled ? "cancelled: " : "") + std::to_string(report.points.size()) +
                     " subnets (" + std::to_string(report.evaluated) + " evaluated, " +
                     std::to_string(report.reused) + " reused; " + std::to_string(report.screened) +
                     " over a budget, ranked without evaluating), stopped: " + report.stopReason;
  if (best) text += "; best mIoU " + fmt(best->metrics.quality) + " " + best->id.text;
  return text;
}

}  // namespace supersam::ui::jobs
