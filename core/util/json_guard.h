#pragma once
// JSON from files a user passes in (checkpoint metadata, results, annotations) is parsed only after this check:
// nlohmann's parser and printer recurse once per nesting level, so a crafted value thousands of levels deep would
// overflow the stack. Thread-safety: pure functions.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace supersam::util {

// The deepest nesting of arrays and objects in `text` (strings and their escapes skipped); stops counting early
// once `limit` is passed and returns limit + 1.
size_t jsonNestingDepth(std::string_view text, size_t limit);

// A generous bound for the JSON this product reads: its own files nest at most ~6 levels.
inline constexpr size_t kMaxJsonDepth = 64;

// Parses `text` after the depth check. util::Error "WHAT: not valid JSON (...)" or "WHAT: JSON nested deeper than
// 64 levels" otherwise (the parser's message cut to 200 characters).
nlohmann::json parseJson(std::string_view text, const std::string& what);
// The same without throwing: a discarded value (is_discarded()) when too deep or not JSON.
nlohmann::json parseJsonOrDiscarded(std::string_view text);

}  // namespace supersam::util
