#include "core/train/batch.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include "core/infer/predictor.h"
#include "core/util/error.h"

namespace supersam::train {

uint64_t mixSeed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {

// The mask resized like the image (augment.h resizeMask) and zero-padded to S x S.
cv::Mat maskInInputFrame(const cv::Mat& mask, std::array<int64_t, 2> inputHW, int64_t size) {
  cv::Mat out = cv::Mat::zeros(static_cast<int>(size), static_cast<int>(size), CV_8U);
  const cv::Mat resized = resizeMask(mask, cv::Size(static_cast<int>(inputHW[1]), static_cast<int>(inputHW[0])));
  resized.copyTo(out(cv::Rect(0, 0, resized.cols, resized.rows)));
  return out;
}

}  // namespace

TrainImage makeTrainImage(const data::Sample& sample, const model::SamArch& arch, const PromptOptions& opt,
                          uint64_t seed, const AugmentOptions& augment, const data::Sample* pasteSource) {
  std::mt19937_64 rng(seed);
  TrainImage out;
  const int64_t s = arch.imageSize;
  AugmentedImage aug;
  size_t objectCount = sample.objects.size();
  if (augment.enabled) {
    aug = augmentSample(sample, pasteSource, s, opt.maxObjects, augment, mixSeed(seed, 0xa0a0ULL));
    const at::Tensor rgb = at::from_blob(aug.rgb.data, {aug.rgb.rows, aug.rgb.cols, 3}, at::kByte);
    out.input = infer::normaliseAndPad(rgb, arch).squeeze(0).contiguous();
    out.inputHW = {aug.rgb.rows, aug.rgb.cols};
    objectCount = aug.masks.size();
  } else {
    out.input = infer::preprocessImage(data::loadSampleImage(sample), arch, &out.inputHW).squeeze(0).contiguous();
  }
  // Object i's mask, 0/1 in the padded S x S frame.
  auto framedMask = [&](size_t i) {
    if (!augment.enabled) return maskInInputFrame(sample.objects[i].mask(), out.inputHW, s);
    cv::Mat m = cv::Mat::zeros(static_cast<int>(s), static_cast<int>(s), CV_8U);
    aug.masks[i].copyTo(m(cv::Rect(0, 0, aug.masks[i].cols, aug.masks[i].rows)));
    return m;
  };

  std::vector<size_t> order(objectCount);
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<at::Tensor> targets;
  for (size_t idx : order) {
    if (static_cast<int64_t>(targets.size()) >= opt.maxObjects) break;
    cv::Mat m = framedMask(idx);
    std::vector<cv::Point> pts;
    cv::findNonZero(m, pts);
    if (pts.empty()) continue;
    ObjectPrompt p;
    p.isBox = unit(rng) >= opt.pointFraction;
    if (p.isBox) {
      cv::Rect r = cv::boundingRect(pts);
      double x0 = r.x, y0 = r.y, x1 = r.x + r.width, y1 = r.y + r.height;
      const double jw = opt.boxJitter * r.width, jh = opt.boxJitter * r.height;
      auto jitter = [&](double v, double j) { return v + (2.0 * unit(rng) - 1.0) * j; };
      x0 = jitter(x0, jw), x1 = jitter(x1, jw), y0 = jitter(y0, jh), y1 = jitter(y1, jh);
      const double w = static_cast<double>(out.inputHW[1]), h = static_cast<double>(out.inputHW[0]);
      x0 = std::clamp(x0, 0.0, w), x1 = std::clamp(x1, 0.0, w), y0 = std::clamp(y0, 0.0, h), y1 = std::clamp(y1, 0.0, h);
      if (x1 < x0) std::swap(x0, x1);
      if (y1 < y0) std::swap(y0, y1);
      p.box = {static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1), static_cast<float>(y1)};
    } else {
      std::uniform_int_distribution<size_t> pick(0, pts.size() - 1);
      const cv::Point& q = pts[pick(rng)];
      p.point = {static_cast<float>(q.x + 0.5), static_cast<float>(q.y + 0.5)};
    }
    out.prompts.push_back(p);
    targets.push_back(at::from_blob(m.data, {s, s}, at::kByte).to(at::kFloat));
  }
  out.targets = targets.empty() ? at::zeros({0, s, s}) : at::stack(targets);
  return out;
}

DataOrder::DataOrder(std::vector<const data::Dataset*> datasets, uint64_t seed) : m_seed(seed) {
  for (const data::Dataset* d : datasets) {
    for (const data::Sample& s : d->samples) {
      if (!s.objects.empty()) m_items.push_back(&s);
    }
  }
  if (m_items.empty()) throw util::Error("training data: no image with at least one object in the datasets given");
}

const std::vector<int64_t>& DataOrder::permutation(int64_t epoch) const {
  if (epoch != m_cachedEpoch) {
    m_perm.resize(m_items.size());
    std::iota(m_perm.begin(), m_perm.end(), int64_t{0});
    std::mt19937_64 rng(mixSeed(m_seed, static_cast<uint64_t>(epoch) + 0x5eedULL));
    // Fisher-Yates with our own index draws: std::shuffle's algorithm is implementation-defined.
    for (int64_t i = static_cast<int64_t>(m_perm.size()) - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
      std::swap(m_perm[i], m_perm[j]);
    }
    m_cachedEpoch = epoch;
  }
  return m_perm;
}

const data::Sample& DataOrder::at(int64_t position) const {
  const int64_t n = size();
  const int64_t epoch = position / n;
  return *m_items[static_cast<size_t>(permutation(epoch)[static_cast<size_t>(position % n)])];
}

const data::Sample& DataOrder::pasteSource(int64_t position) const {
  const uint64_t key = mixSeed(m_seed ^ 0x7061737465ULL, static_cast<uint64_t>(position));
  return *m_items[static_cast<size_t>(key % static_cast<uint64_t>(m_items.size()))];
}

uint64_t DataOrder::promptSeed(int64_t position) const {
  return mixSeed(m_seed ^ 0x70726f6d7074ULL, static_cast<uint64_t>(position));
}

}  // namespace supersam::train
