#pragma once
// Plain values exchanged between the GUI and the engine facades. No Qt, no torch: these cross thread boundaries
// inside queued signals (registered with qRegisterMetaType in ui/workers) and are cheap to copy or move.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model/elastic.h"

namespace supersam::ui {

// An RGB image, rows top to bottom, 3 bytes per pixel, no padding: data.size() == width * height * 3.
struct ImageRgb {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;
  bool empty() const { return width <= 0 || height <= 0; }
};

// A binary mask, row-major, one byte per pixel holding 0 or 1: data.size() == width * height.
struct MaskU8 {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;
  bool empty() const { return width <= 0 || height <= 0; }
  int64_t area() const;
};

// IoU of two masks of equal size (1 when both are empty); 0 when sizes differ.
double maskIoU(const MaskU8& a, const MaskU8& b);

// The prompts of one object, in original-image pixels.
struct PromptSet {
  std::vector<std::array<float, 2>> points;  // (x, y)
  std::vector<int> labels;                   // 1 foreground, 0 background; same length as points
  std::optional<std::array<float, 4>> box;   // x0, y0, x1, y1
  bool empty() const { return points.empty() && !box.has_value(); }
  bool operator==(const PromptSet& o) const { return points == o.points && labels == o.labels && box == o.box; }
  bool operator!=(const PromptSet& o) const { return !(*this == o); }
};

// Cost of one subnet. latencyMs < 0 = not measured yet.
struct SubnetFigures {
  int64_t params = 0;        // parameters of the whole SAM with this encoder subnet
  int64_t encoderParams = 0;
  double weightMB = 0;       // float32 weights, MB (1e6 bytes)
  double gmacs = 0;          // encoder multiply-accumulates, 1e9
  double latencyMs = -1;     // measured full encoder forward on this machine
};

// One encoder block as the elastic controls show it.
struct BlockInfo {
  int index = 0;
  bool global = false;                 // global attention (else windowed)
  bool prunable = true;                // may be dropped
  int64_t fullWidth = 0;               // MLP hidden width of the supernet
  std::vector<int64_t> widthChoices;   // ascending, last = fullWidth
  double sensitivity = 0;              // quality lost when this block alone is dropped (higher = more important)
};

struct ModelInfo {
  std::string path;
  std::string format;        // "PyTorch zip", "safetensors", ...
  std::string archName;      // vit_b, custom, ...
  int imageSize = 0;
  std::vector<BlockInfo> blocks;
  std::vector<int> dropOrder;  // block indices, least important first: the depth slider drops them in this order
  bool hasSupernetData = false;  // measured sensitivity present (else the sensitivity column is empty)
  std::string sensitivityMetric;  // "embedding_rel_change", "miou", ...
  std::string spaceSource;        // where the search space came from ("checkpoint", "default (...)")
  std::string reorderMethod;      // MLP reordering recorded in the checkpoint, or empty
  std::string summary;           // one human-readable line
  std::vector<std::string> warnings;  // e.g. NaN weights (core's infer::LoadedModel::warnings); shown on load
};

// Result of decoding one prompt set on the current image with the current subnet.
struct PredictionResult {
  uint64_t requestId = 0;
  std::vector<MaskU8> masks;  // 3 multimask candidates (or 1), original image size
  std::vector<float> iou;     // predicted IoU per candidate
  int best = 0;               // candidate the IoU head ranks first
  MaskU8 reference;           // the largest subnet's mask for the same prompts (empty if not computed)
  double agreementIoU = -1;   // IoU(best, reference); -1 = not computed
  double encodeMs = 0;        // time spent (re-)encoding for this request; 0 when cached
  int encodedFromBlock = -1;  // first block re-run; -1 = embedding reused, 0 = full encode
  double decodeMs = 0;
  std::string subnet;         // canonical string of the subnet that produced it
  // Fast preview (elastic annotation): a result decoded on the preview subnet's embedding while the chosen subnet's
  // embedding is being computed; the chosen subnet's result for the same (or newer) prompts follows.
  bool preview = false;
  std::string finalSubnet;    // with preview: the subnet being encoded meanwhile
  double sinceImageMs = -1;   // ms from the start of work on a newly opened image to this result; -1 otherwise
  bool fromCache = false;     // the embedding came from the on-disk embedding cache (no encoder run)
};

// Elastic annotation settings of the interactive session (the inference worker applies them).
struct PreviewSettings {
  bool enabled = true;                       // encode each new image with `subnet` first, then the chosen subnet
  model::ElasticConfig subnet;               // the preview subnet (empty = no preview)
  bool escalate = false;                     // try the next larger subnet of `ladder` when the IoU score is low
  double threshold = 0.8;                    // escalate when the selected mask's predicted IoU is below this
  double minGain = 0.02;                     // offer a larger rung's mask only when its IoU is higher by this much
  std::vector<model::ElasticConfig> ladder;  // ascending in size (e.g. the Pareto front); climbed rung by rung
};

}  // namespace supersam::ui
