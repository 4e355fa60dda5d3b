#include "core/model/arch.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::model {

namespace {

const char* const kRequiredKeys[] = {"image_size",       "patch_size",         "encoder_embed_dim",
                                     "encoder_depth",    "encoder_num_heads",  "encoder_global_attn_indexes",
                                     "window_size",      "mlp_ratio",          "prompt_embed_dim",
                                     "mask_in_chans",    "decoder_mlp_dim",    "decoder_num_heads",
                                     "iou_head_hidden_dim"};
const char* const kOptionalKeys[] = {"encoder_mlp_dims", "encoder_source_blocks"};

SamArch makePreset(const std::string& name, int64_t dim, int64_t depth, int64_t heads, std::vector<int64_t> global) {
  SamArch a;
  a.name = name;
  a.encoderEmbedDim = dim;
  a.encoderDepth = depth;
  a.encoderNumHeads = heads;
  a.encoderGlobalAttnIndexes = std::move(global);
  return a;
}

int64_t readInt(const nlohmann::json& j, const char* key, const std::string& source) {
  const auto& v = j.at(key);
  if (!v.is_number_integer()) {
    throw util::Error(source + ": key '" + key + "' must be an integer (got " + v.dump() + ")");
  }
  return v.get<int64_t>();
}

std::vector<int64_t> readIntList(const nlohmann::json& j, const char* key, const std::string& source) {
  const auto& v = j.at(key);
  if (!v.is_array()) throw util::Error(source + ": key '" + key + "' must be a list of integers (got " + v.dump() + ")");
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_integer()) {
      throw util::Error(source + ": key '" + key + "' must be a list of integers (element " + e.dump() + ")");
    }
    out.push_back(e.get<int64_t>());
  }
  return out;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw util::Error("invalid SAM architecture: " + what);
}

// Fields that define the network, without the display name.
auto tied(const SamArch& a) {
  return std::tie(a.imageSize, a.patchSize, a.encoderEmbedDim, a.encoderDepth, a.encoderNumHeads,
                  a.encoderGlobalAttnIndexes, a.windowSize, a.mlpRatio, a.promptEmbedDim, a.maskInChans,
                  a.decoderMlpDim, a.decoderNumHeads, a.iouHeadHiddenDim, a.encoderMlpDims, a.encoderSourceBlocks);
}

}  // namespace

int64_t SamArch::fullMlpDim() const { return static_cast<int64_t>(static_cast<double>(encoderEmbedDim) * mlpRatio); }

int64_t SamArch::mlpDim(int64_t block) const {
  if (!encoderMlpDims.empty()) return encoderMlpDims.at(static_cast<size_t>(block));
  return fullMlpDim();
}

bool SamArch::isGlobal(int64_t block) const {
  return windowSize <= 0 || std::find(encoderGlobalAttnIndexes.begin(), encoderGlobalAttnIndexes.end(), block) !=
                                encoderGlobalAttnIndexes.end();
}

void SamArch::validate() const {
  // Ranges first: an absurd arch (image_size 1e6, encoder_depth 1e5, mlp_ratio 1e6) must be refused before any
  // model is built from it. The bounds are far above SAM's ViT-H (1024 px, 32 blocks, width 1280).
  const auto within = [](int64_t v, int64_t lo, int64_t hi, const char* key) {
    require(v >= lo && v <= hi, std::string(key) + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) +
                                    ", " + std::to_string(hi) + "]");
  };
  within(imageSize, 1, 4096, "image_size");
  within(patchSize, 1, 1024, "patch_size");
  within(encoderEmbedDim, 1, 8192, "encoder_embed_dim");
  within(encoderDepth, 0, 256, "encoder_depth");
  within(encoderNumHeads, 1, 512, "encoder_num_heads");
  within(windowSize, 0, 1024, "window_size");
  within(promptEmbedDim, 1, 8192, "prompt_embed_dim");
  within(maskInChans, 1, 4096, "mask_in_chans");
  within(decoderMlpDim, 1, 65536, "decoder_mlp_dim");
  within(decoderNumHeads, 1, 512, "decoder_num_heads");
  within(iouHeadHiddenDim, 1, 65536, "iou_head_hidden_dim");
  require(std::isfinite(mlpRatio) && mlpRatio > 0 && mlpRatio <= 64,
          "mlp_ratio = " + std::to_string(mlpRatio) + " is outside (0, 64]");
  if (imageSize % patchSize == 0) {
    const int64_t grid = imageSize / patchSize;
    require(grid <= 256, "image_size / patch_size = " + std::to_string(grid) + " tokens a side, more than 256");
    require(windowSize <= grid, "window_size (" + std::to_string(windowSize) + ") is larger than the token grid (" +
                                    std::to_string(grid) + ")");
  }
  // The model's size from the arch, before anything is allocated (ViT-H: 0.64 G parameters).
  double params = 0;
  for (int64_t b = 0; b < encoderDepth; ++b) {
    const double e = static_cast<double>(encoderEmbedDim);
    const double mlp = encoderMlpDims.empty()
                           ? e * mlpRatio
                           : static_cast<double>(encoderMlpDims[static_cast<size_t>(b) % encoderMlpDims.size()]);
    params += 4 * e * e + 2 * e * mlp;
  }
  params += 8.0 * static_cast<double>(promptEmbedDim) * static_cast<double>(decoderMlpDim);
  require(params <= 4e9, "the architecture would have about " + std::to_string(static_cast<int64_t>(params / 1e6)) +
                             " M parameters, more than 4,000 M");
  for (int64_t b : encoderSourceBlocks) within(b, 0, 4096, "encoder_source_blocks entry");
  for (int64_t d : encoderMlpDims) within(d, 1, 1 << 20, "encoder_mlp_dims entry");
  require(imageSize > 0 && patchSize > 0 && imageSize % patchSize == 0,
          "image_size (" + std::to_string(imageSize) + ") must be a positive multiple of patch_size (" +
              std::to_string(patchSize) + ")");
  require(encoderEmbedDim > 0 && encoderNumHeads > 0 && encoderEmbedDim % encoderNumHeads == 0,
          "encoder_num_heads (" + std::to_string(encoderNumHeads) + ") must divide encoder_embed_dim (" +
              std::to_string(encoderEmbedDim) + ")");
  require(encoderDepth >= 0, "encoder_depth must be >= 0");
  require(windowSize >= 0, "window_size must be >= 0");
  require(mlpRatio > 0, "mlp_ratio must be > 0");
  for (int64_t g : encoderGlobalAttnIndexes) {
    require(g >= 0 && g < encoderDepth, "encoder_global_attn_indexes entry " + std::to_string(g) +
                                            " outside [0, encoder_depth=" + std::to_string(encoderDepth) + ")");
  }
  require(encoderMlpDims.empty() || static_cast<int64_t>(encoderMlpDims.size()) == encoderDepth,
          "encoder_mlp_dims has " + std::to_string(encoderMlpDims.size()) + " entries, expected encoder_depth=" +
              std::to_string(encoderDepth));
  for (int64_t d : encoderMlpDims) require(d > 0, "encoder_mlp_dims entries must be > 0 (got " + std::to_string(d) + ")");
  require(encoderSourceBlocks.empty() || static_cast<int64_t>(encoderSourceBlocks.size()) == encoderDepth,
          "encoder_source_blocks has " + std::to_string(encoderSourceBlocks.size()) +
              " entries, expected encoder_depth=" + std::to_string(encoderDepth));
  require(promptEmbedDim > 0 && promptEmbedDim % 8 == 0,
          "prompt_embed_dim (" + std::to_string(promptEmbedDim) + ") must be a positive multiple of 8");
  require(decoderNumHeads > 0 && (promptEmbedDim / 2) % decoderNumHeads == 0,
          "decoder_num_heads (" + std::to_string(decoderNumHeads) + ") must divide prompt_embed_dim / 2 (" +
              std::to_string(promptEmbedDim / 2) + ")");
  require(maskInChans > 0 && maskInChans % 4 == 0,
          "mask_in_chans (" + std::to_string(maskInChans) + ") must be a positive multiple of 4");
  require(decoderMlpDim > 0, "decoder_mlp_dim must be > 0");
  require(iouHeadHiddenDim > 0, "iou_head_hidden_dim must be > 0");
}

std::vector<std::string> SamArch::presetNames() { return {"vit_b", "vit_l", "vit_h"}; }

SamArch SamArch::preset(const std::string& name) {
  if (name == "vit_b") return makePreset(name, 768, 12, 12, {2, 5, 8, 11});
  if (name == "vit_l") return makePreset(name, 1024, 24, 16, {5, 11, 17, 23});
  if (name == "vit_h") return makePreset(name, 1280, 32, 16, {7, 15, 23, 31});
  throw util::Error("unknown SAM architecture preset '" + name + "' (expected vit_b, vit_l or vit_h)");
}

SamArch SamArch::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw util::Error(source + ": expected a JSON object with the SAM architecture keys");
  std::set<std::string> known(std::begin(kRequiredKeys), std::end(kRequiredKeys));
  known.insert(std::begin(kOptionalKeys), std::end(kOptionalKeys));
  for (const auto& item : j.items()) {
    if (!known.count(item.key())) throw util::Error(source + ": unknown architecture key '" + item.key() + "'");
  }
  for (const char* key : kRequiredKeys) {
    if (!j.contains(key)) throw util::Error(source + ": missing architecture key '" + std::string(key) + "'");
  }
  SamArch a;
  a.imageSize = readInt(j, "image_size", source);
  a.patchSize = readInt(j, "patch_size", source);
  a.encoderEmbedDim = readInt(j, "encoder_embed_dim", source);
  a.encoderDepth = readInt(j, "encoder_depth", source);
  a.encoderNumHeads = readInt(j, "encoder_num_heads", source);
  a.encoderGlobalAttnIndexes = readIntList(j, "encoder_global_attn_indexes", source);
  a.windowSize = readInt(j, "window_size", source);
  if (!j.at("mlp_ratio").is_number()) {
    throw util::Error(source + ": key 'mlp_ratio' must be a number (got " + j.at("mlp_ratio").dump() + ")");
  }
  a.mlpRatio = j.at("mlp_ratio").get<double>();
  a.promptEmbedDim = readInt(j, "prompt_embed_dim", source);
  a.maskInChans = readInt(j, "mask_in_chans", source);
  a.decoderMlpDim = readInt(j, "decoder_mlp_dim", source);
  a.decoderNumHeads = readInt(j, "decoder_num_heads", source);
  a.iouHeadHiddenDim = readInt(j, "iou_head_hidden_dim", source);
  if (j.contains("encoder_mlp_dims")) a.encoderMlpDims = readIntList(j, "encoder_mlp_dims", source);
  if (j.contains("encoder_source_blocks")) a.encoderSourceBlocks = readIntList(j, "encoder_source_blocks", source);
  try {
    a.validate();
  } catch (const util::Error& e) {
    throw util::Error(source + ": " + e.what());
  }
  // A JSON that spells out a preset is that preset (so `info` can name it).
  a.name = "custom";
  for (const auto& n : presetNames()) {
    if (a == preset(n)) a.name = n;
  }
  return a;
}

SamArch SamArch::fromJsonText(const std::string& text, const std::string& source) {
  return fromJson(util::parseJson(text, source), source);
}

SamArch SamArch::fromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw util::Error("cannot open architecture file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return fromJsonText(ss.str(), "architecture file '" + path + "'");
}

SamArch SamArch::fromPresetOrFile(const std::string& nameOrPath) {
  for (const auto& n : presetNames()) {
    if (nameOrPath == n) return preset(n);
  }
  if (nameOrPath.size() > 5 && nameOrPath.substr(nameOrPath.size() - 5) == ".json") return fromFile(nameOrPath);
  std::ifstream probe(nameOrPath);
  if (probe) return fromFile(nameOrPath);
  throw util::Error("architecture '" + nameOrPath + "' is neither a preset (vit_b, vit_l, vit_h) nor a JSON file");
}

nlohmann::json SamArch::toJson() const {
  nlohmann::json j;
  j["image_size"] = imageSize;
  j["patch_size"] = patchSize;
  j["encoder_embed_dim"] = encoderEmbedDim;
  j["encoder_depth"] = encoderDepth;
  j["encoder_num_heads"] = encoderNumHeads;
  j["encoder_global_attn_indexes"] = encoderGlobalAttnIndexes;
  j["window_size"] = windowSize;
  j["mlp_ratio"] = mlpRatio;
  j["prompt_embed_dim"] = promptEmbedDim;
  j["mask_in_chans"] = maskInChans;
  j["decoder_mlp_dim"] = decoderMlpDim;
  j["decoder_num_heads"] = decoderNumHeads;
  j["iou_head_hidden_dim"] = iouHeadHiddenDim;
  if (!encoderMlpDims.empty()) j["encoder_mlp_dims"] = encoderMlpDims;
  if (!encoderSourceBlocks.empty()) j["encoder_source_blocks"] = encoderSourceBlocks;
  return j;
}

std::string SamArch::toJsonText() const { return toJson().dump(2); }

bool SamArch::operator==(const SamArch& o) const { return tied(*this) == tied(o); }

}  // namespace supersam::model
