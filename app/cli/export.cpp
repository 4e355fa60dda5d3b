// `supersam export`: a standalone, physically smaller model for one subnet of a supernet checkpoint.
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/export/onnx_export.h"
#include "core/infer/model_loader.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/extract.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam export --supernet F --subnet STRING [--out SMALL.safetensors] [--onnx DIR [--onnx-rgb]] [--arch NAME|JSON] [--verify]

Writes a standalone SAM for one subnet of a supernet: dropped blocks removed, MLPs sliced to the subnet's widths;
the arch records per-block MLP widths and each kept block's attention kind. Loadable by segment, info, eval and
the GUI.

  --supernet F     supernet checkpoint (from `supersam calibrate` / `supersam train`), or any SAM checkpoint
  --subnet STRING  one token per encoder block, comma-separated: the MLP width, or x for a dropped block
                   (e.g. 3072,x,1536,...); also "largest" or "smallest" of the checkpoint's search space
  --arch NAME|JSON architecture override
  --verify         run the supernet's subnet and the exported model on a random input and compare
  --out F          output .safetensors (written atomically); optional when --onnx is given
  --onnx DIR       also (or only) write DIR/encoder.onnx and DIR/decoder.onnx in the interface of SAM's ONNX export
                   (opset 17; encoder input: the normalised, zero-padded image [1,3,S,S]; decoder inputs:
                   image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size) and
                   DIR/supersam_onnx.json (opset, input size, pixel mean/std, subnet)
  --onnx-rgb       with --onnx: also DIR/encoder_rgb.onnx (SAM's preprocessing in the graph, input [H, W, 3] RGB
                   0-255) and DIR/x-anylabeling.yaml, X-AnyLabeling's custom SAM model config for it)";

int runExport(const std::vector<std::string>& argv) {
  Args args(argv, {"supernet", "subnet", "out", "onnx", "arch", "threads"}, {"verify", "onnx-rgb"});
  util::setThreads(args.getInt("threads", 0));
  infer::LoadedModel loaded = infer::loadModel(args.required("supernet"), args.get("arch"));
  const std::string text = args.required("subnet");
  const std::optional<std::string> onnxDir = args.get("onnx");
  const std::string out = onnxDir && !args.get("out") ? std::string() : args.required("out");
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
  std::cout << "subnet " << s.toString() << " (hash " << s.hash() << ")\n"
            << supernet::describeCost(loaded.arch, s);
  if (onnxDir) {
    const auto t0 = std::chrono::steady_clock::now();
    const exporter::OnnxExportResult r = exporter::exportOnnx(loaded.sam, s, *onnxDir, {}, args.flag("onnx-rgb"));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote " << r.encoderPath << " (" << r.encoderNodes << " nodes, " << r.encoderBytes / 1e6
              << " MB), " << r.decoderPath << " (" << r.decoderNodes << " nodes, " << r.decoderBytes / 1e6
              << " MB), " << (r.rgbEncoderPath.empty() ? "" : r.rgbEncoderPath + ", " + r.anylabelingConfigPath + ", ")
              << r.sidecarPath << " (opset " << exporter::kOnnxOpset << ", " << secs << " s)\n";
  }
  if (out.empty()) return 0;
  supernet::exportSubnet(loaded.sam, s, out, extra);
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
