#include "core/infer/model_loader.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>

#include "core/util/error.h"

namespace supersam::infer {

namespace {

const at::Tensor& require(const std::map<std::string, const at::Tensor*>& sd, const std::string& key, int64_t dims,
                          const std::string& source) {
  auto it = sd.find(key);
  if (it == sd.end())
    throw util::Error("'" + source + "': cannot infer the SAM architecture: key '" + key +
                      "' is missing (pass --arch vit_b|vit_l|vit_h|FILE.json)");
  if (it->second->dim() != dims)
    throw util::Error("'" + source + "': key '" + key + "' has " + std::to_string(it->second->dim()) +
                      " dimensions, expected " + std::to_string(dims));
  return *it->second;
}

}  // namespace

model::SamArch inferArch(const io::StateDict& sdList, const std::string& source) {
  std::map<std::string, const at::Tensor*> sd;
  for (const auto& kv : sdList) sd[kv.first] = &kv.second;

  model::SamArch a;
  a.name = "custom";
  const at::Tensor& patch = require(sd, "image_encoder.patch_embed.proj.weight", 4, source);
  a.encoderEmbedDim = patch.size(0);
  a.patchSize = patch.size(2);
  const at::Tensor& pos = require(sd, "image_encoder.pos_embed", 4, source);
  const int64_t tokens = pos.size(1);
  a.imageSize = tokens * a.patchSize;

  // Blocks: the count of image_encoder.blocks.<i>. indices, which must run 0..depth-1.
  const std::string prefix = "image_encoder.blocks.";
  int64_t depth = 0;
  for (const auto& kv : sd) {
    if (kv.first.rfind(prefix, 0) != 0) continue;
    const std::string rest = kv.first.substr(prefix.size());
    try {
      depth = std::max<int64_t>(depth, std::stoll(rest.substr(0, rest.find('.'))) + 1);
    } catch (const std::exception&) {
      throw util::Error("'" + source + "': unexpected key '" + kv.first + "'");
    }
  }
  a.encoderDepth = depth;
  a.encoderGlobalAttnIndexes.clear();
  std::vector<int64_t> mlpDims;
  int64_t window = -1;
  int64_t headDim = 0;
  for (int64_t i = 0; i < depth; ++i) {
    const std::string b = prefix + std::to_string(i) + ".";
    const at::Tensor& rel = require(sd, b + "attn.rel_pos_h", 2, source);
    if (headDim == 0) headDim = rel.size(1);
    if (rel.size(1) != headDim)
      throw util::Error("'" + source + "': key '" + b + "attn.rel_pos_h' has head width " +
                        std::to_string(rel.size(1)) + " but block 0 has " + std::to_string(headDim));
    if (rel.size(0) == 2 * tokens - 1) {
      a.encoderGlobalAttnIndexes.push_back(i);
    } else {
      const int64_t w = (rel.size(0) + 1) / 2;
      if (window >= 0 && w != window)
        throw util::Error("'" + source + "': key '" + b + "attn.rel_pos_h' implies window size " + std::to_string(w) +
                          " but an earlier block has " + std::to_string(window));
      window = w;
    }
    mlpDims.push_back(require(sd, b + "mlp.lin1.weight", 2, source).size(0));
  }
  if (depth > 0 && a.encoderEmbedDim % headDim != 0)
    throw util::Error("'" + source + "': relative-position tables of width " + std::to_string(headDim) +
                      " do not divide the embedding width " + std::to_string(a.encoderEmbedDim));
  a.encoderNumHeads = depth > 0 ? a.encoderEmbedDim / headDim : 1;
  a.windowSize = window >= 0 ? window : 0;  // 0: every block global
  const bool uniform = std::all_of(mlpDims.begin(), mlpDims.end(), [&](int64_t d) { return d == mlpDims.front(); });
  const int64_t refDim = mlpDims.empty() ? 4 * a.encoderEmbedDim : *std::max_element(mlpDims.begin(), mlpDims.end());
  a.mlpRatio = static_cast<double>(refDim) / static_cast<double>(a.encoderEmbedDim);
  if (!uniform) a.encoderMlpDims = mlpDims;

  a.promptEmbedDim = require(sd, "image_encoder.neck.0.weight", 4, source).size(0);
  a.maskInChans = require(sd, "prompt_encoder.mask_downscaling.3.weight", 4, source).size(0);
  a.decoderMlpDim = require(sd, "mask_decoder.transformer.layers.0.mlp.lin1.weight", 2, source).size(0);
  a.iouHeadHiddenDim = require(sd, "mask_decoder.iou_prediction_head.layers.0.weight", 2, source).size(0);
  a.decoderNumHeads = 8;  // not visible in shapes; SAM uses 8 in every released model

  try {
    a.validate();
  } catch (const util::Error& e) {
    throw util::Error("'" + source + "': the architecture inferred from its shapes is invalid: " + e.what());
  }
  for (const auto& n : model::SamArch::presetNames()) {
    if (a == model::SamArch::preset(n)) a.name = n;
  }
  return a;
}

std::optional<std::string> archMismatch(const model::SamArch& chosen, const model::SamArch& inferred) {
  auto differ = [](const char* field, int64_t a, int64_t b) -> std::optional<std::string> {
    if (a == b) return std::nullopt;
    return std::string(field) + ": " + std::to_string(a) + " in the arch vs " + std::to_string(b) + " in the tensors";
  };
  const std::pair<const char*, std::pair<int64_t, int64_t>> scalars[] = {
      {"image_size", {chosen.imageSize, inferred.imageSize}},
      {"patch_size", {chosen.patchSize, inferred.patchSize}},
      {"encoder_embed_dim", {chosen.encoderEmbedDim, inferred.encoderEmbedDim}},
      {"encoder_depth", {chosen.encoderDepth, inferred.encoderDepth}},
      {"encoder_num_heads", {chosen.encoderNumHeads, inferred.encoderNumHeads}},
      {"prompt_embed_dim", {chosen.promptEmbedDim, inferred.promptEmbedDim}},
      {"mask_in_chans", {chosen.maskInChans, inferred.maskInChans}},
      {"decoder_mlp_dim", {chosen.decoderMlpDim, inferred.decoderMlpDim}},
      {"iou_head_hidden_dim", {chosen.iouHeadHiddenDim, inferred.iouHeadHiddenDim}},
  };
  for (const auto& [field, v] : scalars)
    if (auto d = differ(field, v.first, v.second)) return d;
  for (int64_t i = 0; i < chosen.encoderDepth; ++i) {
    const std::string block = "block " + std::to_string(i) + " ";
    if (auto d = differ((block + "MLP width").c_str(), chosen.mlpDim(i), inferred.mlpDim(i))) return d;
    const bool g = chosen.isGlobal(i);
    if (g != inferred.isGlobal(i))
      return block + "attention: " + (g ? "global" : "windowed") + " in the arch vs " + (g ? "windowed" : "global") +
             " in the tensors";
    if (!g && chosen.windowSize != inferred.windowSize)
      return *differ("window_size", chosen.windowSize, inferred.windowSize);
  }
  return std::nullopt;
}

ParameterCounts countParameters(const io::StateDict& sd) {
  ParameterCounts c;
  auto startsWith = [](const std::string& s, const char* p) { return s.rfind(p, 0) == 0; };
  for (const auto& [k, t] : sd) {
    const int64_t n = t.numel();
    c.total += n;
    if (startsWith(k, "image_encoder.")) {
      c.imageEncoder += n;
      if (startsWith(k, "image_encoder.blocks.") && k.find(".mlp.") != std::string::npos) c.encoderMlp += n;
    } else if (startsWith(k, "prompt_encoder.")) {
      c.promptEncoder += n;
    } else if (startsWith(k, "mask_decoder.")) {
      c.maskDecoder += n;
    } else {
      c.other += n;
    }
  }
  return c;
}

model::SamArch archForCheckpoint(const io::Checkpoint& ck, const std::optional<std::string>& archOverride) {
  if (archOverride && !archOverride->empty()) return model::SamArch::fromPresetOrFile(*archOverride);
  if (auto it = ck.metadata.find("arch"); it != ck.metadata.end())
    return model::SamArch::fromJsonText(it->second, ck.path + " (metadata 'arch')");
  return inferArch(ck.tensors, ck.path);
}

namespace {

// A few tensors pin the architecture: compared before the model is built, so a wrong --arch (say ViT-H for a tiny
// checkpoint) fails at once instead of allocating the whole model first.
void checkShapesBeforeBuilding(const io::Checkpoint& ck, const model::SamArch& a) {
  const auto shape = [](at::IntArrayRef s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
  };
  const int64_t grid = a.imageSize / a.patchSize;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"image_encoder.pos_embed", {1, grid, grid, a.encoderEmbedDim}},
      {"image_encoder.patch_embed.proj.weight", {a.encoderEmbedDim, 3, a.patchSize, a.patchSize}},
      {"mask_decoder.iou_token.weight", {1, a.promptEmbedDim}},
  };
  std::map<std::string, const at::Tensor*> byName;
  for (const auto& [key, t] : ck.tensors) byName.emplace(key, &t);
  for (const auto& [key, want] : expected) {
    const auto it = byName.find(key);
    if (it != byName.end() && it->second->sizes() != at::IntArrayRef(want)) {
      throw util::Error("checkpoint '" + ck.path + "' does not fit the architecture: '" + key + "' has shape " +
                        shape(it->second->sizes()) + " but the model expects " + shape(want) +
                        " (wrong --arch or arch.json?)");
    }
  }
  int64_t blocks = 0;
  for (const auto& [key, t] : ck.tensors) {
    const std::string prefix = "image_encoder.blocks.";
    if (key.rfind(prefix, 0) == 0) {
      const int64_t b = std::atoll(key.c_str() + prefix.size());
      if (b >= 0 && b < (1 << 20)) blocks = std::max(blocks, b + 1);
    }
  }
  if (blocks > 0 && blocks != a.encoderDepth) {
    throw util::Error("checkpoint '" + ck.path + "' has " + std::to_string(blocks) +
                      " encoder blocks, the architecture " + std::to_string(a.encoderDepth) +
                      " (wrong --arch or arch.json?)");
  }
}

}  // namespace

LoadedModel loadModel(const io::Checkpoint& ck, const std::optional<std::string>& archOverride, c10::Device device) {
  LoadedModel out;
  out.arch = archForCheckpoint(ck, archOverride);
  checkShapesBeforeBuilding(ck, out.arch);
  out.format = ck.format;
  out.metadata = ck.metadata;
  out.path = ck.path;
  out.sam = model::Sam(out.arch);
  io::loadStateDictInto(*out.sam, ck.tensors, ck.path);
  out.sam->eval();
  {
    int64_t bad = 0, total = 0;
    std::string first;
    c10::NoGradGuard noGrad;
    for (const auto& p : out.sam->named_parameters(true)) {
      const int64_t n = p.value().numel() - at::isfinite(p.value()).sum().item<int64_t>();
      if (n > 0 && first.empty()) first = p.key();
      bad += n;
      total += p.value().numel();
    }
    if (bad > 0) {
      out.warnings.push_back("'" + ck.path + "' has " + std::to_string(bad) + " of " + std::to_string(total) +
                             " weights NaN or infinite (first in '" + first + "'): its masks are meaningless");
    }
  }
  if (device != c10::Device(c10::kCPU)) {
    try {
      out.sam->to(device);
    } catch (const c10::Error& e) {
      throw util::Error("cannot move the model from '" + ck.path + "' to device '" + device.str() +
                        "': " + e.what_without_backtrace());
    }
  }
  return out;
}

std::optional<std::string> archOverrideFor(const std::string& checkpointPath,
                                           const std::optional<std::string>& archOverride) {
  if (archOverride && !archOverride->empty()) return archOverride;
  namespace fs = std::filesystem;
  const fs::path p(checkpointPath);
  const std::string ext = p.extension().string();
  if (ext != ".pth" && ext != ".pt") return std::nullopt;
  const fs::path beside = p.parent_path() / "arch.json";
  std::error_code ec;
  if (fs::is_regular_file(beside, ec)) return beside.string();
  return std::nullopt;
}

LoadedModel loadModel(const std::string& path, const std::optional<std::string>& archOverride, c10::Device device) {
  return loadModel(io::readCheckpoint(path), archOverrideFor(path, archOverride), device);
}

}  // namespace supersam::infer
