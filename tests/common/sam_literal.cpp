#include "tests/common/sam_literal.h"

#include <cmath>

#include <ATen/ATen.h>

namespace supersam::test {

at::Tensor samAttention(model::DecoderAttentionImpl& a, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const int64_t heads = a.numHeads();
  auto split = [&](const at::Tensor& x) {
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
  };
  at::Tensor qh = split(at::linear(q, a.q_proj->weight, a.q_proj->bias));
  at::Tensor kh = split(at::linear(k, a.k_proj->weight, a.k_proj->bias));
  at::Tensor vh = split(at::linear(v, a.v_proj->weight, a.v_proj->bias));
  at::Tensor attn = at::softmax(at::matmul(qh, kh.transpose(2, 3)) / std::sqrt(static_cast<double>(qh.size(3))), -1);
  at::Tensor o = at::matmul(attn, vh).transpose(1, 2);
  o = o.reshape({o.size(0), o.size(1), o.size(2) * o.size(3)});
  return at::linear(o, a.out_proj->weight, a.out_proj->bias);
}

}  // namespace supersam::test
