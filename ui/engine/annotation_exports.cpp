#include "ui/engine/annotation_exports.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/polygons.h"
#include "core/data/rle.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "ui/engine/coco_document.h"

namespace supersam::ui {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------------------
// LabelSet

namespace {
void checkLabelName(const std::string& name, const std::string& where) {
  if (name.empty()) throw util::Error(where + ": empty class name");
  if (name.find_first_of("\r\n") != std::string::npos) {
    throw util::Error(where + ": class name '" + name + "' has a line break; a class list holds one name per line");
  }
}
}  // namespace

LabelSet::LabelSet(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (ids_.count(n)) throw util::Error("class list: '" + n + "' appears twice");
    add(n);
  }
}

LabelSet LabelSet::load(const std::string& path) {
  const std::string text = util::readFileBytes(path);
  std::vector<std::string> names;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    names.push_back(line);
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  LabelSet set;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string where = path + " line " + std::to_string(i + 1);
    checkLabelName(names[i], where);
    if (set.ids_.count(names[i])) throw util::Error(where + ": class '" + names[i] + "' appears twice");
    set.add(names[i]);
  }
  return set;
}

LabelSet LabelSet::loadOrEmpty(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return LabelSet();
  return load(path);
}

void LabelSet::save(const std::string& path) const {
  std::string text;
  for (const auto& n : names_) text += n + "\n";
  util::writeFileAtomic(path, text);
}

int LabelSet::id(const std::string& name) const {
  const auto it = ids_.find(name);
  return it == ids_.end() ? -1 : it->second;
}

int LabelSet::add(const std::string& name) {
  const int existing = id(name);
  if (existing >= 0) return existing;
  checkLabelName(name, "class list");
  names_.push_back(name);
  ids_.emplace(name, static_cast<int>(names_.size()) - 1);
  return static_cast<int>(names_.size()) - 1;
}

void LabelSet::addLabelsOf(const AnnotationDoc& doc) {
  for (const auto& o : doc.objects) add(o.label);
}

const std::string& LabelSet::name(int id) const {
  if (id < 0 || static_cast<size_t>(id) >= names_.size()) {
    throw util::Error("class id " + std::to_string(id) + " is not in the class list (" +
                      std::to_string(names_.size()) + " classes)");
  }
  return names_[static_cast<size_t>(id)];
}

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers

namespace {

void checkMasks(const AnnotationDoc& doc, const std::string& path) {
  if (doc.width <= 0 || doc.height <= 0) {
    throw util::Error("cannot export " + path + ": the image size " + std::to_string(doc.width) + "x" +
                      std::to_string(doc.height) + " is not positive");
  }
  for (size_t i = 0; i < doc.objects.size(); ++i) {
    const auto& m = doc.objects[i].mask;
    if (m.width != doc.width || m.height != doc.height ||
        m.data.size() != static_cast<size_t>(doc.width) * static_cast<size_t>(doc.height)) {
      throw util::Error("cannot export " + path + ": object " + std::to_string(i) + " ('" + doc.objects[i].label +
                        "') has a " + std::to_string(m.width) + "x" + std::to_string(m.height) +
                        " mask, the image is " + std::to_string(doc.width) + "x" + std::to_string(doc.height));
    }
  }
}

std::string imageStem(const AnnotationDoc& doc, const std::string& folder) {
  const std::string stem = fs::path(doc.imageFile).stem().string();
  if (stem.empty()) {
    throw util::Error("cannot export into " + folder + ": the annotations have no image file name to name the files by");
  }
  return stem;
}

void makeFolder(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    throw util::Error("cannot create the folder " + dir + (ec ? ": " + ec.message() : std::string{}));
  }
}

// The folder's classes.txt and `labels` must agree on every id both have; the longer one wins.
void reconcileWithFolder(LabelSet& labels, const std::string& classesPath) {
  const LabelSet disk = LabelSet::loadOrEmpty(classesPath);
  const size_t common = std::min(disk.size(), labels.size());
  for (size_t i = 0; i < common; ++i) {
    if (disk.names()[i] != labels.names()[i]) {
      throw util::Error(classesPath + ": class " + std::to_string(i) + " is '" + disk.names()[i] +
                        "' there but '" + labels.names()[i] +
                        "' in the labels being exported; exporting would renumber the folder's classes");
    }
  }
  for (size_t i = common; i < disk.size(); ++i) labels.add(disk.names()[i]);
}

// The object's polygons at `options`, each component one ring with its holes cut in.
std::vector<data::ComponentPolygon> objectPolygons(const AnnotationObject& o, const data::PolygonOptions& options) {
  return data::maskToComponentPolygons(detail::maskToMat(o.mask), options);
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

// Rounded to 1e-6 of the image size, trailing zeros dropped.
std::string formatCoord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6f", v);
  std::string s(buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Paletted PNG through libpng. libpng reports errors by longjmp: the functions that call it keep only trivially
// destructible locals between setjmp and the calls, and report through a plain struct.

std::array<uint8_t, 3> vocColor(int index) {
  // VOC's colour map: the bits of the index, three at a time, spread from the most significant bit of r, g, b.
  int c = index & 0xff;
  uint8_t rgb[3] = {0, 0, 0};
  for (int shift = 7; shift >= 0; --shift) {
    for (int ch = 0; ch < 3; ++ch) rgb[ch] = static_cast<uint8_t>(rgb[ch] | (((c >> ch) & 1) << shift));
    c >>= 3;
  }
  return {rgb[0], rgb[1], rgb[2]};
}

namespace {

struct PngIo {
  const uint8_t* in = nullptr;  // reading: the file's bytes
  size_t inSize = 0;
  size_t inPos = 0;
  std::vector<uint8_t>* out = nullptr;  // writing: the encoded bytes
  char error[256] = {0};
};

void pngError(png_structp png, png_const_charp msg) {
  auto* io = static_cast<PngIo*>(png_get_error_ptr(png));
  std::snprintf(io->error, sizeof(io->error), "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}
void pngWarning(png_structp, png_const_charp) {}

void pngRead(png_structp png, png_bytep data, png_size_t length) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  if (length > io->inSize - io->inPos) png_error(png, "the file is truncated");
  std::memcpy(data, io->in + io->inPos, length);
  io->inPos += length;
}
void pngWrite(png_structp png, png_bytep data, png_size_t length) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  io->out->insert(io->out->end(), data, data + length);
}
void pngFlush(png_structp) {}

// Encodes `image` into io.out; false with io.error set on failure.
bool encodePaletted(const IndexedImage& image, PngIo& io) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, pngError, pngWarning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, &io, pngWrite, pngFlush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color palette[256];
  for (int i = 0; i < 256; ++i) {
    const auto c = vocColor(i);
    palette[i].red = c[0];
    palette[i].green = c[1];
    palette[i].blue = c[2];
  }
  png_set_PLTE(png, info, palette, 256);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y) {
    png_write_row(png, image.data.data() + static_cast<size_t>(y) * static_cast<size_t>(image.width));
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

// Reads the header (stage 1: `pixels` null) or the header and pixels (stage 2: `pixels` sized width * height).
bool decodeIndexed(PngIo& io, uint32_t& width, uint32_t& height, int& colorType, int& bitDepth, uint8_t* pixels) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, pngError, pngWarning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    return false;
  }
  png_set_read_fn(png, &io, pngRead);
  png_read_info(png, info);
  width = png_get_image_width(png, info);
  height = png_get_image_height(png, info);
  colorType = png_get_color_type(png, info);
  bitDepth = png_get_bit_depth(png, info);
  if (pixels && (colorType == PNG_COLOR_TYPE_PALETTE || colorType == PNG_COLOR_TYPE_GRAY) && bitDepth == 8) {
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    for (int p = 0; p < passes; ++p) {
      for (uint32_t y = 0; y < height; ++y) png_read_row(png, pixels + static_cast<size_t>(y) * width, nullptr);
    }
    png_read_end(png, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

void writeIndexedPng(const IndexedImage& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0 ||
      image.data.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height)) {
    throw util::Error("cannot write " + path + ": a " + std::to_string(image.width) + "x" +
                      std::to_string(image.height) + " image with " + std::to_string(image.data.size()) + " pixels");
  }
  std::vector<uint8_t> bytes;
  PngIo io;
  io.out = &bytes;
  if (!encodePaletted(image, io)) throw util::Error("cannot encode the PNG " + path + ": " + io.error);
  util::writeFileAtomic(path, std::string(bytes.begin(), bytes.end()));
}

IndexedImage readIndexedPng(const std::string& path) {
  const std::string bytes = util::readFileBytes(path);
  PngIo io;
  io.in = reinterpret_cast<const uint8_t*>(bytes.data());
  io.inSize = bytes.size();
  uint32_t w = 0, h = 0;
  int colorType = 0, bitDepth = 0;
  if (!decodeIndexed(io, w, h, colorType, bitDepth, nullptr)) {
    throw util::Error(path + ": not a readable PNG (" + std::string(io.error) + ")");
  }
  if (!((colorType == PNG_COLOR_TYPE_PALETTE || colorType == PNG_COLOR_TYPE_GRAY) && bitDepth == 8)) {
    throw util::Error(path + ": expected an 8-bit paletted or greyscale PNG, found colour type " +
                      std::to_string(colorType) + " with " + std::to_string(bitDepth) + "-bit samples");
  }
  // Deflate expands at most ~1032:1: a header claiming more pixels than the file could hold is refused before
  // any allocation.
  const double claimed = (static_cast<double>(w) + 1) * static_cast<double>(h);
  if (w == 0 || h == 0 || claimed > 1100.0 * static_cast<double>(bytes.size()) + 65536.0) {
    throw util::Error(path + ": the header claims " + std::to_string(w) + "x" + std::to_string(h) +
                      " pixels, more than a " + std::to_string(bytes.size()) + "-byte PNG can hold");
  }
  IndexedImage image;
  image.width = static_cast<int>(w);
  image.height = static_cast<int>(h);
  image.data.assign(static_cast<size_t>(w) * h, 0);
  io.inPos = 0;
  if (!decodeIndexed(io, w, h, colorType, bitDepth, image.data.data())) {
    throw util::Error(path + ": cannot decode the PNG (" + std::string(io.error) + ")");
  }
  return image;
}

// ---------------------------------------------------------------------------------------------------------------
// COCO polygons

void saveCocoPolygonJson(const AnnotationDoc& doc, const std::string& path, LabelSet& labels,
                         const data::PolygonOptions& options) {
  checkMasks(doc, path);
  labels.addLabelsOf(doc);
  const auto j = detail::cocoDocument(doc, path, labels.names(), [&](const cv::Mat& mask) {
    nlohmann::json seg = nlohmann::json::array();
    for (const auto& c : data::maskToComponentPolygons(mask, options)) {
      const data::Ring ring = data::joinHoles(c);
      if (ring.size() >= 3) seg.push_back(data::flatten(ring));
    }
    return seg;
  });
  util::writeFileAtomic(path, j.dump(1));
}

// ---------------------------------------------------------------------------------------------------------------
// YOLO segmentation

std::string exportYolo(const AnnotationDoc& doc, const std::string& folder, LabelSet& labels,
                       const data::PolygonOptions& options) {
  const std::string stem = imageStem(doc, folder);
  const std::string labelPath = folder + "/labels/" + stem + ".txt";
  checkMasks(doc, labelPath);
  makeFolder(folder + "/labels");
  reconcileWithFolder(labels, folder + "/classes.txt");
  labels.addLabelsOf(doc);

  // Class lists first: a label file never names a class its folder's lists lack.
  labels.save(folder + "/classes.txt");
  std::string yaml = "# Written by SuperSAM Studio: Ultralytics segmentation dataset (images/ beside labels/)\n";
  yaml += "path: " + quoted(fs::absolute(folder).lexically_normal().string()) + "\n";
  yaml += "train: images\nval: images\n";
  yaml += "nc: " + std::to_string(labels.size()) + "\nnames:\n";
  for (size_t i = 0; i < labels.size(); ++i) yaml += "  " + std::to_string(i) + ": " + quoted(labels.names()[i]) + "\n";
  util::writeFileAtomic(folder + "/data.yaml", yaml);

  std::string text;
  for (const auto& o : doc.objects) {
    const data::Ring ring = data::joinComponents(objectPolygons(o, options));
    if (ring.size() < 3) continue;
    text += std::to_string(labels.id(o.label));
    for (const auto& p : ring) {
      text += " " + formatCoord(std::clamp(p.x / doc.width, 0.0, 1.0));
      text += " " + formatCoord(std::clamp(p.y / doc.height, 0.0, 1.0));
    }
    text += "\n";
  }
  util::writeFileAtomic(labelPath, text);
  return labelPath;
}

AnnotationDoc loadYoloTxt(const std::string& path, int width, int height, const LabelSet& labels) {
  if (width <= 0 || height <= 0) {
    throw util::Error(path + ": the image size " + std::to_string(width) + "x" + std::to_string(height) +
                      " given to rasterise it is not positive");
  }
  const std::string text = util::readFileBytes(path);
  AnnotationDoc doc;
  doc.width = width;
  doc.height = height;
  std::istringstream in(text);
  std::string line;
  size_t lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    const std::string where = path + " line " + std::to_string(lineNo);
    std::istringstream fields(line);
    std::string first;
    if (!(fields >> first)) continue;  // blank line
    if (doc.objects.size() >= kMaxYoloObjects) {
      throw util::Error(path + ": more than " + std::to_string(kMaxYoloObjects) + " objects");
    }
    size_t used = 0;
    long cls = -1;
    try {
      cls = std::stol(first, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != first.size() || cls < 0) {
      throw util::Error(where + ": expected a class id (an integer >= 0) first, found '" + first + "'");
    }
    if (static_cast<size_t>(cls) >= labels.size()) {
      throw util::Error(where + ": class " + std::to_string(cls) + " is not in the class list (" +
                        std::to_string(labels.size()) + " classes)");
    }
    std::vector<double> xy;
    std::string tok;
    while (fields >> tok) {
      char* end = nullptr;
      const double v = std::strtod(tok.c_str(), &end);
      if (end != tok.c_str() + tok.size() || !std::isfinite(v)) {
        throw util::Error(where + ": '" + tok + "' is not a number");
      }
      if (v < -1e-3 || v > 1 + 1e-3) {
        throw util::Error(where + ": coordinate " + tok + " is outside [0, 1] (coordinates are normalised)");
      }
      xy.push_back(v * ((xy.size() % 2 == 0) ? width : height));
    }
    if (xy.size() % 2 != 0 || xy.size() < 6) {
      throw util::Error(where + ": expected at least 3 x y pairs after the class, found " + std::to_string(xy.size()) +
                        " numbers");
    }
    AnnotationObject o;
    o.label = labels.name(static_cast<int>(cls));
    o.mask = detail::maskFromMat(data::rasterizeRings({data::ringFromFlat(xy)}, height, width));
    o.color = objectColor(static_cast<int>(doc.objects.size()));
    doc.objects.push_back(std::move(o));
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------------------------
// Pascal VOC-style PNG

VocPaths exportVoc(const AnnotationDoc& doc, const std::string& folder, LabelSet& labels, int voidBorder) {
  const std::string stem = imageStem(doc, folder);
  VocPaths paths{folder + "/SegmentationClass/" + stem + ".png", folder + "/SegmentationObject/" + stem + ".png"};
  checkMasks(doc, paths.classPng);
  if (voidBorder < 0) throw util::Error("cannot export " + paths.classPng + ": negative void border " +
                                        std::to_string(voidBorder));
  if (doc.objects.size() > 254) {
    throw util::Error("cannot export " + paths.objectPng + ": " + std::to_string(doc.objects.size()) +
                      " objects, a VOC object PNG holds at most 254 (255 is void)");
  }
  makeFolder(folder + "/SegmentationClass");
  makeFolder(folder + "/SegmentationObject");
  const std::string classesPath = folder + "/classes.txt";
  reconcileWithFolder(labels, classesPath);
  LabelSet withDoc = labels;
  withDoc.addLabelsOf(doc);
  if (withDoc.size() > 254) {
    throw util::Error("cannot export " + paths.classPng + ": " + std::to_string(withDoc.size()) +
                      " classes, a VOC class PNG holds at most 254 (0 is background, 255 void)");
  }
  labels = withDoc;

  labels.save(classesPath);
  std::string labelmap = "# label:color_rgb:parts:actions\nbackground:0,0,0::\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto c = vocColor(static_cast<int>(i) + 1);
    labelmap += labels.names()[i] + ":" + std::to_string(c[0]) + "," + std::to_string(c[1]) + "," +
                std::to_string(c[2]) + "::\n";
  }
  util::writeFileAtomic(folder + "/labelmap.txt", labelmap);

  const size_t n = static_cast<size_t>(doc.width) * static_cast<size_t>(doc.height);
  IndexedImage cls{doc.width, doc.height, std::vector<uint8_t>(n, 0)};
  IndexedImage obj{doc.width, doc.height, std::vector<uint8_t>(n, 0)};
  cv::Mat voidBand(doc.height, doc.width, CV_8U, cv::Scalar(0));
  const cv::Mat kernel = voidBorder > 0 ? cv::getStructuringElement(
                                              cv::MORPH_ELLIPSE, cv::Size(2 * voidBorder + 1, 2 * voidBorder + 1))
                                        : cv::Mat();
  for (size_t i = 0; i < doc.objects.size(); ++i) {
    const auto& o = doc.objects[i];
    const uint8_t c = static_cast<uint8_t>(labels.id(o.label) + 1);
    for (size_t p = 0; p < n; ++p) {
      if (o.mask.data[p]) {
        cls.data[p] = c;
        obj.data[p] = static_cast<uint8_t>(i + 1);
      }
    }
    if (voidBorder > 0) {
      cv::Mat band;
      cv::morphologyEx(detail::maskToMat(o.mask), band, cv::MORPH_GRADIENT, kernel);
      voidBand |= band;
    }
  }
  if (voidBorder > 0) {
    for (size_t p = 0; p < n; ++p) {
      if (voidBand.data[p]) cls.data[p] = obj.data[p] = 255;
    }
  }
  writeIndexedPng(cls, paths.classPng);
  writeIndexedPng(obj, paths.objectPng);
  return paths;
}

AnnotationDoc loadVoc(const std::string& classPng, const std::string& objectPng, const LabelSet& labels) {
  const IndexedImage cls = readIndexedPng(classPng);
  const IndexedImage obj = readIndexedPng(objectPng);
  if (cls.width != obj.width || cls.height != obj.height) {
    throw util::Error(objectPng + ": " + std::to_string(obj.width) + "x" + std::to_string(obj.height) +
                      ", but the class PNG " + classPng + " is " + std::to_string(cls.width) + "x" +
                      std::to_string(cls.height));
  }
  AnnotationDoc doc;
  doc.imageFile = fs::path(classPng).stem().string();
  doc.width = cls.width;
  doc.height = cls.height;
  const size_t n = cls.data.size();
  // One pass: for every object id, how often each class value lies under it.
  std::vector<std::array<int64_t, 256>> votes(256);
  for (auto& v : votes) v.fill(0);
  for (size_t p = 0; p < n; ++p) ++votes[obj.data[p]][cls.data[p]];
  for (int id = 1; id < 255; ++id) {
    auto& v = votes[static_cast<size_t>(id)];
    int64_t count = 0;
    for (int64_t c : v) count += c;
    if (count == 0) continue;
    v[0] = v[255] = 0;
    const int best = static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
    if (v[static_cast<size_t>(best)] == 0) {
      throw util::Error(objectPng + ": object " + std::to_string(id) + " has no class in " + classPng);
    }
    if (static_cast<size_t>(best - 1) >= labels.size()) {
      throw util::Error(classPng + ": class value " + std::to_string(best) + " is not in the class list (" +
                        std::to_string(labels.size()) + " classes)");
    }
    AnnotationObject o;
    o.label = labels.names()[static_cast<size_t>(best - 1)];
    o.mask.width = doc.width;
    o.mask.height = doc.height;
    o.mask.data.resize(n);
    for (size_t p = 0; p < n; ++p) o.mask.data[p] = obj.data[p] == id ? 1 : 0;
    o.color = objectColor(static_cast<int>(doc.objects.size()));
    doc.objects.push_back(std::move(o));
  }
  return doc;
}

}  // namespace supersam::ui
