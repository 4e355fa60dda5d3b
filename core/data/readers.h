#pragma once
// One function per on-disk format. Each follows the problems policy of dataset.h (warnings or, when strict,
// util::Error; never a crash). Most users go through dataset_spec.h instead.
// Thread-safety: free functions, no shared state.

#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace supersam::data {

// COCO instances JSON: polygons, compressed and uncompressed RLE; iscrowd = 1 skipped. `imageDir` holds the
// images' file_name paths.
Dataset readCoco(const std::string& annotationFile, const std::string& imageDir, const ReadOptions& opt);

// SA-1B: a folder of per-image JSON files {"image": {image_id, width, height, file_name}, "annotations": [...]}
// with compressed RLE, the image beside the JSON.
Dataset readSa1b(const std::string& dir, const ReadOptions& opt);

// Lists image stems: from `listFile` (one stem per line, extensions stripped, '#' comments) when not empty, else
// every image file in `imageDir`, sorted. Throws util::Error naming a missing list file or folder.
std::vector<std::string> listStems(const std::string& imageDir, const std::string& listFile);
// The image file for `stem` in `dir` (tries .png .jpg .jpeg .tif .tiff .bmp); empty if none.
std::string findImageFile(const std::string& dir, const std::string& stem);

struct PngLayout {
  std::string root;
  std::string imageSubdir = "images";
  std::string maskSubdir = "masks";
  std::string maskSuffix;  // mask file = <maskSubdir>/<stem><maskSuffix>.png
  std::string listFile;    // empty = every image in imageSubdir
};

// Folders of instance-id PNGs: every nonzero value of the (8 or 16-bit, single-channel) mask is one object.
// Penn-Fudan: images=PNGImages, masks=PedMasks, suffix=_mask.
Dataset readInstancePngs(const PngLayout& layout, const ReadOptions& opt);

// Folders of binary masks (pixel >= threshold = foreground), split into connected components with 4- or
// 8-connectivity (0 = the whole mask is one object). ISBI 2012: images=image, masks=label, 255 = cell interior.
Dataset readBinaryMasks(const PngLayout& layout, int connectivity, int threshold, const ReadOptions& opt);

// DSB-style: <dir>/<id>/images/<id>.png and <dir>/<id>/masks/*.png, one binary PNG per object. `listFile` (may be
// empty) restricts to the listed ids.
Dataset readDsbFolders(const std::string& dir, const std::string& listFile, const ReadOptions& opt);

}  // namespace supersam::data
