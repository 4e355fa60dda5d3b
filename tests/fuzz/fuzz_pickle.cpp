// libFuzzer target: the restricted unpickler behind every .pth (core/io/pickle_reader.h). Storages are served as
// zeros of the size asked for, up to 1 M elements (a bigger claim is an error, as a real record would be).
#include <ATen/ATen.h>

#include "core/io/pickle_reader.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace supersam;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  return fuzz::guarded([&] {
    const io::StorageLoader loader = [](const std::string& key, at::ScalarType dtype, int64_t numel) {
      if (numel > (1 << 20)) throw util::Error("storage '" + key + "' too large for the fuzzer");
      return at::zeros({numel}, at::TensorOptions().dtype(dtype)).storage();
    };
    io::unpickleStateDict(bytes, loader, "fuzz.pth");
  });
}
