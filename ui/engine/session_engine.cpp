// The only translation unit of the interactive engine that sees torch. It includes no Qt header at all.
#include "ui/engine/session_engine.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/export/onnx_export.h"
#include "core/infer/embedding_cache.h"
#include "core/infer/incremental_encoder.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/io/checkpoint.h"
#include "core/model/sam.h"
#include "core/pipeline/embed_job.h"
#include "core/supernet/extract.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"

namespace supersam::ui {

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

MaskU8 toMask(const at::Tensor& m) {  // [H, W] bool
  const auto u8 = m.to(at::kByte).contiguous();
  MaskU8 out;
  out.height = static_cast<int>(u8.size(0));
  out.width = static_cast<int>(u8.size(1));
  out.data.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
  return out;
}

}  // namespace

struct SessionEngine::Impl {
  std::optional<infer::LoadedModel> loaded;
  std::unique_ptr<infer::Predictor> current;    // holds the current subnet's embedding
  std::unique_ptr<infer::Predictor> reference;  // the largest subnet's embedding (lazy)
  SubnetSpace space;
  ModelInfo info;

  bool hasImage = false;
  at::Tensor input;  // [1, 3, S, S] normalised + padded
  std::array<int64_t, 2> inputHW{}, originalHW{};
  std::unique_ptr<infer::IncrementalEncoder> encoder;  // caches every block's output for the last subnet
  model::ElasticConfig encodedCfg;
  bool haveEmbedding = false;

  // Low-res logits [1, L, L] of the best candidate of every prompt state decoded on the current embedding. A state
  // that adds one point to another is decoded with that state's logits as mask input (SAM's refinement); keying
  // them by the prompts, not by what was shown last, makes a state's mask the same however it is reached (undo,
  // redo, a Pareto click). Cleared when the embedding changes; bounded.
  std::map<std::string, at::Tensor> lowRes;

  static std::string keyOf(const PromptSet& ps) {
    std::string k;
    const auto put = [&k](float v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
    if (ps.box) {
      k += 'b';
      for (float v : *ps.box) put(v);
    }
    for (size_t i = 0; i < ps.points.size(); ++i) {
      k += ps.labels.at(i) ? 'p' : 'n';
      put(ps.points[i][0]);
      put(ps.points[i][1]);
    }
    return k;
  }

  // Decodes `ps` on `pr` (recursively decoding the prefix states it refines that are not in `cache` yet).
  static infer::Prediction decodeOn(const infer::Predictor& pr, std::map<std::string, at::Tensor>& cache,
                                    const PromptSet& ps, bool refine) {
    infer::Prompt p;
    p.points = ps.points;
    p.labels = ps.labels;
    p.box = ps.box;
    p.multimask = true;
    if (refine && !ps.points.empty()) {
      PromptSet prefix = ps;
      prefix.points.pop_back();
      prefix.labels.pop_back();
      if (!prefix.empty()) {
        auto it = cache.find(keyOf(prefix));
        if (it == cache.end()) {
          decodeOn(pr, cache, prefix, refine);
          it = cache.find(keyOf(prefix));
        }
        p.maskInput = it->second;
      }
    }
    infer::Prediction pred = pr.predict(p);
    if (cache.size() >= kMaxCachedStates) cache.clear();
    cache[keyOf(ps)] = pred.lowResLogits.narrow(0, pred.iou.argmax().item<int64_t>(), 1).clone();
    return pred;
  }
  infer::Prediction decode(const PromptSet& ps, bool refine) { return decodeOn(*current, lowRes, ps, refine); }

  // The on-disk embedding cache: the model's fingerprint (computed on first use), the image file's hash.
  std::optional<infer::EmbeddingCache> cache;
  std::string fingerprint;
  std::string imagePath, imageHash;
  bool embeddingFromCache = false;

  infer::EmbeddingKey keyFor(const model::ElasticConfig& cfg) {
    if (fingerprint.empty()) fingerprint = infer::modelFingerprint(info.path, loaded->arch);
    if (imageHash.empty()) imageHash = infer::hashFile(imagePath);
    const auto subnet = supernet::Subnet::parse(space.toString(cfg), loaded->arch);
    return pipeline::embeddingKeyFor(imageHash, fingerprint, subnet, loaded->arch);
  }
  bool fromCache(const model::ElasticConfig& cfg) {
    if (!cache || imagePath.empty() || !hasImage) return false;
    auto hit = cache->get(keyFor(cfg), loaded->arch);
    if (!hit || hit->originalHW != originalHW || hit->inputHW != inputHW) return false;
    current->setEmbedding(hit->embedding, originalHW, inputHW);
    lowRes.clear();
    encodedCfg = cfg;
    haveEmbedding = true;
    embeddingFromCache = true;
    return true;
  }

  // The escalation's second embedding (runAlternative) and its refinement cache.
  std::unique_ptr<infer::Predictor> alt;
  model::ElasticConfig altCfg;
  std::map<std::string, at::Tensor> altLowRes;
  static constexpr size_t kMaxCachedStates = 256;

  model::Sam sam() const { return loaded->sam; }

  // Brings the current embedding up to date. Returns the first block re-run (0 = full encode), or depth when the
  // cached embedding was reused.
  int encode(const model::ElasticConfig& cfgIn, const BlockHook& hook) {
    const auto cfg = space.normalised(cfgIn);
    const int depth = space.depth();
    if (haveEmbedding && cfg == encodedCfg) return depth;
    if (alt && alt->hasImage() && cfg == altCfg) {  // the escalation's subnet became the current one
      current->setEmbedding(alt->embedding(), originalHW, inputHW);
      lowRes.swap(altLowRes);
      altLowRes.clear();
      encodedCfg = cfg;
      haveEmbedding = true;
      return depth;
    }
    if (fromCache(cfg)) return depth;
    infer::IncrementalEncoder::BlockHook blockHook;
    if (hook) blockHook = [&hook](int64_t b) { hook(static_cast<int>(b)); };
    const at::Tensor emb = encoder->encode(cfg, blockHook);
    current->setEmbedding(emb, originalHW, inputHW);
    embeddingFromCache = false;
    lowRes.clear();
    encodedCfg = cfg;
    haveEmbedding = true;
    return static_cast<int>(std::max<int64_t>(0, encoder->lastRecomputedFrom()));
  }

  void ensureReference() {
    if (reference && reference->hasImage()) return;
    c10::InferenceMode guard;
    reference = std::make_unique<infer::Predictor>(sam());
    if (haveEmbedding && encodedCfg == space.largest()) {
      reference->setEmbedding(current->embedding(), originalHW, inputHW);
    } else {
      const auto full = space.largest();
      reference->setEmbedding(sam()->image_encoder->forward(input, &full), originalHW, inputHW);
    }
  }
};

SessionEngine::SessionEngine() : m_impl(std::make_unique<Impl>()) {}
SessionEngine::~SessionEngine() = default;

ModelInfo SessionEngine::loadModel(const std::string& path, const std::string& archOverride) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw util::Error("checkpoint not found: " + path);
  // core's rule (infer::archOverrideFor): the override, else arch.json beside a bare .pth, else the file's own.
  infer::LoadedModel loaded =
      infer::loadModel(path, archOverride.empty() ? std::nullopt : std::optional<std::string>(archOverride));
  loaded.sam->eval();

  ModelInfo info;
  info.path = path;
  info.format = io::formatName(loaded.format);
  info.archName = loaded.arch.name;
  info.imageSize = static_cast<int>(loaded.arch.imageSize);
  const supernet::SupernetInfo sn = supernet::readSupernetInfo(loaded.metadata, loaded.arch);
  info.spaceSource = sn.spaceSource;
  if (sn.sensitivity && static_cast<int64_t>(sn.sensitivity->dropLoss.size()) == loaded.arch.encoderDepth) {
    info.hasSupernetData = true;
    info.sensitivityMetric = sn.sensitivity->metric;
    for (size_t i = 0; i < sn.sensitivity->dropLoss.size(); ++i) {
      BlockInfo b;
      b.index = static_cast<int>(i);
      b.sensitivity = sn.sensitivity->dropLoss[i];
      info.blocks.push_back(b);
    }
  }
  if (sn.reorder) info.reorderMethod = supernet::reorderMethodName(sn.reorder->method);
  info.summary = fs::path(path).filename().string() + " - " + info.archName + ", " +
                 std::to_string(loaded.arch.encoderDepth) + " blocks, width " +
                 std::to_string(loaded.arch.encoderEmbedDim) + ", input " + std::to_string(loaded.arch.imageSize) +
                 " (" + info.format + ")";
  SubnetSpace space(loaded.arch, info, sn.spaceSource == "checkpoint" ? sn.space.toJson().dump() : std::string());
  info = space.info();
  info.warnings = loaded.warnings;

  auto& d = *m_impl;
  d.loaded = std::move(loaded);
  d.space = space;
  d.info = info;
  d.current = std::make_unique<infer::Predictor>(d.sam());
  d.reference.reset();
  d.encoder = std::make_unique<infer::IncrementalEncoder>(d.sam()->image_encoder);
  d.fingerprint.clear();
  d.imagePath.clear();
  d.imageHash.clear();
  d.embeddingFromCache = false;
  d.alt.reset();
  d.altLowRes.clear();
  d.haveEmbedding = false;
  d.hasImage = false;
  d.lowRes.clear();
  return info;
}

bool SessionEngine::hasModel() const { return m_impl->loaded.has_value(); }
SubnetSpace SessionEngine::space() const { return m_impl->space; }
const std::string& SessionEngine::modelPath() const { return m_impl->info.path; }

void SessionEngine::setImage(const ImageRgb& image, const std::string& imagePath) {
  auto& d = *m_impl;
  d.imagePath = image.empty() ? std::string() : imagePath;
  d.imageHash.clear();
  d.embeddingFromCache = false;
  d.haveEmbedding = false;
  if (d.encoder) d.encoder->clear();
  d.reference.reset();
  d.lowRes.clear();
  d.alt.reset();
  d.altLowRes.clear();
  d.hasImage = false;
  if (image.empty()) return;
  if (!hasModel()) throw util::Error("no model loaded: open a checkpoint first");
  if (image.data.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw util::Error("image buffer has " + std::to_string(image.data.size()) + " bytes, expected " +
                      std::to_string(static_cast<size_t>(image.width) * image.height * 3));
  }
  const at::Tensor rgb =
      at::from_blob(const_cast<uint8_t*>(image.data.data()), {image.height, image.width, 3}, at::kByte).clone();
  d.input = infer::preprocessImage(rgb, d.loaded->arch, &d.inputHW);
  d.originalHW = {image.height, image.width};
  d.encoder->setInput(d.input);
  d.hasImage = true;
}

bool SessionEngine::hasImage() const { return m_impl->hasImage; }

void SessionEngine::setEmbeddingCache(const std::string& dir, int64_t maxBytes) {
  if (dir.empty()) {
    m_impl->cache.reset();
    return;
  }
  m_impl->cache.emplace(dir, maxBytes);
}

bool SessionEngine::loadCached(const model::ElasticConfig& cfg) {
  auto& d = *m_impl;
  if (!hasModel()) return false;
  const auto c = d.space.normalised(cfg);
  if (d.haveEmbedding && c == d.encodedCfg) return d.embeddingFromCache;
  return d.fromCache(c);
}

void SessionEngine::storeCurrent() {
  auto& d = *m_impl;
  if (!d.cache || d.imagePath.empty() || !d.hasImage || !d.haveEmbedding || d.embeddingFromCache) return;
  d.cache->put(d.keyFor(d.encodedCfg), {d.current->embedding(), d.originalHW, d.inputHW});
  d.embeddingFromCache = true;  // stored: the same embedding is not written twice
}

namespace {
PredictionResult toResult(const infer::Prediction& pred) {
  PredictionResult r;
  const int m = static_cast<int>(pred.masks.size(0));
  for (int i = 0; i < m; ++i) {
    r.masks.push_back(toMask(pred.masks[i]));
    r.iou.push_back(pred.iou[i].item<float>());
  }
  r.best = static_cast<int>(pred.iou.argmax().item<int64_t>());
  return r;
}
}  // namespace

PredictionResult SessionEngine::run(const model::ElasticConfig& cfg, const PromptSet& prompts, bool withReference,
                                    bool refine, const BlockHook& beforeBlock) {
  auto& d = *m_impl;
  if (!hasModel()) throw util::Error("no model loaded: open a checkpoint first");
  if (!d.hasImage) throw util::Error("no image: open an image first");
  const auto t0 = Clock::now();
  const int from = d.encode(cfg, beforeBlock);
  const double encodeMs = msSince(t0);
  PredictionResult r;
  if (!prompts.empty()) {
    const auto t1 = Clock::now();
    c10::InferenceMode guard;
    // Refinement: a state with one more point than another is decoded with that state's low-res mask, as SAM's
    // tools do.
    r = toResult(d.decode(prompts, refine));
    r.decodeMs = msSince(t1);
  }
  r.subnet = d.space.toString(cfg);
  if (from < d.space.depth()) {
    r.encodeMs = encodeMs;
    r.encodedFromBlock = from;
  }
  if (withReference && !prompts.empty()) {
    c10::InferenceMode guard;
    d.ensureReference();
    infer::Prompt rp;
    rp.points = prompts.points;
    rp.labels = prompts.labels;
    rp.box = prompts.box;
    rp.multimask = true;
    const infer::Prediction ref = d.reference->predict(rp);
    const auto refBest = ref.iou.argmax().item<int64_t>();
    r.reference = toMask(ref.masks[refBest]);
    r.agreementIoU = maskIoU(r.masks[r.best], r.reference);
  }
  return r;
}

PredictionResult SessionEngine::decodeCurrent(const PromptSet& prompts) {
  auto& d = *m_impl;
  if (!hasModel() || !d.hasImage || !d.haveEmbedding) throw util::Error("no embedding yet: nothing to decode on");
  PredictionResult r;
  if (!prompts.empty()) {
    const auto t1 = Clock::now();
    c10::InferenceMode guard;
    r = toResult(d.decode(prompts, true));
    r.decodeMs = msSince(t1);
  }
  r.subnet = d.space.toString(d.encodedCfg);
  return r;
}

std::string SessionEngine::currentSubnet() const {
  const auto& d = *m_impl;
  return d.haveEmbedding ? d.space.toString(d.encodedCfg) : std::string();
}

PredictionResult SessionEngine::runAlternative(const model::ElasticConfig& cfgIn, const PromptSet& prompts,
                                               const BlockHook& beforeBlock) {
  auto& d = *m_impl;
  if (!hasModel()) throw util::Error("no model loaded: open a checkpoint first");
  if (!d.hasImage) throw util::Error("no image: open an image first");
  const auto cfg = d.space.normalised(cfgIn);
  const auto t0 = Clock::now();
  int from = -1;
  if (!(d.alt && d.alt->hasImage() && cfg == d.altCfg)) {
    infer::IncrementalEncoder::BlockHook blockHook;
    if (beforeBlock) blockHook = [&beforeBlock](int64_t b) { beforeBlock(static_cast<int>(b)); };
    const at::Tensor emb = d.encoder->encode(cfg, blockHook);
    from = static_cast<int>(std::max<int64_t>(0, d.encoder->lastRecomputedFrom()));
    d.alt = std::make_unique<infer::Predictor>(d.sam());
    d.alt->setEmbedding(emb, d.originalHW, d.inputHW);
    d.altCfg = cfg;
    d.altLowRes.clear();
  }
  PredictionResult r;
  r.encodeMs = from >= 0 ? msSince(t0) : 0;
  r.encodedFromBlock = from;
  if (!prompts.empty()) {
    const auto t1 = Clock::now();
    c10::InferenceMode guard;
    PredictionResult dec = toResult(Impl::decodeOn(*d.alt, d.altLowRes, prompts, true));
    dec.encodeMs = r.encodeMs;
    dec.encodedFromBlock = r.encodedFromBlock;
    r = std::move(dec);
    r.decodeMs = msSince(t1);
  }
  r.subnet = d.space.toString(cfg);
  return r;
}

double SessionEngine::measureLatency(const model::ElasticConfig& cfgIn, int repeats) {
  auto& d = *m_impl;
  if (!hasModel()) throw util::Error("no model loaded: open a checkpoint first");
  const auto cfg = d.space.normalised(cfgIn);
  const int64_t s = d.loaded->arch.imageSize;
  const at::Tensor x = d.hasImage ? d.input : at::zeros({1, 3, s, s});
  c10::InferenceMode guard;
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    const auto t0 = Clock::now();
    (void)d.sam()->image_encoder->forward(x, &cfg);
    ms.push_back(msSince(t0));
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void SessionEngine::exportSubnet(const model::ElasticConfig& cfg, const std::string& path) {
  auto& d = *m_impl;
  if (!hasModel()) throw util::Error("no model loaded: nothing to export to " + path);
  const auto subnet = supernet::Subnet::parse(d.space.toString(cfg), d.loaded->arch);
  supernet::exportSubnet(d.sam(), subnet, path, {{"exported_by", "supersam-studio"}, {"source", d.info.path}});
}

void SessionEngine::exportOnnx(const model::ElasticConfig& cfg, const std::string& dir) {
  auto& d = *m_impl;
  if (!hasModel()) throw util::Error("no model loaded: nothing to export to " + dir);
  const auto subnet = supernet::Subnet::parse(d.space.toString(cfg), d.loaded->arch);
  exporter::exportOnnx(d.sam(), subnet, dir, {}, /*rgbEncoder=*/true);
}

}  // namespace supersam::ui
