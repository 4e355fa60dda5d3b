#include "core/eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace supersam::eval {

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Indices of the objects to evaluate: all, or a seeded subset of `limit` kept in annotation order.
std::vector<size_t> pickObjects(size_t n, int64_t limit, uint64_t seed, int64_t imageId) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  if (limit < 0 || static_cast<size_t>(limit) >= n) return idx;
  std::mt19937_64 rng(data::promptSeed(seed, imageId, -1));
  for (size_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[static_cast<size_t>(rng() % (i + 1))]);
  idx.resize(static_cast<size_t>(limit));
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::string placementName(data::PointPlacement p) { return p == data::PointPlacement::Center ? "center" : "random"; }

nlohmann::json tripleJson(const MiouTriple& t) {
  return {{"oracle", t.oracle}, {"ranked", t.ranked}, {"single", t.single}};
}

}  // namespace

nlohmann::json EvalProtocol::toJson() const {
  return {{"prompt", data::promptKindName(promptKind)},
          {"num_points", numPoints},
          {"point_placement", placementName(placement)},
          {"max_images", maxImages},
          {"max_objects_per_image", maxObjectsPerImage},
          {"min_area", minArea},
          {"seed", seed}};
}

infer::Prompt toInferPrompt(const data::PromptGeometry& g, bool multimask) {
  infer::Prompt p;
  p.points = g.points;
  p.labels = g.labels;
  p.box = g.box;
  p.multimask = multimask;
  return p;
}

int64_t PreparedDataset::objectCount() const {
  int64_t n = 0;
  for (const auto& im : images) n += static_cast<int64_t>(im.objects.size());
  return n;
}

PreparedEvalSet::PreparedEvalSet(const std::vector<data::Dataset>& datasets, const EvalProtocol& protocol,
                                 const model::SamArch* arch, int64_t inputBudgetBytes, const util::JobControl& job)
    : m_protocol(protocol) {
  if (arch) {
    m_arch = *arch;
    m_hasArch = true;
  }
  long long total = 0;
  for (const auto& ds : datasets) {
    total += protocol.maxImages < 0 ? static_cast<long long>(ds.samples.size())
                                    : std::min<long long>(protocol.maxImages, static_cast<long long>(ds.samples.size()));
  }
  long long done = 0;
  int64_t budget = inputBudgetBytes;
  data::PromptOptions popt;
  popt.kind = protocol.promptKind;
  popt.numPoints = protocol.numPoints;
  popt.placement = protocol.placement;
  popt.seed = protocol.seed;
  c10::InferenceMode guard;
  for (const auto& ds : datasets) {
    PreparedDataset pd;
    pd.name = ds.name;
    for (const auto& sample : ds.samples) {
      if (protocol.maxImages >= 0 && static_cast<int64_t>(pd.images.size()) >= protocol.maxImages) break;
      job.check();
      PreparedImage im;
      im.path = sample.imagePath;
      im.imageId = sample.imageId;
      im.rgb = data::loadSampleImage(sample);
      for (size_t i : pickObjects(sample.objects.size(), protocol.maxObjectsPerImage, protocol.seed, sample.imageId)) {
        const data::Object& obj = sample.objects[i];
        if (obj.area < std::max<int64_t>(1, protocol.minArea)) continue;
        cv::Mat mask = obj.mask();
        PreparedObject po;
        po.objectId = obj.id;
        po.gt = cropMask(data::maskToTensor(mask));
        po.prompt = data::makePrompt(mask, popt, sample.imageId, static_cast<int64_t>(i));
        im.objects.push_back(std::move(po));
      }
      if (m_hasArch) {
        const int64_t bytes = 3 * m_arch.imageSize * m_arch.imageSize * static_cast<int64_t>(sizeof(float));
        if (bytes <= budget) {
          im.encoderInput = infer::preprocessImage(im.rgb, m_arch, &im.inputHW);
          budget -= bytes;
        }
      }
      pd.images.push_back(std::move(im));
      job.report(++done, total, "preparing " + ds.name);
    }
    m_datasets.push_back(std::move(pd));
  }
}

int64_t PreparedEvalSet::imageCount() const {
  int64_t n = 0;
  for (const auto& d : m_datasets) n += static_cast<int64_t>(d.images.size());
  return n;
}

int64_t PreparedEvalSet::objectCount() const {
  int64_t n = 0;
  for (const auto& d : m_datasets) n += d.objectCount();
  return n;
}

EvalResult evaluate(infer::Predictor& predictor, const model::ElasticConfig& cfg, const PreparedEvalSet& set,
                    const util::JobControl& job, const DatasetDoneFn& onDataset) {
  const auto start = Clock::now();
  EvalResult result;
  result.protocol = set.protocol();
  const model::SamArch arch = predictor.model()->arch();
  const bool usePrepared = set.preparedFor() && *set.preparedFor() == arch;
  const long long total = set.imageCount();
  long long done = 0;
  MiouTriple sumOfMeans;
  MiouAccumulator pooledO, pooledR, pooledS;
  for (const auto& pd : set.datasets()) {
    MiouAccumulator accO, accR, accS, accBox;
    DatasetResult dr;
    dr.name = pd.name;
    for (const auto& im : pd.images) {
      job.check();
      const int64_t H = im.rgb.size(0), W = im.rgb.size(1);
      auto t0 = Clock::now();
      if (usePrepared && im.encoderInput.defined()) {
        predictor.setEncoderInput(im.encoderInput, {H, W}, im.inputHW, cfg);
      } else {
        predictor.setImage(im.rgb, cfg);
      }
      result.encoderSeconds += secondsSince(t0);
      t0 = Clock::now();
      // Each prediction holds [M, H, W] float logits: keep a batch near 64 M floats (256 MB).
      const int64_t perPrompt = std::max<int64_t>(1, 3 * H * W);
      const size_t batch = static_cast<size_t>(
          std::clamp<int64_t>((int64_t{64} << 20) / perPrompt, 1, std::max<int64_t>(1, set.protocol().batchSize)));
      for (size_t b = 0; b < im.objects.size(); b += batch) {
        const size_t e = std::min(im.objects.size(), b + batch);
        std::vector<infer::Prompt> multi, single;
        for (size_t i = b; i < e; ++i) {
          multi.push_back(toInferPrompt(im.objects[i].prompt, true));
          single.push_back(toInferPrompt(im.objects[i].prompt, false));
        }
        std::vector<infer::Prediction> pm = predictor.predictBatch(multi);
        for (size_t i = b; i < e; ++i) {
          c10::InferenceMode guard;
          const infer::Prediction& p = pm[i - b];
          at::Tensor ious = iouAgainst(p.masks, im.objects[i].gt);
          const int64_t best = p.iou.argmax().item<int64_t>();
          accO.add(ious.max().item<double>());
          accR.add(ious[best].item<double>());
        }
        pm.clear();
        std::vector<infer::Prediction> ps = predictor.predictBatch(single);
        for (size_t i = b; i < e; ++i) {
          c10::InferenceMode guard;
          accS.add(iouAgainst(ps[i - b].masks, im.objects[i].gt)[0].item<double>());
        }
      }
      result.decoderSeconds += secondsSince(t0);
      for (const auto& o : im.objects) accBox.add(boxFillIou(o.gt));
      ++dr.images;
      dr.objects += static_cast<int64_t>(im.objects.size());
      job.report(++done, total, pd.name);
    }
    dr.miou = {accO.mean(), accR.mean(), accS.mean()};
    dr.boxFill = accBox.mean();
    result.overallBoxFill += dr.boxFill;
    sumOfMeans.oracle += dr.miou.oracle;
    sumOfMeans.ranked += dr.miou.ranked;
    sumOfMeans.single += dr.miou.single;
    pooledO.merge(accO);
    pooledR.merge(accR);
    pooledS.merge(accS);
    result.images += dr.images;
    result.objects += dr.objects;
    result.datasets.push_back(dr);
    if (onDataset) onDataset(dr);
  }
  const double nd = static_cast<double>(std::max<size_t>(1, result.datasets.size()));
  result.overall = {sumOfMeans.oracle / nd, sumOfMeans.ranked / nd, sumOfMeans.single / nd};
  result.pooled = {pooledO.mean(), pooledR.mean(), pooledS.mean()};
  result.overallBoxFill /= nd;
  result.seconds = secondsSince(start);
  result.promptsPerSecond = result.seconds > 0 ? static_cast<double>(result.objects) / result.seconds : 0;
  result.decoderPromptsPerSecond =
      result.decoderSeconds > 0 ? 2.0 * static_cast<double>(result.objects) / result.decoderSeconds : 0;
  return result;
}

EvalResult evaluate(infer::Predictor& predictor, const model::ElasticConfig& cfg,
                    const std::vector<data::Dataset>& datasets, const EvalProtocol& protocol,
                    const util::JobControl& job) {
  const model::SamArch arch = predictor.model()->arch();
  PreparedEvalSet set(datasets, protocol, &arch, int64_t{1} << 30, util::JobControl{{}, job.cancel});
  return evaluate(predictor, cfg, set, job);
}

nlohmann::json EvalResult::toJson() const {
  nlohmann::json ds = nlohmann::json::array();
  for (const auto& d : datasets) {
    ds.push_back({{"name", d.name},
                  {"images", d.images},
                  {"objects", d.objects},
                  {"miou", tripleJson(d.miou)},
                  {"box_fill_miou", d.boxFill}});
  }
  return {{"model", model},
          {"subnet", subnet},
          {"protocol", protocol.toJson()},
          {"datasets", ds},
          {"overall", tripleJson(overall)},
          {"pooled", tripleJson(pooled)},
          {"overall_box_fill_miou", overallBoxFill},
          {"images", images},
          {"objects", objects},
          {"seconds", seconds},
          {"encoder_seconds", encoderSeconds},
          {"decoder_seconds", decoderSeconds},
          {"prompts_per_second", promptsPerSecond},
          {"decoder_prompts_per_second", decoderPromptsPerSecond}};
}

std::string EvalResult::toCsv() const {
  std::ostringstream out;
  const std::string prompt = data::promptKindName(protocol.promptKind);
  out << "dataset,prompt,images,objects,miou_oracle,miou_ranked,miou_single,miou_box_fill\n";
  auto row = [&](const std::string& name, int64_t im, int64_t ob, const MiouTriple& t, double boxFill) {
    char buf[200];
    std::snprintf(buf, sizeof buf, ",%lld,%lld,%.6f,%.6f,%.6f,", static_cast<long long>(im),
                  static_cast<long long>(ob), t.oracle, t.ranked, t.single);
    out << name << "," << prompt << buf;
    if (std::isnan(boxFill)) {
      out << "\n";
    } else {
      std::snprintf(buf, sizeof buf, "%.6f\n", boxFill);
      out << buf;
    }
  };
  for (const auto& d : datasets) row(d.name, d.images, d.objects, d.miou, d.boxFill);
  row("overall", images, objects, overall, overallBoxFill);
  row("pooled", images, objects, pooled, std::nan(""));
  return out.str();
}

void writeEvalResult(const EvalResult& result, const std::string& path) {
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  util::writeFileAtomic(path, csv ? result.toCsv() : result.toJson().dump(2) + "\n");
}

}  // namespace supersam::eval
