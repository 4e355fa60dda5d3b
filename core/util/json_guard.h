#pragma once
// JSON from files a user passes in (checkpoint metadata, results, annotations) is parsed only after this check:
// nlohmann's parser and printer recurse once per nesting level, so a crafted value thousands of levels deep would
// overflow the stack. Thread-safety: pure functions.
#include <cstddef>
#include <string_view>

namespace supersam::util {

// The deepest nesting of arrays and objects in `text` (strings and their escapes skipped); stops counting early
// once `limit` is passed and returns limit + 1.
size_t jsonNestingDepth(std::string_view text, size_t limit);

// A generous bound for the JSON this product reads: its own files nest at most ~6 levels.
inline constexpr size_t kMaxJsonDepth = 64;

}  // namespace supersam::util
