// libFuzzer target: architecture JSON (core/model/arch.h), the file `--arch` and arch.json give.
#include "core/model/arch.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace supersam;
  const std::string text(reinterpret_cast<const char*>(data), size);
  return fuzz::guarded([&] {
    const model::SamArch a = model::SamArch::fromJsonText(text, "fuzz.json");
    (void)a.toJsonText();
  });
}
