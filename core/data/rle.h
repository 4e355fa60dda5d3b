#pragma once
// COCO run-length encoding of binary masks, as pycocotools writes it: runs over the mask in column-major order
// (down each column, then the next column), alternating background / foreground, starting with background (a
// first run of 0 when the top-left pixel is foreground). The compact string form packs each count (from the
// third on, as the difference to the count two before) in 5-bit groups offset by 48, with a continuation bit.
// Masks are cv::Mat CV_8U [H, W] (row-major), 0 = background, anything else = foreground; produced masks hold 0/1.
// Thread-safety: plain values and pure functions.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace supersam::data {

struct Rle {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint32_t> counts;  // sums to height * width (checked by validate)

  bool operator==(const Rle& o) const { return height == o.height && width == o.width && counts == o.counts; }
  bool operator!=(const Rle& o) const { return !(*this == o); }
};

// Compact string <-> runs. Throws util::Error (naming `what`) on a malformed string or runs that do not sum to h*w.
Rle rleFromString(int64_t height, int64_t width, const std::string& counts, const std::string& what = "RLE");
std::string rleToString(const Rle& rle);
// Uncompressed RLE ("counts" as a list of integers). Same checks.
Rle rleFromCounts(int64_t height, int64_t width, const std::vector<int64_t>& counts, const std::string& what = "RLE");

// Throws util::Error naming `what` unless the runs are non-negative and sum to height * width.
void validateRle(const Rle& rle, const std::string& what = "RLE");

Rle rleFromMask(const cv::Mat& mask);  // mask: CV_8U [H, W]
cv::Mat rleToMask(const Rle& rle);      // CV_8U [H, W] with values 0/1

int64_t rleArea(const Rle& rle);
// Tight box [x, y, w, h] in pixels as pycocotools' toBbox (0-sized box at the origin for an empty mask).
std::array<double, 4> rleBbox(const Rle& rle);

// Polygon rasterisation. `polygon` is a flat list x0,y0,x1,y1,... in continuous pixel coordinates (pixel (c, r)
// covers [c, c+1) x [r, r+1)). A pixel is foreground when its centre (c+0.5, r+0.5) is inside the polygon (even-odd
// rule, half-open on the right/bottom edges), so the square 10..20 x 10..20 gives exactly 100 pixels. pycocotools
// includes a little more of the boundary; areas differ by up to about the perimeter / 2. Several polygons are OR-ed.
// Throws util::Error naming `what` when a polygon has fewer than 3 points or an odd number of coordinates.
cv::Mat rasterizePolygons(const std::vector<std::vector<double>>& polygons, int64_t height, int64_t width,
                          const std::string& what = "polygon");

// Outer rings of the mask's components (holes ignored) as traced by maskToComponentPolygons (polygons.h: through
// the midpoints of the boundary pixel edges, so rasterizePolygons gives the components back), simplified with
// Douglas-Peucker at `tolerance` pixels (0 = the exact boundary). Nothing is dropped for its size.
std::vector<std::vector<double>> maskToPolygons(const cv::Mat& mask, double tolerance = 1.0);

}  // namespace supersam::data
