#include "core/model/image_encoder.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

namespace supersam::model {

namespace {

// Score-matrix elements one attention task holds (8 MB): bounds memory (a whole ViT-B global block would be
// 12 x 4096 x 4096 floats = 800 MB) and keeps each task's work near cache.
constexpr int64_t kScoreBudget = 1 << 21;

// s [nq, kh*kw] += relH [nq, kh] (per key row) + relW [nq, kw] (per key column), in one pass over the scores (two
// broadcast add_ calls would read and write the score block twice). Inputs contiguous float.
void addRelativePositions(at::Tensor& s, const at::Tensor& relH, const at::Tensor& relW, int64_t kh, int64_t kw) {
  const int64_t nq = s.size(0);
  float* sp = s.data_ptr<float>();
  const at::Tensor rhc = relH.reshape({nq, kh}).contiguous(), rwc = relW.reshape({nq, kw}).contiguous();
  const float* rh = rhc.data_ptr<float>();
  const float* rw = rwc.data_ptr<float>();
  for (int64_t i = 0; i < nq; ++i) {
    float* row = sp + i * kh * kw;
    const float* w = rw + i * kw;
    for (int64_t y = 0; y < kh; ++y) {
      const float a = rh[i * kh + y];
      float* r = row + y * kw;
      for (int64_t x = 0; x < kw; ++x) r[x] += a + w[x];
    }
  }
}

// Relative-position embeddings for every (query, key) pair along one axis: [size, size, head_dim], from a table
// [2*size-1, head_dim] indexed by q - k + size - 1 (SAM's get_rel_pos with equal query and key sizes).
at::Tensor relPosTable(int64_t size, const at::Tensor& relPos) {
  TORCH_CHECK(relPos.size(0) == 2 * size - 1, "relative position table has ", relPos.size(0), " rows, expected ",
              2 * size - 1);
  at::Tensor coords = at::arange(size, at::TensorOptions().dtype(at::kLong).device(relPos.device()));
  at::Tensor idx = coords.unsqueeze(1) - coords.unsqueeze(0) + (size - 1);
  return relPos.index_select(0, idx.flatten()).view({size, size, relPos.size(1)});
}

// [B, H, W, C] -> ([B * nWin, ws, ws, C], padded H, W). Pads bottom/right with zeros as SAM does.
at::Tensor windowPartition(const at::Tensor& x, int64_t ws, int64_t* hp, int64_t* wp) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t padH = (ws - H % ws) % ws, padW = (ws - W % ws) % ws;
  at::Tensor t = x;
  if (padH > 0 || padW > 0) t = at::constant_pad_nd(x, {0, 0, 0, padW, 0, padH}, 0.0);
  *hp = H + padH;
  *wp = W + padW;
  return t.view({B, *hp / ws, ws, *wp / ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, ws, ws, C});
}

// Inverse of windowPartition, cropping the padding: -> [B, H, W, C] contiguous.
at::Tensor windowUnpartition(const at::Tensor& windows, int64_t ws, int64_t hp, int64_t wp, int64_t H, int64_t W) {
  const int64_t C = windows.size(3);
  const int64_t B = windows.size(0) / (hp * wp / ws / ws);
  at::Tensor x = windows.view({B, hp / ws, wp / ws, ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B, hp, wp, C});
  if (hp > H || wp > W) x = x.narrow(1, 0, H).narrow(2, 0, W).contiguous();
  return x;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
PatchEmbedImpl::PatchEmbedImpl(int64_t patchSize, int64_t inChans, int64_t embedDim) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(inChans, embedDim, patchSize).stride(patchSize)));
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& x) { return proj->forward(x).permute({0, 2, 3, 1}); }

// ---------------------------------------------------------------------------------------------------------------
EncoderAttentionImpl::EncoderAttentionImpl(int64_t dim, int64_t numHeads, std::array<int64_t, 2> inputSize)
    : m_numHeads(numHeads) {
  TORCH_CHECK(dim % numHeads == 0, "EncoderAttention: ", numHeads, " heads do not divide width ", dim);
  const int64_t headDim = dim / numHeads;
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(true)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
  rel_pos_h = register_parameter("rel_pos_h", at::zeros({2 * inputSize[0] - 1, headDim}));
  rel_pos_w = register_parameter("rel_pos_w", at::zeros({2 * inputSize[1] - 1, headDim}));
}

at::Tensor EncoderAttentionImpl::forward(const at::Tensor& x) {
  return at::linear(attend(at::linear(x, qkv->weight, qkv->bias)), proj->weight, proj->bias);
}

at::Tensor EncoderAttentionImpl::attend(const at::Tensor& qkvOut) {
  const int64_t B = qkvOut.size(0), H = qkvOut.size(1), W = qkvOut.size(2), C = qkvOut.size(3) / 3;
  const int64_t N = H * W, nh = m_numHeads, hd = C / nh, BH = B * nh;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));

  // [B, H, W, 3C] -> [3, B*nh, N, hd]: one copy, after which q, k, v are contiguous per (batch, head).
  at::Tensor packed = qkvOut.view({B, N, 3, nh, hd}).permute({2, 0, 3, 1, 4}).reshape({3, BH, N, hd});
  at::Tensor q = packed[0], k = packed[1], v = packed[2];
  at::Tensor Rh = relPosTable(H, rel_pos_h);  // [qh, kh, hd]
  at::Tensor Rw = relPosTable(W, rel_pos_w);  // [qw, kw, hd]

  if (!inplaceAllowed()) {
    // Autograd path: plain out-of-place ops, whole score matrix at once. Decomposed relative positions from the
    // unscaled queries: relH[b, y, x, ky] = q[b, y, x] . Rh[y, ky], relW[b, y, x, kx] = q[b, y, x] . Rw[x, kx].
    at::Tensor qg = q.view({BH, H, W, hd});
    at::Tensor relH = at::bmm(qg.permute({1, 0, 2, 3}).reshape({H, BH * W, hd}), Rh.transpose(1, 2))
                          .view({H, BH, W, H})
                          .permute({1, 0, 2, 3});
    at::Tensor relW = at::bmm(qg.permute({2, 0, 1, 3}).reshape({W, BH * H, hd}), Rw.transpose(1, 2))
                          .view({W, BH, H, W})
                          .permute({1, 2, 0, 3});
    at::Tensor s = at::bmm(q * scale, k.transpose(1, 2));
    s = (s.view({BH, H, W, H, W}) + relH.unsqueeze(-1) + relW.unsqueeze(-2)).view({BH, N, N});
    at::Tensor out = at::bmm(at::softmax(s, -1), v);
    return out.view({B, nh, H, W, hd}).permute({0, 2, 3, 1, 4}).reshape({B, H, W, C});
  }

  // Inference path: independent tasks of (batch*head, block of query rows), spread over the threads with each
  // task's matrix products single-threaded and its score block small enough to stay near cache. Scores get the
  // relative-position terms added in place and are soft-maxed in place; the result goes straight into [B,H,W,C].
  at::Tensor out = at::empty({B, H, W, C}, qkvOut.options());
  at::Tensor outHeads = out.view({B, N, nh, hd});
  at::Tensor RhT = Rh.transpose(1, 2).contiguous();  // [qh, hd, kh]
  at::Tensor RwT = Rw.transpose(1, 2).contiguous();  // [qw, hd, kw]
  const int64_t rowChunk = std::clamp<int64_t>(kScoreBudget / (W * N), 1, H);
  const int64_t chunks = (H + rowChunk - 1) / rowChunk;
  const at::ThreadLocalState tls;  // inference mode etc. for the worker threads
  at::parallel_for(0, BH * chunks, 1, [&](int64_t t0, int64_t t1) {
    at::ThreadLocalStateGuard guard(tls);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / chunks, r0 = (t % chunks) * rowChunk, nr = std::min(rowChunk, H - r0);
      const int64_t nq = nr * W;
      at::Tensor qc = q[bh].narrow(0, r0 * W, nq);  // [nq, hd], unscaled
      at::Tensor q3 = qc.view({nr, W, hd});
      at::Tensor relH = at::bmm(q3, RhT.narrow(0, r0, nr));                    // [nr, W, kh]
      at::Tensor relW = at::bmm(q3.transpose(0, 1), RwT).transpose(0, 1);      // [nr, W, kw]
      at::Tensor s = at::mm(qc * scale, k[bh].t());                            // (q*scale) @ k^T, [nq, N]
      addRelativePositions(s, relH, relW, H, W);
      at::_softmax_out(s, s, -1, false);
      at::Tensor dst = outHeads[bh / nh].select(1, bh % nh).narrow(0, r0 * W, nq);  // [nq, hd], row stride C
      at::mm_out(dst, s, v[bh]);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
BlockImpl::BlockImpl(int64_t dim, int64_t numHeads, int64_t mlpDim, int64_t windowSize, int64_t tokensPerSide)
    : m_windowSize(windowSize) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6)));
  const int64_t side = windowSize == 0 ? tokensPerSide : windowSize;
  attn = register_module("attn", EncoderAttention(dim, numHeads, std::array<int64_t, 2>{side, side}));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6)));
  mlp = register_module("mlp", MLPBlock(dim, mlpDim, Activation::Gelu));
}

at::Tensor BlockImpl::attentionResidual(const at::Tensor& x) {
  const int64_t H = x.size(1), W = x.size(2);
  at::Tensor y = norm1->forward(x);
  const int64_t ws = m_windowSize;
  if (ws > 0 && inplaceAllowed() && (H % ws != 0 || W % ws != 0)) {
    // SAM pads the normalised tokens with zeros before the windowed attention; a zero token's qkv is exactly the
    // bias, so the projection runs on the real tokens only and the padding is filled with the bias. The output
    // projection likewise runs after the padding is cropped. Same numbers, ~20% fewer FLOPs in those linears
    // for ViT-B (64x64 tokens padded to 70x70).
    const auto& w = attn->qkv->weight;
    const auto& b = attn->qkv->bias;
    at::Tensor q = at::linear(y, w, b);  // [B, H, W, 3C]
    const int64_t hp = H + (ws - H % ws) % ws, wp = W + (ws - W % ws) % ws;
    at::Tensor padded = b.view({1, 1, 1, -1}).expand({x.size(0), hp, wp, b.size(0)}).contiguous();
    padded.narrow(1, 0, H).narrow(2, 0, W).copy_(q);
    int64_t hp2 = 0, wp2 = 0;
    at::Tensor a = attn->attend(windowPartition(padded, ws, &hp2, &wp2));
    a = windowUnpartition(a, ws, hp, wp, H, W);
    return x + at::linear(a, attn->proj->weight, attn->proj->bias);
  }
  if (m_windowSize > 0) {
    int64_t hp = 0, wp = 0;
    y = windowPartition(y, m_windowSize, &hp, &wp);
    y = attn->forward(y);
    y = windowUnpartition(y, m_windowSize, hp, wp, H, W);
  } else {
    y = attn->forward(y);
  }
  return x + y;
}

at::Tensor BlockImpl::forward(const at::Tensor& x, int64_t mlpWidth) {
  at::Tensor y = attentionResidual(x);
  at::Tensor m = mlp->forward(norm2->forward(y), mlpWidth);
  return inplaceAllowed() ? y.add_(m) : y + m;
}

// ---------------------------------------------------------------------------------------------------------------
ImageEncoderViTImpl::ImageEncoderViTImpl(const SamArch& arch) {
  arch.validate();
  const int64_t dim = arch.encoderEmbedDim, side = arch.tokensPerSide();
  patch_embed = register_module("patch_embed", PatchEmbed(arch.patchSize, 3, dim));
  pos_embed = register_parameter("pos_embed", at::zeros({1, side, side, dim}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < arch.encoderDepth; ++i) {
    blocks->push_back(
        Block(dim, arch.encoderNumHeads, arch.mlpDim(i), arch.isGlobal(i) ? 0 : arch.windowSize, side));
  }
  const int64_t out = arch.promptEmbedDim;
  neck = register_module(
      "neck", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, out, 1).bias(false)),
                                    LayerNorm2d(out),
                                    torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)),
                                    LayerNorm2d(out)));
}

Block ImageEncoderViTImpl::block(int64_t i) const {
  return Block(std::dynamic_pointer_cast<BlockImpl>(blocks->ptr(i)));
}

at::Tensor ImageEncoderViTImpl::embed(const at::Tensor& x) { return patch_embed->forward(x) + pos_embed; }

at::Tensor ImageEncoderViTImpl::forwardBlock(int64_t i, const at::Tensor& x, const BlockChoice& c) {
  if (!c.kept) return x;
  return blocks[i]->as<BlockImpl>()->forward(x, c.mlpWidth);
}

at::Tensor ImageEncoderViTImpl::neckForward(const at::Tensor& x) { return neck->forward(x.permute({0, 3, 1, 2})); }

at::Tensor ImageEncoderViTImpl::forward(const at::Tensor& x, const ElasticConfig* cfg) {
  const bool elastic = cfg && !cfg->empty();
  TORCH_CHECK(!elastic || static_cast<int64_t>(cfg->size()) == depth(), "ElasticConfig has ", cfg ? cfg->size() : 0,
              " entries, the encoder has ", depth(), " blocks");
  at::Tensor h = embed(x);
  for (int64_t i = 0; i < depth(); ++i) h = forwardBlock(i, h, elastic ? (*cfg)[i] : BlockChoice{});
  return neckForward(h);
}

}  // namespace supersam::model
