// libFuzzer target: safetensors header, metadata and data offsets (core/io/safetensors.h), and the search space
// a supernet's "supernet" metadata carries (core/supernet/search_space.h), checked against a 4-block arch.
#include "core/io/safetensors.h"
#include "core/model/arch.h"
#include "core/supernet/search_space.h"
#include "core/util/json_guard.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace supersam;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  return fuzz::guarded([&] {
    const io::SafetensorsFile f = io::parseSafetensors(bytes, "fuzz.safetensors");
    const auto it = f.metadata.find("supernet");
    if (it == f.metadata.end()) return;
    const nlohmann::json j = util::parseJsonOrDiscarded(it->second);
    if (!j.is_object() || !j.contains("search_space")) return;
    model::SamArch arch = model::SamArch::preset("vit_b");
    arch.encoderDepth = 4;
    arch.encoderGlobalAttnIndexes = {1, 3};
    supernet::SearchSpace::fromJson(j["search_space"], "fuzz").validateFor(arch);
  });
}
