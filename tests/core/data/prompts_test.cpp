#include "core/data/prompts.h"

#include <opencv2/core.hpp>

#include <gtest/gtest.h>

#include "core/data/dataset_spec.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;
using namespace supersam::data;

namespace {
cv::Mat lShape() {
  cv::Mat m(60, 80, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(10, 10, 10, 40)).setTo(1);  // vertical bar
  m(cv::Rect(10, 40, 50, 10)).setTo(1);  // horizontal bar
  return m;
}
bool inside(const cv::Mat& m, const std::array<float, 2>& p) {
  return m.at<uint8_t>(static_cast<int>(p[1]), static_cast<int>(p[0])) != 0;
}
}  // namespace

TEST(Prompts, ExactBoxIsTheMaskExtent) {
  PromptOptions opt;
  PromptGeometry g = makePrompt(lShape(), opt, 3, 0);
  ASSERT_TRUE(g.box.has_value());
  EXPECT_EQ(*g.box, (std::array<float, 4>{10, 10, 59, 49}));
  EXPECT_TRUE(g.points.empty());
}

TEST(Prompts, JitteredBoxIsSeededAndBounded) {
  PromptOptions opt;
  opt.boxJitter = 0.1;
  opt.seed = 42;
  PromptGeometry a = makePrompt(lShape(), opt, 3, 1), b = makePrompt(lShape(), opt, 3, 1);
  PromptGeometry c = makePrompt(lShape(), opt, 3, 2);
  EXPECT_EQ(*a.box, *b.box);
  EXPECT_NE(*a.box, *c.box);
  const std::array<float, 4> exact{10, 10, 59, 49};
  const float w = 50, h = 40;
  for (int i = 0; i < 20; ++i) {
    auto g = makePrompt(lShape(), opt, 5, i);
    EXPECT_LE(std::abs((*g.box)[0] - exact[0]), 0.1f * w + 1e-4f);
    EXPECT_LE(std::abs((*g.box)[2] - exact[2]), 0.1f * w + 1e-4f);
    EXPECT_LE(std::abs((*g.box)[1] - exact[1]), 0.1f * h + 1e-4f);
    EXPECT_LE(std::abs((*g.box)[3] - exact[3]), 0.1f * h + 1e-4f);
  }
}

TEST(Prompts, PointsAreInsideAndDeterministic) {
  cv::Mat m = lShape();
  PromptOptions opt;
  opt.kind = PromptKind::Point;
  opt.numPoints = 5;
  opt.seed = 9;
  PromptGeometry a = makePrompt(m, opt, 1, 4), b = makePrompt(m, opt, 1, 4);
  ASSERT_EQ(a.points.size(), 5u);
  EXPECT_EQ(a.points, b.points);
  EXPECT_EQ(a.labels, (std::vector<int>(5, 1)));
  for (const auto& p : a.points) EXPECT_TRUE(inside(m, p)) << p[0] << "," << p[1];
  // The centre point is deep inside (5 px from the boundary for 10 px bars), the same for every seed.
  opt.numPoints = 1;
  PromptGeometry c1 = makePrompt(m, opt, 1, 4);
  opt.seed = 1234;
  PromptGeometry c2 = makePrompt(m, opt, 7, 0);
  EXPECT_EQ(c1.points, c2.points);
  const auto& p = c1.points[0];
  EXPECT_TRUE(m.at<uint8_t>(int(p[1]) - 4, int(p[0])) && m.at<uint8_t>(int(p[1]) + 4, int(p[0])));
  // Random placement differs with the seed.
  opt.placement = PointPlacement::Random;
  opt.numPoints = 3;
  opt.seed = 1;
  auto r1 = makePrompt(m, opt, 1, 0);
  opt.seed = 2;
  auto r2 = makePrompt(m, opt, 1, 0);
  EXPECT_NE(r1.points, r2.points);
  EXPECT_THROW(makePrompt(cv::Mat(5, 5, CV_8UC1, cv::Scalar(0)), opt, 0, 0), util::Error);
  EXPECT_EQ(parsePromptKind("box"), PromptKind::Box);
  EXPECT_THROW(parsePromptKind("lasso"), util::Error);
}

TEST(Prompts, RealObjectsGetInteriorPoints) {
  Dataset ds = loadDataset("pennfudan:" + test::dataDir() + "/pennfudan:val,limit=3");
  PromptOptions opt;
  opt.kind = PromptKind::Point;
  opt.numPoints = 3;
  int n = 0;
  for (const auto& s : ds.samples) {
    for (size_t i = 0; i < s.objects.size(); ++i) {
      cv::Mat m = s.objects[i].mask();
      auto g = makePrompt(m, opt, s.imageId, static_cast<int64_t>(i));
      for (const auto& p : g.points) EXPECT_TRUE(inside(m, p));
      ++n;
    }
  }
  EXPECT_GT(n, 3);
}
