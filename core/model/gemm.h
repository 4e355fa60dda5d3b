#pragma once
// Matrix products of the decoder's inference path. On the CPU, without autograd, they go through oneDNN's sgemm when
// the process has it (Debian's LibTorch links libdnnl; found at run time, so another LibTorch build simply falls
// back): its JIT kernels use the CPU's widest vectors and handle the decoder's skinny shapes (a few prompt tokens
// against 4096 image tokens) several times faster than the BLAS LibTorch calls. Everywhere else: ATen.
// Thread-safety: safe; the switch below is a process-wide flag meant for benchmarks.

#include <ATen/core/Tensor.h>

namespace supersam::model {

// Whether oneDNN's sgemm was found in this process, and whether it is used (default: used where found).
bool fastGemmAvailable();
void setFastGemmEnabled(bool enabled);
bool fastGemmEnabled();

// a [M, K] x b [K, N] (+ bias [N] on every row) (+ add [M, N]); a and b may be transposed views. Also for a leading
// batch dimension of 1 ([1, M, K] x [1, K, N] or [K, N]); other batches: ATen.
at::Tensor gemm(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias = at::Tensor(),
              const at::Tensor& add = at::Tensor());

}  // namespace supersam::model
