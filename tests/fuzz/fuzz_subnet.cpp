// libFuzzer target: subnet strings ("512,x,384,..."), as typed in the studio or given to eval / export / info.
#include "core/model/arch.h"
#include "core/supernet/subnet.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace supersam;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const model::SamArch arch = model::SamArch::preset("vit_b");
  return fuzz::guarded([&] {
    const supernet::Subnet s = supernet::Subnet::parse(text, arch);
    (void)s.toString();
    (void)s.hash();
  });
}
