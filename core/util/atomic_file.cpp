#include "core/util/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace supersam::util {

namespace {

// Temporary files of `path` left by a writer that was killed (its pid no longer runs) are removed, so that killed
// writes do not pile up beside the output (they were up to 8.9 MB each).
void removeStaleTemporaries(const std::filesystem::path& p) {
  namespace fs = std::filesystem;
  const std::string prefix = "." + p.filename().string() + ".tmp-";
  std::error_code ec;
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  int scanned = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && ++scanned <= 20000; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(it->path(), ec);
  }
}

}  // namespace

std::string temporaryPathFor(const std::string& path) {
  static std::atomic<int> counter{0};
  std::filesystem::path p(path);
  removeStaleTemporaries(p);
  std::string name = "." + p.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1));
  // Keep the extension last so that writers choosing a format by extension (OpenCV) still work.
  name += p.extension().string();
  return (p.parent_path() / name).string();
}

void commitTemporary(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("cannot write '" + path + "': " + why);
  }
}

void writeFileAtomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    throw Error("cannot write '" + path + "': folder '" + parent.string() + "' does not exist");
  }
  const std::string tmp = temporaryPathFor(path);
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write '" + path + "': cannot create '" + tmp + "': " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) throw Error("cannot write '" + path + "': write failed (disk full?)");
    out.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  commitTemporary(tmp, path);
}

void writeFileAtomic(const std::string& path, const std::string& bytes) {
  writeFileAtomic(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

std::string readFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) throw Error("file not found: '" + path + "'");
    throw Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace supersam::util
