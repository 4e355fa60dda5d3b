// Training augmentation (core/train/augment.h) and its use by makeTrainImage: determinism, masks that stay on
// their pixels through paste / flip / colour / scale / crop, occlusion by pasted objects, the unaugmented path being
// the predictor's, and the option parser's errors.
#include "core/train/augment.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/rle.h"
#include "core/infer/predictor.h"
#include "core/model/arch.h"
#include "core/train/batch.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

namespace supersam::train {
namespace {

// An image of `colour` rectangles on a dark grey background, one object per rectangle; written as PNG (RGB order
// in `colour`).
data::Sample makeSample(const std::string& dir, const std::string& name, int h, int w,
                        const std::vector<cv::Rect>& rects, cv::Scalar colour) {
  cv::Mat rgb(h, w, CV_8UC3, cv::Scalar(30, 30, 30));
  data::Sample s;
  s.imagePath = dir + "/" + name + ".png";
  s.height = h, s.width = w;
  int64_t id = 1;
  for (const cv::Rect& r : rects) {
    rgb(r).setTo(colour);
    cv::Mat m = cv::Mat::zeros(h, w, CV_8U);
    m(r).setTo(1);
    data::Object o;
    o.id = id++;
    o.rle = data::rleFromMask(m);
    o.area = data::rleArea(o.rle);
    o.bbox = data::rleBbox(o.rle);
    s.objects.push_back(o);
  }
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  EXPECT_TRUE(cv::imwrite(s.imagePath, bgr));
  return s;
}

bool sameMat(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// Mean of channel c over the mask's pixels.
double meanUnder(const cv::Mat& rgb, const cv::Mat& mask, int c) {
  std::vector<cv::Mat> ch;
  cv::split(rgb, ch);
  return cv::mean(ch[static_cast<size_t>(c)], mask)[0];
}

class Augment : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::tempDir("augment");
    red = makeSample(dir, "red", 120, 200, {{20, 30, 50, 40}, {120, 60, 40, 50}}, cv::Scalar(230, 20, 20));
    green = makeSample(dir, "green", 90, 90, {{10, 10, 40, 60}}, cv::Scalar(20, 230, 20));
  }
  std::string dir;
  data::Sample red, green;
};

TEST_F(Augment, SameSeedSameResultOtherSeedOther) {
  AugmentOptions opt = parseAugmentOptions("on");
  opt.copyPaste = 1.0;
  const AugmentedImage a = augmentSample(red, &green, 128, 8, opt, 7);
  const AugmentedImage b = augmentSample(red, &green, 128, 8, opt, 7);
  ASSERT_TRUE(sameMat(a.rgb, b.rgb));
  ASSERT_EQ(a.masks.size(), b.masks.size());
  for (size_t i = 0; i < a.masks.size(); ++i) EXPECT_TRUE(sameMat(a.masks[i], b.masks[i]));
  bool anyDifferent = false;
  for (uint64_t seed = 8; seed < 12 && !anyDifferent; ++seed) {
    anyDifferent = !sameMat(augmentSample(red, &green, 128, 8, opt, seed).rgb, a.rgb);
  }
  EXPECT_TRUE(anyDifferent);
}

TEST_F(Augment, MasksStayOnTheirPixelsAndFitTheFrame) {
  AugmentOptions opt = parseAugmentOptions("on");
  opt.copyPaste = 0.5;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    const AugmentedImage a = augmentSample(red, &green, 128, 8, opt, seed);
    ASSERT_LE(a.rgb.rows, 128);
    ASSERT_LE(a.rgb.cols, 128);
    cv::Mat background = cv::Mat::ones(a.rgb.size(), CV_8U);
    for (const cv::Mat& m : a.masks) {
      ASSERT_EQ(m.size(), a.rgb.size());
      ASSERT_GE(cv::countNonZero(m), opt.minArea);
      // A red object stays red, a pasted green one green (colour jitter scales, never swaps, channels).
      const double r = meanUnder(a.rgb, m, 0), g = meanUnder(a.rgb, m, 1);
      EXPECT_GT(std::max(r, g), 2.5 * std::min(r, g)) << "seed " << seed;
      background.setTo(0, m);
    }
    // Pixels outside every mask are background, apart from the resize's border blend.
    cv::Mat eroded;
    cv::erode(background, eroded, cv::Mat::ones(5, 5, CV_8U));
    if (cv::countNonZero(eroded) > 0) {
      EXPECT_LT(meanUnder(a.rgb, eroded, 0), 80.0) << "seed " << seed;
      EXPECT_LT(meanUnder(a.rgb, eroded, 1), 80.0) << "seed " << seed;
    }
  }
}

TEST_F(Augment, PastedObjectsOccludeAndBecomeObjects) {
  AugmentOptions opt = parseAugmentOptions("scale=1:1,flip=0,colour=0,paste=1");
  int pastedSeen = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const AugmentedImage a = augmentSample(red, &green, 200, 8, opt, seed);
    ASSERT_EQ(a.rgb.size(), cv::Size(200, 120));
    for (size_t i = 0; i < a.masks.size(); ++i) {
      for (size_t j = i + 1; j < a.masks.size(); ++j) {
        EXPECT_EQ(cv::countNonZero(a.masks[i] & a.masks[j]), 0) << "masks " << i << " and " << j << " overlap";
      }
      if (meanUnder(a.rgb, a.masks[i], 1) > 150) ++pastedSeen;  // green: the pasted one
    }
  }
  EXPECT_GE(pastedSeen, 6);
  // Without a source nothing is pasted.
  EXPECT_EQ(augmentSample(red, nullptr, 200, 8, opt, 0).masks.size(), 2u);
}

TEST_F(Augment, FlipMirrorsImageAndMasks) {
  const AugmentedImage plain = augmentSample(red, nullptr, 200, 8, parseAugmentOptions("scale=1:1,flip=0,colour=0"), 3);
  const AugmentedImage flipped =
      augmentSample(red, nullptr, 200, 8, parseAugmentOptions("scale=1:1,flip=1,colour=0"), 3);
  cv::Mat mirrored;
  cv::flip(plain.rgb, mirrored, 1);
  EXPECT_TRUE(sameMat(mirrored, flipped.rgb));
  ASSERT_EQ(plain.masks.size(), flipped.masks.size());
  for (size_t i = 0; i < plain.masks.size(); ++i) {
    cv::flip(plain.masks[i], mirrored, 1);
    EXPECT_TRUE(sameMat(mirrored, flipped.masks[i]));
  }
}

TEST_F(Augment, ZoomedCropKeepsAnObject) {
  const AugmentOptions opt = parseAugmentOptions("scale=2.5:2.5,flip=0,colour=0,paste=0");
  for (uint64_t seed = 0; seed < 16; ++seed) {
    const AugmentedImage a = augmentSample(red, nullptr, 128, 8, opt, seed);
    EXPECT_EQ(a.rgb.size(), cv::Size(128, 128));
    EXPECT_GE(a.masks.size(), 1u) << "seed " << seed;
  }
}

TEST_F(Augment, TrainImageWithoutAugmentationIsThePredictorsInput) {
  model::SamArch arch = model::SamArch::fromPresetOrFile("vit_b");
  arch.imageSize = 128;
  PromptOptions prompts;
  const TrainImage t = makeTrainImage(red, arch, prompts, 5);
  std::array<int64_t, 2> hw{};
  const at::Tensor expected = infer::preprocessImage(data::loadSampleImage(red), arch, &hw).squeeze(0);
  EXPECT_TRUE(at::equal(t.input, expected));
  EXPECT_EQ(t.inputHW, hw);
}

TEST_F(Augment, TrainImageWithAugmentationHasConsistentPrompts) {
  model::SamArch arch = model::SamArch::fromPresetOrFile("vit_b");
  arch.imageSize = 128;
  PromptOptions prompts;
  prompts.pointFraction = 0.5;
  prompts.boxJitter = 0.0;
  const AugmentOptions opt = parseAugmentOptions("on");
  for (uint64_t seed = 0; seed < 12; ++seed) {
    const TrainImage t = makeTrainImage(red, arch, prompts, seed, opt, &green);
    ASSERT_EQ(t.input.sizes(), at::IntArrayRef({3, 128, 128}));
    ASSERT_EQ(t.targets.size(0), static_cast<int64_t>(t.prompts.size()));
    for (size_t k = 0; k < t.prompts.size(); ++k) {
      const at::Tensor m = t.targets[static_cast<int64_t>(k)];
      // Nothing of a target lies in the padding.
      EXPECT_EQ(m.narrow(0, t.inputHW[0], 128 - t.inputHW[0]).sum().item<float>(), 0.0f);
      EXPECT_EQ(m.narrow(1, t.inputHW[1], 128 - t.inputHW[1]).sum().item<float>(), 0.0f);
      const ObjectPrompt& p = t.prompts[k];
      if (p.isBox) {  // exact boxes: every target pixel inside
        const at::Tensor inside = m.narrow(0, static_cast<int64_t>(p.box[1]), static_cast<int64_t>(p.box[3] - p.box[1]))
                                      .narrow(1, static_cast<int64_t>(p.box[0]), static_cast<int64_t>(p.box[2] - p.box[0]));
        EXPECT_EQ(inside.sum().item<float>(), m.sum().item<float>());
      } else {  // the point is on the object
        EXPECT_EQ(m[static_cast<int64_t>(p.point[1])][static_cast<int64_t>(p.point[0])].item<float>(), 1.0f);
      }
    }
  }
}

TEST(AugmentOptionsParse, DefaultsAndErrors) {
  EXPECT_FALSE(parseAugmentOptions("off").enabled);
  const AugmentOptions on = parseAugmentOptions("on");
  EXPECT_TRUE(on.enabled);
  const AugmentOptions custom = parseAugmentOptions("scale=0.5:2,flip=0,colour=0.1,paste=0.7,max-pasted=2");
  EXPECT_DOUBLE_EQ(custom.scaleMin, 0.5);
  EXPECT_DOUBLE_EQ(custom.scaleMax, 2.0);
  EXPECT_DOUBLE_EQ(custom.flip, 0.0);
  EXPECT_DOUBLE_EQ(custom.colour, 0.1);
  EXPECT_DOUBLE_EQ(custom.copyPaste, 0.7);
  EXPECT_EQ(custom.maxPasted, 2);
  EXPECT_THROW(parseAugmentOptions("flip=2"), util::Error);
  EXPECT_THROW(parseAugmentOptions("scale=2:1"), util::Error);
  EXPECT_THROW(parseAugmentOptions("scale=1"), util::Error);
  EXPECT_THROW(parseAugmentOptions("blur=1"), util::Error);
  EXPECT_THROW(parseAugmentOptions("colour=abc"), util::Error);
}

}  // namespace
}  // namespace supersam::train
