// COCO JSON (compressed RLE) and instance-PNG round trips of the annotation facade.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "tests/common/test_paths.h"
#include "ui/engine/annotations.h"

namespace supersam::ui {
namespace {

MaskU8 rectMask(int w, int h, int x0, int y0, int x1, int y1) {
  MaskU8 m;
  m.width = w;
  m.height = h;
  m.data.assign(static_cast<size_t>(w) * h, 0);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) m.data[static_cast<size_t>(y) * w + x] = 1;
  return m;
}

AnnotationDoc twoObjects() {
  AnnotationDoc doc;
  doc.imageFile = "img.png";
  doc.width = 40;
  doc.height = 30;
  AnnotationObject a;
  a.label = "cat";
  a.mask = rectMask(40, 30, 2, 3, 12, 9);
  a.prompts.points = {{5.5f, 6.0f}};
  a.prompts.labels = {1};
  a.score = 0.9;
  AnnotationObject b;
  b.label = "dog";
  b.color = {1, 2, 3};
  b.mask = rectMask(40, 30, 20, 10, 39, 29);
  b.prompts.box = std::array<float, 4>{20, 10, 39, 29};
  doc.objects = {a, b};
  return doc;
}

TEST(Annotations, CocoJsonRoundTrip) {
  const std::string path = test::tempDir("ui-annotations") + "/a.coco.json";
  const AnnotationDoc doc = twoObjects();
  saveCocoJson(doc, path);
  nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
  ASSERT_EQ(j["annotations"].size(), 2u);
  EXPECT_EQ(j["annotations"][0]["area"], 60);
  EXPECT_EQ(j["annotations"][0]["bbox"], nlohmann::json({2, 3, 10, 6}));
  EXPECT_TRUE(j["annotations"][0]["segmentation"]["counts"].is_string());
  EXPECT_EQ(j["categories"].size(), 2u);
  const AnnotationDoc back = loadCocoJson(path);
  EXPECT_EQ(back.width, 40);
  EXPECT_EQ(back.height, 30);
  ASSERT_EQ(back.objects.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.objects[i].label, doc.objects[i].label);
    EXPECT_EQ(back.objects[i].mask.data, doc.objects[i].mask.data);
    EXPECT_EQ(back.objects[i].prompts, doc.objects[i].prompts);
  }
  EXPECT_EQ(back.objects[1].color, doc.objects[1].color);
}

TEST(Annotations, InstancePngRoundTrip) {
  const std::string path = test::tempDir("ui-annotations-png") + "/a_instances.png";
  const AnnotationDoc doc = twoObjects();
  saveInstancePng(doc, path);
  const AnnotationDoc back = loadInstancePng(path);
  ASSERT_EQ(back.objects.size(), 2u);
  EXPECT_EQ(back.objects[0].mask.data, doc.objects[0].mask.data);
  EXPECT_EQ(back.objects[1].mask.data, doc.objects[1].mask.data);
}

TEST(Annotations, ErrorsNameTheFile) {
  const std::string dir = test::tempDir("ui-annotations-bad");
  {
    std::ofstream(dir + "/bad.json") << "{not json";
  }
  try {
    loadCocoJson(dir + "/bad.json");
    FAIL() << "expected util::Error";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
  AnnotationDoc doc = twoObjects();
  doc.width = 41;  // masks no longer match
  EXPECT_THROW(saveCocoJson(doc, dir + "/x.json"), util::Error);
}

}  // namespace
}  // namespace supersam::ui
