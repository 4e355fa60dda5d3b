#include "core/data/prompts.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/util/error.h"

namespace supersam::data {

namespace {
uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// Portable draws (std distributions differ between standard libraries).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }
size_t uniformIndex(std::mt19937_64& rng, size_t n) { return static_cast<size_t>(rng() % n); }
}  // namespace

std::string promptKindName(PromptKind k) { return k == PromptKind::Box ? "box" : "point"; }

PromptKind parsePromptKind(const std::string& text) {
  if (text == "box") return PromptKind::Box;
  if (text == "point" || text == "points") return PromptKind::Point;
  throw util::Error("prompt kind '" + text + "': expected box or point");
}

uint64_t promptSeed(uint64_t seed, int64_t imageId, int64_t objectIndex) {
  uint64_t h = splitmix(seed);
  h = splitmix(h ^ static_cast<uint64_t>(imageId));
  h = splitmix(h ^ static_cast<uint64_t>(objectIndex));
  return h;
}

PromptGeometry makePrompt(const cv::Mat& mask, const PromptOptions& opt, int64_t imageId, int64_t objectIndex) {
  CV_Assert(mask.type() == CV_8UC1);
  std::vector<cv::Point> fg;
  cv::findNonZero(mask, fg);
  if (fg.empty()) {
    throw util::Error("cannot make a prompt for an empty mask (image " + std::to_string(imageId) + ", object " +
                      std::to_string(objectIndex) + ")");
  }
  std::mt19937_64 rng(promptSeed(opt.seed, imageId, objectIndex));
  PromptGeometry out;
  if (opt.kind == PromptKind::Box) {
    const cv::Rect r = cv::boundingRect(fg);
    double x0 = r.x, y0 = r.y, x1 = r.x + r.width - 1, y1 = r.y + r.height - 1;
    if (opt.boxJitter > 0) {
      const double w = r.width, h = r.height;
      auto jit = [&](double len) { return (2.0 * uniform01(rng) - 1.0) * opt.boxJitter * len; };
      x0 += jit(w);
      x1 += jit(w);
      y0 += jit(h);
      y1 += jit(h);
      const double maxX = mask.cols - 1, maxY = mask.rows - 1;
      x0 = std::clamp(x0, 0.0, maxX);
      x1 = std::clamp(x1, 0.0, maxX);
      y0 = std::clamp(y0, 0.0, maxY);
      y1 = std::clamp(y1, 0.0, maxY);
      if (x1 < x0) std::swap(x0, x1);
      if (y1 < y0) std::swap(y0, y1);
    }
    out.box = std::array<float, 4>{float(x0), float(y0), float(x1), float(y1)};
    return out;
  }
  const int n = std::max(1, opt.numPoints);
  int start = 0;
  if (opt.placement == PointPlacement::Center) {
    cv::Mat padded, dist;
    cv::copyMakeBorder(mask != 0, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
    cv::distanceTransform(padded, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    cv::Point best;
    cv::minMaxLoc(dist, nullptr, nullptr, nullptr, &best);
    out.points.push_back({float(best.x - 1), float(best.y - 1)});
    out.labels.push_back(1);
    start = 1;
  }
  for (int i = start; i < n; ++i) {
    const cv::Point p = fg[uniformIndex(rng, fg.size())];
    out.points.push_back({float(p.x), float(p.y)});
    out.labels.push_back(1);
  }
  return out;
}

}  // namespace supersam::data
