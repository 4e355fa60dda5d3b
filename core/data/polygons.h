#pragma once
// Binary mask <-> polygons with holes, for the polygon exports (COCO polygons, YOLO segmentation) and their readers.
//
// Coordinates are continuous pixel coordinates: pixel (c, r) covers [c, c+1) x [r, r+1) and its centre is
// (c + 0.5, r + 0.5), as in data::rasterizePolygons (rle.h) and pycocotools, both of which fill a pixel when its
// centre is inside. The exact boundary traced here therefore runs through the midpoints of the pixel edges that
// separate foreground from background (the 0.5 iso-line of the mask sampled at pixel centres, as marching squares
// gives it): every foreground centre lies inside and every background centre outside by at least 0.35 px, so the
// unsimplified rings rasterise back to the very same mask, and a simplification by t < 0.35 px changes nothing.
//
// Foreground is 8-connected (pixels touching at a corner are one component, as cv::findContours and
// cv::connectedComponents(8) see them); holes are the 4-connected background regions a component encloses.
// Thread-safety: pure functions on values.

#include <vector>

#include <opencv2/core.hpp>

namespace supersam::data {

using Ring = std::vector<cv::Point2d>;  // closed implicitly (last point joins the first); no repeated end point

struct PolygonOptions {
  // Douglas-Peucker tolerance in pixels: the largest distance a simplified edge may stray from the traced
  // boundary. 0 keeps the exact boundary (only collinear points removed). A ring that the tolerance would reduce
  // below 3 points or below minRingArea (a thin line at t >= 0.5) is simplified again with half the tolerance,
  // down to the exact ring, so thin objects are kept rather than dropped.
  double tolerance = 0.5;
  // Rings (outer or hole) whose exact traced area is below this many square pixels are dropped: with the default
  // 1.0 an isolated single pixel (a diamond of area 0.5) and a one-pixel pinhole vanish, two pixels stay.
  double minRingArea = 1.0;
};

// One 8-connected component: its outer ring (positive signed area in image coordinates, y down: clockwise on
// screen) and the rings of its holes (negative signed area). Points are in continuous pixel coordinates.
struct ComponentPolygon {
  Ring outer;
  std::vector<Ring> holes;
};

// The components of `mask` (CV_8U, non-zero = foreground) in raster order of their top-left pixel, each with its
// holes, simplified as `options` say. An empty mask gives an empty list. Memory: O(mask pixels).
std::vector<ComponentPolygon> maskToComponentPolygons(const cv::Mat& mask, const PolygonOptions& options = {});

// One ring for a component with holes: each hole is joined to the outer ring (or to a hole already joined) by a
// zero-width cut, a segment walked there and back, from the hole's topmost point straight up to the first edge
// above it. Under the even-odd rule (pycocotools, data::rasterizePolygons, cv::fillPoly) a segment walked twice
// changes nothing, so the single ring fills the outer ring minus the holes. Without holes: the outer ring.
Ring joinHoles(const ComponentPolygon& component);

// All components of an object as one ring (YOLO segmentation allows one polygon per object): each component's
// joinHoles ring, chained by a zero-width cut from one of its vertices (up to 64 evenly spaced ones are tried) to
// the nearest vertex of what is joined so far. Even-odd filling gives the union of the components (the cut may
// cross another component, which the even-odd rule also leaves unchanged). Empty list -> empty ring.
// Cost: O(components x vertices) for the cuts, O(holes x vertices) in joinHoles.
Ring joinComponents(const std::vector<ComponentPolygon>& components);

// Shoelace signed area in square pixels (positive for outer rings as traced here).
double signedArea(const Ring& ring);

// Rasterises rings with the even-odd rule taken over all of them together (a hole ring inside its outer ring
// removes its pixels), pixel centres inside being foreground, as data::rasterizePolygons. CV_8U [height, width]
// holding 0/1; parts outside the image are clipped. Rings with fewer than 3 points are ignored.
cv::Mat rasterizeRings(const std::vector<Ring>& rings, int height, int width);

// The rings of the components (outer and holes), e.g. for rasterizeRings.
std::vector<Ring> allRings(const std::vector<ComponentPolygon>& components);

// Ring <-> flat list x0, y0, x1, y1, ... (COCO's polygon layout). ringFromFlat requires an even length
// (cv::Exception otherwise: callers check lengths and report util::Error first).
std::vector<double> flatten(const Ring& ring);
Ring ringFromFlat(const std::vector<double>& xy);

}  // namespace supersam::data
