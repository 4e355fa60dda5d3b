#pragma once
// SAM's two-way transformer (segment_anything/modeling/transformer.py): prompt tokens and image tokens attend to
// each other; attention projects to a downsampled internal width. Thread-safety: read-only in inference.

#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/model/common.h"

namespace supersam::model {

// The image side of the two-way transformer's first layer for one image embedding and one dense prompt embedding
// (SAM's no-mask embedding when there is no mask input): the same for every prompt, so a predictor computes it once
// per image while SAM recomputes it for each prompt. The first layer then meets the prompt tokens with the image
// tokens' projections already made (SAM's own order of operations, no re-association). h*w = hw tokens.
// The positional encoding enters the later layers only through the attention projections, so its projections are
// kept too (per layer and head, transposed; no bias) and the image tokens are never added to it per prompt.
struct TransformerImageCache {
  int64_t h = 0, w = 0;
  at::Tensor keys;         // [1, hw, C]: image embedding + dense prompt embedding, token-major
  at::Tensor keyPe;        // [1, hw, C]
  at::Tensor t2iKeysT;     // [H, c, hw]: layer 0, tokens -> image, k_proj(keys + keyPe) per head (c = internal / H)
  at::Tensor t2iValues;    // [H, hw, c]: layer 0, tokens -> image, v_proj(keys) per head
  at::Tensor i2tQueriesT;  // [H, c, hw]: layer 0, image -> tokens, q_proj(keys + keyPe) per head
  std::vector<at::Tensor> t2iPeKeysT;     // per layer (index 0 unused) and the final attention: keyPe Wk^T per head
  std::vector<at::Tensor> i2tPeQueriesT;  // per layer (index 0 unused): keyPe Wq^T per head
  bool defined() const { return keys.defined(); }
};

class DecoderAttentionImpl : public torch::nn::Module {
 public:
  DecoderAttentionImpl(int64_t embeddingDim, int64_t numHeads, int64_t downsampleRate = 1);
  // q [B, Nq, C], k [B, Nk, C], v [B, Nk, C] -> [B, Nq, C]
  at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

  // Attention from few queries q [B, Nq, C] to many keys whose projections are given per head:
  // khT [H, c, Nk] (transposed), vh [H, Nk, c], shared by the whole batch. -> [B, Nq, C]
  at::Tensor forwardProjectedKeys(const at::Tensor& q, const at::Tensor& khT, const at::Tensor& vh);
  // residual [1 or B, Nq, C] + attention from many queries, projected per head and transposed, qhT [H, c, Nq]
  // (shared by the batch), to few keys k, v [B, Nk, C]. -> [B, Nq, C]
  at::Tensor forwardProjectedQueries(const at::Tensor& qhT, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& residual);
  // The re-associated attentions forward() takes for few queries (q [B, nq, C] to many keys k, v [1 or B, Nk, C])
  // and for few keys (many queries q [1 or B, Nq, C] to few tokens k, v [B, nk, C]); see the .cpp. Optionally the
  // many side's positional encoding enters through its projection instead of being added to it: peKT / peQT
  // [H, c, N] = (pe Wk_h^T)^T / (pe Wq_h^T)^T per head, so fewQueries(q, k, v, peKT) = forward(q, k + pe, v) and
  // fewKeys(q, k, v, peQT) = forward(q + pe, k, v); fewKeys adds `residual` [1 or B, Nq, C] to its result.
  at::Tensor fewQueries(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                        const at::Tensor& peKT = at::Tensor());
  at::Tensor fewKeys(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& peQT = at::Tensor(), const at::Tensor& residual = at::Tensor());
  int64_t numHeads() const { return m_numHeads; }

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  // logitsT [B, H, nk, Nq] of many queries over few tokens with values v [B, nk, C] -> the output, plus residual
  // (undefined: none).
  at::Tensor tokensToImage(const at::Tensor& logitsT, const at::Tensor& v, const at::Tensor& residual);
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
  // The same for the first layer with the image side prepared (see TransformerImageCache); keys [B, hw, C] out.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& queries, const TransformerImageCache& image,
                                            const at::Tensor& queryPe);
  // The same for a later layer, the keys' positional encoding given through its projections (peKT for the
  // tokens-to-image attention, peQT for image-to-tokens; see the DecoderAttention methods).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& queries, const at::Tensor& keys,
                                            const at::Tensor& queryPe, const at::Tensor& peKT,
                                            const at::Tensor& peQT);

  DecoderAttention self_attn{nullptr}, cross_attn_token_to_image{nullptr}, cross_attn_image_to_token{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr}, norm4{nullptr};
  MLPBlock mlp{nullptr};

 private:
  // The sparse tokens' self-attention (with their PE unless the first layer skips it) and norm1.
  at::Tensor selfAttention(const at::Tensor& queries, const at::Tensor& queryPe);
  bool m_skipFirstLayerPe;
};
TORCH_MODULE(TwoWayAttentionBlock);

class TwoWayTransformerImpl : public torch::nn::Module {
 public:
  TwoWayTransformerImpl(int64_t depth, int64_t embeddingDim, int64_t numHeads, int64_t mlpDim,
                        int64_t downsampleRate = 2);
  // image [B, C, h, w], imagePe [B, C, h, w], pointEmbedding [B, N, C] -> (queries [B, n, C], keys [B, h*w, C]).
  // outputTokens: how many leading tokens the caller reads (n; -1 = all N): the final token-to-image attention runs
  // only for those (each token's row is independent there), the rest is unchanged.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe,
                                            const at::Tensor& pointEmbedding, int64_t outputTokens = -1);
  // image [1, C, h, w] (embedding + dense prompt embedding), imagePe [1, C, h, w] -> the first layer's image side.
  TransformerImageCache prepareImage(const at::Tensor& image, const at::Tensor& imagePe);
  // The same result as forward() on the image the cache was prepared from, for any batch of pointEmbedding.
  std::pair<at::Tensor, at::Tensor> forward(const TransformerImageCache& image, const at::Tensor& pointEmbedding,
                                            int64_t outputTokens = -1);

  torch::nn::ModuleList layers{nullptr};
  DecoderAttention final_attn_token_to_image{nullptr};
  torch::nn::LayerNorm norm_final_attn{nullptr};

 private:
  // The final token-to-image attention for the first outputTokens tokens (-1 = all) -> those tokens [B, n, C].
  at::Tensor finalAttention(const at::Tensor& queries, const at::Tensor& pointEmbedding, const at::Tensor& keys,
                            const at::Tensor& keyPe, int64_t outputTokens);
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace supersam::model
