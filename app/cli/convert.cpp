// `supersam convert IN --out OUT.safetensors [--arch NAME|JSON]`: any checkpoint the product reads (official .pth,
// our safetensors, Hugging Face SAM safetensors) written as our safetensors, with the arch in its metadata. The
// weights are first loaded strictly into the model, so a file that would not load is never converted.
#include <iostream>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/infer/model_loader.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam convert IN --out OUT.safetensors [--arch NAME|JSON]

Writes any loadable checkpoint (official SAM .pth, our safetensors, Hugging Face SAM safetensors) as our
safetensors with SAM's key names and the metadata "format" = "supersam" and "arch" (the architecture as JSON).
Other metadata of IN (e.g. "supernet") is kept. OUT is written atomically.

  --out FILE        the safetensors file to write
  --arch NAME|JSON  vit_b, vit_l, vit_h or an arch JSON file (default: IN's metadata, else inferred from shapes))";

int runConvert(const std::vector<std::string>& argv) {
  Args args(argv, {"out", "arch"}, {});
  if (args.positional().size() != 1) throw util::Error("convert: expected exactly one input checkpoint (see --help)");
  const std::string in = args.positional()[0];
  const std::string out = args.required("out");

  std::map<std::string, std::string> metadata;
  model::SamArch arch;
  io::CheckpointFormat format;
  io::StateDict tensors;
  {
    infer::LoadedModel loaded = infer::loadModel(in, args.get("arch"));
    metadata = loaded.metadata;
    arch = loaded.arch;
    format = loaded.format;
    tensors = io::stateDictOf(*loaded.sam);
  }
  metadata["format"] = "supersam";
  metadata["arch"] = arch.toJsonText();
  io::saveSafetensors(out, tensors, metadata);
  const auto counts = infer::countParameters(tensors);
  std::cout << "converted " << in << " (" << io::formatName(format) << ", arch " << arch.name << ", "
            << counts.total << " values in " << tensors.size() << " tensors) -> " << out << "\n";
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("convert", "write any loadable checkpoint as our safetensors (arch in the metadata)", kUsage,
                 runConvert);

}  // namespace supersam::cli
