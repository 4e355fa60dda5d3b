#include "core/io/hf_sam_keys.h"

#include <cctype>
#include <set>

#include "core/util/error.h"

namespace supersam::io {

namespace {

// (SAM prefix, HF prefix), matched on whole dot-separated segments; "*" matches one numeric segment and is carried
// over. The first rule whose prefix matches wins, so specific rules precede general ones in both directions.
struct Rule {
  const char* sam;
  const char* hf;
};

constexpr Rule kRules[] = {
    {"image_encoder.patch_embed.proj", "vision_encoder.patch_embed.projection"},
    {"image_encoder.blocks.*.norm1", "vision_encoder.layers.*.layer_norm1"},
    {"image_encoder.blocks.*.norm2", "vision_encoder.layers.*.layer_norm2"},
    {"image_encoder.blocks", "vision_encoder.layers"},
    {"image_encoder.neck.0", "vision_encoder.neck.conv1"},
    {"image_encoder.neck.1", "vision_encoder.neck.layer_norm1"},
    {"image_encoder.neck.2", "vision_encoder.neck.conv2"},
    {"image_encoder.neck.3", "vision_encoder.neck.layer_norm2"},
    {"image_encoder.pos_embed", "vision_encoder.pos_embed"},
    {"prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "shared_image_embedding.positional_embedding"},
    {"prompt_encoder.point_embeddings", "prompt_encoder.point_embed"},
    {"prompt_encoder.mask_downscaling.0", "prompt_encoder.mask_embed.conv1"},
    {"prompt_encoder.mask_downscaling.1", "prompt_encoder.mask_embed.layer_norm1"},
    {"prompt_encoder.mask_downscaling.3", "prompt_encoder.mask_embed.conv2"},
    {"prompt_encoder.mask_downscaling.4", "prompt_encoder.mask_embed.layer_norm2"},
    {"prompt_encoder.mask_downscaling.6", "prompt_encoder.mask_embed.conv3"},
    {"prompt_encoder.not_a_point_embed", "prompt_encoder.not_a_point_embed"},
    {"prompt_encoder.no_mask_embed", "prompt_encoder.no_mask_embed"},
    {"mask_decoder.transformer.layers.*.norm1", "mask_decoder.transformer.layers.*.layer_norm1"},
    {"mask_decoder.transformer.layers.*.norm2", "mask_decoder.transformer.layers.*.layer_norm2"},
    {"mask_decoder.transformer.layers.*.norm3", "mask_decoder.transformer.layers.*.layer_norm3"},
    {"mask_decoder.transformer.layers.*.norm4", "mask_decoder.transformer.layers.*.layer_norm4"},
    {"mask_decoder.transformer.norm_final_attn", "mask_decoder.transformer.layer_norm_final_attn"},
    {"mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"},
    {"mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"},
    {"mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"},
    // SAM's 3-layer MLP heads: HF names the first and last layers proj_in / proj_out and keeps the middle in layers.
    {"mask_decoder.iou_prediction_head.layers.0", "mask_decoder.iou_prediction_head.proj_in"},
    {"mask_decoder.iou_prediction_head.layers.1", "mask_decoder.iou_prediction_head.layers.0"},
    {"mask_decoder.iou_prediction_head.layers.2", "mask_decoder.iou_prediction_head.proj_out"},
    {"mask_decoder.output_hypernetworks_mlps.*.layers.0", "mask_decoder.output_hypernetworks_mlps.*.proj_in"},
    {"mask_decoder.output_hypernetworks_mlps.*.layers.1", "mask_decoder.output_hypernetworks_mlps.*.layers.0"},
    {"mask_decoder.output_hypernetworks_mlps.*.layers.2", "mask_decoder.output_hypernetworks_mlps.*.proj_out"},
    // Same names in both layouts (attention projections, MLPs, tokens).
    {"mask_decoder.transformer", "mask_decoder.transformer"},
    {"mask_decoder.iou_token", "mask_decoder.iou_token"},
    {"mask_decoder.mask_tokens", "mask_decoder.mask_tokens"},
};

constexpr const char* kHfTiedAlias = "prompt_encoder.shared_embedding.positional_embedding";
constexpr const char* kHfPositional = "shared_image_embedding.positional_embedding";

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

bool isNumber(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::optional<std::string> mapKey(const std::string& key, bool samToHf) {
  const std::vector<std::string> segs = split(key);
  for (const Rule& r : kRules) {
    const std::vector<std::string> from = split(samToHf ? r.sam : r.hf);
    const std::vector<std::string> to = split(samToHf ? r.hf : r.sam);
    if (from.size() > segs.size()) continue;
    std::vector<std::string> captured;
    bool match = true;
    for (size_t i = 0; i < from.size() && match; ++i) {
      if (from[i] == "*") {
        match = isNumber(segs[i]);
        captured.push_back(segs[i]);
      } else {
        match = from[i] == segs[i];
      }
    }
    if (!match) continue;
    std::string out;
    size_t c = 0;
    for (const auto& t : to) {
      if (!out.empty()) out += '.';
      out += t == "*" ? captured.at(c++) : t;
    }
    for (size_t i = from.size(); i < segs.size(); ++i) out += "." + segs[i];
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> samKeyToHf(const std::string& samKey) { return mapKey(samKey, true); }
std::optional<std::string> hfKeyToSam(const std::string& hfKey) { return mapKey(hfKey, false); }

bool looksLikeHfSam(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  for (const auto& kv : tensors)
    if (kv.first.rfind("vision_encoder.", 0) == 0 || kv.first.rfind("shared_image_embedding.", 0) == 0) return true;
  return false;
}

std::vector<std::pair<std::string, at::Tensor>> hfStateDictToSam(
    const std::vector<std::pair<std::string, at::Tensor>>& hf, const std::string& source) {
  bool hasCanonical = false;
  for (const auto& kv : hf) hasCanonical |= kv.first == kHfPositional;
  std::vector<std::pair<std::string, at::Tensor>> out;
  std::set<std::string> seen;
  for (const auto& [key, t] : hf) {
    std::string name = key;
    if (name == kHfTiedAlias) {
      if (hasCanonical) continue;  // the tied copy of the same matrix
      name = kHfPositional;
    }
    auto mapped = hfKeyToSam(name);
    // A key is SAM's only when it maps back to itself (so no two HF names land on one SAM name).
    if (!mapped || samKeyToHf(*mapped) != name)
      throw util::Error("Hugging Face SAM checkpoint '" + source + "': tensor '" + key +
                        "' has no counterpart in SAM's layout");
    if (!seen.insert(*mapped).second)
      throw util::Error("Hugging Face SAM checkpoint '" + source + "': two tensors map to '" + *mapped + "'");
    out.emplace_back(*mapped, t);
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> samStateDictToHf(
    const std::vector<std::pair<std::string, at::Tensor>>& sam, const std::string& source) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [key, t] : sam) {
    auto mapped = samKeyToHf(key);
    if (!mapped || hfKeyToSam(*mapped) != key)
      throw util::Error("SAM state dict '" + source + "': tensor '" + key + "' has no Hugging Face counterpart");
    out.emplace_back(*mapped, t);
  }
  return out;
}

}  // namespace supersam::io
