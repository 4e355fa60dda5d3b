// Mask-image formats: instance-id PNGs, binary masks split into components, DSB-style one-PNG-per-object folders.
#include <algorithm>
#include <filesystem>
#include <map>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/reader_common.h"
#include "core/data/readers.h"
#include "core/util/error.h"

namespace fs = std::filesystem;

namespace supersam::data {

namespace {

std::string sizeText(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// Finds the image and mask of `stem`, checks sizes; returns false (after reporting) when the pair is unusable.
bool openPair(const PngLayout& layout, const std::string& stem, Sample& s, cv::Mat& mask, detail::Problems& problems) {
  const std::string imageDir = detail::joinPath(layout.root, layout.imageSubdir);
  const std::string maskDir = detail::joinPath(layout.root, layout.maskSubdir);
  try {
    s.imagePath = findImageFile(imageDir, stem);
    if (s.imagePath.empty()) throw util::Error("image '" + stem + "': no image file in " + imageDir);
    // Masks may be any image format (PNG usually; some datasets, e.g. the Weizmann horses, ship JPEG masks).
    const std::string maskPath = findImageFile(maskDir, stem + layout.maskSuffix);
    if (maskPath.empty()) {
      throw util::Error("image '" + stem + "': no mask " + stem + layout.maskSuffix + ".png (or .jpg/.bmp/.tif) in " +
                        maskDir);
    }
    const auto hw = readImageSize(s.imagePath);
    s.height = hw[0];
    s.width = hw[1];
    mask = detail::readMaskFile(maskPath);
    if (mask.rows != s.height || mask.cols != s.width) {
      throw util::Error("mask " + maskPath + " is " + sizeText(mask.rows, mask.cols) + " but image " + s.imagePath +
                        " is " + sizeText(s.height, s.width));
    }
    return true;
  } catch (const util::Error& e) {
    problems.add(e.what());
    return false;
  }
}

template <typename F>
Dataset readStems(const PngLayout& layout, const ReadOptions& opt, F&& addObjects) {
  Dataset ds;
  detail::Problems problems(ds, opt.strict);
  std::error_code ec;
  if (!fs::is_directory(layout.root, ec)) throw util::Error("dataset folder not found: " + layout.root);
  const auto stems = listStems(detail::joinPath(layout.root, layout.imageSubdir), layout.listFile);
  for (const auto& stem : stems) {
    if (opt.limit >= 0 && static_cast<int64_t>(ds.samples.size()) >= opt.limit) break;
    Sample s;
    s.imageId = static_cast<int64_t>(ds.samples.size());
    cv::Mat mask;
    if (!openPair(layout, stem, s, mask, problems)) continue;
    addObjects(mask, s, ds);
    ds.samples.push_back(std::move(s));
  }
  return ds;
}

}  // namespace

Dataset readInstancePngs(const PngLayout& layout, const ReadOptions& opt) {
  return readStems(layout, opt, [&](const cv::Mat& mask, Sample& s, Dataset& ds) {
    cv::Mat ids;
    mask.convertTo(ids, CV_32S);
    std::map<int, int> present;  // instance value -> pixel count
    for (int r = 0; r < ids.rows; ++r) {
      const int* row = ids.ptr<int>(r);
      for (int c = 0; c < ids.cols; ++c) {
        if (row[c] != 0) ++present[row[c]];
      }
    }
    for (const auto& [value, count] : present) {
      (void)count;
      Object obj;
      obj.id = value;
      cv::Mat one = ids == value;  // 0/255
      obj.rle = rleFromMask(one);
      if (detail::finishObject(obj, ds, opt)) s.objects.push_back(std::move(obj));
    }
  });
}

Dataset readBinaryMasks(const PngLayout& layout, int connectivity, int threshold, const ReadOptions& opt) {
  if (connectivity != 0 && connectivity != 4 && connectivity != 8) {
    throw util::Error("components=" + std::to_string(connectivity) + ": expected 4, 8 or 0 (whole mask)");
  }
  return readStems(layout, opt, [&](const cv::Mat& mask, Sample& s, Dataset& ds) {
    cv::Mat fg = mask >= threshold;
    int64_t index = 0;
    for (cv::Mat& comp : detail::connectedComponents(fg, connectivity)) {
      Object obj;
      obj.id = ++index;
      obj.rle = rleFromMask(comp);
      if (detail::finishObject(obj, ds, opt)) s.objects.push_back(std::move(obj));
    }
  });
}

Dataset readDsbFolders(const std::string& dir, const std::string& listFile, const ReadOptions& opt) {
  Dataset ds;
  detail::Problems problems(ds, opt.strict);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw util::Error("DSB folder not found: " + dir);
  std::vector<std::string> ids;
  if (!listFile.empty()) {
    ids = listStems(dir, listFile);
  } else {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_directory()) ids.push_back(e.path().filename().string());
    }
    std::sort(ids.begin(), ids.end());
  }
  for (const auto& id : ids) {
    if (opt.limit >= 0 && static_cast<int64_t>(ds.samples.size()) >= opt.limit) break;
    const std::string folder = detail::joinPath(dir, id);
    try {
      Sample s;
      s.imageId = static_cast<int64_t>(ds.samples.size());
      s.imagePath = findImageFile(detail::joinPath(folder, "images"), id);
      if (s.imagePath.empty()) throw util::Error("DSB sample " + folder + ": no images/" + id + ".png");
      const auto hw = readImageSize(s.imagePath);
      s.height = hw[0];
      s.width = hw[1];
      std::vector<std::string> maskFiles;
      const std::string maskDir = detail::joinPath(folder, "masks");
      if (fs::is_directory(maskDir, ec)) {
        for (const auto& e : fs::directory_iterator(maskDir)) {
          if (e.is_regular_file() && e.path().extension() == ".png") maskFiles.push_back(e.path().string());
        }
      }
      std::sort(maskFiles.begin(), maskFiles.end());
      int64_t index = 0;
      for (const auto& mf : maskFiles) {
        ++index;
        try {
          cv::Mat m = detail::readMaskFile(mf);
          if (m.rows != s.height || m.cols != s.width) {
            throw util::Error("mask " + mf + " is " + sizeText(m.rows, m.cols) + " but image " + s.imagePath + " is " +
                              sizeText(s.height, s.width));
          }
          Object obj;
          obj.id = index;
          cv::Mat fg = m != 0;
          obj.rle = rleFromMask(fg);
          if (detail::finishObject(obj, ds, opt)) s.objects.push_back(std::move(obj));
        } catch (const util::Error& e) {
          problems.add(e.what());
        }
      }
      ds.samples.push_back(std::move(s));
    } catch (const util::Error& e) {
      problems.add(e.what());
    }
  }
  return ds;
}

}  // namespace supersam::data
