#pragma once
// One subnet search, end to end, as `supersam search` and the GUI's search job run it: load the supernet, prepare
// the evaluation set, build the subnet problem (widths ordinal or enum), open (or resume) a run in the results
// database, pick the technique (built-in tuner, random, or the real OpenTuner over its Python bridge), search, and
// record the run's final status (complete, cancelled, or failed when an exception escapes).
//
// Protocol key: a JSON text of the supernet file's content fingerprint, the dataset spec, the evaluation protocol
// (prompt kind, images, objects, seed 0), the metric and whether latency is measured or predicted (with the table's
// validity key). Every caller gets the same key
// for the same protocol, so results are reused across the command line, the GUI and earlier (or killed) runs.
//
// Thread-safety: runSubnetSearch is synchronous; with parallelism > 1 candidates are evaluated on worker threads
// (one predictor each), but `onPoint` and the job's callbacks run on the calling thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/arch.h"
#include "core/search/objective.h"
#include "core/search/tuner.h"
#include "core/util/progress.h"

namespace supersam::search {

struct SubnetSearchSettings {
  std::string modelPath;                    // supernet checkpoint (safetensors or .pth)
  std::optional<std::string> archOverride;  // architecture JSON file; none = from the checkpoint
  std::string dataset;                      // dataset spec (core/data/dataset_spec.h); '+' joins several
  std::string prompt = "box";               // box | point
  std::string metric = "oracle";            // oracle | ranked | single mIoU to maximise
  int64_t maxImages = -1;                   // first N images of each dataset; -1 = all
  int64_t maxObjectsPerImage = 16;
  Constraints constraints;                  // maxLatencyMs: see `latency`
  // measured: latency is the median of 3 encoder runs of each evaluated subnet (only with a latency budget);
  // predicted: the latency table's prediction (core/supernet/latency_table.h; the cached table for this machine,
  // measured first when there is none), so a latency budget prunes subnets without evaluating them, and every result
  // records its predicted ms (latencyMs and details "predicted_latency_ms").
  std::string latency = "measured";
  std::string latencyTable;                 // predicted: table file instead of the cache ("" = the cache)
  int64_t maxEvaluations = 100;             // distinct subnets of this run; 0 = unlimited
  double maxSeconds = 0.0;                  // 0 = unlimited
  std::string backend = "native";           // native | native-port | random | opentuner
  std::string widths = "ordinal";           // ordinal | enum
  bool widthsOnly = false;                  // "1D": keep every block (the space's widths, no block dropped)
  // Informed seed subnets evaluated first (budgetSeeds in subnet_problem.h): auto = on for native and opentuner,
  // off for random (the plain baseline); on | off force it.
  std::string seeds = "auto";
  int parallelism = 1;                      // candidates per generation, evaluated on that many threads
  uint64_t seed = 0;                        // search seed (evaluation prompts always use seed 0)
  std::string dbPath;                       // results database (created if missing); required
  std::string python = "/usr/bin/python3";  // for backend opentuner
  std::string opentunerDb;                  // OpenTuner's own database; "" = <dbPath>.opentuner.sqlite

  // util::Error naming the field when a choice or budget is invalid.
  void validate() const;
};

// What the search was set up with, known before the first evaluation.
struct SubnetSearchSetup {
  model::SamArch arch;
  std::string spaceName;
  double spaceSize = 0.0;   // number of subnets
  size_t parameters = 0;    // tuner parameters
  int64_t images = 0, objects = 0;
  std::string protocolKey;
  int64_t runId = 0;
  std::string latencyTablePath;       // latency predicted: the table used
  bool latencyTableMeasured = false;  // ... and whether it was measured for this run
};

struct SubnetSearchOutcome {
  SubnetSearchSetup setup;
  SearchReport report;
};

// The protocol key described above (reads the head and tail of the supernet file for its fingerprint).
// latencyTableKey: the latency table's validity key when latency is predicted.
std::string subnetProtocolKey(const SubnetSearchSettings& s, const nlohmann::json& evalProtocol,
                              const std::string& latencyTableKey = "");

// Runs the search. `onSetup` (may be empty) is called once the run is opened, before any evaluation; `onPoint`
// (may be empty) after each point. job.cancel stops at the next safe point (report.cancelled, run "cancelled");
// job.progress receives the driver's progress lines. Throws util::Error for bad settings, unreadable inputs,
// budgets no subnet meets, or an OpenTuner that cannot be started (the run is then marked failed).
SubnetSearchOutcome runSubnetSearch(const SubnetSearchSettings& settings, const util::JobControl& job,
                                    const PointFn& onPoint,
                                    const std::function<void(const SubnetSearchSetup&)>& onSetup = {});

}  // namespace supersam::search
