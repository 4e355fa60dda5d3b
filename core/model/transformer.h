#pragma once
// SAM's two-way transformer (segment_anything/modeling/transformer.py): prompt tokens and image tokens attend to
// each other; attention projects to a downsampled internal width. Thread-safety: read-only in inference.

#include <cstdint>
#include <utility>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/model/common.h"

namespace supersam::model {

class DecoderAttentionImpl : public torch::nn::Module {
 public:
  DecoderAttentionImpl(int64_t embeddingDim, int64_t numHeads, int64_t downsampleRate = 1);
  // q [B, Nq, C], k [B, Nk, C], v [B, Nk, C] -> [B, Nq, C]
  at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  at::Tensor fewQueries(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
  at::Tensor fewKeys(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
  int64_t m_numHeads;
};
TORCH_MODULE(DecoderAttention);

class TwoWayAttentionBlockImpl : public torch::nn::Module {
 public:
  TwoWayAttentionBlockImpl(int64_t embeddingDim, int64_t numHeads, int64_t mlpDim, int64_t downsampleRate,
                           bool skipFirstLayerPe);
  // queries [B, Nq, C], keys [B, Nk, C], pes alike -> (queries, keys)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& queryPe,
                                            const at::Tensor& keyPe);

  DecoderAttention self_attn{nullptr}, cross_attn_token_to_image{nullptr}, cross_attn_image_to_token{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr}, norm4{nullptr};
  MLPBlock mlp{nullptr};

 private:
  bool m_skipFirstLayerPe;
};
TORCH_MODULE(TwoWayAttentionBlock);

class TwoWayTransformerImpl : public torch::nn::Module {
 public:
  TwoWayTransformerImpl(int64_t depth, int64_t embeddingDim, int64_t numHeads, int64_t mlpDim,
                        int64_t downsampleRate = 2);
  // image [B, C, h, w], imagePe [B, C, h, w], pointEmbedding [B, N, C] -> (queries [B, N, C], keys [B, h*w, C])
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                            const at::Tensor& pointEmbedding);

  torch::nn::ModuleList layers{nullptr};
  DecoderAttention final_attn_token_to_image{nullptr};
  torch::nn::LayerNorm norm_final_attn{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace supersam::model
