// `supersam segment`: segment one image with points / a box / a previous low-res mask, write the mask as an image
// and optionally every tensor (embedding, logits, IoU) as safetensors in the reference fixtures' layouts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/data/dataset.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/io/safetensors.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam segment --checkpoint F --image IMG [prompts] --out MASK.png [options]

Segments IMG with SAM from point / box / mask prompts and writes the mask (0 or 255, the image's size).

  --checkpoint F         official SAM .pth, our .safetensors, or Hugging Face SAM .safetensors
  --arch vit_b|FILE.json architecture (default: the file's metadata, else inferred from the tensor shapes)
  --image IMG            any image OpenCV reads (colour, grey or with alpha; 8 or 16 bit)
  --point X,Y[,LABEL]    a point in image pixels; LABEL 1 = foreground (default), 0 = background. Repeatable.
  --box X0,Y0,X1,Y1      a box in image pixels
  --mask-input FILE      a .safetensors written by an earlier --dump: its low_res_logits are fed back as the mask
                         prompt (when it holds several masks, the one with the highest iou is used)
  --multimask            predict 3 masks; --out gets the one the IoU head ranks first (all IoUs are printed)
  --out MASK.png         where the mask goes (format from the extension; .png recommended)
  --dump OUT.safetensors also write image_embedding [1,C,h,w], low_res_logits [M,L,L], iou [M] and mask_logits
                         [M,H,W] (original size, before thresholding at 0)
  --device cpu|cuda      where to run (default cpu)
  --threads N            CPU threads (default: all cores)

At least one prompt is needed; prompts must lie inside the image.)";

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }


void requireInside(double x, double y, int64_t h, int64_t w, const std::string& what) {
  if (!(x >= 0 && y >= 0 && x <= static_cast<double>(w) && y <= static_cast<double>(h))) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s (%g, %g) lies outside the image (%lld x %lld pixels, x in [0, %lld], y in [0, %lld])",
                  what.c_str(), x, y, static_cast<long long>(w), static_cast<long long>(h), static_cast<long long>(w),
                  static_cast<long long>(h));
    throw util::Error(buf);
  }
}

// The low-res logits of an earlier --dump: [1, L, L]. Several masks: the highest predicted IoU.
at::Tensor readMaskInput(const std::string& path, int64_t lowRes) {
  if (!std::filesystem::is_regular_file(path)) throw util::Error("mask input '" + path + "' does not exist");
  io::SafetensorsFile f = io::loadSafetensors(path);
  const at::Tensor* logits = f.find("low_res_logits");
  if (!logits) {
    throw util::Error("mask input '" + path + "' has no tensor 'low_res_logits' (expected a file written by --dump)");
  }
  at::Tensor t = logits->to(at::kFloat);
  if (t.dim() == 2) t = t.unsqueeze(0);
  if (t.dim() != 3 || t.size(1) != lowRes || t.size(2) != lowRes) {
    throw util::Error("mask input '" + path + "': low_res_logits must be [M, " + std::to_string(lowRes) + ", " +
                      std::to_string(lowRes) + "] for this architecture");
  }
  int64_t pick = 0;
  if (t.size(0) > 1) {
    if (const at::Tensor* iou = f.find("iou"); iou && iou->numel() == t.size(0)) pick = iou->argmax().item<int64_t>();
    std::cout << "mask input: using mask " << pick << " of " << t.size(0) << " (highest predicted IoU)\n";
  }
  return t.narrow(0, pick, 1).contiguous();
}

void writeMask(const std::string& path, const at::Tensor& maskHw) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext.empty()) throw util::Error("--out '" + path + "' needs an image extension such as .png");
  at::Tensor u8 = maskHw.to(at::kByte).mul(255).contiguous();
  cv::Mat m(static_cast<int>(u8.size(0)), static_cast<int>(u8.size(1)), CV_8UC1, u8.data_ptr<uint8_t>());
  std::vector<uchar> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(ext, m, bytes);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw util::Error("cannot encode the mask as '" + ext + "' for '" + path + "' (use .png)");
  util::writeFileAtomic(path, std::string(bytes.begin(), bytes.end()));
}

int runSegment(const std::vector<std::string>& argv) {
  Args args(argv, {"checkpoint", "arch", "image", "point", "box", "mask-input", "out", "dump", "device", "threads"},
            {"multimask"});
  if (!args.positional().empty()) throw util::Error("unexpected argument '" + args.positional().front() + "'");
  const std::string checkpoint = args.required("checkpoint");
  const std::string imagePath = args.required("image");
  const std::string outPath = args.required("out");
  util::setThreads(args.getInt("threads", 0));
  const c10::Device device = util::parseDevice(args.get("device").value_or("cpu"));

  // Everything about the prompt is checked before the (slow) model load.
  if (!std::filesystem::is_regular_file(checkpoint)) throw util::Error("checkpoint '" + checkpoint + "' does not exist");
  at::Tensor image = data::loadImageRgb(imagePath);
  const int64_t H = image.size(0), W = image.size(1);
  infer::Prompt prompt;
  for (const auto& text : args.all("point")) {
    auto v = parseNumberList(text, "--point", 2, 3);
    const int label = v.size() == 3 ? static_cast<int>(v[2]) : 1;
    if (v.size() == 3 && v[2] != 0.0 && v[2] != 1.0) {
      throw util::Error("--point " + text + ": LABEL must be 1 (foreground) or 0 (background)");
    }
    requireInside(v[0], v[1], H, W, "point");
    prompt.points.push_back({static_cast<float>(v[0]), static_cast<float>(v[1])});
    prompt.labels.push_back(label);
  }
  if (auto b = args.get("box")) {
    auto v = parseNumberList(*b, "--box", 4, 4);
    requireInside(v[0], v[1], H, W, "box corner");
    requireInside(v[2], v[3], H, W, "box corner");
    if (!(v[2] > v[0] && v[3] > v[1])) throw util::Error("--box " + *b + ": expected X0 < X1 and Y0 < Y1");
    prompt.box = std::array<float, 4>{static_cast<float>(v[0]), static_cast<float>(v[1]), static_cast<float>(v[2]),
                                      static_cast<float>(v[3])};
  }
  prompt.multimask = args.flag("multimask");
  prompt.returnLogits = args.get("dump").has_value();  // the dump holds the full-size logits
  const std::optional<std::string> maskInputPath = args.get("mask-input");
  if (prompt.points.empty() && !prompt.box && !maskInputPath) {
    throw util::Error("no prompt: give at least one --point, a --box or a --mask-input");
  }

  auto t0 = Clock::now();
  infer::LoadedModel loaded = infer::loadModel(checkpoint, args.get("arch"), device);
  for (const auto& w : loaded.warnings) std::cerr << "segment: warning: " << w << "\n";
  if (maskInputPath) prompt.maskInput = readMaskInput(*maskInputPath, loaded.arch.lowResSize());
  std::cout << "model: " << loaded.arch.name << " from " << checkpoint << " (" << io::formatName(loaded.format)
            << ", loaded in " << secondsSince(t0) << " s)\n";

  infer::Predictor predictor(loaded.sam, device);
  t0 = Clock::now();
  predictor.setImage(image);
  std::cout << "image: " << W << "x" << H << ", encoded in " << secondsSince(t0) << " s\n";
  t0 = Clock::now();
  infer::Prediction pred = predictor.predict(prompt);
  const double decodeMs = secondsSince(t0) * 1000.0;

  const int64_t M = pred.iou.size(0);
  const int64_t best = M > 1 ? pred.iou.argmax().item<int64_t>() : 0;
  for (int64_t i = 0; i < M; ++i) {
    std::printf("mask %lld: predicted IoU %.4f%s\n", static_cast<long long>(i), pred.iou[i].item<double>(),
                M > 1 && i == best ? "  <- ranked first" : "");
  }
  std::printf("decoded in %.1f ms\n", decodeMs);
  writeMask(outPath, pred.masks[best]);
  std::cout << "wrote " << outPath;
  if (M > 1) std::cout << " (mask " << best << " of " << M << ", the one the IoU head ranks first)";
  std::cout << "\n";

  if (auto dump = args.get("dump")) {
    io::saveSafetensors(*dump,
                        {{"image_embedding", predictor.embedding().to(at::kCPU).contiguous()},
                         {"low_res_logits", pred.lowResLogits},
                         {"iou", pred.iou},
                         {"mask_logits", pred.maskLogits}},
                        {{"format", "supersam-segment-dump"},
                         {"arch", loaded.arch.toJsonText()},
                         {"checkpoint", checkpoint},
                         {"image", imagePath},
                         {"multimask", prompt.multimask ? "true" : "false"}});
    std::cout << "wrote " << *dump << " (image_embedding, low_res_logits, iou, mask_logits)\n";
  }
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("segment", "segment an image with point / box / mask prompts", kUsage, runSegment);

}  // namespace supersam::cli
