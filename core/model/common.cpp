#include "core/model/common.h"

#include <vector>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "core/model/decoder_kernels.h"
#include "core/model/gemm.h"

namespace supersam::model {

bool inplaceAllowed() { return !c10::GradMode::is_enabled(); }

bool fastCpuPath(const at::Tensor& x) {
  return inplaceAllowed() && x.device().is_cpu() && x.scalar_type() == at::kFloat;
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  constexpr int64_t kFewRows = 16;
  const int64_t K = x.size(-1), rows = K > 0 ? x.numel() / K : 0;
  const bool fits = rows > 0 && rows <= kFewRows && fastCpuPath(x) && w.scalar_type() == at::kFloat &&
                    w.dim() == 2 && w.size(1) == K && w.stride(1) == 1 && (!b.defined() || b.is_contiguous());
  if (!fits) return at::linear(x, w, b);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  if (fastGemmEnabled()) return gemm(x.reshape({rows, K}), w.t(), b).view(shape);
  const at::Tensor xc = x.contiguous();
  at::Tensor out = at::empty(shape, x.options());
  kernels::fewRowsLinear(xc.data_ptr<float>(), rows, K, w.data_ptr<float>(), w.stride(0),
                         b.defined() ? b.data_ptr<float>() : nullptr, w.size(0), out.data_ptr<float>());
  return out;
}

MLPBlockImpl::MLPBlockImpl(int64_t embeddingDim, int64_t mlpDim, Activation act) : m_mlpDim(mlpDim), m_act(act) {
  lin1 = register_module("lin1", torch::nn::Linear(embeddingDim, mlpDim));
  lin2 = register_module("lin2", torch::nn::Linear(mlpDim, embeddingDim));
}

at::Tensor MLPBlockImpl::forward(const at::Tensor& x, int64_t width) {
  TORCH_CHECK(width <= m_mlpDim, "MLPBlock: width ", width, " exceeds the hidden size ", m_mlpDim);
  const bool full = width < 0 || width == m_mlpDim;
  const at::Tensor& w1 = lin1->weight;
  const at::Tensor& b1 = lin1->bias;
  const at::Tensor& w2 = lin2->weight;
  at::Tensor h = full ? linear(x, w1, b1) : linear(x, w1.narrow(0, 0, width), b1.narrow(0, 0, width));
  const bool inplace = inplaceAllowed();
  if (m_act == Activation::Gelu) {
    h = inplace ? at::gelu_(h) : at::gelu(h);
  } else {
    h = inplace ? at::relu_(h) : at::relu(h);
  }
  return full ? linear(h, w2, lin2->bias) : linear(h, w2.narrow(1, 0, width), lin2->bias);
}

LayerNorm2dImpl::LayerNorm2dImpl(int64_t channels, double eps) : m_eps(eps) {
  weight = register_parameter("weight", at::ones({channels}));
  bias = register_parameter("bias", at::zeros({channels}));
}

at::Tensor LayerNorm2dImpl::forward(const at::Tensor& x) {
  // Same arithmetic as SAM: mean and biased variance over C, then scale and shift.
  at::Tensor u = x.mean(1, /*keepdim=*/true);
  at::Tensor d = x - u;
  at::Tensor s = d.pow(2).mean(1, true);
  at::Tensor y = d / at::sqrt(s + m_eps);
  return weight.view({-1, 1, 1}) * y + bias.view({-1, 1, 1});
}

}  // namespace supersam::model
