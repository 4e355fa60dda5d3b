#include "core/data/polygons.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "core/data/rle.h"

namespace supersam::data {

namespace {

// Directions of the pixel-edge graph, clockwise on screen (y down): east, south, west, north. Turning left from
// direction d gives (d + 3) % 4.
constexpr int kDx[4] = {1, 0, -1, 0};
constexpr int kDy[4] = {0, 1, 0, -1};

int bitCount(uint8_t v) {
  int n = 0;
  for (; v; v &= static_cast<uint8_t>(v - 1)) ++n;
  return n;
}

int firstBit(uint8_t v) {
  for (int d = 0; d < 4; ++d) {
    if (v & (1u << d)) return d;
  }
  return -1;
}

// A traced ring before simplification, with the 8-connected component it bounds.
struct RawRing {
  Ring points;
  int label = 0;
  double area = 0;
};

// Removes points that lie on the segment joining their neighbours (exact: coordinates are multiples of 0.5).
Ring dropCollinear(const Ring& ring) {
  const size_t n = ring.size();
  if (n < 3) return ring;
  Ring out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const cv::Point2d& a = ring[(i + n - 1) % n];
    const cv::Point2d& b = ring[i];
    const cv::Point2d& c = ring[(i + 1) % n];
    const double cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
    if (cross != 0) out.push_back(b);
  }
  return out;
}

// Walks the directed pixel edges that have foreground on their right (outer rings clockwise on screen, holes
// counter-clockwise) and returns every closed ring, its points the edges' midpoints.
std::vector<RawRing> traceRings(const cv::Mat& bin, const cv::Mat& labels) {
  const int w = bin.cols, h = bin.rows;
  const size_t vw = static_cast<size_t>(w) + 1;
  auto fg = [&](int c, int r) { return c >= 0 && r >= 0 && c < w && r < h && bin.at<uint8_t>(r, c) != 0; };
  std::vector<uint8_t> out(vw * (static_cast<size_t>(h) + 1), 0);
  auto vertex = [&](int x, int y) { return static_cast<size_t>(y) * vw + static_cast<size_t>(x); };
  for (int r = 0; r < h; ++r) {
    const uint8_t* row = bin.ptr<uint8_t>(r);
    for (int c = 0; c < w; ++c) {
      if (!row[c]) continue;
      if (!fg(c, r - 1)) out[vertex(c, r)] |= 1u << 0;          // top edge, eastwards
      if (!fg(c + 1, r)) out[vertex(c + 1, r)] |= 1u << 1;      // right edge, southwards
      if (!fg(c, r + 1)) out[vertex(c + 1, r + 1)] |= 1u << 2;  // bottom edge, westwards
      if (!fg(c - 1, r)) out[vertex(c, r + 1)] |= 1u << 3;      // left edge, northwards
    }
  }
  // The foreground pixel on the right of the edge leaving (x, y) in direction d.
  auto rightPixel = [](int x, int y, int d, int& c, int& r) {
    static constexpr int kPc[4] = {0, -1, -1, 0};
    static constexpr int kPr[4] = {0, 0, -1, -1};
    c = x + kPc[d];
    r = y + kPr[d];
  };
  std::vector<RawRing> rings;
  for (int y = 0; y <= h; ++y) {
    for (int x = 0; x <= w; ++x) {
      // Start only where one edge leaves: at a saddle (two leaving) the way on depends on the way in.
      while (bitCount(out[vertex(x, y)]) == 1) {
        RawRing ring;
        int d = firstBit(out[vertex(x, y)]);
        int pc = 0, pr = 0;
        rightPixel(x, y, d, pc, pr);
        ring.label = labels.at<int32_t>(pr, pc);
        int cx = x, cy = y;
        while (true) {
          out[vertex(cx, cy)] &= static_cast<uint8_t>(~(1u << d));
          ring.points.emplace_back(cx + 0.5 * kDx[d], cy + 0.5 * kDy[d]);
          cx += kDx[d];
          cy += kDy[d];
          if (cx == x && cy == y) break;
          const uint8_t bits = out[vertex(cx, cy)];
          // Saddle (two diagonal foreground pixels): turn left, which keeps the diagonal pair one component.
          d = bitCount(bits) == 2 ? (d + 3) % 4 : firstBit(bits);
        }
        ring.points = dropCollinear(ring.points);
        ring.area = signedArea(ring.points);
        rings.push_back(std::move(ring));
      }
    }
  }
  return rings;
}

Ring toRing(const std::vector<cv::Point2f>& pts) {
  Ring r;
  r.reserve(pts.size());
  for (const auto& p : pts) r.emplace_back(p.x, p.y);
  return r;
}

// Douglas-Peucker at `tolerance`, halved while the result degenerates (fewer than 3 points, area below the
// minimum, or the orientation flipped); the exact ring when even small tolerances degenerate.
Ring simplify(const Ring& exact, double exactArea, const PolygonOptions& options) {
  if (options.tolerance <= 0 || exact.size() <= 3) return exact;
  std::vector<cv::Point2f> in;
  in.reserve(exact.size());
  for (const auto& p : exact) in.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
  std::vector<cv::Point2f> simple;
  for (double t = options.tolerance; t >= 0.05; t *= 0.5) {
    cv::approxPolyDP(in, simple, t, true);
    if (simple.size() < 3) continue;
    Ring r = toRing(simple);
    const double a = signedArea(r);
    if ((a > 0) == (exactArea > 0) && std::abs(a) >= options.minRingArea) return r;
  }
  return exact;
}

double pointDistance2(const cv::Point2d& a, const cv::Point2d& b) {
  const double dx = a.x - b.x, dy = a.y - b.y;
  return dx * dx + dy * dy;
}

// Inserts `ring` (walked from `start`) into `merged` after vertex index `at`, joined through `bridge` (a point
// on merged's edge from `at` to the next vertex, or merged[at] itself) by a cut walked there and back.
void spliceAt(Ring& merged, size_t at, const cv::Point2d& bridge, bool bridgeIsVertex, const Ring& ring,
              size_t start) {
  Ring piece;
  piece.reserve(ring.size() + 3);
  if (!bridgeIsVertex) piece.push_back(bridge);
  for (size_t k = 0; k < ring.size(); ++k) piece.push_back(ring[(start + k) % ring.size()]);
  piece.push_back(ring[start]);
  piece.push_back(bridge);
  merged.insert(merged.begin() + static_cast<std::ptrdiff_t>(at) + 1, piece.begin(), piece.end());
}

size_t nearestVertex(const Ring& ring, const cv::Point2d& p) {
  size_t best = 0;
  double bestD = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < ring.size(); ++i) {
    const double d = pointDistance2(ring[i], p);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

}  // namespace

double signedArea(const Ring& ring) {
  double s = 0;
  const size_t n = ring.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& a = ring[i];
    const auto& b = ring[(i + 1) % n];
    s += a.x * b.y - b.x * a.y;
  }
  return s / 2;
}

std::vector<ComponentPolygon> maskToComponentPolygons(const cv::Mat& mask, const PolygonOptions& options) {
  CV_Assert(mask.type() == CV_8UC1);
  std::vector<ComponentPolygon> comps;
  if (mask.empty()) return comps;
  cv::Mat bin = mask != 0;
  cv::Mat labels;
  const int n = cv::connectedComponents(bin, labels, 8, CV_32S);
  if (n <= 1) return comps;
  std::vector<RawRing> rings = traceRings(bin, labels);
  // Component label (1..n-1) -> its outer ring and holes; components whose outer ring is too small vanish whole.
  std::vector<ComponentPolygon> byLabel(static_cast<size_t>(n));
  std::vector<bool> hasOuter(static_cast<size_t>(n), false);
  for (const auto& r : rings) {
    if (r.points.size() < 3 || std::abs(r.area) < options.minRingArea) continue;
    Ring s = simplify(r.points, r.area, options);
    if (r.area > 0) {
      byLabel[static_cast<size_t>(r.label)].outer = std::move(s);
      hasOuter[static_cast<size_t>(r.label)] = true;
    } else {
      byLabel[static_cast<size_t>(r.label)].holes.push_back(std::move(s));
    }
  }
  for (int l = 1; l < n; ++l) {
    if (hasOuter[static_cast<size_t>(l)]) comps.push_back(std::move(byLabel[static_cast<size_t>(l)]));
  }
  return comps;
}

Ring joinHoles(const ComponentPolygon& component) {
  Ring merged = component.outer;
  if (merged.size() < 3) return merged;
  // Holes by their topmost point, top first: the ray up from a hole's top meets only the outer ring or holes
  // joined before it.
  std::vector<std::pair<size_t, size_t>> order;  // (hole index, index of its top point)
  for (size_t h = 0; h < component.holes.size(); ++h) {
    const Ring& hole = component.holes[h];
    if (hole.size() < 3) continue;
    size_t top = 0;
    for (size_t k = 1; k < hole.size(); ++k) {
      if (hole[k].y < hole[top].y || (hole[k].y == hole[top].y && hole[k].x < hole[top].x)) top = k;
    }
    order.emplace_back(h, top);
  }
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    const auto& pa = component.holes[a.first][a.second];
    const auto& pb = component.holes[b.first][b.second];
    return pa.y != pb.y ? pa.y < pb.y : pa.x < pb.x;
  });
  for (const auto& [h, top] : order) {
    const Ring& hole = component.holes[h];
    const cv::Point2d p = hole[top];
    size_t bestEdge = merged.size();
    double bestY = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < merged.size(); ++i) {
      const cv::Point2d& a = merged[i];
      const cv::Point2d& b = merged[(i + 1) % merged.size()];
      if (a.x == b.x) continue;
      if (!(std::min(a.x, b.x) <= p.x && p.x < std::max(a.x, b.x))) continue;
      const double y = a.y + (p.x - a.x) * (b.y - a.y) / (b.x - a.x);
      if (y <= p.y && y > bestY) {
        bestY = y;
        bestEdge = i;
      }
    }
    if (bestEdge < merged.size()) {
      const cv::Point2d bridge(p.x, bestY);
      const bool onVertex = bridge == merged[bestEdge];
      spliceAt(merged, bestEdge, bridge, onVertex, hole, top);
    } else {
      // Simplification moved the hole past the outer ring: join it to the nearest vertex instead.
      const size_t j = nearestVertex(merged, p);
      spliceAt(merged, j, merged[j], true, hole, top);
    }
  }
  return merged;
}

Ring joinComponents(const std::vector<ComponentPolygon>& components) {
  Ring merged;
  for (const auto& c : components) {
    Ring one = joinHoles(c);
    if (one.size() < 3) continue;
    if (merged.empty()) {
      merged = std::move(one);
      continue;
    }
    // Cut from this component's first point to the nearest vertex of what is joined so far.
    size_t bestI = 0, bestJ = 0;
    double bestD = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < one.size(); j += std::max<size_t>(1, one.size() / 64)) {
      const size_t i = nearestVertex(merged, one[j]);
      const double d = pointDistance2(merged[i], one[j]);
      if (d < bestD) {
        bestD = d;
        bestI = i;
        bestJ = j;
      }
    }
    spliceAt(merged, bestI, merged[bestI], true, one, bestJ);
  }
  return merged;
}

cv::Mat rasterizeRings(const std::vector<Ring>& rings, int height, int width) {
  cv::Mat out(height, width, CV_8UC1, cv::Scalar(0));
  for (const auto& r : rings) {
    if (r.size() < 3) continue;
    out ^= rasterizePolygons({flatten(r)}, height, width, "ring");
  }
  return out;
}

std::vector<Ring> allRings(const std::vector<ComponentPolygon>& components) {
  std::vector<Ring> rings;
  for (const auto& c : components) {
    rings.push_back(c.outer);
    rings.insert(rings.end(), c.holes.begin(), c.holes.end());
  }
  return rings;
}

std::vector<double> flatten(const Ring& ring) {
  std::vector<double> xy;
  xy.reserve(ring.size() * 2);
  for (const auto& p : ring) {
    xy.push_back(p.x);
    xy.push_back(p.y);
  }
  return xy;
}

Ring ringFromFlat(const std::vector<double>& xy) {
  CV_Assert(xy.size() % 2 == 0);
  Ring r;
  r.reserve(xy.size() / 2);
  for (size_t i = 0; i + 1 < xy.size(); i += 2) r.emplace_back(xy[i], xy[i + 1]);
  return r;
}

}  // namespace supersam::data
