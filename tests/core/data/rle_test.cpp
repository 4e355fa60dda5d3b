#include "core/data/rle.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <gtest/gtest.h>

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;
using namespace supersam::data;

TEST(Rle, HandEncodedStrings) {
  cv::Mat m(3, 3, CV_8UC1, cv::Scalar(0));
  m.at<uint8_t>(1, 1) = 1;
  Rle r = rleFromMask(m);
  EXPECT_EQ(r.counts, (std::vector<uint32_t>{4, 1, 4}));
  EXPECT_EQ(rleToString(r), "414");
  // A negative difference (third count on): 1,2,3,1 -> the last stored as 1-2 = -1 -> 'O'.
  Rle neg{7, 1, {1, 2, 3, 1}};
  EXPECT_EQ(rleToString(neg), "123O");
  EXPECT_EQ(rleFromString(7, 1, "123O"), neg);
  // Column-major: a mask whose top-left is foreground starts with a 0-run.
  cv::Mat c(2, 3, CV_8UC1, cv::Scalar(0));
  c.at<uint8_t>(0, 0) = 1;
  c.at<uint8_t>(0, 1) = 1;  // second column, first row
  Rle rc = rleFromMask(c);
  EXPECT_EQ(rc.counts, (std::vector<uint32_t>{0, 1, 1, 1, 3}));
  EXPECT_EQ(cv::countNonZero(rleToMask(rc) != c), 0);
  EXPECT_EQ(rleArea(rc), 2);
  auto bb = rleBbox(rc);
  EXPECT_EQ(bb, (std::array<double, 4>{0, 0, 2, 1}));
}

TEST(Rle, RandomMasksRoundTrip) {
  cv::RNG rng(7);
  for (int t = 0; t < 50; ++t) {
    const int h = 1 + rng.uniform(0, 60), w = 1 + rng.uniform(0, 60);
    cv::Mat m(h, w, CV_8UC1);
    rng.fill(m, cv::RNG::UNIFORM, 0, 2);
    if (t % 3 == 0) m = cv::Mat(h, w, CV_8UC1, cv::Scalar(t % 2));  // all empty / all full
    Rle r = rleFromMask(m);
    EXPECT_EQ(cv::countNonZero(rleToMask(r) != m), 0);
    Rle back = rleFromString(h, w, rleToString(r));
    EXPECT_EQ(back, r);
    EXPECT_EQ(rleArea(r), cv::countNonZero(m));
  }
}

TEST(Rle, MalformedStringsAreErrors) {
  EXPECT_THROW(rleFromString(3, 3, "41"), util::Error);     // sums to 5, not 9
  EXPECT_THROW(rleFromString(3, 3, "4 14"), util::Error);   // invalid character
  EXPECT_THROW(rleFromString(3, 3, "4\x7f" "4"), util::Error);
  EXPECT_THROW(rleFromString(3, 3, "4g"), util::Error);     // continuation bit set at the end
  EXPECT_THROW(rleFromCounts(2, 2, {1, -1, 4}), util::Error);
  try {
    rleFromString(2, 2, "9", "ann.json: annotation id 5");
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("annotation id 5"), std::string::npos) << e.what();
  }
}

TEST(Rle, PolygonRasterisationUsesPixelCentres) {
  cv::Mat sq = rasterizePolygons({{10, 10, 20, 10, 20, 20, 10, 20}}, 30, 30);
  EXPECT_EQ(cv::countNonZero(sq), 100);
  EXPECT_EQ(sq.at<uint8_t>(10, 10), 1);
  EXPECT_EQ(sq.at<uint8_t>(19, 19), 1);
  EXPECT_EQ(sq.at<uint8_t>(20, 20), 0);
  // Right triangle with legs 20: about half of 400 pixels.
  cv::Mat tri = rasterizePolygons({{0, 0, 20, 0, 0, 20}}, 30, 30);
  EXPECT_NEAR(cv::countNonZero(tri), 200, 20);
  // Clipped at the image border, two polygons OR-ed.
  cv::Mat two = rasterizePolygons({{-5, -5, 5, -5, 5, 5, -5, 5}, {25, 25, 35, 25, 35, 35, 25, 35}}, 30, 30);
  EXPECT_EQ(cv::countNonZero(two), 25 + 25);
  EXPECT_THROW(rasterizePolygons({{0, 0, 5, 5}}, 10, 10), util::Error);
  EXPECT_THROW(rasterizePolygons({{0, 0, 5, 5, 1}}, 10, 10), util::Error);
}

TEST(Rle, MaskToPolygonsAndBack) {
  cv::Mat m(40, 40, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(5, 8, 20, 10)).setTo(1);
  m(cv::Rect(30, 30, 6, 6)).setTo(1);
  auto polys = maskToPolygons(m, 0.5);
  ASSERT_EQ(polys.size(), 2u);
  cv::Mat back = rasterizePolygons(polys, 40, 40);
  // Polygons through boundary pixel centres lose about half a pixel on each side.
  const double iou = double(cv::countNonZero(back & m)) / cv::countNonZero(back | m);
  EXPECT_GT(iou, 0.75);
  EXPECT_EQ(cv::countNonZero(back & ~m), 0);
}

// Every DSB2018 val annotation: decode, re-encode gives the identical string; area and bbox equal the JSON's.
TEST(Rle, RealDsbAnnotationsRoundTrip) {
  const std::string file = test::dataDir() + "/dsb2018-nuclei/annotations/instances_val.json";
  const auto j = nlohmann::json::parse(util::readFileBytes(file));
  size_t n = 0;
  for (const auto& ann : j["annotations"]) {
    const auto& seg = ann["segmentation"];
    const int64_t h = seg["size"][0], w = seg["size"][1];
    const std::string counts = seg["counts"];
    Rle r = rleFromString(h, w, counts);
    ASSERT_EQ(rleToString(r), counts) << "annotation " << ann["id"];
    if (n % 20 == 0) {  // decoding every mask of big images takes seconds: a sample is enough here
      cv::Mat m = rleToMask(r);
      ASSERT_EQ(rleFromMask(m), r) << "annotation " << ann["id"];
      ASSERT_EQ(cv::countNonZero(m), rleArea(r));
    }
    if (ann.contains("area")) {
      ASSERT_EQ(rleArea(r), ann["area"].get<int64_t>()) << "annotation " << ann["id"];
    }
    if (ann.contains("bbox")) {
      auto bb = rleBbox(r);
      for (int k = 0; k < 4; ++k) ASSERT_DOUBLE_EQ(bb[k], ann["bbox"][k].get<double>()) << "annotation " << ann["id"];
    }
    ++n;
  }
  EXPECT_EQ(n, 6049u);
}
