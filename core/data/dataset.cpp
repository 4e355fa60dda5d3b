#include "core/data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/reader_common.h"
#include "core/data/readers.h"
#include "core/util/error.h"

namespace fs = std::filesystem;

namespace supersam::data {

size_t Dataset::objectCount() const {
  size_t n = 0;
  for (const auto& s : samples) n += s.objects.size();
  return n;
}

at::Tensor loadSampleImage(const Sample& sample) {
  at::Tensor img = loadImageRgb(sample.imagePath);
  if ((sample.height && img.size(0) != sample.height) || (sample.width && img.size(1) != sample.width)) {
    throw util::Error("image " + sample.imagePath + " is " + std::to_string(img.size(0)) + "x" +
                      std::to_string(img.size(1)) + " (HxW) but its annotations say " + std::to_string(sample.height) +
                      "x" + std::to_string(sample.width));
  }
  return img;
}

namespace {
uint32_t be32(const unsigned char* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
uint16_t be16(const unsigned char* p) { return uint16_t((p[0] << 8) | p[1]); }

bool jpegSize(std::ifstream& f, std::array<int64_t, 2>& hw) {
  f.seekg(2);
  unsigned char m[2];
  while (f.read(reinterpret_cast<char*>(m), 2)) {
    if (m[0] != 0xFF) return false;
    while (m[1] == 0xFF) {  // fill bytes
      if (!f.read(reinterpret_cast<char*>(&m[1]), 1)) return false;
    }
    const unsigned char marker = m[1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    unsigned char len[2];
    if (!f.read(reinterpret_cast<char*>(len), 2)) return false;
    const uint16_t n = be16(len);
    if (n < 2) return false;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      unsigned char b[5];
      if (!f.read(reinterpret_cast<char*>(b), 5)) return false;
      hw = {be16(b + 1), be16(b + 3)};
      return hw[0] > 0 && hw[1] > 0;
    }
    f.seekg(n - 2, std::ios::cur);
  }
  return false;
}
}  // namespace

static std::optional<std::array<int64_t, 2>> headerImageSize(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw util::Error("image file not found or unreadable: " + path);
  unsigned char head[24] = {};
  f.read(reinterpret_cast<char*>(head), sizeof head);
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (f.gcount() == 24 && std::equal(kPng, kPng + 8, head)) {
    return std::array<int64_t, 2>{int64_t(be32(head + 20)), int64_t(be32(head + 16))};
  }
  if (f.gcount() >= 2 && head[0] == 0xFF && head[1] == 0xD8) {
    f.clear();
    std::array<int64_t, 2> hw{};
    if (jpegSize(f, hw)) return hw;
  }
  return std::nullopt;
}

void refuseOversizedImage(const std::string& path) {
  // The header's size is checked before decoding: a 100-byte PNG may claim 1e10 pixels.
  if (const auto hw = headerImageSize(path)) {
    if ((*hw)[0] <= 0 || (*hw)[1] <= 0 || (*hw)[0] > kMaxImageSide || (*hw)[1] > kMaxImageSide ||
        (*hw)[0] * (*hw)[1] > kMaxImagePixels) {
      throw util::Error("image '" + path + "' says it is " + std::to_string((*hw)[1]) + "x" +
                        std::to_string((*hw)[0]) + " pixels; at most " + std::to_string(kMaxImageSide) +
                        " a side and " + std::to_string(kMaxImagePixels / 1000000) + " M pixels are read");
    }
  }
}

std::array<int64_t, 2> readImageSize(const std::string& path) {
  if (const auto hw = headerImageSize(path)) return *hw;
  cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (img.empty()) throw util::Error("cannot decode image file: " + path);
  return {img.rows, img.cols};
}

at::Tensor loadImageRgb(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw util::Error("image '" + path + "' is a folder, expected an image file");
  if (!detail::fileExists(path)) throw util::Error("image file not found: " + path);
  refuseOversizedImage(path);
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw util::Error("image '" + path + "' cannot be decoded: " + e.err);
  }
  if (img.empty()) {
    throw util::Error("image '" + path + "' cannot be decoded (expected PNG, JPEG, TIFF, BMP or WebP)");
  }
  if (static_cast<int64_t>(img.rows) * img.cols > kMaxImagePixels) {
    throw util::Error("image '" + path + "' has " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
                      " pixels, more than " + std::to_string(kMaxImagePixels / 1000000) + " M");
  }
  if (img.depth() == CV_16U) {
    img.convertTo(img, CV_8U, 1.0 / 257.0);
  } else if (img.depth() == CV_32F || img.depth() == CV_64F) {
    img.convertTo(img, CV_8U, 255.0);
  } else if (img.depth() != CV_8U) {
    img.convertTo(img, CV_8U);
  }
  cv::Mat rgb;
  switch (img.channels()) {
    case 1: cv::cvtColor(img, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(img, rgb, cv::COLOR_BGRA2RGB); break;
    default:
      throw util::Error("image '" + path + "' has " + std::to_string(img.channels()) +
                        " channels (expected 1, 3 or 4)");
  }
  at::Tensor t = at::empty({rgb.rows, rgb.cols, 3}, at::kByte);
  cv::Mat view(rgb.rows, rgb.cols, CV_8UC3, t.data_ptr<uint8_t>());
  rgb.copyTo(view);
  return t;
}

at::Tensor maskToTensor(const cv::Mat& mask) {
  CV_Assert(mask.type() == CV_8UC1);
  at::Tensor t = at::empty({mask.rows, mask.cols}, at::kBool);
  cv::Mat view(mask.rows, mask.cols, CV_8UC1, t.data_ptr<bool>());
  cv::Mat bin = mask != 0;  // 0/255
  bin.convertTo(view, CV_8U, 1.0 / 255.0);
  return t;
}

cv::Mat tensorToMask(const at::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 2, "tensorToMask: expected [H, W], got ", mask.sizes());
  at::Tensor b = mask.ne(0).to(at::kByte).contiguous().cpu();
  cv::Mat out(static_cast<int>(b.size(0)), static_cast<int>(b.size(1)), CV_8UC1);
  std::memcpy(out.data, b.data_ptr<uint8_t>(), static_cast<size_t>(b.numel()));
  return out;
}

namespace detail {

void Problems::add(const std::string& message) {
  if (m_strict) throw util::Error(message);
  m_ds.warnings.push_back(message);
}

bool finishObject(Object& obj, Dataset& ds, const ReadOptions& opt) {
  obj.area = rleArea(obj.rle);
  obj.bbox = rleBbox(obj.rle);
  if (obj.area == 0 || obj.area < opt.minArea) {
    ++ds.skippedSmall;
    return false;
  }
  return true;
}

cv::Mat readMaskFile(const std::string& path) {
  if (!fileExists(path)) throw util::Error("mask file not found: " + path);
  refuseOversizedImage(path);
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (m.empty()) throw util::Error("cannot decode mask file: " + path);
  if (m.channels() > 1) {
    cv::Mat first;
    cv::extractChannel(m, first, 0);
    m = first;
  }
  if (m.depth() != CV_8U && m.depth() != CV_16U) {
    throw util::Error("mask file " + path + " has an unsupported pixel type (expected 8 or 16-bit integers)");
  }
  return m;
}

std::vector<cv::Mat> connectedComponents(const cv::Mat& binary, int connectivity) {
  std::vector<cv::Mat> out;
  cv::Mat bin = binary != 0;
  if (connectivity == 0) {
    if (cv::countNonZero(bin) > 0) out.push_back(bin / 255);
    return out;
  }
  cv::Mat labels;
  const int n = cv::connectedComponents(bin, labels, connectivity, CV_32S);
  // Group pixels by label in one pass, so many components cost O(pixels), not O(components * pixels).
  std::vector<std::vector<cv::Point>> pixels(static_cast<size_t>(n));
  for (int r = 0; r < labels.rows; ++r) {
    const int* row = labels.ptr<int>(r);
    for (int c = 0; c < labels.cols; ++c) {
      if (row[c] > 0) pixels[static_cast<size_t>(row[c])].emplace_back(c, r);
    }
  }
  for (int l = 1; l < n; ++l) {
    cv::Mat m(binary.size(), CV_8UC1, cv::Scalar(0));
    for (const auto& p : pixels[static_cast<size_t>(l)]) m.at<uint8_t>(p) = 1;
    out.push_back(std::move(m));
  }
  return out;
}

bool fileExists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string joinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return (fs::path(a) / b).string();
}

}  // namespace detail

std::string findImageFile(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".PNG", ".JPG", ".JPEG"}) {
    std::string p = detail::joinPath(dir, stem + ext);
    if (detail::fileExists(p)) return p;
  }
  return {};
}

std::vector<std::string> listStems(const std::string& imageDir, const std::string& listFile) {
  std::vector<std::string> stems;
  if (!listFile.empty()) {
    std::ifstream f(listFile);
    if (!f) throw util::Error("split list not found: " + listFile + " (expected one image name per line)");
    std::string line;
    while (std::getline(f, line)) {
      const auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
      stems.push_back(fs::path(line).has_extension() ? fs::path(line).stem().string() : line);
    }
    return stems;
  }
  std::error_code ec;
  if (!fs::is_directory(imageDir, ec)) throw util::Error("image folder not found: " + imageDir);
  for (const auto& e : fs::directory_iterator(imageDir)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".tif" || ext == ".tiff" || ext == ".bmp") {
      stems.push_back(e.path().stem().string());
    }
  }
  std::sort(stems.begin(), stems.end());
  return stems;
}

}  // namespace supersam::data
