#include "core/train/augment.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>
#include <string>

#include <opencv2/imgproc.hpp>

#include "core/util/error.h"

namespace supersam::train {

namespace {

using Rng = std::mt19937_64;

double uniform(Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

cv::Mat loadRgb(const data::Sample& s) {
  const at::Tensor t = data::loadSampleImage(s);  // [H, W, 3] uint8, contiguous
  return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr<uint8_t>()).clone();
}

// Pastes up to opt.maxPasted objects of `src` onto img at a random scale and place; they occlude `masks`.
void pasteObjects(cv::Mat& img, std::vector<cv::Mat>& masks, const data::Sample& src, const AugmentOptions& opt,
                  Rng& rng) {
  std::vector<size_t> pick(src.objects.size());
  std::iota(pick.begin(), pick.end(), size_t{0});
  std::shuffle(pick.begin(), pick.end(), rng);
  const size_t k = std::min(pick.size(), static_cast<size_t>(1 + rng() % static_cast<uint64_t>(opt.maxPasted)));
  pick.resize(k);
  // The chosen objects' union box in the source image.
  double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
  for (size_t i : pick) {
    const auto& b = src.objects[i].bbox;
    x0 = std::min(x0, b[0]), y0 = std::min(y0, b[1]);
    x1 = std::max(x1, b[0] + b[2]), y1 = std::max(y1, b[1] + b[3]);
  }
  const cv::Mat srcRgb = loadRgb(src);
  cv::Rect box(static_cast<int>(std::floor(x0)), static_cast<int>(std::floor(y0)), 0, 0);
  box.width = static_cast<int>(std::ceil(x1)) - box.x;
  box.height = static_cast<int>(std::ceil(y1)) - box.y;
  box &= cv::Rect(0, 0, srcRgb.cols, srcRgb.rows);
  if (box.width <= 0 || box.height <= 0) return;
  // Scale so that the union box fits the target with room to move: between 30 % and 100 % of the largest fit.
  const double fit = std::min(static_cast<double>(img.cols) / box.width, static_cast<double>(img.rows) / box.height);
  const double f = fit * uniform(rng, 0.3, 1.0);
  const int pw = std::max(1, static_cast<int>(std::lround(box.width * f)));
  const int ph = std::max(1, static_cast<int>(std::lround(box.height * f)));
  if (pw > img.cols || ph > img.rows) return;
  cv::Mat patch;
  cv::resize(srcRgb(box), patch, cv::Size(pw, ph), 0, 0, f < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int ox = static_cast<int>(rng() % static_cast<uint64_t>(img.cols - pw + 1));
  const int oy = static_cast<int>(rng() % static_cast<uint64_t>(img.rows - ph + 1));
  const cv::Rect dst(ox, oy, pw, ph);
  for (size_t i : pick) {
    const cv::Mat part = resizeMask(src.objects[i].mask()(box), cv::Size(pw, ph));
    if (cv::countNonZero(part) == 0) continue;
    patch.copyTo(img(dst), part);
    for (cv::Mat& m : masks) m(dst).setTo(0, part);
    cv::Mat full = cv::Mat::zeros(img.size(), CV_8U);
    part.copyTo(full(dst));
    masks.push_back(full);
  }
}

void jitterColour(cv::Mat& img, double amplitude, Rng& rng) {
  const double brightness = 1.0 + uniform(rng, -amplitude, amplitude);
  const double contrast = 1.0 + uniform(rng, -amplitude, amplitude);
  const double saturation = 1.0 + uniform(rng, -amplitude, amplitude);
  cv::Mat grey, grey3, f;
  cv::cvtColor(img, grey, cv::COLOR_RGB2GRAY);
  const double mean = cv::mean(grey)[0];
  cv::cvtColor(grey, grey3, cv::COLOR_GRAY2RGB);
  grey3.convertTo(grey3, CV_32FC3);
  img.convertTo(f, CV_32FC3);
  cv::addWeighted(f, saturation, grey3, 1.0 - saturation, 0.0, f);  // grey + (f - grey) * saturation
  // ((f - mean) * contrast + mean) * brightness, saturated to 0..255.
  f.convertTo(img, CV_8UC3, contrast * brightness, (1.0 - contrast) * mean * brightness);
}

// Resizes to the drawn scale and crops sides longer than imageSize around a random object's centre.
void scaleAndCrop(cv::Mat& img, std::vector<cv::Mat>& masks, int64_t imageSize, const AugmentOptions& opt, Rng& rng) {
  const double base = static_cast<double>(imageSize) / std::max(img.rows, img.cols);
  const double sc = base * uniform(rng, opt.scaleMin, opt.scaleMax);
  const cv::Size size(std::max(1, static_cast<int>(std::lround(img.cols * sc))),
                      std::max(1, static_cast<int>(std::lround(img.rows * sc))));
  cv::resize(img, img, size, 0, 0, sc < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  for (cv::Mat& m : masks) m = resizeMask(m, size);
  const int s = static_cast<int>(imageSize);
  const int cw = std::min(size.width, s), ch = std::min(size.height, s);
  if (cw == size.width && ch == size.height) return;
  // Centre of a random non-empty object (the image centre when none), kept inside the window.
  double cx = size.width / 2.0, cy = size.height / 2.0;
  std::vector<size_t> nonEmpty;
  for (size_t i = 0; i < masks.size(); ++i) {
    if (cv::countNonZero(masks[i]) > 0) nonEmpty.push_back(i);
  }
  if (!nonEmpty.empty()) {
    const cv::Moments mo = cv::moments(masks[nonEmpty[rng() % nonEmpty.size()]], true);
    cx = mo.m10 / mo.m00, cy = mo.m01 / mo.m00;
  }
  auto place = [&](double centre, int window, int total) {
    const double start = centre - uniform(rng, 0.1, 0.9) * window;
    return std::clamp(static_cast<int>(std::lround(start)), 0, total - window);
  };
  const cv::Rect win(place(cx, cw, size.width), place(cy, ch, size.height), cw, ch);
  img = img(win).clone();
  for (cv::Mat& m : masks) m = m(win).clone();
}

}  // namespace

cv::Mat resizeMask(const cv::Mat& mask, cv::Size size) {
  if (mask.size() == size) return mask.clone();
  cv::Mat f, r;
  mask.convertTo(f, CV_32F);
  cv::resize(f, r, size, 0, 0, cv::INTER_LINEAR);
  cv::Mat bin = r > 0.5f;  // 255 / 0
  return bin / 255;
}

AugmentedImage augmentSample(const data::Sample& sample, const data::Sample* pasteSource, int64_t imageSize,
                             int64_t maxObjects, const AugmentOptions& opt, uint64_t seed) {
  Rng rng(seed);
  AugmentedImage out;
  out.rgb = loadRgb(sample);
  std::vector<size_t> order(sample.objects.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(std::min(order.size(), static_cast<size_t>(std::max<int64_t>(maxObjects, 0))));
  for (size_t i : order) out.masks.push_back(sample.objects[i].mask());

  const bool paste = pasteSource != nullptr && pasteSource != &sample && !pasteSource->objects.empty() &&
                     opt.maxPasted > 0 && uniform(rng, 0.0, 1.0) < opt.copyPaste;
  if (paste) pasteObjects(out.rgb, out.masks, *pasteSource, opt, rng);
  if (uniform(rng, 0.0, 1.0) < opt.flip) {
    cv::flip(out.rgb, out.rgb, 1);
    for (cv::Mat& m : out.masks) cv::flip(m, m, 1);
  }
  if (opt.colour > 0) jitterColour(out.rgb, opt.colour, rng);
  scaleAndCrop(out.rgb, out.masks, imageSize, opt, rng);
  out.masks.erase(std::remove_if(out.masks.begin(), out.masks.end(),
                                 [&](const cv::Mat& m) { return cv::countNonZero(m) < opt.minArea; }),
                  out.masks.end());
  return out;
}

AugmentOptions parseAugmentOptions(const std::string& text) {
  AugmentOptions opt;
  if (text == "off" || text == "none") return opt;
  opt.enabled = true;
  if (text == "on" || text.empty()) return opt;
  auto number = [&](const std::string& item, const std::string& v, double lo, double hi) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || !(x >= lo && x <= hi)) {
      std::ostringstream range;
      range << "[" << lo << ", " << hi << "]";
      throw util::Error("--augment: '" + item + "': expected a number in " + range.str());
    }
    return x;
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, end - pos);
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "scale") {
      const size_t colon = value.find(':');
      if (colon == std::string::npos) throw util::Error("--augment: '" + item + "': expected scale=MIN:MAX");
      opt.scaleMin = number(item, value.substr(0, colon), 0.05, 10.0);
      opt.scaleMax = number(item, value.substr(colon + 1), 0.05, 10.0);
      if (opt.scaleMax < opt.scaleMin) throw util::Error("--augment: '" + item + "': expected MIN <= MAX");
    } else if (key == "flip") {
      opt.flip = number(item, value, 0.0, 1.0);
    } else if (key == "colour" || key == "color") {
      opt.colour = number(item, value, 0.0, 0.9);
    } else if (key == "paste") {
      opt.copyPaste = number(item, value, 0.0, 1.0);
    } else if (key == "max-pasted") {
      opt.maxPasted = static_cast<int64_t>(number(item, value, 0.0, 64.0));
    } else {
      throw util::Error("--augment: unknown item '" + item +
                        "' (expected on, off, or a list of scale=MIN:MAX, flip=P, colour=A, paste=P, max-pasted=N)");
    }
    pos = end + 1;
  }
  return opt;
}

}  // namespace supersam::train
