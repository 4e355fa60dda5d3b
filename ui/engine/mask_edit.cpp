#include "ui/engine/mask_edit.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/util/error.h"

namespace supersam::ui {

namespace {
// Squared distance from (px, py) to the segment a-b.
double segmentDistance2(double px, double py, const std::array<float, 2>& a, const std::array<float, 2>& b) {
  const double dx = b[0] - a[0], dy = b[1] - a[1];
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - a[0]) * dx + (py - a[1]) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double qx = a[0] + t * dx - px, qy = a[1] + t * dy - py;
  return qx * qx + qy * qy;
}
}  // namespace

MaskU8 paintStroke(const MaskU8& mask, const std::vector<std::array<float, 2>>& stroke, float radius, bool erase) {
  if (stroke.empty()) throw util::Error("brush stroke has no points");
  if (!(radius > 0) || !std::isfinite(radius)) {
    throw util::Error("brush radius " + std::to_string(radius) + " is not a positive number of pixels");
  }
  MaskU8 out = mask;
  const uint8_t value = erase ? 0 : 1;
  const double r2 = static_cast<double>(radius) * radius;
  for (size_t s = 0; s < stroke.size(); ++s) {
    const auto& a = stroke[s];
    const auto& b = stroke[s + 1 < stroke.size() ? s + 1 : s];
    if (stroke.size() > 1 && s + 1 == stroke.size()) break;  // the last point ends the previous segment
    // The segment's bounding box grown by the radius, clipped to the image.
    const int x0 = std::max(0, static_cast<int>(std::floor(std::min(a[0], b[0]) - radius - 0.5f)));
    const int x1 = std::min(out.width - 1, static_cast<int>(std::ceil(std::max(a[0], b[0]) + radius - 0.5f)));
    const int y0 = std::max(0, static_cast<int>(std::floor(std::min(a[1], b[1]) - radius - 0.5f)));
    const int y1 = std::min(out.height - 1, static_cast<int>(std::ceil(std::max(a[1], b[1]) + radius - 0.5f)));
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        if (segmentDistance2(x + 0.5, y + 0.5, a, b) <= r2) {
          out.data[static_cast<size_t>(y) * out.width + x] = value;
        }
      }
    }
  }
  return out;
}

}  // namespace supersam::ui
