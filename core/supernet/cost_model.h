#pragma once
// Exact, analytical costs of a subnet: parameter count (every tensor of the state dict: weights, biases, position
// embedding, relative-position tables, neck, prompt encoder incl. its Gaussian positional matrix, mask decoder),
// weight bytes at fp32/fp16, and multiply-accumulates (MACs) of the image encoder at the arch's input size.
//
// MACs count the matrix products and convolutions only (LayerNorm, softmax, GELU, additions are not MACs):
//   patch embed conv (T*T*C*3*p*p), per kept block: qkv and proj over the window-padded tokens, attention
//   Q K^T and A V per window (padding included, as SAM computes it), the decomposed relative-position terms
//   (2 * N * side * headDim per head and window), the MLP at the subnet's width over the T*T tokens; the neck
//   (1x1 conv C -> C_out, 3x3 conv C_out -> C_out). T = image_size / patch_size.
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/model/arch.h"
#include "core/supernet/subnet.h"

namespace supersam::supernet {

struct TensorShape {
  std::string name;            // official SAM state-dict key (blocks keep their supernet index)
  std::vector<int64_t> shape;
  int64_t numel() const;
};

// Every state-dict tensor the model of `arch` running `subnet` needs (null = the full model): dropped blocks
// omitted, lin1 weight/bias and lin2 weight sliced to the subnet width. Order: as SAM's state dict.
std::vector<TensorShape> parameterShapes(const model::SamArch& arch, const Subnet* subnet = nullptr);

struct Cost {
  int64_t params = 0;               // everything
  int64_t encoderParams = 0;        // image_encoder.*
  int64_t promptEncoderParams = 0;  // prompt_encoder.*
  int64_t maskDecoderParams = 0;    // mask_decoder.*
  int64_t bytesFp32 = 0;            // params * 4
  int64_t bytesFp16 = 0;            // params * 2
  int64_t encoderMacs = 0;          // one image at arch.imageSize
  double mbFp32() const { return bytesFp32 / 1e6; }
  double mbFp16() const { return bytesFp16 / 1e6; }
  double gmacs() const { return encoderMacs / 1e9; }
};

// Throws util::Error when the subnet does not fit the arch (see Subnet::checkAgainst).
Cost computeCost(const model::SamArch& arch, const Subnet& subnet);
Cost computeCost(const model::SamArch& arch);  // the full model

int64_t encoderMacs(const model::SamArch& arch, const Subnet& subnet);
// MACs of one block at width `mlpWidth` (the block's attention kind from arch.isGlobal(block)).
int64_t blockMacs(const model::SamArch& arch, int64_t block, int64_t mlpWidth);

// Human-readable multi-line summary (params, MB fp32/fp16, GMACs, share of the full model).
std::string describeCost(const model::SamArch& arch, const Subnet& subnet);

}  // namespace supersam::supernet
