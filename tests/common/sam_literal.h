#pragma once
// SAM's own formulas, written out literally, for tests and benchmarks to compare the optimised paths with.

#include <ATen/core/Tensor.h>

#include "core/model/transformer.h"

namespace supersam::test {

// segment_anything/modeling/transformer.py Attention.forward with the module's weights: q [B, Nq, C],
// k, v [B, Nk, C] -> [B, Nq, C].
at::Tensor samAttention(model::DecoderAttentionImpl& a, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

}  // namespace supersam::test
