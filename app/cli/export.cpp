// `supersam export`: a standalone, physically smaller model for one subnet of a supernet checkpoint.
#include <iostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/infer/model_loader.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/extract.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam export --supernet F --subnet STRING --out SMALL.safetensors [--arch NAME|JSON] [--verify]

Writes a standalone SAM for one subnet of a supernet: dropped blocks removed, MLPs sliced to the subnet's widths;
the arch records per-block MLP widths and each kept block's attention kind. Loadable by segment, info, eval and
the GUI.

  --supernet F     supernet checkpoint (from `supersam calibrate` / `supersam train`), or any SAM checkpoint
  --subnet STRING  one token per encoder block, comma-separated: the MLP width, or x for a dropped block
                   (e.g. 3072,x,1536,...); also "largest" or "smallest" of the checkpoint's search space
  --arch NAME|JSON architecture override
  --verify         run the supernet's subnet and the exported model on a random input and compare
  --out F          output .safetensors (written atomically))";

int runExport(const std::vector<std::string>& argv) {
  Args args(argv, {"supernet", "subnet", "out", "arch", "threads"}, {"verify"});
  util::setThreads(args.getInt("threads", 0));
  infer::LoadedModel loaded = infer::loadModel(args.required("supernet"), args.get("arch"));
  const std::string text = args.required("subnet");
  const std::string out = args.required("out");
  const supernet::SupernetInfo info = supernet::readSupernetInfo(loaded.metadata, loaded.arch);
  const supernet::Subnet s = supernet::resolveSubnet(text, info.space, loaded.arch);
  if (!info.space.contains(s)) {
    std::cerr << "export: note: the subnet is outside the checkpoint's search space '" << info.space.name()
              << "' (exported anyway)\n";
  }
  std::map<std::string, std::string> extra;
  for (const auto& [k, v] : loaded.metadata) {
    if (k != "supernet" && k != "arch" && k != "format") extra[k] = v;
  }
  supernet::exportSubnet(loaded.sam, s, out, extra);
  std::cout << "subnet " << s.toString() << " (hash " << s.hash() << ")\n"
            << supernet::describeCost(loaded.arch, s);
  if (args.flag("verify")) {
    infer::LoadedModel small = infer::loadModel(out);
    at::manual_seed(0);
    at::Tensor x = at::randn({1, 3, loaded.arch.imageSize, loaded.arch.imageSize});
    c10::InferenceMode g;
    auto cfg = s.toElastic();
    at::Tensor a = loaded.sam->image_encoder->forward(x, &cfg);
    at::Tensor b = small.sam->image_encoder->forward(x);
    double rel = (a - b).abs().max().item<double>() / std::max(a.std().item<double>(), 1e-12);
    std::cout << "verify: max |exported - supernet| / std = " << rel << "\n";
    if (!(rel < 1e-6)) {
      throw util::Error("export verification failed: relative difference " + std::to_string(rel) +
                        " (expected < 1e-6)");
    }
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("export", "write a standalone, smaller model for one subnet of a supernet", kUsage, runExport);

}  // namespace supersam::cli
