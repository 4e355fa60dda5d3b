#pragma once
// Building blocks shared by SAM's encoder and decoder (segment_anything/modeling/common.py).
// Thread-safety: modules are read-only during forward; concurrent forwards on one module are safe in inference.

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace supersam::model {

enum class Activation { Gelu, Relu };

// lin2(act(lin1(x))). The encoder uses GELU, the two-way transformer ReLU.
class MLPBlockImpl : public torch::nn::Module {
 public:
  MLPBlockImpl(int64_t embeddingDim, int64_t mlpDim, Activation act = Activation::Gelu);
  // x [..., C] -> [..., C]. `width` < 0 or == mlpDim: every hidden neuron; otherwise only the first `width`
  // (narrow() views of lin1's rows and lin2's columns, no copy), as an elastic subnet runs it.
  at::Tensor forward(const at::Tensor& x, int64_t width = -1);
  int64_t hiddenDim() const { return m_mlpDim; }

  torch::nn::Linear lin1{nullptr}, lin2{nullptr};

 private:
  int64_t m_mlpDim;
  Activation m_act;
};
TORCH_MODULE(MLPBlock);

// LayerNorm over the channel dimension of [B, C, H, W] (eps 1e-6), as SAM's LayerNorm2d.
class LayerNorm2dImpl : public torch::nn::Module {
 public:
  explicit LayerNorm2dImpl(int64_t channels, double eps = 1e-6);
  at::Tensor forward(const at::Tensor& x);  // [B, C, H, W] -> same

  at::Tensor weight, bias;

 private:
  double m_eps;
};
TORCH_MODULE(LayerNorm2d);

// True when no autograd graph is being recorded, so forward passes may work in place on their own temporaries.
bool inplaceAllowed();

// Whether x may take the fast inference path (decoder_kernels.h, gemm.h): float32 on the CPU, no gradient recorded.
// Anything else runs ATen's operations.
bool fastCpuPath(const at::Tensor& x);

// at::linear(x, w, b) (b may be undefined); for a few rows on the fast path (the decoder's prompt tokens) through
// gemm() or, without oneDNN, kernels::fewRowsLinear: BLAS runs such products several times slower.
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

}  // namespace supersam::model
