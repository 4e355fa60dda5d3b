#include "core/model/transformer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>

#include "core/model/common.h"
#include "core/model/decoder_kernels.h"
#include "core/model/gemm.h"

namespace supersam::model {

namespace {
// [B, N, C] -> [B, heads, N, C/heads]
at::Tensor separateHeads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}
// [B, heads, N, c] -> [B, N, heads*c]
at::Tensor recombineHeads(const at::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// Per head: a [H, n, c] x bT [H, c, N] -> [H, n, N].
at::Tensor headsBmm(const at::Tensor& a, const at::Tensor& bT) {
  if (!fastCpuPath(a)) return at::bmm(a, bT);
  const at::Tensor ac = a.contiguous(), bc = bT.contiguous();
  at::Tensor out = at::empty({a.size(0), a.size(1), bT.size(2)}, a.options());
  kernels::headsProduct(ac.data_ptr<float>(), bc.data_ptr<float>(), a.size(0), a.size(1), a.size(2), bT.size(2),
                        out.data_ptr<float>(), false);
  return out;
}

// Per head: a [H, n, K] x b [H, K, m] -> [H, n, m], one product per head through gemm() where it is fast (BLAS's
// batched product runs the decoder's [7, 4096] x [4096, 16] per head at a few GFLOP/s).
at::Tensor perHeadProducts(const at::Tensor& a, const at::Tensor& b) {
  if (!fastGemmEnabled() || !fastCpuPath(a)) return at::bmm(a, b);
  std::vector<at::Tensor> heads;
  heads.reserve(static_cast<size_t>(a.size(0)));
  for (int64_t h = 0; h < a.size(0); ++h) heads.push_back(gemm(a[h], b[h]));
  return at::stack(heads);
}

// logits [B, H, n, N] += per head a_h [B*n, c] x peT_h [c, N] (a [H, B*n, c], peT [H, c, N]); logits is the
// caller's own temporary.
void addHeadsProduct(at::Tensor& logits, const at::Tensor& a, const at::Tensor& peT) {
  const int64_t B = logits.size(0), H = logits.size(1), n = logits.size(2), N = logits.size(3);
  if (B == 1 && fastCpuPath(logits) && logits.is_contiguous()) {
    const at::Tensor ac = a.contiguous(), pc = peT.contiguous();
    kernels::headsProduct(ac.data_ptr<float>(), pc.data_ptr<float>(), H, n, a.size(2), N, logits.data_ptr<float>(),
                          true);
    return;
  }
  logits += at::bmm(a, peT).view({H, B, n, N}).permute({1, 0, 2, 3});
}

// norm(x), in place on x (the caller's own temporary) where the fused kernels apply.
at::Tensor normInPlace(torch::nn::LayerNormImpl& norm, at::Tensor x) {
  if (!fastCpuPath(x) || !x.is_contiguous()) return norm.forward(x);
  const at::Tensor gamma = norm.weight.contiguous(), beta = norm.bias.contiguous();
  const int64_t width = x.size(-1);
  kernels::layerNormRows(x.data_ptr<float>(), x.numel() / width, width, nullptr, gamma.data_ptr<float>(),
                         beta.data_ptr<float>(), static_cast<float>(norm.options.eps()), false);
  return x;
}
}  // namespace

DecoderAttentionImpl::DecoderAttentionImpl(int64_t embeddingDim, int64_t numHeads, int64_t downsampleRate)
    : m_numHeads(numHeads) {
  const int64_t internal = embeddingDim / downsampleRate;
  TORCH_CHECK(internal % numHeads == 0, "DecoderAttention: ", numHeads, " heads must divide ", internal);
  q_proj = register_module("q_proj", torch::nn::Linear(embeddingDim, internal));
  k_proj = register_module("k_proj", torch::nn::Linear(embeddingDim, internal));
  v_proj = register_module("v_proj", torch::nn::Linear(embeddingDim, internal));
  out_proj = register_module("out_proj", torch::nn::Linear(internal, embeddingDim));
}

at::Tensor DecoderAttentionImpl::forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const int64_t internal = q_proj->weight.size(0);
  const int64_t nq = q.size(1), nk = k.size(1);
  // Between a few prompt tokens and thousands of image tokens, projecting every image token to the internal width is
  // most of the cost. When heads x tokens < internal width, the products are re-associated so that the image side
  // meets a [heads x tokens, C] matrix instead (the same arithmetic up to float rounding).
  if (m_numHeads * nq < internal && nk > internal) return fewQueries(q, k, v);
  if (m_numHeads * nk < internal && nq > internal) return fewKeys(q, k, v);
  at::Tensor qh = separateHeads(linear(q, q_proj->weight, q_proj->bias), m_numHeads);
  at::Tensor kh = separateHeads(linear(k, k_proj->weight, k_proj->bias), m_numHeads);
  at::Tensor vh = separateHeads(linear(v, v_proj->weight, v_proj->bias), m_numHeads);
  const double cPerHead = static_cast<double>(qh.size(3));
  at::Tensor attn = at::matmul(qh, kh.transpose(2, 3));
  attn = attn / std::sqrt(cPerHead);
  attn = at::softmax(attn, -1);
  at::Tensor out = recombineHeads(at::matmul(attn, vh));
  return linear(out, out_proj->weight, out_proj->bias);
}

// Tokens attend to the image. Per head h, with Wk_h [c, C]: logits = (q_h Wk_h) k^T + q_h . bk_h, and
// softmax(..) (v Wv_h^T + bv_h) = (softmax(..) v) Wv_h^T + bv_h because each softmax row sums to 1. With peKT, the
// keys' positional part enters as q_h (pe Wk_h^T)^T.
at::Tensor DecoderAttentionImpl::fewQueries(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            const at::Tensor& peKT) {
  const int64_t B = std::max(q.size(0), k.size(0)), nq = q.size(1), nk = k.size(1), C = k.size(2);
  const int64_t H = m_numHeads, c = q_proj->weight.size(0) / H;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c));
  at::Tensor qh = separateHeads(linear(q, q_proj->weight, q_proj->bias), H) * scale;  // [B, H, nq, c]
  at::Tensor qk = at::matmul(qh, k_proj->weight.view({H, c, C}));                        // [B, H, nq, C]
  at::Tensor qb = at::matmul(qh, k_proj->bias.view({H, c, 1}));                          // [B, H, nq, 1]
  at::Tensor logits = gemm(qk.reshape({B, H * nq, C}), k.transpose(1, 2)).view({B, H, nq, nk}) + qb;
  if (peKT.defined()) addHeadsProduct(logits, qh.permute({1, 0, 2, 3}).reshape({H, B * nq, c}), peKT);
  at::Tensor attn = at::softmax(logits, -1);
  at::Tensor av = gemm(attn.view({B, H * nq, nk}), v).view({B, H, nq, C});
  at::Tensor oh = at::matmul(av, v_proj->weight.view({H, c, C}).transpose(1, 2)) + v_proj->bias.view({1, H, 1, c});
  return linear(recombineHeads(oh), out_proj->weight, out_proj->bias);
}

// The image attends to the tokens. Per head h, with Wq_h [c, C]: logits = q (Wq_h^T k_h^T) + bq_h . k_h, computed
// transposed ([B, H, nk, nq], so the softmax runs over a strided axis with long contiguous rows instead of over
// rows of nk values); the output projection is folded into the values: sum_h attn_h (v_h Wo_h^T) + bo. With peQT,
// the queries' positional part enters as k_h (pe Wq_h^T)^T; with a residual, it is added (tokensToImage).
at::Tensor DecoderAttentionImpl::fewKeys(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                         const at::Tensor& peQT, const at::Tensor& residual) {
  const int64_t B = std::max(q.size(0), k.size(0)), nq = q.size(1), nk = k.size(1), C = q.size(2);
  const int64_t H = m_numHeads, c = q_proj->weight.size(0) / H;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c));
  at::Tensor kh = separateHeads(linear(k, k_proj->weight, k_proj->bias), H) * scale;  // [B, H, nk, c]
  at::Tensor kq = at::matmul(kh, q_proj->weight.view({H, c, C}));                        // [B, H, nk, C]
  at::Tensor kb = at::matmul(kh, q_proj->bias.view({H, c, 1}));                          // [B, H, nk, 1]
  at::Tensor logitsT = gemm(kq.reshape({B, H * nk, C}), q.transpose(1, 2)).view({B, H, nk, nq}) + kb;
  if (peQT.defined()) addHeadsProduct(logitsT, kh.permute({1, 0, 2, 3}).reshape({H, B * nk, c}), peQT);
  return tokensToImage(logitsT, v, residual);
}

// softmax over the tokens, then sum_h attn_h^T (v_h Wo_h^T) + bo (+ residual), as one product: for one prompt set
// the bias and residual are its starting value (gemm.h); for a batch, they enter as an extra row of ones and the
// bias row ([attn; 1]^T [u; bo] + residual).
at::Tensor DecoderAttentionImpl::tokensToImage(const at::Tensor& logitsT, const at::Tensor& v,
                                               const at::Tensor& residual) {
  const int64_t B = logitsT.size(0), H = logitsT.size(1), nk = logitsT.size(2), nq = logitsT.size(3);
  const int64_t C = out_proj->weight.size(0), c = out_proj->weight.size(1) / H;
  at::Tensor attnT;  // [B, H * nk, nq], softmax over the nk tokens
  if (fastCpuPath(logitsT) && logitsT.is_contiguous()) {
    kernels::softmaxMiddle(logitsT.data_ptr<float>(), B * H, nk, nq);  // logitsT is the caller's temporary
    attnT = logitsT.view({B, H * nk, nq});
  } else {
    attnT = at::softmax(logitsT, 2).reshape({B, H * nk, nq});
  }
  at::Tensor vh = separateHeads(linear(v, v_proj->weight, v_proj->bias), H);          // [B, H, nk, c]
  at::Tensor wo = out_proj->weight.view({C, H, c}).permute({1, 2, 0});                    // [H, c, C]
  at::Tensor u = at::matmul(vh, wo).reshape({B, H * nk, C});
  if (B == 1) return gemm(attnT.transpose(1, 2), u, out_proj->bias, residual);
  if (!residual.defined()) {
    return at::baddbmm(out_proj->bias.view({1, 1, C}).expand({B, nq, C}), attnT.transpose(1, 2), u);
  }
  at::Tensor a = at::empty({B, H * nk + 1, nq}, attnT.options());
  a.narrow(1, 0, H * nk).copy_(attnT);
  a.select(1, H * nk).fill_(1.0);
  at::Tensor ub = at::cat({u, out_proj->bias.view({1, 1, C}).expand({B, 1, C})}, 1);
  return at::baddbmm(residual.expand({B, nq, C}), a.transpose(1, 2), ub);
}

at::Tensor DecoderAttentionImpl::forwardProjectedKeys(const at::Tensor& q, const at::Tensor& khT,
                                                      const at::Tensor& vh) {
  const int64_t B = q.size(0), nq = q.size(1), H = m_numHeads, c = khT.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c));
  // The batch's queries side by side per head: [H, B*nq, c].
  at::Tensor qh = linear(q, q_proj->weight, q_proj->bias).view({B, nq, H, c}).permute({2, 0, 1, 3});
  qh = qh.reshape({H, B * nq, c}) * scale;
  at::Tensor attn = at::softmax(headsBmm(qh, khT), -1);  // [H, B*nq, Nk]
  at::Tensor out = perHeadProducts(attn, vh).view({H, B, nq, c}).permute({1, 2, 0, 3}).reshape({B, nq, H * c});
  return linear(out, out_proj->weight, out_proj->bias);
}

// Per head h and batch element b: logits = qh (kh_b)^T, computed transposed ([nk, Nq], long contiguous rows for the
// softmax over the nk keys); then as tokensToImage.
at::Tensor DecoderAttentionImpl::forwardProjectedQueries(const at::Tensor& qhT, const at::Tensor& k,
                                                         const at::Tensor& v, const at::Tensor& residual) {
  const int64_t B = k.size(0), nk = k.size(1), H = m_numHeads, c = qhT.size(1), nq = qhT.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c));
  at::Tensor kh = linear(k, k_proj->weight, k_proj->bias).view({B, nk, H, c}).permute({2, 0, 1, 3});
  kh = kh.reshape({H, B * nk, c}) * scale;                                       // [H, B*nk, c]
  at::Tensor logitsT = headsBmm(kh, qhT).view({H, B, nk, nq}).permute({1, 0, 2, 3});  // [B, H, nk, Nq]
  return tokensToImage(logitsT, v, residual);
}

// ---------------------------------------------------------------------------------------------------------------
TwoWayAttentionBlockImpl::TwoWayAttentionBlockImpl(int64_t embeddingDim, int64_t numHeads, int64_t mlpDim,
                                                   int64_t downsampleRate, bool skipFirstLayerPe)
    : m_skipFirstLayerPe(skipFirstLayerPe) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({embeddingDim})); };
  self_attn = register_module("self_attn", DecoderAttention(embeddingDim, numHeads));
  norm1 = register_module("norm1", ln());
  cross_attn_token_to_image =
      register_module("cross_attn_token_to_image", DecoderAttention(embeddingDim, numHeads, downsampleRate));
  norm2 = register_module("norm2", ln());
  mlp = register_module("mlp", MLPBlock(embeddingDim, mlpDim, Activation::Relu));
  norm3 = register_module("norm3", ln());
  norm4 = register_module("norm4", ln());
  cross_attn_image_to_token =
      register_module("cross_attn_image_to_token", DecoderAttention(embeddingDim, numHeads, downsampleRate));
}

std::pair<at::Tensor, at::Tensor> TwoWayAttentionBlockImpl::forward(const at::Tensor& queriesIn,
                                                                    const at::Tensor& keysIn,
                                                                    const at::Tensor& queryPe, const at::Tensor& keyPe) {
  at::Tensor keys = keysIn;
  at::Tensor queries = selfAttention(queriesIn, queryPe);

  // Tokens attend to the image.
  at::Tensor q = queries + queryPe;
  at::Tensor k = keys + keyPe;
  queries = norm2->forward(queries + cross_attn_token_to_image->forward(q, k, keys));

  queries = norm3->forward(queries + mlp->forward(queries));

  // The image attends to the tokens.
  q = queries + queryPe;
  keys = norm4->forward(keys + cross_attn_image_to_token->forward(k, q, queries));
  return {queries, keys};
}

std::pair<at::Tensor, at::Tensor> TwoWayAttentionBlockImpl::forward(const at::Tensor& queriesIn,
                                                                    const TransformerImageCache& image,
                                                                    const at::Tensor& queryPe) {
  at::Tensor queries = selfAttention(queriesIn, queryPe);
  at::Tensor q = queries + queryPe;
  queries = norm2->forward(
      queries + cross_attn_token_to_image->forwardProjectedKeys(q, image.t2iKeysT, image.t2iValues));
  queries = norm3->forward(queries + mlp->forward(queries));
  q = queries + queryPe;
  at::Tensor keys = normInPlace(
      *norm4, cross_attn_image_to_token->forwardProjectedQueries(image.i2tQueriesT, q, queries, image.keys));
  return {queries, keys};
}

std::pair<at::Tensor, at::Tensor> TwoWayAttentionBlockImpl::forward(const at::Tensor& queriesIn,
                                                                    const at::Tensor& keysIn,
                                                                    const at::Tensor& queryPe,
                                                                    const at::Tensor& peKT, const at::Tensor& peQT) {
  at::Tensor queries = selfAttention(queriesIn, queryPe);
  at::Tensor q = queries + queryPe;
  queries = norm2->forward(queries + cross_attn_token_to_image->fewQueries(q, keysIn, keysIn, peKT));
  queries = norm3->forward(queries + mlp->forward(queries));
  q = queries + queryPe;
  at::Tensor keys = normInPlace(*norm4, cross_attn_image_to_token->fewKeys(keysIn, q, queries, peQT, keysIn));
  return {queries, keys};
}

at::Tensor TwoWayAttentionBlockImpl::selfAttention(const at::Tensor& queries, const at::Tensor& queryPe) {
  if (m_skipFirstLayerPe) return norm1->forward(self_attn->forward(queries, queries, queries));
  at::Tensor q = queries + queryPe;
  return norm1->forward(queries + self_attn->forward(q, q, queries));
}

// ---------------------------------------------------------------------------------------------------------------
TwoWayTransformerImpl::TwoWayTransformerImpl(int64_t depth, int64_t embeddingDim, int64_t numHeads, int64_t mlpDim,
                                             int64_t downsampleRate) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) {
    layers->push_back(TwoWayAttentionBlock(embeddingDim, numHeads, mlpDim, downsampleRate, i == 0));
  }
  final_attn_token_to_image =
      register_module("final_attn_token_to_image", DecoderAttention(embeddingDim, numHeads, downsampleRate));
  norm_final_attn = register_module("norm_final_attn", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embeddingDim})));
}

at::Tensor TwoWayTransformerImpl::finalAttention(const at::Tensor& queriesIn, const at::Tensor& pointEmbedding,
                                                 const at::Tensor& keys, const at::Tensor& keyPe,
                                                 int64_t outputTokens) {
  const int64_t n = outputTokens < 0 ? queriesIn.size(1) : std::min(outputTokens, queriesIn.size(1));
  const at::Tensor queries = queriesIn.narrow(1, 0, n);
  const at::Tensor q = queries + pointEmbedding.narrow(1, 0, n);
  const at::Tensor k = keys + keyPe;
  return norm_final_attn->forward(queries + final_attn_token_to_image->forward(q, k, keys));
}

std::pair<at::Tensor, at::Tensor> TwoWayTransformerImpl::forward(const at::Tensor& imageEmbedding,
                                                                 const at::Tensor& imagePe,
                                                                 const at::Tensor& pointEmbedding,
                                                                 int64_t outputTokens) {
  // [B, C, h, w] -> [B, h*w, C], made contiguous once so every later op on the image side runs on dense rows.
  at::Tensor keys = imageEmbedding.flatten(2).permute({0, 2, 1}).contiguous();
  at::Tensor keyPe = imagePe.flatten(2).permute({0, 2, 1}).contiguous();
  at::Tensor queries = pointEmbedding;
  for (size_t i = 0; i < layers->size(); ++i) {
    std::tie(queries, keys) = layers[i]->as<TwoWayAttentionBlockImpl>()->forward(queries, keys, pointEmbedding, keyPe);
  }
  return {finalAttention(queries, pointEmbedding, keys, keyPe, outputTokens), keys};
}

TransformerImageCache TwoWayTransformerImpl::prepareImage(const at::Tensor& image, const at::Tensor& imagePe) {
  TORCH_CHECK(image.dim() == 4 && image.size(0) == 1 && imagePe.sizes() == image.sizes(),
              "TwoWayTransformer::prepareImage: expected one image [1, C, h, w] and its PE, got ", image.sizes(),
              " and ",
              imagePe.sizes());
  auto& first = *layers[0]->as<TwoWayAttentionBlockImpl>();
  const DecoderAttentionImpl& t2i = *first.cross_attn_token_to_image;
  const DecoderAttentionImpl& i2t = *first.cross_attn_image_to_token;
  TransformerImageCache c;
  c.h = image.size(2);
  c.w = image.size(3);
  c.keys = image.flatten(2).permute({0, 2, 1}).contiguous();
  c.keyPe = imagePe.flatten(2).permute({0, 2, 1}).contiguous();
  const at::Tensor keysPe = c.keys + c.keyPe;
  auto perHead = [](const at::Tensor& x, int64_t heads) {  // [1, hw, H*c] -> [H, hw, c]
    return x[0].view({x.size(1), heads, x.size(2) / heads}).transpose(0, 1).contiguous();
  };
  auto perHeadT = [&](const at::Tensor& x, int64_t heads) {  // [1, hw, H*c] -> [H, c, hw]
    return perHead(x, heads).transpose(1, 2).contiguous();
  };
  c.t2iKeysT = perHeadT(linear(keysPe, t2i.k_proj->weight, t2i.k_proj->bias), t2i.numHeads());
  c.t2iValues = perHead(linear(c.keys, t2i.v_proj->weight, t2i.v_proj->bias), t2i.numHeads());
  c.i2tQueriesT = perHeadT(linear(keysPe, i2t.q_proj->weight, i2t.q_proj->bias), i2t.numHeads());
  c.t2iPeKeysT.resize(layers->size() + 1);
  c.i2tPeQueriesT.resize(layers->size());
  for (size_t i = 1; i < layers->size(); ++i) {
    auto& layer = *layers[i]->as<TwoWayAttentionBlockImpl>();
    const DecoderAttentionImpl& a = *layer.cross_attn_token_to_image;
    const DecoderAttentionImpl& b = *layer.cross_attn_image_to_token;
    c.t2iPeKeysT[i] = perHeadT(linear(c.keyPe, a.k_proj->weight), a.numHeads());
    c.i2tPeQueriesT[i] = perHeadT(linear(c.keyPe, b.q_proj->weight), b.numHeads());
  }
  c.t2iPeKeysT.back() = perHeadT(linear(c.keyPe, final_attn_token_to_image->k_proj->weight),
                                 final_attn_token_to_image->numHeads());
  return c;
}

std::pair<at::Tensor, at::Tensor> TwoWayTransformerImpl::forward(const TransformerImageCache& image,
                                                                 const at::Tensor& pointEmbedding,
                                                                 int64_t outputTokens) {
  at::Tensor queries, keys;
  std::tie(queries, keys) = layers[0]->as<TwoWayAttentionBlockImpl>()->forward(pointEmbedding, image, pointEmbedding);
  for (size_t i = 1; i < layers->size(); ++i) {
    std::tie(queries, keys) = layers[i]->as<TwoWayAttentionBlockImpl>()->forward(
        queries, keys, pointEmbedding, image.t2iPeKeysT[i], image.i2tPeQueriesT[i]);
  }
  const int64_t n = outputTokens < 0 ? queries.size(1) : std::min(outputTokens, queries.size(1));
  const at::Tensor mine = queries.narrow(1, 0, n);
  const at::Tensor q = mine + pointEmbedding.narrow(1, 0, n);
  queries = norm_final_attn->forward(
      mine + final_attn_token_to_image->fewQueries(q, keys, keys, image.t2iPeKeysT.back()));
  return {queries, keys};
}

}  // namespace supersam::model
