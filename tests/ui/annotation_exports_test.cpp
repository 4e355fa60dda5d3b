// COCO polygon, YOLO segmentation and VOC paletted-PNG exports: each written, read back by its reader and compared
// with the masks; stable class ids across images and a reopened LabelSet; bad input.
#include <png.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"
#include "ui/engine/annotation_exports.h"

namespace supersam::ui {
namespace {

constexpr int kW = 64, kH = 48;

MaskU8 emptyMask() {
  MaskU8 m;
  m.width = kW;
  m.height = kH;
  m.data.assign(static_cast<size_t>(kW) * kH, 0);
  return m;
}

MaskU8 diskMask(double cx, double cy, double r, double holeR = 0) {
  MaskU8 m = emptyMask();
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      const double d2 = (x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy);
      m.data[static_cast<size_t>(y) * kW + x] = d2 <= r * r && d2 > holeR * holeR ? 1 : 0;
    }
  }
  return m;
}

MaskU8 rectMask(int x0, int y0, int x1, int y1) {
  MaskU8 m = emptyMask();
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) m.data[static_cast<size_t>(y) * kW + x] = 1;
  return m;
}

AnnotationObject object(const std::string& label, MaskU8 mask) {
  AnnotationObject o;
  o.label = label;
  o.mask = std::move(mask);
  return o;
}

// Disk, ring with a hole, two touching objects, one at the image border, one with an empty mask.
AnnotationDoc sampleDoc(const std::string& imageFile = "scene.jpg") {
  AnnotationDoc doc;
  doc.imageFile = imageFile;
  doc.width = kW;
  doc.height = kH;
  doc.objects.push_back(object("cell", diskMask(14, 14, 9)));
  doc.objects.push_back(object("ring", diskMask(40, 16, 12, 5)));
  doc.objects.push_back(object("box", rectMask(4, 30, 20, 42)));
  doc.objects.push_back(object("cell", rectMask(20, 30, 30, 42)));  // touches the box
  doc.objects.push_back(object("box", rectMask(52, 36, 64, 48)));   // at the bottom-right border
  doc.objects.push_back(object("cell", emptyMask()));
  return doc;
}

// Reads the palette of a PNG with libpng directly (not through the code under test).
std::vector<png_color> readPalette(const std::string& path) {
  std::vector<png_color> out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    std::fclose(f);
    return {};
  }
  png_init_io(png, f);
  png_read_info(png, info);
  png_colorp palette = nullptr;
  int n = 0;
  if (png_get_color_type(png, info) == PNG_COLOR_TYPE_PALETTE && png_get_PLTE(png, info, &palette, &n)) {
    out.assign(palette, palette + n);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  std::fclose(f);
  return out;
}

template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const util::Error& e) {
    return e.what();
  }
  return "(no util::Error)";
}

TEST(AnnotationExports, CocoPolygonsReadBackAsTheMasks) {
  const std::string path = test::tempDir("ui-export-coco") + "/scene.polygons.json";
  const AnnotationDoc doc = sampleDoc();
  LabelSet labels({"background-ish", "box"});  // existing ids stay: box = 1
  saveCocoPolygonJson(doc, path, labels);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"background-ish", "box", "cell", "ring"}));
  const auto j = nlohmann::json::parse(util::readFileBytes(path));
  ASSERT_EQ(j["annotations"].size(), doc.objects.size());
  EXPECT_EQ(j["categories"].size(), 4u);
  EXPECT_EQ(j["annotations"][2]["category_id"], 2);  // "box": LabelSet id 1 + 1
  EXPECT_EQ(j["annotations"][0]["category_id"], 3);
  EXPECT_TRUE(j["annotations"][0]["segmentation"].is_array());
  EXPECT_EQ(j["annotations"][1]["segmentation"].size(), 1u);  // the ring: one polygon, its hole cut in
  EXPECT_EQ(j["annotations"][1]["area"], doc.objects[1].mask.area());
  EXPECT_TRUE(j["annotations"][5]["segmentation"].empty());
  const AnnotationDoc back = loadCocoJson(path);
  ASSERT_EQ(back.objects.size(), doc.objects.size());
  for (size_t i = 0; i < doc.objects.size(); ++i) {
    EXPECT_EQ(back.objects[i].label, doc.objects[i].label) << i;
    // Default tolerance 0.5 px; these objects are small (a disk of radius 9 measures 0.977), the 0.98 bound for
    // larger shapes is asserted in tests/core/data/polygons_test.cpp.
    EXPECT_GE(maskIoU(back.objects[i].mask, doc.objects[i].mask), 0.97) << i;
  }
  // The hole stays empty: its centre pixel is background after the round trip.
  EXPECT_EQ(back.objects[1].mask.data[static_cast<size_t>(16) * kW + 40], 0);
  // Exact boundary: the same masks pixel for pixel.
  data::PolygonOptions exact;
  exact.tolerance = 0;
  saveCocoPolygonJson(doc, path, labels, exact);
  const AnnotationDoc exactBack = loadCocoJson(path);
  for (size_t i = 0; i < doc.objects.size(); ++i) EXPECT_EQ(exactBack.objects[i].mask.data, doc.objects[i].mask.data);
}

TEST(AnnotationExports, YoloRoundTripAndStableIdsAcrossImages) {
  const std::string dir = test::tempDir("ui-export-yolo");
  std::filesystem::remove_all(dir + "/ds");
  const std::string folder = dir + "/ds";
  const AnnotationDoc doc = sampleDoc("a.png");
  LabelSet labels;
  data::PolygonOptions exact;
  exact.tolerance = 0;
  const std::string txt = exportYolo(doc, folder, labels, exact);
  EXPECT_EQ(txt, folder + "/labels/a.txt");
  const LabelSet reopened = LabelSet::load(folder + "/classes.txt");
  EXPECT_EQ(reopened.names(), (std::vector<std::string>{"cell", "ring", "box"}));
  const std::string yaml = util::readFileBytes(folder + "/data.yaml");
  EXPECT_NE(yaml.find("  0: \"cell\"\n  1: \"ring\"\n  2: \"box\"\n"), std::string::npos) << yaml;

  const AnnotationDoc back = loadYoloTxt(txt, kW, kH, reopened);
  ASSERT_EQ(back.objects.size(), doc.objects.size() - 1);  // the empty mask has no line
  for (size_t i = 0; i + 1 < doc.objects.size(); ++i) {
    EXPECT_EQ(back.objects[i].label, doc.objects[i].label) << i;
    EXPECT_EQ(back.objects[i].mask.data, doc.objects[i].mask.data) << i;  // 6 decimals keep the exact boundary
  }
  // Default tolerance: close, not exact.
  LabelSet again = reopened;
  exportYolo(doc, folder, again, {});
  const AnnotationDoc simplified = loadYoloTxt(txt, kW, kH, reopened);
  for (size_t i = 0; i + 1 < doc.objects.size(); ++i) {
    EXPECT_GE(maskIoU(simplified.objects[i].mask, doc.objects[i].mask), 0.97) << i;
  }

  // A second image with a new label and the labels in another order: ids of the first image are kept, the new
  // label is appended, and a fresh LabelSet is reconciled with the folder's classes.txt.
  AnnotationDoc second;
  second.imageFile = "sub/b.jpeg";
  second.width = kW;
  second.height = kH;
  second.objects.push_back(object("tree", rectMask(1, 1, 9, 9)));
  second.objects.push_back(object("box", rectMask(30, 20, 40, 30)));
  LabelSet fresh;
  const std::string txt2 = exportYolo(second, folder, fresh);
  EXPECT_EQ(fresh.names(), (std::vector<std::string>{"cell", "ring", "box", "tree"}));
  EXPECT_EQ(LabelSet::load(folder + "/classes.txt"), fresh);
  const std::string lines = util::readFileBytes(txt2);
  EXPECT_EQ(lines.substr(0, 2), "3 ");
  EXPECT_NE(lines.find("\n2 "), std::string::npos);
  // A LabelSet that contradicts the folder's numbering is refused, naming classes.txt.
  LabelSet conflicting({"box"});
  const std::string err = errorOf([&] { exportYolo(second, folder, conflicting); });
  EXPECT_NE(err.find("classes.txt"), std::string::npos) << err;
  EXPECT_NE(err.find("renumber"), std::string::npos) << err;
}

TEST(AnnotationExports, VocPalettedPngsRoundTrip) {
  const std::string dir = test::tempDir("ui-export-voc");
  std::filesystem::remove_all(dir + "/voc");
  const std::string folder = dir + "/voc";
  const AnnotationDoc doc = sampleDoc("img_001.png");
  LabelSet labels = LabelSet::loadOrEmpty(folder + "/classes.txt");
  EXPECT_EQ(labels.size(), 0u);
  const VocPaths paths = exportVoc(doc, folder, labels);
  EXPECT_EQ(paths.classPng, folder + "/SegmentationClass/img_001.png");
  const IndexedImage cls = readIndexedPng(paths.classPng);
  ASSERT_EQ(cls.width, kW);
  ASSERT_EQ(cls.height, kH);
  EXPECT_EQ(cls.data[static_cast<size_t>(14) * kW + 14], labels.id("cell") + 1);
  EXPECT_EQ(cls.data[static_cast<size_t>(16) * kW + 40], 0);  // the ring's hole
  EXPECT_EQ(cls.data[static_cast<size_t>(47) * kW + 63], labels.id("box") + 1);
  const auto palette = readPalette(paths.objectPng);
  ASSERT_EQ(palette.size(), 256u);
  EXPECT_EQ(palette[1].red, 128);
  EXPECT_EQ(palette[1].green, 0);
  EXPECT_EQ(palette[2].green, 128);
  EXPECT_EQ(palette[255].red, 224);
  EXPECT_EQ(palette[255].blue, 192);
  EXPECT_EQ(vocColor(15), (std::array<uint8_t, 3>{192, 128, 128}));  // VOC's "person"
  const std::string labelmap = util::readFileBytes(folder + "/labelmap.txt");
  EXPECT_EQ(labelmap.find("background:0,0,0::\ncell:128,0,0::\n") != std::string::npos, true) << labelmap;

  const AnnotationDoc back = loadVoc(paths.classPng, paths.objectPng, LabelSet::load(folder + "/classes.txt"));
  ASSERT_EQ(back.objects.size(), doc.objects.size() - 1);  // the empty mask has no pixel
  for (size_t i = 0; i + 1 < doc.objects.size(); ++i) {
    EXPECT_EQ(back.objects[i].label, doc.objects[i].label) << i;
    EXPECT_EQ(back.objects[i].mask.data, doc.objects[i].mask.data) << i;
  }

  // With a void border: 255 around the boundaries, and the objects' interiors still read back.
  LabelSet same = labels;
  exportVoc(doc, folder, same, 2);
  const IndexedImage withVoid = readIndexedPng(paths.objectPng);
  EXPECT_EQ(withVoid.data[static_cast<size_t>(14) * kW + 5], 255);  // the disk's left edge
  const AnnotationDoc inner = loadVoc(paths.classPng, paths.objectPng, same);
  ASSERT_EQ(inner.objects.size(), 5u);
  EXPECT_EQ(inner.objects[0].mask.data[static_cast<size_t>(14) * kW + 14], 1);
  EXPECT_LT(inner.objects[0].mask.area(), doc.objects[0].mask.area());
}

TEST(AnnotationExports, LabelSetReopensWithTheSameIds) {
  const std::string path = test::tempDir("ui-export-labels") + "/classes.txt";
  LabelSet a;
  EXPECT_EQ(a.add("dog"), 0);
  EXPECT_EQ(a.add("cat"), 1);
  EXPECT_EQ(a.add("dog"), 0);
  a.save(path);
  LabelSet b = LabelSet::load(path);
  EXPECT_EQ(b, a);
  EXPECT_EQ(b.id("cat"), 1);
  EXPECT_EQ(b.add("bird"), 2);
  EXPECT_EQ(b.id("nothing"), -1);
  EXPECT_THROW(b.name(7), util::Error);
  EXPECT_THROW(b.add("two\nlines"), util::Error);
  EXPECT_THROW(LabelSet({"a", "a"}), util::Error);
  { std::ofstream(path) << "dog\n\ncat\n"; }
  const std::string err = errorOf([&] { LabelSet::load(path); });
  EXPECT_NE(err.find("classes.txt line 2"), std::string::npos) << err;
  EXPECT_EQ(LabelSet::loadOrEmpty(path + ".absent").size(), 0u);
}

TEST(AnnotationExports, BadInputsNameThePathOrValue) {
  const std::string dir = test::tempDir("ui-export-bad");
  AnnotationDoc doc = sampleDoc();
  LabelSet labels;
  // A mask of another size.
  doc.objects[2].mask = MaskU8{10, 10, std::vector<uint8_t>(100, 1)};
  std::string err = errorOf([&] { saveCocoPolygonJson(doc, dir + "/x.json", labels); });
  EXPECT_NE(err.find("x.json"), std::string::npos) << err;
  EXPECT_NE(err.find("10x10"), std::string::npos) << err;
  EXPECT_THROW(exportYolo(doc, dir + "/y", labels), util::Error);
  EXPECT_THROW(exportVoc(doc, dir + "/v", labels), util::Error);
  // No image name to name the files by.
  AnnotationDoc unnamed = sampleDoc("");
  err = errorOf([&] { exportYolo(unnamed, dir + "/y", labels); });
  EXPECT_NE(err.find("image file name"), std::string::npos) << err;
  // An unwritable output: a folder where a file is expected.
  std::filesystem::create_directories(dir + "/taken.json");
  err = errorOf([&] { saveCocoPolygonJson(sampleDoc(), dir + "/taken.json", labels); });
  EXPECT_NE(err.find("taken.json"), std::string::npos) << err;
  { std::ofstream(dir + "/file") << "x"; }
  err = errorOf([&] { exportVoc(sampleDoc(), dir + "/file/sub", labels); });
  EXPECT_NE(err.find(dir + "/file/sub"), std::string::npos) << err;
  // More than 254 classes for VOC.
  AnnotationDoc many = sampleDoc("many.png");
  LabelSet big;
  for (int i = 0; i < 255; ++i) big.add("c" + std::to_string(i));
  err = errorOf([&] { exportVoc(many, dir + "/voc-many", big); });
  EXPECT_NE(err.find("at most 254"), std::string::npos) << err;
  // Malformed YOLO lines name the file and line.
  const LabelSet two({"a", "b"});
  const std::string txt = dir + "/bad.txt";
  for (const std::string& line : {"0 0.1 0.1 0.5 0.1\n", "7 0.1 0.1 0.5 0.1 0.5 0.5\n", "x 0.1 0.1 0.5 0.1 0.5 0.5\n",
                                  "1 0.1 0.1 1.5 0.1 0.5 0.5\n", "1 0.1 0.1 nan 0.1 0.5 0.5\n"}) {
    { std::ofstream(txt) << "0 0.1 0.1 0.9 0.1 0.9 0.9\n" << line; }
    err = errorOf([&] { loadYoloTxt(txt, 32, 32, two); });
    EXPECT_NE(err.find("bad.txt line 2"), std::string::npos) << line << " -> " << err;
  }
  // PNG readers: not a PNG, truncated, and a header claiming far more pixels than the file holds.
  { std::ofstream(dir + "/not.png") << "hello"; }
  err = errorOf([&] { readIndexedPng(dir + "/not.png"); });
  EXPECT_NE(err.find("not.png"), std::string::npos) << err;
  IndexedImage img{300, 200, std::vector<uint8_t>(60000, 3)};
  writeIndexedPng(img, dir + "/ok.png");
  EXPECT_EQ(readIndexedPng(dir + "/ok.png").data, img.data);
  std::string bytes = util::readFileBytes(dir + "/ok.png");
  util::writeFileAtomic(dir + "/cut.png", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(readIndexedPng(dir + "/cut.png"), util::Error);
  // IHDR width at offset 16 (big-endian): claim 2^30 x 200 (CRC now wrong: either check refuses it).
  bytes[16] = 0x40;
  util::writeFileAtomic(dir + "/huge.png", bytes);
  err = errorOf([&] { readIndexedPng(dir + "/huge.png"); });
  EXPECT_NE(err.find("huge.png"), std::string::npos) << err;
  // Differing sizes of the class and object PNGs.
  IndexedImage small{10, 10, std::vector<uint8_t>(100, 0)};
  writeIndexedPng(small, dir + "/small.png");
  err = errorOf([&] { loadVoc(dir + "/ok.png", dir + "/small.png", two); });
  EXPECT_NE(err.find("small.png"), std::string::npos) << err;
}

}  // namespace
}  // namespace supersam::ui
