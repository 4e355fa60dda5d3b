#pragma once
// Key names of Hugging Face's SAM (transformers SamModel, e.g. facebook/sam-vit-base) versus the official SAM names
// that our modules use. The mapping is one-to-one on every SAM tensor, e.g.
//   image_encoder.blocks.3.norm1.weight              <-> vision_encoder.layers.3.layer_norm1.weight
//   image_encoder.neck.0.weight                      <-> vision_encoder.neck.conv1.weight
//   prompt_encoder.pe_layer.positional_encoding_gaussian_matrix <-> shared_image_embedding.positional_embedding
//   prompt_encoder.mask_downscaling.4.bias           <-> prompt_encoder.mask_embed.layer_norm2.bias
//   mask_decoder.iou_prediction_head.layers.0/1/2    <-> mask_decoder.iou_prediction_head.proj_in/layers.0/proj_out
// HF tensors with no SAM counterpart: "prompt_encoder.shared_embedding.positional_embedding" is HF's tied alias of
// shared_image_embedding.positional_embedding (SAM has one matrix); it is used only when the canonical name is
// absent and dropped otherwise. No tensor is split or merged (HF keeps SAM's fused qkv).
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace supersam::io {

// One key; nullopt when the key belongs to neither layout's SAM parts.
std::optional<std::string> samKeyToHf(const std::string& samKey);
std::optional<std::string> hfKeyToSam(const std::string& hfKey);

// True when the keys look like HF's layout (any key under vision_encoder. or shared_image_embedding.).
bool looksLikeHfSam(const std::vector<std::pair<std::string, at::Tensor>>& tensors);

// Whole state dicts, order kept. Throws util::Error naming `source` and the first key that has no counterpart.
std::vector<std::pair<std::string, at::Tensor>> hfStateDictToSam(
    const std::vector<std::pair<std::string, at::Tensor>>& hf, const std::string& source);
std::vector<std::pair<std::string, at::Tensor>> samStateDictToHf(
    const std::vector<std::pair<std::string, at::Tensor>>& sam, const std::string& source);

}  // namespace supersam::io
