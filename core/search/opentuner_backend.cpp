#include "core/search/opentuner_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/util/error.h"
#include "core/util/json_guard.h"

extern char** environ;

namespace supersam::search {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBridgeName = "supersam_opentuner_bridge.py";
constexpr const char* kInstallHelp =
    "Install it with `pip install opentuner` for that Python, or put a checkout of "
    "https://github.com/jansel/opentuner on PYTHONPATH together with Debian's python3-sqlalchemy, python3-numpy "
    "and python3-future (choose the interpreter with --python).";

// Writes all of `s`; a closed pipe gives false instead of a SIGPIPE that would kill the program.
bool writeAll(int fd, const std::string& s) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  bool ok = true;
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (!ok && errno == EPIPE) {
    const timespec zero{0, 0};
    sigtimedwait(&block, nullptr, &zero);  // swallow the pending SIGPIPE
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

std::string tailOf(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  if (t.size() > n) t = "..." + t.substr(t.size() - n);
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

double finiteOr(double v, double fallback) { return std::isfinite(v) ? v : fallback; }

}  // namespace

std::string findOpenTunerBridge() {
  std::vector<std::string> tried;
  if (const char* env = std::getenv("SUPERSAM_OPENTUNER_BRIDGE"); env && *env) {
    if (fs::is_regular_file(env)) return env;
    tried.push_back(env);
  }
  const std::string dirs[] = {std::string(SUPERSAM_INSTALL_DATADIR) + "/opentuner",
                              std::string(SUPERSAM_SOURCE_DIR) + "/resources/opentuner"};
  for (const std::string& dir : dirs) {
    const std::string p = dir + "/" + kBridgeName;
    if (fs::is_regular_file(p)) return p;
    tried.push_back(p);
  }
  std::string list;
  for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
  throw util::Error(std::string("cannot find the OpenTuner bridge ") + kBridgeName + " (looked at " + list +
                    "); set SUPERSAM_OPENTUNER_BRIDGE to its path");
}

OpenTunerTechnique::OpenTunerTechnique(const Space& space, const OpenTunerOptions& options)
    : m_space(space), m_opt(options) {
  if (m_opt.bridge.empty()) m_opt.bridge = findOpenTunerBridge();
  if (!fs::is_regular_file(m_opt.bridge)) throw util::Error("OpenTuner bridge '" + m_opt.bridge + "' does not exist");
  if (m_opt.database.empty()) throw util::Error("OpenTuner needs a database path (OpenTunerOptions::database)");
  m_opt.database = fs::absolute(m_opt.database).lexically_normal().string();
  const fs::path folder = fs::path(m_opt.database).parent_path();
  if (!fs::is_directory(folder) || ::access(folder.c_str(), W_OK) != 0) {
    throw util::Error("OpenTuner database '" + m_opt.database + "': folder '" + folder.string() +
                      "' does not exist or is not writable");
  }
  m_logPath = m_opt.database + ".log";

  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw util::Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw util::Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, m_logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);

  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (!m_opt.environment.count(key)) env.push_back(kv);
  }
  for (const auto& [k, v] : m_opt.environment) env.push_back(k + "=" + v);
  env.push_back("PYTHONUNBUFFERED=1");
  std::vector<char*> envp;
  for (std::string& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv = {m_opt.python, "-u", m_opt.bridge};
  std::vector<char*> argvp;
  for (std::string& a : argv) argvp.push_back(a.data());
  argvp.push_back(nullptr);

  const int rc = posix_spawn(&m_pid, m_opt.python.c_str(), &fa, nullptr, argvp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    m_pid = -1;
    throw util::Error("cannot start Python '" + m_opt.python + "' for the OpenTuner backend: " + std::strerror(rc) +
                      " (choose the interpreter with --python)");
  }
  m_toChild = in[1];
  m_fromChild = ::fdopen(out[0], "r");

  nlohmann::json init = {{"cmd", "init"},
                         {"params", m_space.describeSpace()},
                         {"seed", m_opt.seed},
                         {"database", m_opt.database},
                         {"objective", m_opt.objective}};
  if (!m_opt.technique.empty()) init["technique"] = m_opt.technique;
  try {
    nlohmann::json reply = call(init);
    m_location = reply.value("opentuner", "");
  } catch (...) {
    stop();
    throw;
  }
}

OpenTunerTechnique::~OpenTunerTechnique() {
  try {
    finish();
  } catch (...) {
    // The run is over either way; the log keeps what the bridge said.
  }
  stop();
}

void OpenTunerTechnique::failWith(const std::string& what) {
  const std::string log = tailOf(m_logPath, 1500);
  throw util::Error("OpenTuner bridge (" + m_opt.python + " " + m_opt.bridge + "): " + what +
                    (log.empty() ? "" : "; its log " + m_logPath + " ends with: " + log));
}

nlohmann::json OpenTunerTechnique::call(const nlohmann::json& request) {
  if (m_pid < 0 || !m_fromChild) failWith("the bridge is not running");
  if (!writeAll(m_toChild, request.dump() + "\n")) failWith("the bridge stopped (broken pipe)");
  char* line = nullptr;
  size_t cap = 0;
  const ssize_t n = ::getline(&line, &cap, m_fromChild);
  std::string text = n > 0 ? std::string(line, static_cast<size_t>(n)) : std::string();
  std::free(line);
  if (n <= 0) failWith("the bridge exited without answering '" + request.value("cmd", "") + "'");
  nlohmann::json reply = util::parseJsonOrDiscarded(text);
  if (reply.is_discarded() || !reply.is_object()) failWith("unreadable answer: " + text);
  if (reply.contains("error")) {
    const std::string err = reply["error"].is_string() ? reply["error"].get<std::string>() : reply["error"].dump();
    if (reply.value("kind", "") == "import") {
      throw util::Error("OpenTuner is not importable by " + m_opt.python + " (" + err + "). " + kInstallHelp);
    }
    failWith(err);
  }
  return reply;
}

Proposal OpenTunerTechnique::propose(SearchContext&, int64_t requestId) {
  if (m_exhausted || m_finished) return Proposal::nothing();
  nlohmann::json reply = call({{"cmd", "ask"}});
  if (reply.value("exhausted", false)) {
    m_exhausted = true;
    return Proposal::nothing();
  }
  Config c;
  try {
    c = m_space.fromJson(reply.at("config"));
  } catch (const std::exception& e) {
    failWith(std::string("bad configuration from OpenTuner: ") + e.what());
  }
  m_bridgeIds[requestId] = reply.at("id").get<int64_t>();
  return Proposal::of(std::move(c), name());
}

void OpenTunerTechnique::onResult(SearchContext&, int64_t requestId, const Outcome& o) {
  auto it = m_bridgeIds.find(requestId);
  if (it == m_bridgeIds.end() || m_finished) return;
  const int64_t id = it->second;
  m_bridgeIds.erase(it);
  call({{"cmd", "tell"},
        {"id", id},
        {"feasible", o.score.feasible},
        {"violation", finiteOr(o.score.violation, 1e30)},
        {"quality", finiteOr(o.score.quality, -1e30)},
        {"size", finiteOr(o.score.size, 1e30)}});
}

nlohmann::json OpenTunerTechnique::finish() {
  if (m_finished || m_pid < 0) return nlohmann::json::object();
  m_finished = true;
  nlohmann::json reply = call({{"cmd", "finish"}});
  return reply.contains("best") && reply["best"].is_object() ? reply["best"] : nlohmann::json::object();
}

void OpenTunerTechnique::stop() {
  if (m_toChild >= 0) {
    ::close(m_toChild);
    m_toChild = -1;
  }
  if (m_fromChild) {
    std::fclose(m_fromChild);
    m_fromChild = nullptr;
  }
  if (m_pid > 0) {
    // The bridge ends on end of input; give it a few seconds, then kill it.
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(m_pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m_pid = -1;
  }
}

}  // namespace supersam::search
