#pragma once
// Internal helpers shared by the readers (not part of the public API).

#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace supersam::data::detail {

// Collects problems following dataset.h's policy: a warning, or util::Error when strict.
class Problems {
 public:
  Problems(Dataset& ds, bool strict) : m_ds(ds), m_strict(strict) {}
  void add(const std::string& message);

 private:
  Dataset& m_ds;
  bool m_strict;
};

// Fills area and bbox from the RLE; returns false (object skipped, counted in skippedSmall) below minArea.
bool finishObject(Object& obj, Dataset& ds, const ReadOptions& opt);

// Reads a single-channel mask (8 or 16 bit, colour collapsed to its first channel) as CV_16U or CV_8U.
// Throws util::Error naming the file.
cv::Mat readMaskFile(const std::string& path);

// Splits a binary mask into connected components; connectivity 0 = the whole mask as one.
std::vector<cv::Mat> connectedComponents(const cv::Mat& binary, int connectivity);

bool fileExists(const std::string& path);
std::string joinPath(const std::string& a, const std::string& b);

}  // namespace supersam::data::detail
