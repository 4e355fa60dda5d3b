#pragma once
// Shared by the libFuzzer targets (one per parser of user files, issue 14): every input must end in a value or a
// util::Error; anything else (a crash, a sanitizer report, another exception type, an allocation of gigabytes)
// is a finding. Built by the `fuzz` preset (clang, -fsanitize=fuzzer,address); tests/fuzz/run.sh runs them.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <string>

#include "core/util/error.h"

namespace supersam::fuzz {

// Runs `f` on the input; a util::Error is an answer, any other exception a finding (abort, so libFuzzer keeps it).
template <typename F>
int guarded(F&& f) {
  try {
    f();
  } catch (const util::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception (not util::Error): %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace supersam::fuzz
