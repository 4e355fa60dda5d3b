#pragma once
// Prompts derived from a ground-truth instance mask: its box (exact for evaluation, each side jittered for
// training) or one or several foreground points inside it. Every random choice comes from a std::mt19937_64
// seeded from (seed, image id, object index), so two subnets, two runs or two processes see identical prompts.
// Coordinates follow SAM's predictor: original-image pixel indices (SAM adds 0.5 to reach pixel centres), box
// corners x0,y0 = first foreground column/row, x1,y1 = last foreground column/row (inclusive, as SAM's mask->box).
// Thread-safety: pure functions.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace supersam::data {

enum class PromptKind { Box, Point };
enum class PointPlacement {
  Center,  // first point: the foreground pixel farthest from the boundary (distance transform, image border counts
           // as boundary; ties -> first in row-major order); further points uniformly random inside the mask
  Random   // every point uniformly random inside the mask
};

std::string promptKindName(PromptKind k);               // "box" / "point"
PromptKind parsePromptKind(const std::string& text);    // throws util::Error naming the text

struct PromptOptions {
  PromptKind kind = PromptKind::Box;
  int numPoints = 1;                         // Point kind: foreground points per object (>= 1)
  PointPlacement placement = PointPlacement::Center;
  double boxJitter = 0.0;                    // Box kind: each side moves by up to this fraction of its length
                                             // (uniform); 0 = exact (evaluation), 0.1 for training
  uint64_t seed = 0;
};

// The geometric part of an infer::Prompt (convert with eval::toInferPrompt or by hand).
struct PromptGeometry {
  std::vector<std::array<float, 2>> points;  // (x, y) pixels
  std::vector<int> labels;                   // 1 = foreground
  std::optional<std::array<float, 4>> box;   // x0, y0, x1, y1 pixels
};

// Seed of the generator for one object: a SplitMix64 mix of the three values.
uint64_t promptSeed(uint64_t seed, int64_t imageId, int64_t objectIndex);

// `mask`: CV_8U [H, W] (nonzero = object), must not be empty (util::Error otherwise).
PromptGeometry makePrompt(const cv::Mat& mask, const PromptOptions& opt, int64_t imageId, int64_t objectIndex);

}  // namespace supersam::data
