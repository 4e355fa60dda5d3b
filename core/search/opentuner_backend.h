#pragma once
// The real OpenTuner as a search technique: spawns `python bridge.py` (resources/opentuner/
// supersam_opentuner_bridge.py) with pipes on stdin/stdout and speaks its JSON-lines ask/tell protocol; the C++
// driver (tuner.h) evaluates as for the built-in techniques. The bridge's stderr goes to "<database>.log".
// If OpenTuner is not importable by that Python, the constructor throws util::Error saying how to install it.
// Thread-safety: driver thread only. The destructor finishes the OpenTuner run and waits for the process.

#include <sys/types.h>

#include <cstdio>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/search/technique.h"

namespace supersam::search {

struct OpenTunerOptions {
  std::string python = "/usr/bin/python3";
  std::string bridge;                     // empty: findOpenTunerBridge()
  std::string database;                   // OpenTuner's own database; made absolute; must be in a writable folder
  std::string objective = "feasible_first";  // or "threshold" (ThresholdAccuracyMinimizeTime)
  std::string technique;                  // empty: OpenTuner's default (AUCBanditMetaTechniqueA)
  uint64_t seed = 0;
  std::map<std::string, std::string> environment;  // extra variables for the child (e.g. PYTHONPATH)
};

// $SUPERSAM_OPENTUNER_BRIDGE, else <install datadir>/opentuner/, else <source dir>/resources/opentuner/.
// util::Error listing the places tried when none exists.
std::string findOpenTunerBridge();

class OpenTunerTechnique : public Technique {
 public:
  OpenTunerTechnique(const Space& space, const OpenTunerOptions& options);
  ~OpenTunerTechnique() override;
  OpenTunerTechnique(const OpenTunerTechnique&) = delete;
  OpenTunerTechnique& operator=(const OpenTunerTechnique&) = delete;

  std::string name() const override { return "OpenTuner"; }
  Proposal propose(SearchContext& ctx, int64_t requestId) override;
  void onResult(SearchContext& ctx, int64_t requestId, const Outcome& outcome) override;

  // Ends the OpenTuner run; returns its best configuration (empty object when none). Idempotent.
  nlohmann::json finish();
  const std::string& openTunerLocation() const { return m_location; }

 private:
  nlohmann::json call(const nlohmann::json& request);
  [[noreturn]] void failWith(const std::string& what);
  void stop();

  const Space& m_space;
  OpenTunerOptions m_opt;
  std::string m_logPath;
  std::string m_location;
  pid_t m_pid = -1;
  int m_toChild = -1;
  FILE* m_fromChild = nullptr;
  bool m_exhausted = false;
  bool m_finished = false;
  std::map<int64_t, int64_t> m_bridgeIds;  // driver request id -> bridge id
};

}  // namespace supersam::search
