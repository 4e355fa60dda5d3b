#include "core/supernet/cost_model.h"

#include <cstdio>
#include <sstream>

namespace supersam::supernet {

int64_t TensorShape::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

using Shapes = std::vector<TensorShape>;

void add(Shapes& out, const std::string& name, std::vector<int64_t> shape) { out.push_back({name, std::move(shape)}); }

void linear(Shapes& out, const std::string& prefix, int64_t in, int64_t outDim, bool bias = true) {
  add(out, prefix + ".weight", {outDim, in});
  if (bias) add(out, prefix + ".bias", {outDim});
}

void layerNorm(Shapes& out, const std::string& prefix, int64_t dim) {
  add(out, prefix + ".weight", {dim});
  add(out, prefix + ".bias", {dim});
}

// The mask decoder's Attention (q/k/v/out projections, internal width = dim / downsample).
void decoderAttention(Shapes& out, const std::string& prefix, int64_t dim, int64_t downsample) {
  int64_t internal = dim / downsample;
  linear(out, prefix + ".q_proj", dim, internal);
  linear(out, prefix + ".k_proj", dim, internal);
  linear(out, prefix + ".v_proj", dim, internal);
  linear(out, prefix + ".out_proj", internal, dim);
}

void mlpHead(Shapes& out, const std::string& prefix, int64_t in, int64_t hidden, int64_t outDim, int64_t layers) {
  for (int64_t l = 0; l < layers; ++l) {
    int64_t a = l == 0 ? in : hidden;
    int64_t b = l == layers - 1 ? outDim : hidden;
    linear(out, prefix + ".layers." + std::to_string(l), a, b);
  }
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::vector<TensorShape> parameterShapes(const model::SamArch& arch, const Subnet* subnet) {
  if (subnet) subnet->checkAgainst(arch);
  Shapes s;
  const int64_t C = arch.encoderEmbedDim, T = arch.tokensPerSide(), p = arch.patchSize;
  const int64_t headDim = C / arch.encoderNumHeads;
  const int64_t D = arch.promptEmbedDim;
  const std::string e = "image_encoder.";
  add(s, e + "pos_embed", {1, T, T, C});
  add(s, e + "patch_embed.proj.weight", {C, 3, p, p});
  add(s, e + "patch_embed.proj.bias", {C});
  for (int64_t i = 0; i < arch.encoderDepth; ++i) {
    if (subnet && !subnet->kept(i)) continue;
    const int64_t W = subnet ? subnet->width(i) : arch.mlpDim(i);
    const int64_t side = arch.isGlobal(i) ? T : arch.windowSize;
    const std::string b = e + "blocks." + std::to_string(i) + ".";
    layerNorm(s, b + "norm1", C);
    add(s, b + "attn.rel_pos_h", {2 * side - 1, headDim});
    add(s, b + "attn.rel_pos_w", {2 * side - 1, headDim});
    linear(s, b + "attn.qkv", C, 3 * C);
    linear(s, b + "attn.proj", C, C);
    layerNorm(s, b + "norm2", C);
    linear(s, b + "mlp.lin1", C, W);
    linear(s, b + "mlp.lin2", W, C);
  }
  add(s, e + "neck.0.weight", {D, C, 1, 1});
  layerNorm(s, e + "neck.1", D);
  add(s, e + "neck.2.weight", {D, D, 3, 3});
  layerNorm(s, e + "neck.3", D);

  const std::string pe = "prompt_encoder.";
  const int64_t M = arch.maskInChans;
  add(s, pe + "pe_layer.positional_encoding_gaussian_matrix", {2, D / 2});
  for (int i = 0; i < 4; ++i) add(s, pe + "point_embeddings." + std::to_string(i) + ".weight", {1, D});
  add(s, pe + "not_a_point_embed.weight", {1, D});
  add(s, pe + "mask_downscaling.0.weight", {M / 4, 1, 2, 2});
  add(s, pe + "mask_downscaling.0.bias", {M / 4});
  layerNorm(s, pe + "mask_downscaling.1", M / 4);
  add(s, pe + "mask_downscaling.3.weight", {M, M / 4, 2, 2});
  add(s, pe + "mask_downscaling.3.bias", {M});
  layerNorm(s, pe + "mask_downscaling.4", M);
  add(s, pe + "mask_downscaling.6.weight", {D, M, 1, 1});
  add(s, pe + "mask_downscaling.6.bias", {D});
  add(s, pe + "no_mask_embed.weight", {1, D});

  const std::string md = "mask_decoder.";
  const std::string tr = md + "transformer.";
  for (int l = 0; l < 2; ++l) {  // SAM's two-way transformer has depth 2
    const std::string b = tr + "layers." + std::to_string(l) + ".";
    decoderAttention(s, b + "self_attn", D, 1);
    layerNorm(s, b + "norm1", D);
    decoderAttention(s, b + "cross_attn_token_to_image", D, 2);
    layerNorm(s, b + "norm2", D);
    linear(s, b + "mlp.lin1", D, arch.decoderMlpDim);
    linear(s, b + "mlp.lin2", arch.decoderMlpDim, D);
    layerNorm(s, b + "norm3", D);
    layerNorm(s, b + "norm4", D);
    decoderAttention(s, b + "cross_attn_image_to_token", D, 2);
  }
  decoderAttention(s, tr + "final_attn_token_to_image", D, 2);
  layerNorm(s, tr + "norm_final_attn", D);
  add(s, md + "iou_token.weight", {1, D});
  add(s, md + "mask_tokens.weight", {4, D});  // 3 multimask outputs + 1
  add(s, md + "output_upscaling.0.weight", {D, D / 4, 2, 2});  // ConvTranspose2d: [in, out, k, k]
  add(s, md + "output_upscaling.0.bias", {D / 4});
  layerNorm(s, md + "output_upscaling.1", D / 4);
  add(s, md + "output_upscaling.3.weight", {D / 4, D / 8, 2, 2});
  add(s, md + "output_upscaling.3.bias", {D / 8});
  for (int m = 0; m < 4; ++m) mlpHead(s, md + "output_hypernetworks_mlps." + std::to_string(m), D, D, D / 8, 3);
  mlpHead(s, md + "iou_prediction_head", D, arch.iouHeadHiddenDim, 4, 3);
  return s;
}

int64_t blockMacs(const model::SamArch& arch, int64_t block, int64_t mlpWidth) {
  const int64_t C = arch.encoderEmbedDim, T = arch.tokensPerSide();
  const int64_t heads = arch.encoderNumHeads, headDim = C / heads;
  int64_t side, windows;
  if (arch.isGlobal(block)) {
    side = T;
    windows = 1;
  } else {
    side = arch.windowSize;
    int64_t n = ceilDiv(T, side);
    windows = n * n;
  }
  const int64_t N = side * side;            // tokens per window
  const int64_t paddedTokens = windows * N;  // qkv / proj run on the padded windows
  int64_t macs = 0;
  macs += paddedTokens * C * 3 * C;                      // qkv
  macs += 2 * windows * heads * N * N * headDim;         // Q K^T and A V
  macs += 2 * windows * heads * N * side * headDim;      // rel_h and rel_w einsums
  macs += paddedTokens * C * C;                          // proj
  macs += 2 * T * T * C * mlpWidth;                      // lin1 + lin2
  return macs;
}

int64_t encoderMacs(const model::SamArch& arch, const Subnet& subnet) {
  subnet.checkAgainst(arch);
  const int64_t C = arch.encoderEmbedDim, T = arch.tokensPerSide(), p = arch.patchSize, D = arch.promptEmbedDim;
  int64_t macs = T * T * C * 3 * p * p;  // patch embedding
  for (int64_t i = 0; i < arch.encoderDepth; ++i) {
    if (subnet.kept(i)) macs += blockMacs(arch, i, subnet.width(i));
  }
  macs += T * T * C * D;      // neck 1x1
  macs += T * T * D * D * 9;  // neck 3x3
  return macs;
}

Cost computeCost(const model::SamArch& arch, const Subnet& subnet) {
  Cost c;
  for (const auto& t : parameterShapes(arch, &subnet)) {
    int64_t n = t.numel();
    c.params += n;
    if (t.name.rfind("image_encoder.", 0) == 0) c.encoderParams += n;
    else if (t.name.rfind("prompt_encoder.", 0) == 0) c.promptEncoderParams += n;
    else c.maskDecoderParams += n;
  }
  c.bytesFp32 = 4 * c.params;
  c.bytesFp16 = 2 * c.params;
  c.encoderMacs = encoderMacs(arch, subnet);
  return c;
}

Cost computeCost(const model::SamArch& arch) { return computeCost(arch, Subnet::full(arch)); }

std::string describeCost(const model::SamArch& arch, const Subnet& subnet) {
  Cost c = computeCost(arch, subnet), f = computeCost(arch);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "parameters     %lld (%.1f%% of the full model; image encoder %lld, prompt encoder %lld, "
                "mask decoder %lld)\n"
                "weights        %.2f MB fp32, %.2f MB fp16\n"
                "encoder MACs   %.2f G at %lldx%lld (%.1f%% of the full encoder)\n"
                "blocks kept    %lld of %lld\n",
                static_cast<long long>(c.params), 100.0 * c.params / f.params,
                static_cast<long long>(c.encoderParams), static_cast<long long>(c.promptEncoderParams),
                static_cast<long long>(c.maskDecoderParams), c.mbFp32(), c.mbFp16(), c.gmacs(),
                static_cast<long long>(arch.imageSize), static_cast<long long>(arch.imageSize),
                100.0 * c.encoderMacs / f.encoderMacs, static_cast<long long>(subnet.keptCount()),
                static_cast<long long>(subnet.depth()));
  return buf;
}

}  // namespace supersam::supernet
