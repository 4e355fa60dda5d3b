#pragma once
// Long jobs the GUI starts, as synchronous functions over the core: calibrate (reorder + sensitivity), train the
// supernet, evaluate a subnet, search subnets. Each loads its own copy of the model (the interactive session keeps
// running), reports progress and named events (loss points, evaluated subnets) through JobSink, and stops at the
// next safe point when the cancel token is set (util::Cancelled, or a partial result for train/search).
// No Qt, no torch. Thread-safety: run on one worker thread; the sink's callbacks run on that thread.

#include <functional>
#include <map>
#include <string>

#include "core/util/progress.h"

namespace supersam::ui::jobs {

// A named value for the GUI: kind "train" {step, loss, lr, steps_per_s, loss_<member>}, "validation" {step,
// box_miou, point_miou} (text = subnet name), "checkpoint" {step} (text = path), "search" {index, params_m, gmacs,
// latency_ms, miou, feasible, new_best} (text = subnet), "sensitivity" {block, loss}, "dataset" {index, oracle,
// ranked, single, box_fill, objects} (text = name), "note" {} (text = a message for the log).
struct JobEvent {
  std::string kind;
  std::map<std::string, double> values;
  std::string text;
};

struct JobSink {
  util::JobControl control;                      // progress + cancel
  std::function<void(const JobEvent&)> event;    // may be empty
  void send(const JobEvent& e) const {
    if (event) event(e);
  }
};

struct ModelSource {
  std::string path;          // checkpoint
  std::string archOverride;  // "" = from the file (or arch.json beside a .pth)
};

struct CalibrateParams {
  ModelSource model;
  std::string dataset;        // dataset spec (core/data/dataset_spec.h): mIoU sensitivity; or
  std::string imagesDir;      // a folder of images: embedding-change sensitivity
  int images = 16;
  std::string method = "wanda";  // wanda, magnitude, random, none
  int prunable = -1;          // -1: supernet::defaultPrunableCount(depth), as the CLI
  double pMax = 0.5;
  std::string out;            // our safetensors with the "supernet" metadata
};
std::string calibrate(const CalibrateParams& p, const JobSink& sink);

struct TrainParams {
  ModelSource model;
  std::string trainDataset;
  std::string valDataset;     // may be empty
  long long steps = 100;
  long long batch = 2;
  double lr = 1e-4;
  long long randomSubnets = 1;
  long long validateEvery = 0;  // 0 = only at the end
  long long valImages = 4;
  long long checkpointEvery = 25;  // steps between resumable checkpoints (OUT.ckpt)
  std::string augment = "off";     // core/train/augment.h: off, on, or its option list
  bool distill = false;
  bool resume = false;        // continue from OUT.ckpt
  std::string out;            // trained supernet (our safetensors); written only when every step is done
};
std::string train(const TrainParams& p, const JobSink& sink);

struct EvaluateParams {
  ModelSource model;
  std::string dataset;
  std::string subnet;         // canonical string; "" = largest
  std::string prompt = "box"; // box or point
  long long maxImages = 8;
  long long maxObjects = 16;
};
std::string evaluate(const EvaluateParams& p, const JobSink& sink);

struct SearchParams {
  ModelSource model;
  std::string dataset;
  std::string db;             // results database (created if missing)
  std::string backend = "native";  // native, native-port, random or opentuner
  std::string widths = "ordinal";  // ordinal or enum (core/search/subnet_problem.h)
  std::string python = "/usr/bin/python3";  // for the opentuner backend
  long long budget = 20;      // evaluations
  double seconds = 0;         // 0 = no time budget
  double maxParamsM = 0;      // 0 = no budget
  double maxGmacs = 0;
  double maxLatencyMs = 0;    // > 0: every subnet's encoder latency is budgeted (this machine)
  std::string latency = "measured";  // measured (each subnet run) or predicted (the latency table, no run)
  std::string prompt = "box";
  long long maxImages = 4;
  long long maxObjects = 8;
  std::string metric = "oracle";  // oracle, ranked, single
  unsigned long long seed = 0;
};
std::string search(const SearchParams& p, const JobSink& sink);

// The dataset spec of a folder or COCO .json the user picked (core's data::detectDatasetSpec, val split where the
// layout has splits). util::Error naming the folder and the layouts recognised otherwise.
std::string detectDatasetSpecFor(const std::string& path);

}  // namespace supersam::ui::jobs
