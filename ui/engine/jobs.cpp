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
#include "core/pipeline/calibrate_job.h"
#include "core/pipeline/train_job.h"
#include "core/search/subnet_search.h"
#include "core/supernet/subnet.h"
#include "core/train/augment.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/importance.h"
#include "core/supernet/sensitivity.h"
#include "core/supernet/supernet_info.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

namespace supersam::ui::jobs {

namespace {

std::optional<std::string> archOf(const ModelSource& m) {
  if (m.path.empty()) throw util::Error("no checkpoint given: open one first (File > Open checkpoint)");
  return m.archOverride.empty() ? std::nullopt : std::optional<std::string>(m.archOverride);
}

std::string fmt(double v, int digits = 4) {
  std::ostringstream s;
  s.precision(digits);
  s << std::fixed << v;
  return s.str();
}

}  // namespace

std::string calibrate(const CalibrateParams& p, const JobSink& sink) {
  pipeline::CalibrateJob job;
  job.checkpoint = p.model.path;
  job.arch = archOf(p.model);
  if (!p.imagesDir.empty() && !p.dataset.empty()) {
    throw util::Error("calibrate: give either a dataset or a folder of images, not both");
  }
  job.dataset = p.dataset;
  job.imagesDir = p.imagesDir;
  job.maxImages = std::max(1, p.images);
  job.method = supernet::parseReorderMethod(p.method);
  job.prunable = p.prunable;
  job.pMax = p.pMax;
  job.out = p.out;
  const pipeline::CalibrateOutcome r =
      pipeline::calibrateCheckpoint(job, sink.control, [&](const std::string& note) { sink.send({"note", {}, note}); });
  const supernet::SensitivityTable& table = *r.info.sensitivity;
  for (size_t b = 0; b < table.dropLoss.size(); ++b) {
    sink.send({"sensitivity", {{"block", static_cast<double>(b)}, {"loss", table.dropLoss[b]}}, {}});
  }
  std::string order;
  for (auto b : table.order) order += (order.empty() ? "" : ",") + std::to_string(b);
  return "calibrated with " + std::to_string(r.images) + " images; blocks least important first: " + order +
         "; wrote " + p.out;
}

std::string train(const TrainParams& p, const JobSink& sink) {
  pipeline::TrainJob job;
  job.supernet = p.model.path;
  job.arch = archOf(p.model);
  job.dataset = p.trainDataset;
  job.valDataset = p.valDataset;
  job.out = p.out;
  job.resume = p.resume;
  train::TrainConfig& cfg = job.config;
  cfg.steps = p.steps;
  cfg.batch = p.batch;
  cfg.lr = p.lr;
  cfg.warmup = std::min<int64_t>(cfg.warmup, std::max<int64_t>(1, p.steps / 10));
  cfg.randomSubnets = p.randomSubnets;
  cfg.checkpointEvery = p.checkpointEvery;
  cfg.validateEvery = p.validateEvery;
  cfg.valImages = p.valImages;
  cfg.augment = train::parseAugmentOptions(p.augment.empty() ? "off" : p.augment);
  cfg.distill = p.distill;
  train::TrainEvents events;
  events.onStep = [&](const train::StepStats& s) {
    JobEvent e{"train",
               {{"step", static_cast<double>(s.step + 1)},
                {"loss", s.loss},
                {"lr", s.lr},
                {"steps_per_s", s.seconds > 0 ? 1.0 / s.seconds : 0.0}},
               {}};
    for (const auto& m : s.members) e.values["loss_" + m.name] = m.loss;
    sink.send(e);
  };
  events.onValidation = [&](int64_t step, const std::vector<train::ValScore>& scores) {
    for (const auto& v : scores) {
      sink.send({"validation",
                 {{"step", static_cast<double>(step)}, {"box_miou", v.boxMIoU}, {"point_miou", v.pointMIoU}},
                 v.subnetName + " on " + v.dataset});
    }
  };
  events.onCheckpoint = [&](int64_t step, const std::string& path) {
    sink.send({"checkpoint", {{"step", static_cast<double>(step)}}, path});
  };
  const pipeline::TrainOutcome r = pipeline::trainSupernet(
      job, sink.control, events, [&](const std::string& note) { sink.send({"note", {}, note}); });
  if (!r.finished) {
    return "stopped at step " + std::to_string(r.step) + " of " + std::to_string(p.steps) + "; checkpoint " +
           r.checkpoint + " kept (tick \"Resume\" and Start to continue); " + p.out + " was not written";
  }
  return "trained " + std::to_string(r.step) + " steps; wrote " + r.out;
}

std::string evaluate(const EvaluateParams& p, const JobSink& sink) {
  const infer::LoadedModel m = infer::loadModel(p.model.path, archOf(p.model));
  const auto datasets = data::loadDatasets(p.dataset);
  eval::EvalProtocol protocol;
  protocol.promptKind = p.prompt == "point" ? data::PromptKind::Point : data::PromptKind::Box;
  protocol.maxImages = p.maxImages;
  protocol.maxObjectsPerImage = p.maxObjects;
  // One bar over both phases: preparing the images (first 30 %), then evaluating them.
  const eval::PreparedEvalSet prepared(datasets, protocol, &m.arch, int64_t{1} << 30,
                                       util::phaseOf(sink.control, 0.0, 0.3));
  if (prepared.objectCount() == 0) throw util::Error("dataset '" + p.dataset + "' has no object to evaluate on");
  const supernet::Subnet subnet =
      p.subnet.empty() ? supernet::Subnet::full(m.arch) : supernet::Subnet::parse(p.subnet, m.arch);
  infer::Predictor predictor(m.sam);
  std::vector<eval::DatasetResult> done;
  const auto onDataset = [&](const eval::DatasetResult& d) {
    done.push_back(d);
    sink.send({"dataset",
               {{"index", static_cast<double>(done.size() - 1)},
                {"oracle", d.miou.oracle},
                {"ranked", d.miou.ranked},
                {"single", d.miou.single},
                {"box_fill", d.boxFill},
                {"objects", static_cast<double>(d.objects)}},
               d.name});
  };
  const auto perDataset = [&]() {
    std::string t;
    for (const auto& d : done) {
      t += (t.empty() ? "" : "; ") + d.name + " " + fmt(p.prompt == "point" ? d.miou.ranked : d.miou.single) +
           " (box-fill baseline " + fmt(d.boxFill) + ")";
    }
    return t;
  };
  try {
    const eval::EvalResult r =
        eval::evaluate(predictor, subnet.toElastic(), prepared, util::phaseOf(sink.control, 0.3, 1.0), onDataset);
    return "mIoU on " + std::to_string(r.objects) + " objects (" + p.prompt + " prompts): oracle best-of-3 " +
           fmt(r.overall.oracle) + ", ranked (what a user sees) " + fmt(r.overall.ranked) + ", single-mask " +
           fmt(r.overall.single) + "; box-fill baseline " + fmt(r.overallBoxFill) + "; " +
           fmt(r.promptsPerSecond, 1) + " prompts/s; subnet " + subnet.toString() + ". Per dataset: " + perDataset();
  } catch (const util::Cancelled&) {
    if (done.empty()) throw;
    return "stopped after " + std::to_string(done.size()) + " of " + std::to_string(prepared.datasets().size()) +
           " datasets: " + perDataset();
  }
}

std::string search(const SearchParams& p, const JobSink& sink) {
  if (p.db.empty()) throw util::Error("search: choose a results database file");
  search::SubnetSearchSettings s;
  s.modelPath = p.model.path;
  s.archOverride = archOf(p.model);
  s.dataset = p.dataset;
  s.prompt = p.prompt;
  s.metric = p.metric;
  s.maxImages = p.maxImages;
  s.maxObjectsPerImage = p.maxObjects;
  if (p.maxParamsM > 0) s.constraints.maxParams = p.maxParamsM * 1e6;
  if (p.maxGmacs > 0) s.constraints.maxMacs = p.maxGmacs * 1e9;
  if (p.maxLatencyMs > 0) s.constraints.maxLatencyMs = p.maxLatencyMs;
  s.latency = p.latency;
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
    const auto& d = pt.metrics.details;
    const double boxFill = d.is_object() && d.contains("miou_box_fill") && d["miou_box_fill"].is_number()
                               ? d["miou_box_fill"].get<double>()
                               : -1.0;
    sink.send({"search",
               {{"index", static_cast<double>(pt.index)},
                {"params_m", params / 1e6},
                {"gmacs", macs / 1e9},
                {"latency_ms", std::isnan(pt.metrics.latencyMs) ? -1.0 : pt.metrics.latencyMs},
                {"miou", pt.metrics.quality},
                {"box_fill", boxFill},
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

std::string detectDatasetSpecFor(const std::string& path) { return data::detectDatasetSpec(path, "val"); }

}  // namespace supersam::ui::jobs
