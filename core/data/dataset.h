#pragma once
// Segmentation datasets as lists of images with instance masks, read from the formats users have (see
// dataset_spec.h for the command-line spec that picks a reader). Masks are kept run-length encoded (Rle) and
// decoded on demand; images are loaded on demand with loadImageRgb.
//
// Problems policy (the same in every reader): a problem with ONE annotation or ONE image (bad RLE, polygon with
// < 3 points, mask size != image size, missing or unreadable image/mask file) skips that annotation or image and
// appends a message naming the file and the annotation id / image to Dataset::warnings; the rest still loads.
// With ReadOptions::strict the first such problem throws util::Error with the same message instead. Problems that
// leave nothing to read (annotation file missing or not JSON, root folder or split list missing, unknown reader)
// always throw util::Error naming the file. Readers never crash on bad input.
// Thread-safety: plain values; loading functions share no state.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "core/data/rle.h"

namespace supersam::data {

struct Object {
  int64_t id = 0;        // annotation id (COCO, SA-1B), instance value (id PNGs), 1-based index otherwise
  int64_t category = 1;  // category id (COCO); 1 for single-class formats
  int64_t area = 0;      // foreground pixels of the mask
  std::array<double, 4> bbox{};  // tight box of the mask [x, y, w, h], pixels (COCO convention)
  Rle rle;               // the instance mask, [height, width] of the image

  cv::Mat mask() const { return rleToMask(rle); }  // CV_8U [H, W], 0/1
};

struct Sample {
  std::string imagePath;
  int64_t imageId = 0;  // COCO/SA-1B image id, else the 0-based index within the dataset
  int64_t height = 0;
  int64_t width = 0;
  std::vector<Object> objects;
};

struct Dataset {
  std::string name;  // short name for reports, e.g. "dsb2018:val"
  std::string spec;  // the spec it was read from
  std::vector<Sample> samples;
  std::map<int64_t, std::string> categories;  // id -> name, where the format has them
  std::vector<std::string> warnings;          // skipped annotations/images, each naming the file and annotation
  int64_t skippedSmall = 0;                   // objects dropped for area < ReadOptions::minArea
  int64_t skippedCrowd = 0;                   // COCO iscrowd regions

  size_t objectCount() const;
};

struct ReadOptions {
  int64_t minArea = 16;   // objects with fewer pixels are skipped (not a warning)
  int64_t limit = -1;     // keep only the first N images of the split (after sorting/listing); -1 = all
  bool strict = false;    // throw on the first problem instead of collecting warnings
};

// The largest image read: a side of 32768 pixels, 100 M pixels in all (checked from the header before decoding).
inline constexpr int64_t kMaxImageSide = 32768;
inline constexpr int64_t kMaxImagePixels = 100'000'000;

// [H, W, 3] uint8 RGB, contiguous: grey, alpha, 16-bit and float images are converted. The one image reader of
// the product (CLI, datasets, studio exports). Throws util::Error naming the file (missing, a folder, too large,
// undecodable).
at::Tensor loadImageRgb(const std::string& path);
// Loads the sample's image and checks its size against the sample's; util::Error names the file on mismatch.
at::Tensor loadSampleImage(const Sample& sample);

// util::Error naming the file when its PNG / JPEG header claims more than kMaxImageSide / kMaxImagePixels.
void refuseOversizedImage(const std::string& path);

// Image size {height, width} from the file header (PNG, JPEG) without decoding, else by decoding.
// Throws util::Error naming the file when it is missing or unreadable.
std::array<int64_t, 2> readImageSize(const std::string& path);

// Wraps a CV_8U [H, W] mask as a bool tensor [H, W] (copy) and back.
at::Tensor maskToTensor(const cv::Mat& mask);
cv::Mat tensorToMask(const at::Tensor& mask);  // any dtype, nonzero = foreground; [H, W]

}  // namespace supersam::data
