#pragma once
// Every evaluation of every search, in one SQLite file (the C library), so that results are reused across runs
// and the Pareto front of size vs quality falls out of the history.
//   runs(id, started, backend, seed, settings JSON, status)
//   subnets(hash PRIMARY KEY, string)
//   results(subnet hash, protocol key, quality, details JSON (e.g. the three mIoU numbers), params, macs, bytes,
//           latency_ms, seconds, run id, technique, created) with PRIMARY KEY (subnet hash, protocol key)
// The file is in WAL mode and each result is committed on its own as soon as it exists (synchronous=NORMAL: a
// killed process loses nothing that was saved; only a power cut can lose the last transactions).
// Thread-safety: all methods may be called from any thread (one connection, serialised by a mutex).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/search/tuner.h"

struct sqlite3;

namespace supersam::search {

struct RunRecord {
  int64_t id = 0;
  std::string started;  // ISO 8601, UTC
  std::string backend;
  uint64_t seed = 0;
  nlohmann::json settings;
  std::string status;  // running, complete, cancelled, failed
};

struct StoredResult {
  std::string hash;
  std::string subnet;  // canonical text
  std::string protocol;
  Metrics metrics;
  double seconds = 0.0;
  int64_t runId = 0;
  std::string technique;
};

class ResultsDb {
 public:
  // Opens or creates `path` (util::Error naming it when that fails or the file is not a results database).
  explicit ResultsDb(const std::string& path);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  const std::string& path() const { return m_path; }

  // A run with the same backend, seed and settings that did not complete is resumed (its id returned, status back
  // to running); otherwise a new run is recorded.
  int64_t openRun(const std::string& backend, uint64_t seed, const nlohmann::json& settings);
  void setRunStatus(int64_t runId, const std::string& status);
  std::vector<RunRecord> runs() const;

  std::optional<StoredResult> lookup(const std::string& hash, const std::string& protocol) const;
  // Inserts (or keeps the existing row for) subnet + protocol, committed before returning.
  void save(const Identity& id, const std::string& protocol, const Metrics& m, double seconds, int64_t runId,
            const std::string& technique);
  // All results of a protocol (every protocol when empty), oldest first.
  std::vector<StoredResult> results(const std::string& protocol = {}) const;
  int64_t count(const std::string& protocol = {}) const;
  std::vector<std::string> protocols() const;

 private:
  void exec(const char* sql) const;

  std::string m_path;
  sqlite3* m_db = nullptr;
  mutable std::mutex m_mutex;
};

// The results database as a search's ResultStore, bound to one protocol key and one run.
class DbResultStore : public ResultStore {
 public:
  DbResultStore(ResultsDb& db, std::string protocol, int64_t runId)
      : m_db(db), m_protocol(std::move(protocol)), m_runId(runId) {}
  std::optional<Metrics> lookup(const Identity& id) override;
  void save(const Identity& id, const Metrics& m, double seconds, const std::string& technique) override;

 private:
  ResultsDb& m_db;
  std::string m_protocol;
  int64_t m_runId;
};

}  // namespace supersam::search
