#include "core/pipeline/train_job.h"

#include <filesystem>
#include <sstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/dataset_spec.h"
#include "core/supernet/supernet_info.h"
#include "core/train/distributed.h"
#include "core/train/train_checkpoint.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::pipeline {

namespace {

// After a resume the log keeps what happened up to the checkpoint's step: the steps run after it (before the kill
// or cancel) are run again and would otherwise appear twice. A line cut by a kill is dropped.
void truncateLogTo(const std::string& path, int64_t steps) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  std::istringstream in(util::readFileBytes(path));
  std::string kept, line;
  while (std::getline(in, line)) {
    const nlohmann::json j = util::parseJsonOrDiscarded(line);
    if (!j.is_object()) continue;
    const int64_t step = j.value("step", int64_t{0});
    // "step" records carry the 0-based index of the step done; the others the number of steps done.
    const bool keep = j.value("type", std::string()) == "step" ? step < steps : step <= steps;
    if (keep) kept += line + "\n";
  }
  util::writeFileAtomic(path, kept);
}

}  // namespace

std::string checkpointPathOf(const TrainJob& job) {
  return job.config.checkpointPath.empty() ? job.out + ".ckpt" : job.config.checkpointPath;
}

TrainOutcome trainSupernet(const TrainJob& job, const util::JobControl& control, const train::TrainEvents& events,
                           const NoteFn& note, train::Distributed* dist) {
  namespace fs = std::filesystem;
  const auto say = [&](const std::string& s) {
    if (note) note(s);
  };
  if (job.out.empty()) throw util::Error("train: no output file given (--out)");
  if (job.supernet.empty() && !job.model.sam) throw util::Error("train: no model to train given (--supernet)");
  if (job.dataset.empty()) throw util::Error("train: no training data given (--dataset)");
  if (job.config.steps < 0) throw util::Error("train: steps must be >= 0, got " + std::to_string(job.config.steps));
  if (fs::is_directory(job.out)) throw util::Error("train: output '" + job.out + "' is a folder, expected a file");
  train::TrainConfig cfg = job.config;
  cfg.checkpointPath = checkpointPathOf(job);
  if (job.resume && !fs::exists(cfg.checkpointPath)) {
    throw util::Error("train: cannot resume: no checkpoint at " + cfg.checkpointPath);
  }
  const bool root = dist == nullptr || dist->rank() == 0;

  train::TrainableModel m = job.model.sam ? job.model : train::loadTrainable(job.supernet, job.arch);
  const supernet::SupernetInfo info = supernet::readSupernetInfo(m.metadata, m.sam->arch());
  if (info.spaceSource != "checkpoint") say("the model carries no search space; using the " + info.spaceSource);
  std::vector<data::Dataset> trainSets = data::loadDatasets(job.dataset);
  std::vector<data::Dataset> valSets;
  if (!job.valDataset.empty()) valSets = data::loadDatasets(job.valDataset);
  for (const auto& d : trainSets) {
    say(d.name + ": " + std::to_string(d.samples.size()) + " images, " + std::to_string(d.objectCount()) +
        " objects" + (d.warnings.empty() ? "" : ", " + std::to_string(d.warnings.size()) + " warnings"));
  }
  if (root && !job.resume && !cfg.logPath.empty()) {
    if (fs::is_directory(cfg.logPath)) throw util::Error("train: log '" + cfg.logPath + "' is a folder, expected a file");
    fs::remove(cfg.logPath);
  }

  train::Trainer trainer(m.sam, info.space, m.metadata, std::move(trainSets), std::move(valSets), cfg, dist);
  if (job.resume) {
    trainer.resume(cfg.checkpointPath);
    say("resumed at step " + std::to_string(trainer.step()) + " from " + cfg.checkpointPath);
    if (root && !cfg.logPath.empty()) truncateLogTo(cfg.logPath, trainer.step());
  }
  TrainOutcome outcome;
  outcome.checkpoint = cfg.checkpointPath;
  outcome.finished = trainer.run(control, events);
  outcome.step = trainer.step();
  if (!outcome.finished) return outcome;
  if (root) {
    trainer.saveSupernet(job.out, job.fp16);
    outcome.out = job.out;
  }
  if (dist) dist->barrier();
  return outcome;
}

}  // namespace supersam::pipeline
