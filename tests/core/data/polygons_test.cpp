// Mask -> polygons with holes -> mask: IoU of the round trip per shape and tolerance, vertex counts, hole joining.
#include <cstdio>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "core/data/polygons.h"
#include "core/data/rle.h"

namespace supersam::data {
namespace {

double iou(const cv::Mat& a, const cv::Mat& b) {
  const int inter = cv::countNonZero((a != 0) & (b != 0));
  const int uni = cv::countNonZero((a != 0) | (b != 0));
  return uni == 0 ? 1.0 : static_cast<double>(inter) / uni;
}

cv::Mat disk(int size, cv::Point c, int radius) {
  cv::Mat m(size, size, CV_8UC1, cv::Scalar(0));
  cv::circle(m, c, radius, cv::Scalar(1), cv::FILLED);
  return m;
}

struct Shape {
  const char* name;
  cv::Mat mask;
  bool thin;  // one pixel wide somewhere that matters
};

std::vector<Shape> shapes() {
  std::vector<Shape> s;
  s.push_back({"disk", disk(64, {30, 33}, 20), false});
  cv::Mat ring = disk(64, {32, 32}, 24);
  cv::circle(ring, {34, 30}, 10, cv::Scalar(0), cv::FILLED);
  s.push_back({"ring with a hole", ring, false});
  cv::Mat two = disk(64, {16, 16}, 10);
  cv::rectangle(two, cv::Rect(34, 30, 20, 25), cv::Scalar(1), cv::FILLED);
  s.push_back({"two components", two, false});
  cv::Mat line(64, 64, CV_8UC1, cv::Scalar(0));
  cv::line(line, {5, 50}, {58, 12}, cv::Scalar(1), 1, cv::LINE_8);
  s.push_back({"thin line", line, true});
  s.push_back({"blob at the border", disk(64, {2, 60}, 15), false});
  return s;
}

TEST(Polygons, ExactBoundaryRasterisesBackToTheSameMask) {
  PolygonOptions exact;
  exact.tolerance = 0;
  exact.minRingArea = 0;
  for (const auto& s : shapes()) {
    const auto comps = maskToComponentPolygons(s.mask, exact);
    const cv::Mat back = rasterizeRings(allRings(comps), s.mask.rows, s.mask.cols);
    EXPECT_EQ(cv::countNonZero(back != s.mask), 0) << s.name;
    // One ring per component with the holes cut in, as COCO and YOLO store it.
    std::vector<std::vector<double>> joined;
    for (const auto& c : comps) joined.push_back(flatten(joinHoles(c)));
    EXPECT_EQ(cv::countNonZero(rasterizePolygons(joined, s.mask.rows, s.mask.cols) != s.mask), 0) << s.name;
    const cv::Mat all = rasterizeRings({joinComponents(comps)}, s.mask.rows, s.mask.cols);
    EXPECT_EQ(cv::countNonZero(all != s.mask), 0) << s.name;
  }
}

TEST(Polygons, SimplifiedRingsKeepHighIoUAndFewerVertices) {
  for (const auto& s : shapes()) {
    size_t previous = SIZE_MAX, exactVertices = 0;
    for (double t : {0.0, 0.5, 1.0, 2.0}) {
      PolygonOptions o;
      o.tolerance = t;
      const auto comps = maskToComponentPolygons(s.mask, o);
      size_t vertices = 0;
      std::vector<std::vector<double>> joined;
      for (const auto& c : comps) {
        joined.push_back(flatten(joinHoles(c)));
        for (const auto& r : allRings({c})) vertices += r.size();
      }
      const double a = iou(s.mask, rasterizePolygons(joined, s.mask.rows, s.mask.cols));
      const double b = iou(s.mask, rasterizeRings(allRings(comps), s.mask.rows, s.mask.cols));
      EXPECT_DOUBLE_EQ(a, b) << s.name << " t=" << t;
      std::printf("[ figures  ] %-20s tolerance %.1f: %3zu vertices, IoU %.4f\n", s.name, t, vertices, a);
      if (t <= 0.5 && !s.thin) EXPECT_GE(a, 0.98) << s.name << " t=" << t;
      if (t <= 1.0 && !s.thin) EXPECT_GE(a, 0.95) << s.name << " t=" << t;
      if (s.thin) EXPECT_GE(a, t == 0 ? 1.0 : 0.5) << s.name << " t=" << t;
      if (previous != SIZE_MAX) EXPECT_LE(vertices, previous) << s.name << " t=" << t;
      if (t == 0) exactVertices = vertices;
      if (t == 2.0 && !s.thin) EXPECT_LT(vertices * 3, exactVertices) << s.name;
      previous = vertices;
    }
  }
}

TEST(Polygons, HolesComponentsAndOrientation) {
  cv::Mat m(40, 40, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(2, 2, 20, 20)).setTo(1);
  m(cv::Rect(6, 6, 4, 4)).setTo(0);    // hole 1
  m(cv::Rect(13, 12, 5, 6)).setTo(0);  // hole 2
  m(cv::Rect(30, 30, 5, 5)).setTo(1);  // second component
  m.at<uint8_t>(35, 35) = 1;           // touches it at a corner: the same 8-connected component
  m.at<uint8_t>(0, 39) = 1;            // a lone pixel: area 0.5 < the default minimum, dropped
  const auto comps = maskToComponentPolygons(m, {});
  ASSERT_EQ(comps.size(), 2u);
  EXPECT_EQ(comps[0].holes.size(), 2u);
  EXPECT_EQ(comps[1].holes.size(), 0u);
  EXPECT_GT(signedArea(comps[0].outer), 0);
  for (const auto& h : comps[0].holes) EXPECT_LT(signedArea(h), 0);
  // Exact rectangle ring: four sides with corners cut by half a pixel (4 x 1/8).
  PolygonOptions exact;
  exact.tolerance = 0;
  const auto exactComps = maskToComponentPolygons(m, exact);
  ASSERT_EQ(exactComps.size(), 2u);
  EXPECT_EQ(exactComps[0].outer.size(), 8u);
  EXPECT_NEAR(signedArea(exactComps[0].outer), 400 - 0.5, 1e-9);
  EXPECT_NEAR(signedArea(exactComps[0].holes[0]), -(16 - 0.5), 1e-9);
  cv::Mat expected = m.clone();
  expected.at<uint8_t>(0, 39) = 0;
  EXPECT_EQ(cv::countNonZero(rasterizeRings(allRings(comps), 40, 40) != expected), 0);
  PolygonOptions keepAll;
  keepAll.minRingArea = 0;
  EXPECT_EQ(maskToComponentPolygons(m, keepAll).size(), 3u);
  EXPECT_TRUE(maskToComponentPolygons(cv::Mat::zeros(8, 8, CV_8UC1), {}).empty());
}

TEST(Polygons, FlatRoundTripAndLegacyOuterPolygons) {
  const Ring r = {{1, 2}, {3.5, 2}, {3.5, 7}};
  EXPECT_EQ(ringFromFlat(flatten(r)), r);
  // data::maskToPolygons is the outer rings of the same tracer: components come back whole.
  cv::Mat m(30, 30, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(3, 4, 10, 6)).setTo(1);
  m(cv::Rect(20, 20, 3, 3)).setTo(1);
  const auto polys = maskToPolygons(m, 0);
  ASSERT_EQ(polys.size(), 2u);
  EXPECT_EQ(cv::countNonZero(rasterizePolygons(polys, 30, 30) != m), 0);
}

}  // namespace
}  // namespace supersam::data
