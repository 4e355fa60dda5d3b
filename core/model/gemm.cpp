#include "core/model/gemm.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include "core/model/common.h"

namespace supersam::model {

namespace {

// oneDNN's C API (dnnl.h, stable across 2.x and 3.x): row-major C = alpha op(A) op(B) + beta C; 0 = success.
using SgemmFn = int (*)(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

SgemmFn findSgemm() {
  static const SgemmFn fn = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
  return fn;
}

// SUPERSAM_GEMM=aten switches it off from the start (to compare, or to rule it out).
std::atomic<bool> g_enabled{[] {
  const char* v = std::getenv("SUPERSAM_GEMM");
  return !(v && std::string(v) == "aten");
}()};

// A row-major operand: transposed flag and leading dimension, or false when neither stride is 1.
bool layoutOf(const at::Tensor& t, char& trans, int64_t& ld) {
  if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(1, t.size(1))) {
    trans = 'N';
    ld = t.stride(0);
    return true;
  }
  if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(1, t.size(0))) {
    trans = 'T';
    ld = t.stride(1);
    return true;
  }
  return false;
}

at::Tensor atenMm(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias, const at::Tensor& add) {
  at::Tensor out = bias.defined() ? at::addmm(bias, a, b) : at::mm(a, b);
  return add.defined() ? out + add : out;
}

at::Tensor mm2d(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias, const at::Tensor& add) {
  RECORD_FUNCTION("supersam::gemm", std::vector<c10::IValue>({a, b}));  // visible to profilers
  char ta = 'N', tb = 'N';
  int64_t lda = 0, ldb = 0;
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  const bool fast = fastGemmEnabled() && fastCpuPath(a) && fastCpuPath(b) && M > 0 && N > 0 && K > 0 &&
                    layoutOf(a, ta, lda) && layoutOf(b, tb, ldb);
  if (!fast) return atenMm(a, b, bias, add);
  // A fresh result: expand().contiguous() may return the bias or addend itself (one row), which must not be
  // written to.
  at::Tensor out = at::empty({M, N}, a.options());
  float beta = 0.0f;
  if (add.defined()) {
    out.copy_(add.expand({M, N}));
    if (bias.defined()) out.add_(bias);
    beta = 1.0f;
  } else if (bias.defined()) {
    out.copy_(bias.expand({M, N}));
    beta = 1.0f;
  }
  const int status = findSgemm()(ta, tb, M, N, K, 1.0f, a.data_ptr<float>(), lda, b.data_ptr<float>(), ldb, beta,
                           out.data_ptr<float>(), N);
  if (status != 0) return atenMm(a, b, bias, add);  // e.g. an argument oneDNN refuses: ATen computes the same
  return out;
}

}  // namespace

bool fastGemmAvailable() { return findSgemm() != nullptr; }
void setFastGemmEnabled(bool enabled) { g_enabled.store(enabled); }
bool fastGemmEnabled() { return g_enabled.load() && fastGemmAvailable(); }

at::Tensor gemm(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias, const at::Tensor& add) {
  if (a.dim() == 2 && b.dim() == 2) return mm2d(a, b, bias, add);
  if (a.dim() == 3 && a.size(0) == 1 && (b.dim() == 2 || (b.dim() == 3 && b.size(0) == 1))) {
    const at::Tensor b2 = b.dim() == 3 ? b[0] : b;
    const at::Tensor add2 = add.defined() ? add.expand({1, a.size(1), b2.size(1)})[0] : add;
    return mm2d(a[0], b2, bias, add2).unsqueeze(0);
  }
  at::Tensor out = bias.defined() ? at::matmul(a, b) + bias : at::matmul(a, b);
  return add.defined() ? out + add : out;
}

}  // namespace supersam::model
