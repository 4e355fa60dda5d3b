#pragma once
// SAM's ViT image encoder (segment_anything/modeling/image_encoder.py): patch embedding, absolute position embedding,
// blocks with windowed or global attention and decomposed relative positions, MLP, and the conv neck. Attribute
// names follow SAM so named_parameters() equal the official state-dict keys (image_encoder.blocks.0.attn.qkv.weight).
// Elastic subnets: forward() takes an ElasticConfig (per block kept / MLP width prefix); weights stay full-size.
// Thread-safety: read-only in inference; concurrent forwards are safe under InferenceMode.

#include <array>
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/model/arch.h"
#include "core/model/common.h"
#include "core/model/elastic.h"

namespace supersam::model {

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t patchSize, int64_t inChans, int64_t embedDim);
  at::Tensor forward(const at::Tensor& x);  // [B, 3, S, S] -> [B, S/p, S/p, C] (channels last)
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// Multi-head attention with decomposed relative-position terms (MViTv2 style) over a [B, H, W, C] grid.
class EncoderAttentionImpl : public torch::nn::Module {
 public:
  // inputSize: the grid it attends over (the window, or the whole token grid for global attention).
  EncoderAttentionImpl(int64_t dim, int64_t numHeads, std::array<int64_t, 2> inputSize);
  at::Tensor forward(const at::Tensor& x);  // [B, H, W, C] -> [B, H, W, C]: proj(attend(qkv(x)))
  at::Tensor attend(const at::Tensor& qkv);  // qkv projections [B, H, W, 3C] -> attention output [B, H, W, C]

  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  at::Tensor rel_pos_h, rel_pos_w;  // [2*H-1, head_dim], [2*W-1, head_dim]

 private:
  int64_t m_numHeads;
};
TORCH_MODULE(EncoderAttention);

class BlockImpl : public torch::nn::Module {
 public:
  // windowSize 0 = global attention over the whole tokensPerSide x tokensPerSide grid.
  BlockImpl(int64_t dim, int64_t numHeads, int64_t mlpDim, int64_t windowSize, int64_t tokensPerSide);
  at::Tensor attentionResidual(const at::Tensor& x);         // x + attn(norm1(x)), windows included. [B,H,W,C]
  at::Tensor forward(const at::Tensor& x, int64_t mlpWidth = -1);  // then + mlp(norm2(.)) with a width prefix
  int64_t windowSize() const { return m_windowSize; }

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  EncoderAttention attn{nullptr};
  MLPBlock mlp{nullptr};

 private:
  int64_t m_windowSize;
};
TORCH_MODULE(Block);

class ImageEncoderViTImpl : public torch::nn::Module {
 public:
  explicit ImageEncoderViTImpl(const SamArch& arch);

  // x [B, 3, S, S] normalised and padded -> [B, C_out, S/16, S/16]. cfg: nullptr or empty = full network;
  // otherwise one BlockChoice per block.
  at::Tensor forward(const at::Tensor& x, const ElasticConfig* cfg = nullptr);
  at::Tensor embed(const at::Tensor& x);                                          // -> [B, H, W, C]
  at::Tensor forwardBlock(int64_t i, const at::Tensor& x, const BlockChoice& c);  // dropped = identity
  at::Tensor neckForward(const at::Tensor& x);                                    // [B,H,W,C] -> [B,C_out,H,W]

  Block block(int64_t i) const;  // shares the module (no copy)
  int64_t depth() const { return static_cast<int64_t>(blocks->size()); }

  PatchEmbed patch_embed{nullptr};
  at::Tensor pos_embed;  // [1, S/p, S/p, C]
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::Sequential neck{nullptr};  // conv1x1 (no bias), LayerNorm2d, conv3x3 (no bias), LayerNorm2d
};
TORCH_MODULE(ImageEncoderViT);

}  // namespace supersam::model
