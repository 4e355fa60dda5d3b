#pragma once
// Exports of one image's annotated objects in the formats annotation and training tools read, beside the COCO RLE
// JSON and instance PNG of annotations.h, and the readers that bring them back (tests compare against them; the
// studio may re-import with them):
//   - COCO polygons: saveCocoJson's document with "segmentation" as polygon lists (core/data/polygons.h traces
//     them). COCO polygons have no holes (pycocotools ORs the polygons of an object), so each 8-connected
//     component becomes one polygon whose holes are joined to its outer ring by zero-width cuts (a segment walked
//     there and back): pycocotools fills each polygon by the even-odd rule, under which the cut changes nothing and
//     the hole stays empty. loadCocoJson (annotations.h) reads them back.
//   - YOLO segmentation (Ultralytics): FOLDER/labels/STEM.txt, one line per object "class x1 y1 x2 y2 ..." with
//     coordinates divided by the image width / height; the object's components and holes joined into one polygon
//     by zero-width cuts (Ultralytics fills it with cv::fillPoly, even-odd as well); objects with an empty mask
//     get no line. Class list: FOLDER/classes.txt (one name per line, line i = class i) and FOLDER/data.yaml
//     ("names:" list; "train"/"val" point at FOLDER/images, where the images are expected).
//   - Pascal VOC-style PNG: FOLDER/SegmentationClass/STEM.png (pixel = class id + 1, 0 background) and
//     FOLDER/SegmentationObject/STEM.png (pixel = object index + 1), both 8-bit paletted with VOC's standard colour
//     map; 255 is VOC's "void": written only when voidBorder > 0, as a band of that many pixels on each side of
//     every object's boundary (the VOC convention), and ignored by the reader. Later objects are drawn on top of
//     earlier ones. Class list: FOLDER/classes.txt (as YOLO's) and FOLDER/labelmap.txt (CVAT's "name:r,g,b::"
//     lines, background first).
// Class ids are stable: a LabelSet numbers names in the order they were first added and never renumbers; the
// folder exporters reconcile it with the folder's classes.txt (which must be a prefix of it, or it of the file)
// before appending new labels, so every image of a folder uses the same ids.
// Every file is written atomically (util::writeFileAtomic). Bad input (a mask whose size differs from the image,
// no image file name, > 254 classes or objects for VOC, an unwritable folder, a malformed file) throws util::Error
// naming the path or value. No Qt, no torch. Thread-safety: plain values and free functions; two exports into one
// folder at the same time may race on its class list.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/data/polygons.h"
#include "ui/engine/annotations.h"

namespace supersam::ui {

// Ordered class names; id = position (0-based; YOLO's class, VOC's pixel value - 1, COCO's category id - 1).
class LabelSet {
 public:
  LabelSet() = default;
  // Throws util::Error on an empty name, a name with a line break, or a repeated name.
  explicit LabelSet(const std::vector<std::string>& names);
  // A classes.txt: one name per line (trailing spaces and a final empty line ignored). util::Error names the path
  // when it cannot be read or holds an empty or repeated name.
  static LabelSet load(const std::string& path);
  // As load, but an absent file gives an empty set.
  static LabelSet loadOrEmpty(const std::string& path);
  // Writes classes.txt atomically.
  void save(const std::string& path) const;

  int id(const std::string& name) const;  // -1 when absent
  int add(const std::string& name);       // the existing id, or the next one (validated as the constructor does)
  void addLabelsOf(const AnnotationDoc& doc);  // every object's label, in object order
  const std::string& name(int id) const;  // throws util::Error when out of range
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  bool operator==(const LabelSet& o) const { return names_ == o.names_; }

 private:
  std::vector<std::string> names_;
  std::map<std::string, int> ids_;
};

// VOC's colour map entry for index 0..255 (0 black, 1 (128,0,0), 2 (0,128,0), ..., 255 (224,224,192)).
std::array<uint8_t, 3> vocColor(int index);

// An 8-bit image of palette indices, row-major, data.size() == width * height.
struct IndexedImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;
};
// Writes an 8-bit paletted PNG with VOC's 256-colour map (libpng), atomically.
void writeIndexedPng(const IndexedImage& image, const std::string& path);
// Reads the indices of an 8-bit paletted or greyscale PNG (no colour conversion). util::Error names the path when
// the file is not such a PNG, is truncated, or claims more pixels than its size can hold.
IndexedImage readIndexedPng(const std::string& path);

// --- COCO polygons ---
// Categories are every name of `labels` after the document's labels are added (id = LabelSet id + 1), so ids
// agree across images exported with one LabelSet. "area" and "bbox" are the mask's, as saveCocoJson writes them.
void saveCocoPolygonJson(const AnnotationDoc& doc, const std::string& path, LabelSet& labels,
                         const data::PolygonOptions& options = {});

// --- YOLO segmentation ---
// Writes FOLDER/classes.txt, FOLDER/data.yaml and FOLDER/labels/STEM.txt (STEM = doc.imageFile without folder and
// extension); returns the label file's path. `labels` is reconciled with the folder's classes.txt first.
std::string exportYolo(const AnnotationDoc& doc, const std::string& folder, LabelSet& labels,
                       const data::PolygonOptions& options = {});
// One object per line of a YOLO segmentation file, rasterised (even-odd) at width x height; labels from `labels`.
// util::Error names the file and line for a malformed line, an unknown class, a coordinate outside [0, 1] (1e-3
// slack), or more than kMaxYoloObjects lines.
AnnotationDoc loadYoloTxt(const std::string& path, int width, int height, const LabelSet& labels);
inline constexpr size_t kMaxYoloObjects = 4096;

// --- Pascal VOC-style PNG ---
struct VocPaths {
  std::string classPng;
  std::string objectPng;
};
// Writes FOLDER/classes.txt, FOLDER/labelmap.txt, FOLDER/SegmentationClass/STEM.png and
// FOLDER/SegmentationObject/STEM.png. voidBorder: width in pixels of the 255 band (0 = none).
VocPaths exportVoc(const AnnotationDoc& doc, const std::string& folder, LabelSet& labels, int voidBorder = 0);
// The objects of a SegmentationObject PNG (ids 1..254), each labelled with the class its pixels hold most often in
// the SegmentationClass PNG (id - 1 in `labels`). util::Error names the file for differing sizes or a class id
// not in `labels`.
AnnotationDoc loadVoc(const std::string& classPng, const std::string& objectPng, const LabelSet& labels);

}  // namespace supersam::ui
