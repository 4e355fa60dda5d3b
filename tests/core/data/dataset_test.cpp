#include "core/data/dataset.h"

#include <filesystem>
#include <fstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <gtest/gtest.h>

#include "core/data/dataset_spec.h"
#include "core/data/readers.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;
using namespace supersam::data;

namespace {
ReadOptions allObjects() {
  ReadOptions o;
  o.minArea = 0;
  return o;
}

bool anyContains(const std::vector<std::string>& v, const std::string& a, const std::string& b = "") {
  for (const auto& s : v) {
    if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) return true;
  }
  return false;
}

void writeText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

TEST(DatasetSpec, ParsesKindsSplitsAndOptions) {
  auto s = parseDatasetSpec("dsb2018:/d/dsb:val");
  EXPECT_EQ(s.kind, "coco");
  EXPECT_EQ(s.path, "/d/dsb/annotations/instances_val.json");
  EXPECT_EQ(s.options.at("images"), "/d/dsb/images");
  EXPECT_EQ(s.name, "dsb2018:val");
  auto m = parseDatasetSpec("masks:/x/y:train,components=8,min-area=5");
  EXPECT_EQ(m.kind, "masks");
  EXPECT_EQ(m.path, "/x/y");
  EXPECT_EQ(m.split, "train");
  EXPECT_EQ(m.options.at("components"), "8");
  auto c = parseDatasetSpec("coco:/a/b/ann.json,images=/imgs");
  EXPECT_EQ(c.path, "/a/b/ann.json");
  EXPECT_TRUE(c.split.empty());
  EXPECT_EQ(splitSpecList("a:b+c:d ; e:f").size(), 3u);
  EXPECT_THROW(parseDatasetSpec("nope:/x"), util::Error);
  EXPECT_THROW(parseDatasetSpec("coco:/a.json,components=4"), util::Error);
  EXPECT_THROW(parseDatasetSpec("pennfudan"), util::Error);
  EXPECT_THROW(parseDatasetSpec("dsb2018:/d"), util::Error);  // no split
}

TEST(Datasets, Dsb2018SplitsMatchReadme) {
  const std::string root = test::dataDir() + "/dsb2018-nuclei";
  Dataset val = loadDataset("dsb2018:" + root + ":val", allObjects());
  EXPECT_EQ(val.samples.size(), 133u);
  EXPECT_EQ(val.objectCount(), 6049u);
  EXPECT_TRUE(val.warnings.empty()) << val.warnings.front();
  EXPECT_EQ(val.name, "dsb2018:val");
  Dataset train = loadDataset("dsb2018:" + root + ":train", allObjects());
  EXPECT_EQ(train.samples.size(), 531u);
  EXPECT_EQ(train.objectCount(), 22937u);
  // The default min-area drops some tiny nuclei, and counts them.
  Dataset valDefault = loadDataset("dsb2018:" + root + ":val");
  EXPECT_EQ(valDefault.objectCount() + static_cast<size_t>(valDefault.skippedSmall), 6049u);
  // First image: object fields are consistent with the mask and the image.
  const Sample& s = val.samples.front();
  at::Tensor img = loadSampleImage(s);
  EXPECT_EQ(img.sizes(), (at::IntArrayRef{s.height, s.width, 3}));
  const Object& o = s.objects.front();
  cv::Mat m = o.mask();
  EXPECT_EQ(m.rows, s.height);
  EXPECT_EQ(cv::countNonZero(m), o.area);
  EXPECT_EQ(o.area, 200);  // the JSON's area for annotation 1
}

TEST(Datasets, PennFudanSplitsMatchReadme) {
  const std::string root = test::dataDir() + "/pennfudan";
  Dataset train = loadDataset("pennfudan:" + root + ":train", allObjects());
  Dataset val = loadDataset("pennfudan:" + root + ":val", allObjects());
  EXPECT_EQ(train.samples.size(), 130u);
  EXPECT_EQ(val.samples.size(), 40u);
  EXPECT_EQ(train.objectCount() + val.objectCount(), 423u);
  EXPECT_TRUE(train.warnings.empty() && val.warnings.empty());
  for (const auto& s : val.samples) {
    EXPECT_GE(s.objects.size(), 1u) << s.imagePath;
    for (const auto& o : s.objects) EXPECT_GT(o.id, 0);
  }
}

TEST(Datasets, IsbiComponentsMatchReadme) {
  const std::string root = test::dataDir() + "/isbi2012-em";
  Dataset val = loadDataset("isbi2012:" + root + ":val", allObjects());
  EXPECT_EQ(val.samples.size(), 5u);
  Dataset train = loadDataset("isbi2012:" + root + ":train,limit=2", allObjects());
  EXPECT_EQ(train.samples.size(), 2u);
  // Cells: many components per 512x512 slice, disjoint, each a single 4-connected piece.
  const Sample& s = val.samples.front();
  EXPECT_GT(s.objects.size(), 50u);
  cv::Mat sum(512, 512, CV_8UC1, cv::Scalar(0));
  for (const auto& o : s.objects) sum += o.mask();
  double maxv = 0;
  cv::minMaxLoc(sum, nullptr, &maxv);
  EXPECT_EQ(maxv, 1.0);
  // 8-connectivity merges some diagonal touches: never more components than with 4.
  Dataset val8 = loadDataset("masks:" + root + ":val,images=image,masks=label,components=8", allObjects());
  EXPECT_LE(val8.samples.front().objects.size(), s.objects.size());
  at::Tensor img = loadSampleImage(s);
  EXPECT_EQ(img.sizes(), (at::IntArrayRef{512, 512, 3}));
}

TEST(Datasets, DsbFoldersAndSa1bReadSyntheticData) {
  const std::string dir = test::tempDir("data_dsb_folders");
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/dsb/abc/images");
  fs::create_directories(dir + "/dsb/abc/masks");
  cv::Mat img(20, 30, CV_8UC3, cv::Scalar(10, 20, 30));
  cv::imwrite(dir + "/dsb/abc/images/abc.png", img);
  cv::Mat m1(20, 30, CV_8UC1, cv::Scalar(0)), m2 = m1.clone(), small = m1.clone();
  m1(cv::Rect(2, 2, 5, 5)).setTo(255);
  m2(cv::Rect(10, 10, 8, 4)).setTo(255);
  small.at<uint8_t>(0, 0) = 255;
  cv::imwrite(dir + "/dsb/abc/masks/a.png", m1);
  cv::imwrite(dir + "/dsb/abc/masks/b.png", m2);
  cv::imwrite(dir + "/dsb/abc/masks/c.png", small);
  Dataset ds = loadDataset("dsb:" + dir + "/dsb");
  ASSERT_EQ(ds.samples.size(), 1u);
  ASSERT_EQ(ds.samples[0].objects.size(), 2u);  // the 1-pixel one is below min-area 16
  EXPECT_EQ(ds.skippedSmall, 1);
  EXPECT_EQ(ds.samples[0].objects[1].area, 32);
  EXPECT_EQ(ds.samples[0].objects[1].bbox, (std::array<double, 4>{10, 10, 8, 4}));

  // SA-1B: one per-image JSON with the mask of m2 as compressed RLE.
  fs::create_directories(dir + "/sa1b");
  cv::imwrite(dir + "/sa1b/sa_1.jpg", img);
  cv::Mat bin = m2 / 255;
  writeText(dir + "/sa1b/sa_1.json",
            "{\"image\": {\"image_id\": 1, \"width\": 30, \"height\": 20, \"file_name\": \"sa_1.jpg\"},"
            " \"annotations\": [{\"id\": 7, \"segmentation\": {\"size\": [20, 30], \"counts\": \"" +
                rleToString(rleFromMask(bin)) + "\"}, \"area\": 32}]}");
  Dataset sa = loadDataset("sa1b:" + dir + "/sa1b");
  ASSERT_EQ(sa.samples.size(), 1u);
  ASSERT_EQ(sa.samples[0].objects.size(), 1u);
  EXPECT_EQ(sa.samples[0].objects[0].id, 7);
  EXPECT_EQ(sa.samples[0].objects[0].area, 32);
  EXPECT_EQ(readImageSize(dir + "/sa1b/sa_1.jpg"), (std::array<int64_t, 2>{20, 30}));
}

// Broken COCO annotations: each problem is a warning naming the file and the annotation id, the rest loads;
// strict mode throws the first one.
TEST(Datasets, MalformedCocoAnnotationsAreNamed) {
  const std::string dir = test::tempDir("data_malformed");
  std::filesystem::create_directories(dir + "/images");
  cv::imwrite(dir + "/images/a.png", cv::Mat(10, 10, CV_8UC3, cv::Scalar(0)));
  cv::imwrite(dir + "/images/b.png", cv::Mat(12, 10, CV_8UC3, cv::Scalar(0)));  // JSON says 10x10
  const std::string file = dir + "/ann.json";
  writeText(file, R"({"images": [
      {"id": 1, "file_name": "a.png", "width": 10, "height": 10},
      {"id": 2, "file_name": "missing.png", "width": 10, "height": 10},
      {"id": 3, "file_name": "b.png", "width": 10, "height": 10}],
    "annotations": [
      {"id": 11, "image_id": 1, "category_id": 1, "segmentation": [[1,1,8,1,8,8,1,8]]},
      {"id": 12, "image_id": 1, "segmentation": {"size": [10, 10], "counts": "5 5"}},
      {"id": 13, "image_id": 1, "segmentation": [[1,1,8,1]]},
      {"id": 14, "image_id": 1, "segmentation": {"size": [20, 10], "counts": [200]}},
      {"id": 15, "image_id": 1, "segmentation": {"size": [10, 10], "counts": [10, 40, 50]}},
      {"id": 16, "image_id": 1, "iscrowd": 1, "segmentation": {"size": [10, 10], "counts": [0, 100]}},
      {"id": 17, "image_id": 1, "segmentation": {"size": [10, 10], "counts": [10, 40, 40]}}]})");
  Dataset ds = loadDataset("coco:" + file + ",images=" + dir + "/images,min-area=1");
  ASSERT_EQ(ds.samples.size(), 1u);
  ASSERT_EQ(ds.samples[0].objects.size(), 2u);  // 11 (polygon) and 15 (uncompressed RLE)
  EXPECT_EQ(ds.samples[0].objects[0].id, 11);
  EXPECT_EQ(ds.samples[0].objects[0].area, 49);
  EXPECT_EQ(ds.samples[0].objects[1].area, 40);
  EXPECT_EQ(ds.skippedCrowd, 1);
  EXPECT_TRUE(anyContains(ds.warnings, "ann.json", "annotation id 12")) << ds.warnings.size();
  EXPECT_TRUE(anyContains(ds.warnings, "annotation id 13", "at least 3"));
  EXPECT_TRUE(anyContains(ds.warnings, "annotation id 14", "mask size 20x10"));
  EXPECT_TRUE(anyContains(ds.warnings, "annotation id 17", "sum"));
  EXPECT_TRUE(anyContains(ds.warnings, "image id 2", "missing.png"));
  EXPECT_TRUE(anyContains(ds.warnings, "image id 3", "12x10"));
  EXPECT_EQ(ds.warnings.size(), 6u);
  try {
    loadDataset("coco:" + file + ",images=" + dir + "/images,strict=1");
    FAIL() << "strict mode should throw";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ann.json"), std::string::npos) << e.what();
  }
  // Not JSON / no images list / missing file: the whole read fails, naming the file.
  writeText(dir + "/bad.json", "{\"images\": [");
  EXPECT_THROW(loadDataset("coco:" + dir + "/bad.json"), util::Error);
  EXPECT_THROW(loadDataset("coco:" + dir + "/nothere.json"), util::Error);
}

// Issue 14: a float height or RLE size was truncated, a NUL in file_name opened another file, an annotation of an
// unknown image vanished without a word, and "iscrowd": "yes" counted as not crowd.
TEST(Datasets, CocoValuesAreTakenExactlyOrNamed) {
  const std::string dir = test::tempDir("data_coco_exact");
  std::filesystem::create_directories(dir + "/images");
  cv::imwrite(dir + "/images/a.png", cv::Mat(10, 10, CV_8UC3, cv::Scalar(0)));
  const std::string file = dir + "/ann.json";
  std::string nul = "{\"id\": 4, \"file_name\": \"a.png\\u0000../../etc/passwd\", \"width\": 10, \"height\": 10}";
  writeText(file, R"({"images": [
      {"id": 1, "file_name": "a.png", "width": 10, "height": 10.0},
      {"id": 2, "file_name": "a.png", "width": 10, "height": 10.7},
      )" + nul + R"(],
    "annotations": [
      {"id": 11, "image_id": 1, "segmentation": {"size": [10, 10], "counts": [0, 100]}},
      {"id": 12, "image_id": 1, "segmentation": {"size": [10.5, 10], "counts": [0, 100]}},
      {"id": 13, "image_id": 1, "iscrowd": "yes", "segmentation": {"size": [10, 10], "counts": [0, 100]}},
      {"id": 14, "image_id": 1, "iscrowd": true, "segmentation": {"size": [10, 10], "counts": [0, 100]}},
      {"id": 15, "image_id": 99, "segmentation": {"size": [10, 10], "counts": [0, 100]}}]})");
  Dataset ds = loadDataset("coco:" + file + ",images=" + dir + "/images,min-area=1");
  ASSERT_EQ(ds.samples.size(), 1u) << "10.0 is a whole number; 10.7 and the NUL name are refused";
  EXPECT_EQ(ds.samples[0].objects.size(), 1u);
  EXPECT_EQ(ds.skippedCrowd, 1);
  EXPECT_TRUE(anyContains(ds.warnings, "image id 2", "10.7"));
  EXPECT_TRUE(anyContains(ds.warnings, "image id 4", "NUL"));
  EXPECT_TRUE(anyContains(ds.warnings, "annotation id 12", "10.5"));
  EXPECT_TRUE(anyContains(ds.warnings, "annotation id 13", "iscrowd"));
  EXPECT_TRUE(anyContains(ds.warnings, "annotation id 15", "no image has"));
}

TEST(Datasets, MalformedMaskFoldersAreNamed) {
  const std::string dir = test::tempDir("data_malformed_png");
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/masks");
  cv::imwrite(dir + "/images/ok.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(0)));
  cv::imwrite(dir + "/images/wrongsize.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(0)));
  cv::imwrite(dir + "/images/nomask.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(0)));
  cv::Mat ids(8, 8, CV_8UC1, cv::Scalar(0));
  ids(cv::Rect(0, 0, 4, 4)).setTo(1);
  ids(cv::Rect(4, 4, 4, 4)).setTo(2);
  cv::imwrite(dir + "/masks/ok.png", ids);
  cv::imwrite(dir + "/masks/wrongsize.png", cv::Mat(9, 8, CV_8UC1, cv::Scalar(0)));
  writeText(dir + "/masks/nomask.png", "not a png");
  writeText(dir + "/val.txt", "ok\nwrongsize\nnomask\nghost\n");
  Dataset ds = loadDataset("instances:" + dir + ":val,min-area=1");
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(ds.samples[0].objects.size(), 2u);
  EXPECT_TRUE(anyContains(ds.warnings, "wrongsize.png", "9x8"));
  EXPECT_TRUE(anyContains(ds.warnings, "nomask.png"));
  EXPECT_TRUE(anyContains(ds.warnings, "ghost"));
  EXPECT_THROW(loadDataset("instances:" + dir + ":test"), util::Error);  // no test.txt
}
