#include "core/search/results_db.h"

#include <sqlite3.h>

#include <cmath>
#include <ctime>

#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::search {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started TEXT NOT NULL,
  backend TEXT NOT NULL,
  seed INTEGER NOT NULL,
  settings TEXT NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subnets (
  hash TEXT PRIMARY KEY,
  string TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
  subnet_hash TEXT NOT NULL REFERENCES subnets(hash),
  protocol TEXT NOT NULL,
  quality REAL,
  details TEXT NOT NULL,
  params REAL,
  macs REAL,
  bytes REAL,
  latency_ms REAL,
  seconds REAL NOT NULL,
  run_id INTEGER REFERENCES runs(id),
  technique TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (subnet_hash, protocol)
);
)sql";

std::string nowIso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A prepared statement that finalises itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : m_db(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK) {
      throw util::Error(std::string("results database: cannot prepare statement: ") + sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(m_stmt); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void bind(int i, const std::string& s) { sqlite3_bind_text(m_stmt, i, s.c_str(), -1, SQLITE_TRANSIENT); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(m_stmt, i, v); }
  void bindReal(int i, double v) {
    if (std::isnan(v)) {
      sqlite3_bind_null(m_stmt, i);
    } else {
      sqlite3_bind_double(m_stmt, i, v);
    }
  }
  bool step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw util::Error(std::string("results database: ") + sqlite3_errmsg(m_db));
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(m_stmt, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
  double real(int col) const {
    return sqlite3_column_type(m_stmt, col) == SQLITE_NULL ? kUnknown : sqlite3_column_double(m_stmt, col);
  }

 private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

constexpr const char* kResultColumns =
    "r.subnet_hash, s.string, r.protocol, r.quality, r.details, r.params, r.macs, r.bytes, r.latency_ms, "
    "r.seconds, r.run_id, r.technique FROM results r JOIN subnets s ON s.hash = r.subnet_hash";

StoredResult readResult(const Stmt& st) {
  StoredResult r;
  r.hash = st.text(0);
  r.subnet = st.text(1);
  r.protocol = st.text(2);
  r.metrics.quality = st.real(3);
  r.metrics.details = util::parseJsonOrDiscarded(st.text(4));
  if (r.metrics.details.is_discarded()) r.metrics.details = nlohmann::json::object();
  r.metrics.params = st.real(5);
  r.metrics.macs = st.real(6);
  r.metrics.bytes = st.real(7);
  r.metrics.latencyMs = st.real(8);
  r.seconds = st.real(9);
  r.runId = st.integer(10);
  r.technique = st.text(11);
  return r;
}

}  // namespace

ResultsDb::ResultsDb(const std::string& path) : m_path(path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr) != SQLITE_OK) {
    std::string why = m_db ? sqlite3_errmsg(m_db) : "out of memory";
    sqlite3_close(m_db);
    m_db = nullptr;
    throw util::Error("cannot open results database '" + path + "': " + why);
  }
  sqlite3_busy_timeout(m_db, 10000);
  try {
    exec("PRAGMA journal_mode=WAL;");
    exec("PRAGMA synchronous=NORMAL;");
    exec("PRAGMA foreign_keys=ON;");
    exec(kSchema);
  } catch (const util::Error& e) {
    sqlite3_close(m_db);
    m_db = nullptr;
    throw util::Error("'" + path + "' is not a usable results database: " + e.what());
  }
}

ResultsDb::~ResultsDb() {
  if (m_db) sqlite3_close(m_db);
}

void ResultsDb::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw util::Error(why);
  }
}

int64_t ResultsDb::openRun(const std::string& backend, uint64_t seed, const nlohmann::json& settings) {
  std::lock_guard<std::mutex> lock(m_mutex);
  const std::string text = settings.dump();
  {
    Stmt st(m_db,
            "SELECT id FROM runs WHERE backend = ?1 AND seed = ?2 AND settings = ?3 AND status != 'complete' "
            "ORDER BY id DESC LIMIT 1");
    st.bind(1, backend);
    st.bind(2, static_cast<int64_t>(seed));
    st.bind(3, text);
    if (st.step()) {
      const int64_t id = st.integer(0);
      Stmt up(m_db, "UPDATE runs SET status = 'running' WHERE id = ?1");
      up.bind(1, id);
      up.step();
      return id;
    }
  }
  Stmt st(m_db, "INSERT INTO runs (started, backend, seed, settings, status) VALUES (?1, ?2, ?3, ?4, 'running')");
  st.bind(1, nowIso());
  st.bind(2, backend);
  st.bind(3, static_cast<int64_t>(seed));
  st.bind(4, text);
  st.step();
  return sqlite3_last_insert_rowid(m_db);
}

void ResultsDb::setRunStatus(int64_t runId, const std::string& status) {
  std::lock_guard<std::mutex> lock(m_mutex);
  Stmt st(m_db, "UPDATE runs SET status = ?1 WHERE id = ?2");
  st.bind(1, status);
  st.bind(2, runId);
  st.step();
}

std::vector<RunRecord> ResultsDb::runs() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  Stmt st(m_db, "SELECT id, started, backend, seed, settings, status FROM runs ORDER BY id");
  std::vector<RunRecord> out;
  while (st.step()) {
    RunRecord r;
    r.id = st.integer(0);
    r.started = st.text(1);
    r.backend = st.text(2);
    r.seed = static_cast<uint64_t>(st.integer(3));
    r.settings = util::parseJsonOrDiscarded(st.text(4));
    r.status = st.text(5);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<StoredResult> ResultsDb::lookup(const std::string& hash, const std::string& protocol) const {
  std::lock_guard<std::mutex> lock(m_mutex);
  Stmt st(m_db, (std::string("SELECT ") + kResultColumns + " WHERE r.subnet_hash = ?1 AND r.protocol = ?2").c_str());
  st.bind(1, hash);
  st.bind(2, protocol);
  if (!st.step()) return std::nullopt;
  return readResult(st);
}

void ResultsDb::save(const Identity& id, const std::string& protocol, const Metrics& m, double seconds,
                     int64_t runId, const std::string& technique) {
  std::lock_guard<std::mutex> lock(m_mutex);
  exec("BEGIN IMMEDIATE;");
  try {
    {
      Stmt st(m_db, "INSERT OR IGNORE INTO subnets (hash, string) VALUES (?1, ?2)");
      st.bind(1, id.hash);
      st.bind(2, id.text);
      st.step();
    }
    Stmt st(m_db,
            "INSERT OR IGNORE INTO results (subnet_hash, protocol, quality, details, params, macs, bytes, "
            "latency_ms, seconds, run_id, technique, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
            "?12)");
    st.bind(1, id.hash);
    st.bind(2, protocol);
    st.bindReal(3, m.quality);
    st.bind(4, m.details.dump());
    st.bindReal(5, m.params);
    st.bindReal(6, m.macs);
    st.bindReal(7, m.bytes);
    st.bindReal(8, m.latencyMs);
    st.bindReal(9, seconds);
    st.bind(10, runId);
    st.bind(11, technique);
    st.bind(12, nowIso());
    st.step();
    exec("COMMIT;");
  } catch (...) {
    sqlite3_exec(m_db, "ROLLBACK;", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<StoredResult> ResultsDb::results(const std::string& protocol) const {
  std::lock_guard<std::mutex> lock(m_mutex);
  std::string sql = std::string("SELECT ") + kResultColumns;
  if (!protocol.empty()) sql += " WHERE r.protocol = ?1";
  sql += " ORDER BY r.rowid";
  Stmt st(m_db, sql.c_str());
  if (!protocol.empty()) st.bind(1, protocol);
  std::vector<StoredResult> out;
  while (st.step()) out.push_back(readResult(st));
  return out;
}

int64_t ResultsDb::count(const std::string& protocol) const {
  std::lock_guard<std::mutex> lock(m_mutex);
  Stmt st(m_db, protocol.empty() ? "SELECT COUNT(*) FROM results" : "SELECT COUNT(*) FROM results WHERE protocol = ?1");
  if (!protocol.empty()) st.bind(1, protocol);
  st.step();
  return st.integer(0);
}

std::vector<std::string> ResultsDb::protocols() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  Stmt st(m_db, "SELECT DISTINCT protocol FROM results ORDER BY protocol");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::optional<Metrics> DbResultStore::lookup(const Identity& id) {
  auto r = m_db.lookup(id.hash, m_protocol);
  if (!r) return std::nullopt;
  return r->metrics;
}

void DbResultStore::save(const Identity& id, const Metrics& m, double seconds, const std::string& technique) {
  m_db.save(id, m_protocol, m, seconds, m_runId, technique);
}

}  // namespace supersam::search
