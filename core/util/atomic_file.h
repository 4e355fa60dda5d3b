#pragma once
// Writes that are never seen half-done: data goes to "<path>.tmp-<pid>-<n>" in the same folder, is flushed, then
// renamed over the target. On failure the temporary file is removed and util::Error names the path.

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace supersam::util {

// Calls `write` with a stream on a temporary file, then renames it to `path`.
void writeFileAtomic(const std::string& path, const std::function<void(std::ostream&)>& write);
void writeFileAtomic(const std::string& path, const std::string& bytes);

// For writers that need a file name (OpenCV, SQLite): returns a temporary path next to `path`.
std::string temporaryPathFor(const std::string& path);
// Renames `tmp` to `path` (atomic on POSIX); removes `tmp` and throws util::Error on failure.
void commitTemporary(const std::string& tmp, const std::string& path);

std::string readFileBytes(const std::string& path);  // throws util::Error naming the path

}  // namespace supersam::util
