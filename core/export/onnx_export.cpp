#include "core/export/onnx_export.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/export/onnx_graph.h"
#include "core/supernet/extract.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace supersam::exporter {

namespace {

// ONNX's TensorProto data types, for Cast.
constexpr int64_t kFloat = 1;
constexpr int64_t kInt64 = 7;

// ---------------------------------------------------------------------------------------------------------------
// The patterns the SAM graphs are made of, over OnnxGraph (which holds the protobuf, see onnx_graph.h).
class Graph : public OnnxGraph {
 public:
  using OnnxGraph::OnnxGraph;
  using OnnxGraph::weight;

  // A float32 initializer holding `t` (copied, contiguous).
  std::string weight(const std::string& name, const at::Tensor& t) {
    const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
    return weight(name, c.data_ptr<float>(), c.sizes().vec());
  }
  std::string scalarInt(int64_t v) { return ints({v}, true); }
  std::string reshape(const std::string& x, const std::vector<int64_t>& shape) { return op("Reshape", {x, ints(shape)}); }
  std::string transpose(const std::string& x, const std::vector<int64_t>& perm) {
    return op("Transpose", {x}, {OnnxAttr::list("perm", perm)});
  }
  std::string unsqueeze(const std::string& x, const std::vector<int64_t>& axes) { return op("Unsqueeze", {x, ints(axes)}); }
  std::string gather(const std::string& x, int64_t index, int64_t axis) {
    return op("Gather", {x, scalarInt(index)}, {OnnxAttr::integer("axis", axis)});
  }
  std::string concat(const std::vector<std::string>& xs, int64_t axis) {
    return op("Concat", xs, {OnnxAttr::integer("axis", axis)});
  }
  std::string cast(const std::string& x, int64_t to) { return op("Cast", {x}, {OnnxAttr::integer("to", to)}); }
  std::string mul(const std::string& a, const std::string& b) { return op("Mul", {a, b}); }
  std::string add(const std::string& a, const std::string& b) { return op("Add", {a, b}); }
  std::string sub(const std::string& a, const std::string& b) { return op("Sub", {a, b}); }
  // x @ W^T + b for a torch Linear's weight [out, in] (stored transposed, [in, out]).
  std::string linear(const std::string& x, const std::string& key, const at::Tensor& w, const at::Tensor& b) {
    std::string y = op("MatMul", {x, weight(key + ".weight_t", w.t())});
    return b.defined() ? add(y, weight(key + ".bias", b)) : y;
  }
  std::string layerNorm(const std::string& x, const std::string& key, const at::Tensor& w, const at::Tensor& b,
                        double eps) {
    return op("LayerNormalization", {x, weight(key + ".weight", w), weight(key + ".bias", b)},
              {OnnxAttr::integer("axis", -1), OnnxAttr::real("epsilon", static_cast<float>(eps))});
  }
  // LayerNorm over the channels of [B, C, H, W] (SAM's LayerNorm2d).
  std::string layerNorm2d(const std::string& x, const std::string& key, const at::Tensor& w, const at::Tensor& b,
                          double eps) {
    return transpose(layerNorm(transpose(x, {0, 2, 3, 1}), key, w, b, eps), {0, 3, 1, 2});
  }
  // Exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
  std::string gelu(const std::string& x) {
    std::string e = op("Erf", {mul(x, scalar(static_cast<float>(1.0 / std::sqrt(2.0))))});
    return mul(mul(x, add(e, scalar(1.f))), scalar(0.5f));
  }
  std::string softmaxLast(const std::string& x) { return op("Softmax", {x}, {OnnxAttr::integer("axis", -1)}); }
  std::string resize(const std::string& x, const std::string& sizes) {
    return op("Resize", {x, "", "", sizes},
              {OnnxAttr::text("mode", "linear"), OnnxAttr::text("coordinate_transformation_mode", "pytorch_half_pixel")});
  }
  // A convolution (transposed or not) with square kernel k and stride; bias optional.
  std::string conv(const std::string& type, const std::string& x, const std::string& key, const at::Tensor& w,
                   const at::Tensor& b, int64_t k, int64_t stride, int64_t pad = 0) {
    std::vector<std::string> in = {x, weight(key + ".weight", w)};
    if (b.defined()) in.push_back(weight(key + ".bias", b));
    return op(type, in,
              {OnnxAttr::list("kernel_shape", {k, k}), OnnxAttr::list("strides", {stride, stride}),
               OnnxAttr::list("pads", {pad, pad, pad, pad})});
  }
};

std::string checked(const Graph& g, const std::string& what) {
  try {
    return g.checkedBytes();
  } catch (const std::exception& e) {
    throw util::Error("ONNX export: the " + what + " graph failed onnx::checker (a bug in the exporter): " +
                      e.what());
  }
}

// The model's parameters and buffers by their official key names.
class Weights {
 public:
  explicit Weights(model::SamImpl& sam) {
    for (const auto& p : sam.named_parameters()) m_t[p.key()] = p.value();
    for (const auto& b : sam.named_buffers()) m_t[b.key()] = b.value();
  }
  const at::Tensor& operator()(const std::string& key) const {
    auto it = m_t.find(key);
    if (it == m_t.end()) throw util::Error("ONNX export: the model has no tensor '" + key + "' (expected SAM's layout)");
    return it->second;
  }

 private:
  std::map<std::string, at::Tensor> m_t;
};

// Relative-position embeddings for every (query, key) pair along one axis, [size, size, head_dim] (index q - k +
// size - 1 into the table), as the encoder's attention uses them.
at::Tensor relPosPairs(int64_t size, const at::Tensor& table, const std::string& key) {
  if (table.dim() != 2 || table.size(0) != 2 * size - 1) {
    throw util::Error("ONNX export: '" + key + "' has " + std::to_string(table.size(0)) + " rows, expected " +
                      std::to_string(2 * size - 1));
  }
  at::Tensor c = at::arange(size, at::kLong);
  at::Tensor idx = c.unsqueeze(1) - c.unsqueeze(0) + (size - 1);
  return table.detach().to(at::kCPU, at::kFloat).index_select(0, idx.flatten()).view({size, size, table.size(1)});
}

// ---------------------------------------------------------------------------------------------------------------
// Encoder.

// Multi-head attention with decomposed relative positions over y [Bw, s, s, C] -> [Bw, s, s, C].
std::string encoderAttention(Graph& g, const Weights& w, const std::string& key, const std::string& y, int64_t Bw,
                             int64_t s, int64_t C, int64_t heads) {
  const int64_t N = s * s, hd = C / heads, BH = Bw * heads;
  std::string qkv = g.linear(y, key + ".qkv", w(key + ".qkv.weight"), w(key + ".qkv.bias"));
  std::string packed = g.reshape(g.transpose(g.reshape(qkv, {Bw, N, 3, heads, hd}), {2, 0, 3, 1, 4}), {3, BH, N, hd});
  std::string q = g.gather(packed, 0, 0), k = g.gather(packed, 1, 0), v = g.gather(packed, 2, 0);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  std::string scores = g.op("MatMul", {g.mul(q, g.scalar(scale)), g.transpose(k, {0, 2, 1})});  // [BH, N, N]
  // Decomposed relative positions from the unscaled queries: relH[b,y,x,ky] = q[b,y,x] . Rh[y,ky], relW likewise.
  std::string q4 = g.reshape(q, {BH, s, s, hd});
  std::string rh = g.weight(key + ".rel_pos_h_pairs", relPosPairs(s, w(key + ".rel_pos_h"), key + ".rel_pos_h"));
  std::string rw = g.weight(key + ".rel_pos_w_pairs", relPosPairs(s, w(key + ".rel_pos_w"), key + ".rel_pos_w"));
  std::string eh = g.op("Einsum", {q4, rh}, {OnnxAttr::text("equation", "bhwc,hkc->bhwk")});
  std::string ew = g.op("Einsum", {q4, rw}, {OnnxAttr::text("equation", "bhwc,wkc->bhwk")});
  std::string s5 = g.reshape(scores, {BH, s, s, s, s});
  s5 = g.add(g.add(s5, g.unsqueeze(eh, {4})), g.unsqueeze(ew, {3}));
  std::string attn = g.softmaxLast(g.reshape(s5, {BH, N, N}));
  std::string out = g.op("MatMul", {attn, v});  // [BH, N, hd]
  out = g.reshape(g.transpose(g.reshape(out, {Bw, heads, s, s, hd}), {0, 2, 3, 1, 4}), {Bw, s, s, C});
  return g.linear(out, key + ".proj", w(key + ".proj.weight"), w(key + ".proj.bias"));
}

std::string encoderBlock(Graph& g, const Weights& w, const model::SamArch& arch, int64_t i, const std::string& x) {
  const std::string key = "image_encoder.blocks." + std::to_string(i);
  const int64_t T = arch.tokensPerSide(), C = arch.encoderEmbedDim, heads = arch.encoderNumHeads;
  g.setScope(key);
  std::string y = g.layerNorm(x, key + ".norm1", w(key + ".norm1.weight"), w(key + ".norm1.bias"), 1e-6);
  if (arch.isGlobal(i)) {
    y = encoderAttention(g, w, key + ".attn", y, 1, T, C, heads);
  } else {
    // Windows: zero-pad bottom/right to a multiple of the window, partition, attend, merge, crop.
    const int64_t ws = arch.windowSize, pad = (ws - T % ws) % ws, Tp = T + pad, nw = Tp / ws;
    if (pad > 0) y = g.op("Pad", {y, g.ints({0, 0, 0, 0, 0, pad, pad, 0})});
    y = g.reshape(g.transpose(g.reshape(y, {1, nw, ws, nw, ws, C}), {0, 1, 3, 2, 4, 5}), {nw * nw, ws, ws, C});
    y = encoderAttention(g, w, key + ".attn", y, nw * nw, ws, C, heads);
    y = g.reshape(g.transpose(g.reshape(y, {1, nw, nw, ws, ws, C}), {0, 1, 3, 2, 4, 5}), {1, Tp, Tp, C});
    if (pad > 0) y = g.op("Slice", {y, g.ints({0, 0}), g.ints({T, T}), g.ints({1, 2})});
  }
  std::string h = g.add(x, y);
  std::string m = g.layerNorm(h, key + ".norm2", w(key + ".norm2.weight"), w(key + ".norm2.bias"), 1e-6);
  m = g.gelu(g.linear(m, key + ".mlp.lin1", w(key + ".mlp.lin1.weight"), w(key + ".mlp.lin1.bias")));
  m = g.linear(m, key + ".mlp.lin2", w(key + ".mlp.lin2.weight"), w(key + ".mlp.lin2.bias"));
  return g.add(h, m);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoder.

// SAM's decoder attention: q [1, n, C], k and v [1, m, C] -> [1, n, C], heads over the projected (internal) width.
std::string decoderAttention(Graph& g, const Weights& w, const std::string& key, const std::string& q,
                             const std::string& k, const std::string& v, int64_t heads) {
  const at::Tensor& wq = w(key + ".q_proj.weight");
  const int64_t internal = wq.size(0), c = internal / heads;
  auto split = [&](const std::string& x) { return g.transpose(g.reshape(x, {1, -1, heads, c}), {0, 2, 1, 3}); };
  std::string qh = split(g.linear(q, key + ".q_proj", wq, w(key + ".q_proj.bias")));
  std::string kh = split(g.linear(k, key + ".k_proj", w(key + ".k_proj.weight"), w(key + ".k_proj.bias")));
  std::string vh = split(g.linear(v, key + ".v_proj", w(key + ".v_proj.weight"), w(key + ".v_proj.bias")));
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c)));
  std::string logits = g.mul(g.op("MatMul", {qh, g.transpose(kh, {0, 1, 3, 2})}), g.scalar(scale));
  std::string out = g.op("MatMul", {g.softmaxLast(logits), vh});  // [1, H, n, c]
  out = g.reshape(g.transpose(out, {0, 2, 1, 3}), {1, -1, internal});
  return g.linear(out, key + ".out_proj", w(key + ".out_proj.weight"), w(key + ".out_proj.bias"));
}

// SAM's mask-decoder MLP: linear layers with ReLU between them.
std::string decoderMlp(Graph& g, const Weights& w, const std::string& key, const std::string& x, int layers) {
  std::string y = x;
  for (int i = 0; i < layers; ++i) {
    const std::string k = key + ".layers." + std::to_string(i);
    y = g.linear(y, k, w(k + ".weight"), w(k + ".bias"));
    if (i + 1 < layers) y = g.op("Relu", {y});
  }
  return y;
}

std::string norm(Graph& g, const Weights& w, const std::string& key, const std::string& x, double eps) {
  return g.layerNorm(x, key, w(key + ".weight"), w(key + ".bias"), eps);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
std::string encoderOnnxBytes(model::SamImpl& sam, const util::JobControl& job, int64_t* nodes, bool rawRgbInput) {
  c10::InferenceMode guard;
  const model::SamArch& arch = sam.arch();
  const Weights w(sam);
  Graph g("supersam_image_encoder",
          "SuperSAM image encoder: input_image [1,3,S,S] (normalised with SAM's pixel mean/std, zero-padded) -> "
          "image_embeddings [1,C,S/16,S/16]",
          kOnnxOpset, SUPERSAM_VERSION);
  const int64_t S = arch.imageSize, T = arch.tokensPerSide(), C = arch.encoderEmbedDim, out = arch.promptEmbedDim;
  std::string image = "input_image";
  if (rawRgbInput) {
    // SAM's preprocessing in front: [H, W, 3] RGB 0-255 (H, W <= S) -> normalised, channels first, zero-padded
    // bottom/right to S x S, batch of one.
    g.input("input_image", {-1, -1, 3}, {"height", "width"});
    const at::Tensor mean = at::tensor(std::vector<float>(model::kPixelMean.begin(), model::kPixelMean.end()));
    const at::Tensor stdv = at::tensor(std::vector<float>(model::kPixelStd.begin(), model::kPixelStd.end()));
    image = g.op("Div", {g.sub(image, g.weight("pixel_mean", mean)), g.weight("pixel_std", stdv)});
    image = g.transpose(image, {2, 0, 1});
    const std::string hw = g.op("Slice", {g.op("Shape", {"input_image"}), g.ints({0}), g.ints({2})});
    const std::string pads = g.concat({g.ints({0, 0, 0, 0}), g.sub(g.ints({S, S}), hw)}, 0);
    image = g.unsqueeze(g.op("Pad", {image, pads}), {0});
  } else {
    g.input("input_image", {1, 3, S, S});
  }

  g.setScope("image_encoder.patch_embed");
  std::string x = g.conv("Conv", image, "image_encoder.patch_embed.proj",
                         w("image_encoder.patch_embed.proj.weight"), w("image_encoder.patch_embed.proj.bias"),
                         arch.patchSize, arch.patchSize);
  x = g.add(g.transpose(x, {0, 2, 3, 1}), g.weight("image_encoder.pos_embed", w("image_encoder.pos_embed")));  // [1,T,T,C]
  const int64_t depth = arch.encoderDepth;
  for (int64_t i = 0; i < depth; ++i) {
    job.check();
    x = encoderBlock(g, w, arch, i, x);
    job.report(i + 1, depth + 1, "encoder block " + std::to_string(i + 1) + "/" + std::to_string(depth));
  }
  // Neck: 1x1 conv (a per-token product, no bias), LayerNorm2d, 3x3 conv (no bias), LayerNorm2d.
  g.setScope("image_encoder.neck");
  const at::Tensor& w0 = w("image_encoder.neck.0.weight");  // [out, C, 1, 1]
  std::string y = g.op("MatMul", {x, g.weight("image_encoder.neck.0.weight_t", w0.reshape({out, C}).t())});
  y = norm(g, w, "image_encoder.neck.1", y, 1e-6);
  y = g.conv("Conv", g.transpose(y, {0, 3, 1, 2}), "image_encoder.neck.2", w("image_encoder.neck.2.weight"),
             at::Tensor(), 3, 1, 1);
  y = norm(g, w, "image_encoder.neck.3", g.transpose(y, {0, 2, 3, 1}), 1e-6);
  y = g.transpose(y, {0, 3, 1, 2});
  g.rename(y, "image_embeddings");
  g.output("image_embeddings", {1, out, T, T});
  if (nodes) *nodes = g.nodeCount();
  return checked(g, "encoder");
}

std::string decoderOnnxBytes(model::SamImpl& sam, int64_t* nodes) {
  c10::InferenceMode guard;
  const model::SamArch& arch = sam.arch();
  const Weights w(sam);
  Graph g("supersam_prompt_decoder",
          "SuperSAM prompt encoder + mask decoder in the interface of SAM's SamOnnxModel (return_single_mask)",
          kOnnxOpset, SUPERSAM_VERSION);
  const int64_t S = arch.imageSize, T = arch.tokensPerSide(), C = arch.promptEmbedDim, L = arch.lowResSize();
  const int64_t heads = arch.decoderNumHeads;
  g.input("image_embeddings", {1, C, T, T});
  g.input("point_coords", {1, -1, 2}, {"", "num_points"});
  g.input("point_labels", {1, -1}, {"", "num_points"});
  g.input("mask_input", {1, 1, L, L});
  g.input("has_mask_input", {1});
  g.input("orig_im_size", {2});

  // Points: random Fourier features of the pixel centres in [0, 1], plus the label's embedding; padding points
  // (-1) get exactly not_a_point.
  g.setScope("prompt_encoder");
  std::string c = g.mul(g.add("point_coords", g.scalar(0.5f)), g.scalar(1.f / static_cast<float>(S)));
  c = g.sub(g.mul(c, g.scalar(2.f)), g.scalar(1.f));
  c = g.op("MatMul", {c, g.weight("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
                                  w("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"))});
  c = g.mul(c, g.scalar(static_cast<float>(2.0 * M_PI)));
  std::string pe = g.concat({g.op("Sin", {c}), g.op("Cos", {c})}, -1);  // [1, N, C]
  std::string labels = g.unsqueeze("point_labels", {2});  // [1, N, 1]
  auto isLabel = [&](float v) {
    return g.cast(g.op("Equal", {labels, g.scalar(v)}), kFloat);
  };
  std::string isPad = isLabel(-1.f);
  std::string sparse = g.mul(pe, g.sub(g.scalar(1.f), isPad));
  sparse = g.add(sparse, g.mul(g.weight("prompt_encoder.not_a_point_embed.weight",
                                        w("prompt_encoder.not_a_point_embed.weight")),
                               isPad));
  for (int i = 0; i < 4; ++i) {
    const std::string key = "prompt_encoder.point_embeddings." + std::to_string(i) + ".weight";
    sparse = g.add(sparse, g.mul(g.weight(key, w(key)), isLabel(static_cast<float>(i))));
  }

  // Dense: the mask input downscaled (conv 2x2/2, LayerNorm2d, GELU, conv 2x2/2, LayerNorm2d, GELU, conv 1x1) when
  // has_mask_input is 1, the no-mask embedding when 0.
  auto conv = [&](const std::string& x, const std::string& key, int64_t k, int64_t stride) {
    return g.conv("Conv", x, key, w(key + ".weight"), w(key + ".bias"), k, stride);
  };
  const std::string md = "prompt_encoder.mask_downscaling";
  std::string d = conv("mask_input", md + ".0", 2, 2);
  d = g.gelu(g.layerNorm2d(d, md + ".1", w(md + ".1.weight"), w(md + ".1.bias"), 1e-6));
  d = conv(d, md + ".3", 2, 2);
  d = g.gelu(g.layerNorm2d(d, md + ".4", w(md + ".4.weight"), w(md + ".4.bias"), 1e-6));
  d = conv(d, md + ".6", 1, 1);
  std::string noMask = g.weight("prompt_encoder.no_mask_embed.weight",
                                w("prompt_encoder.no_mask_embed.weight").reshape({1, C, 1, 1}));
  std::string dense = g.add(g.mul(d, "has_mask_input"), g.mul(noMask, g.sub(g.scalar(1.f), "has_mask_input")));

  // Two-way transformer.
  g.setScope("mask_decoder.transformer");
  at::Tensor densePe = sam.prompt_encoder->pe_layer->forward(T, T).unsqueeze(0);  // [1, C, T, T]
  std::string keyPe = g.weight("prompt_encoder.dense_pe_tokens", densePe.flatten(2).permute({0, 2, 1}));
  std::string keys = g.transpose(g.reshape(g.add("image_embeddings", dense), {1, C, T * T}), {0, 2, 1});
  at::Tensor outTokens = at::cat({w("mask_decoder.iou_token.weight"), w("mask_decoder.mask_tokens.weight")}, 0);
  const int64_t numMaskTokens = w("mask_decoder.mask_tokens.weight").size(0);
  const std::string tokens =
      g.concat({g.weight("mask_decoder.output_tokens", outTokens.unsqueeze(0)), sparse}, 1);  // [1, 1 + 4 + N, C]
  std::string queries = tokens;
  auto& tf = *sam.mask_decoder->transformer;
  for (size_t i = 0; i < tf.layers->size(); ++i) {
    const std::string key = "mask_decoder.transformer.layers." + std::to_string(i);
    auto& layer = *tf.layers[i]->as<model::TwoWayAttentionBlockImpl>();
    if (i == 0) {  // the first layer's self-attention skips the positional encoding and the residual
      queries = decoderAttention(g, w, key + ".self_attn", queries, queries, queries, heads);
    } else {
      std::string q = g.add(queries, tokens);
      queries = g.add(queries, decoderAttention(g, w, key + ".self_attn", q, q, queries, heads));
    }
    queries = norm(g, w, key + ".norm1", queries, layer.norm1->options.eps());
    std::string q = g.add(queries, tokens), k = g.add(keys, keyPe);
    queries = g.add(queries, decoderAttention(g, w, key + ".cross_attn_token_to_image", q, k, keys, heads));
    queries = norm(g, w, key + ".norm2", queries, layer.norm2->options.eps());
    std::string mlp = g.linear(queries, key + ".mlp.lin1", w(key + ".mlp.lin1.weight"), w(key + ".mlp.lin1.bias"));
    mlp = g.linear(g.op("Relu", {mlp}), key + ".mlp.lin2", w(key + ".mlp.lin2.weight"), w(key + ".mlp.lin2.bias"));
    queries = norm(g, w, key + ".norm3", g.add(queries, mlp), layer.norm3->options.eps());
    q = g.add(queries, tokens);
    keys = g.add(keys, decoderAttention(g, w, key + ".cross_attn_image_to_token", k, q, queries, heads));
    keys = norm(g, w, key + ".norm4", keys, layer.norm4->options.eps());
  }
  {
    std::string q = g.add(queries, tokens), k = g.add(keys, keyPe);
    queries = g.add(queries, decoderAttention(g, w, "mask_decoder.transformer.final_attn_token_to_image", q, k,
                                              keys, heads));
    queries = norm(g, w, "mask_decoder.transformer.norm_final_attn", queries, tf.norm_final_attn->options.eps());
  }

  // Heads: upscale the image tokens 4x, dot them with each mask token's hypernetwork output; IoU from the IoU token.
  g.setScope("mask_decoder");
  const std::string up = "mask_decoder.output_upscaling";
  auto deconv = [&](const std::string& x, const std::string& key) {
    return g.conv("ConvTranspose", x, key, w(key + ".weight"), w(key + ".bias"), 2, 2);
  };
  std::string img = g.reshape(g.transpose(keys, {0, 2, 1}), {1, C, T, T});
  img = deconv(img, up + ".0");
  img = g.gelu(g.layerNorm2d(img, up + ".1", w(up + ".1.weight"), w(up + ".1.bias"), 1e-6));
  img = g.gelu(deconv(img, up + ".3"));  // [1, C/8, 4T, 4T]
  const int64_t c8 = w(up + ".3.weight").size(1);
  std::vector<std::string> hyper;
  for (int64_t i = 0; i < numMaskTokens; ++i) {
    std::string t = g.gather(queries, 1 + i, 1);  // [1, C]
    hyper.push_back(g.unsqueeze(
        decoderMlp(g, w, "mask_decoder.output_hypernetworks_mlps." + std::to_string(i), t, 3), {1}));
  }
  std::string masks = g.op("MatMul", {g.concat(hyper, 1), g.reshape(img, {1, c8, L * L})});
  masks = g.reshape(masks, {1, numMaskTokens, L, L});
  std::string iou = decoderMlp(g, w, "mask_decoder.iou_prediction_head", g.gather(queries, 0, 1), 3);  // [1, 4]

  // Single mask by point count: score = iou + (N - 2.5) * [1000, 0, 0, 0].
  g.setScope("select");
  const std::string n = g.cast(g.gather(g.op("Shape", {"point_coords"}), 1, 0), kFloat);
  at::Tensor reweight = at::zeros({1, numMaskTokens});
  reweight[0][0] = 1000.0;
  std::string score = g.add(iou, g.mul(g.sub(n, g.scalar(2.5f)), g.weight("select.reweight", reweight)));
  const std::string best =
      g.op("ArgMax", {score}, {OnnxAttr::integer("axis", 1), OnnxAttr::integer("keepdims", 0)});  // [1]
  const std::string lowRes = g.op("Gather", {masks, best}, {OnnxAttr::integer("axis", 1)});
  const std::string iouSel = g.op("Gather", {iou, best}, {OnnxAttr::integer("axis", 1)});

  // Post-processing: bilinear to S x S, crop to the resized image, bilinear to orig_im_size.
  g.setScope("postprocess");
  std::string full = g.resize(lowRes, g.ints({1, 1, S, S}));
  const std::string longest = g.op("ReduceMax", {"orig_im_size"}, {OnnxAttr::integer("keepdims", 0)});
  const std::string scaleS = g.op("Div", {g.scalar(static_cast<float>(S)), longest});
  const std::string pre = g.cast(g.op("Floor", {g.add(g.mul(scaleS, "orig_im_size"), g.scalar(0.5f))}), kInt64);
  const std::string cropped = g.op("Slice", {full, g.ints({0, 0}), pre, g.ints({2, 3})});
  const std::string sizes = g.concat({g.ints({1, 1}), g.cast("orig_im_size", kInt64)}, 0);
  const std::string finalMasks = g.resize(cropped, sizes);

  g.rename(finalMasks, "masks");
  g.rename(iouSel, "iou_predictions");
  g.rename(lowRes, "low_res_masks");
  g.output("masks", {1, 1, -1, -1}, {"", "", "orig_h", "orig_w"});
  g.output("iou_predictions", {1, 1});
  g.output("low_res_masks", {1, 1, L, L});
  if (nodes) *nodes = g.nodeCount();
  return checked(g, "decoder");
}

OnnxExportResult exportOnnx(const model::Sam& supernet, const supernet::Subnet& s, const std::string& dir,
                            const util::JobControl& job, bool rgbEncoder) {
  namespace fs = std::filesystem;
  model::Sam small = supernet::extractModel(supernet, s);  // util::Error when s does not fit the arch
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw util::Error("ONNX export: cannot create the output folder '" + dir + "'" +
                      (ec ? ": " + ec.message() : std::string(": it is not a folder")));
  }
  OnnxExportResult r;
  const std::string enc = encoderOnnxBytes(*small, util::phaseOf(job, 0.0, rgbEncoder ? 0.4 : 0.8), &r.encoderNodes);
  std::string encRgb;
  if (rgbEncoder) encRgb = encoderOnnxBytes(*small, util::phaseOf(job, 0.4, 0.8), nullptr, true);
  job.check();
  const std::string dec = decoderOnnxBytes(*small, &r.decoderNodes);
  job.check();
  const model::SamArch& arch = small->arch();
  nlohmann::json side;
  side["format"] = "supersam-onnx";
  side["opset"] = kOnnxOpset;
  side["input_size"] = arch.imageSize;
  side["pixel_mean"] = {model::kPixelMean[0], model::kPixelMean[1], model::kPixelMean[2]};
  side["pixel_std"] = {model::kPixelStd[0], model::kPixelStd[1], model::kPixelStd[2]};
  side["pixel_order"] = "RGB, 0-255, normalised then zero-padded bottom/right to input_size";
  side["subnet"] = s.toString();
  side["subnet_hash"] = s.hash();
  side["arch"] = arch.toJson();
  side["encoder"] = {{"file", kOnnxEncoderFile},
                     {"input", {{"input_image", {1, 3, arch.imageSize, arch.imageSize}}}},
                     {"output", {{"image_embeddings", {1, arch.promptEmbedDim, arch.tokensPerSide(), arch.tokensPerSide()}}}}};
  side["decoder"] = {{"file", kOnnxDecoderFile},
                     {"inputs", {"image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input",
                                 "orig_im_size"}},
                     {"outputs", {"masks", "iou_predictions", "low_res_masks"}},
                     {"return_single_mask", true},
                     {"point_labels", "1 foreground, 0 background, 2 box top-left, 3 box bottom-right, -1 padding"}};
  r.encoderPath = (fs::path(dir) / kOnnxEncoderFile).string();
  r.decoderPath = (fs::path(dir) / kOnnxDecoderFile).string();
  r.sidecarPath = (fs::path(dir) / kOnnxSidecarFile).string();
  util::writeFileAtomic(r.encoderPath, enc);
  util::writeFileAtomic(r.decoderPath, dec);
  if (rgbEncoder) {
    side["encoder_rgb"] = {{"file", kOnnxRgbEncoderFile},
                           {"input", "input_image [H, W, 3] float32 RGB 0-255, H and W <= input_size"},
                           {"output", "image_embeddings"}};
    r.rgbEncoderPath = (fs::path(dir) / kOnnxRgbEncoderFile).string();
    util::writeFileAtomic(r.rgbEncoderPath, encRgb);
    // X-AnyLabeling's custom SAM model config (its segment_anything loader scales prompts for a 1024-pixel model).
    const std::string name = "supersam_" + s.hash();
    std::string yaml = "type: segment_anything\nname: " + name + "\ndisplay_name: SuperSAM subnet " + s.hash() +
                       "\nencoder_model_path: " + kOnnxRgbEncoderFile + "\ndecoder_model_path: " + kOnnxDecoderFile +
                       "\ninput_size: " + std::to_string(arch.imageSize) + "\nmax_width: " +
                       std::to_string(arch.imageSize) + "\nmax_height: " + std::to_string(arch.imageSize * 2 / 3) +
                       "\n";
    r.anylabelingConfigPath = (fs::path(dir) / kAnyLabelingConfigFile).string();
    util::writeFileAtomic(r.anylabelingConfigPath, yaml);
  }
  util::writeFileAtomic(r.sidecarPath, side.dump(2) + "\n");
  r.encoderBytes = static_cast<int64_t>(enc.size());
  r.decoderBytes = static_cast<int64_t>(dec.size());
  job.report(util::kPhaseUnits, util::kPhaseUnits, "wrote " + dir);
  return r;
}

}  // namespace supersam::exporter
