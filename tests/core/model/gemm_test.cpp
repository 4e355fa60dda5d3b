// model::gemm (oneDNN's sgemm where the process has it, ATen otherwise) against ATen's products.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "core/model/gemm.h"

namespace supersam::model {
namespace {

double relDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

TEST(Gemm, DebianLibTorchBringsOneDnnSgemm) {
  // The decoder's speed on Debian depends on it; another LibTorch build may lack it and then falls back.
  EXPECT_TRUE(fastGemmAvailable()) << "dnnl_sgemm not found in the process (LibTorch without libdnnl?)";
}

TEST(Gemm, MatchesAtenForEveryLayoutBiasAndAddend) {
  at::manual_seed(2);
  at::NoGradGuard ng;
  const at::Tensor a = at::randn({57, 130}), b = at::randn({130, 300});
  const at::Tensor bias = at::randn({300}), add = at::randn({57, 300});
  const at::Tensor expected = at::mm(a, b);
  // Row-major and transposed views of both operands, and a row-major operand with a leading dimension > its width.
  const at::Tensor aT = a.t().contiguous().t(), bT = b.t().contiguous().t();
  const at::Tensor aWide = at::randn({57, 200}).narrow(1, 0, 130).copy_(a);
  for (const at::Tensor& x : {a, aT, aWide}) {
    for (const at::Tensor& y : {b, bT}) {
      EXPECT_LT(relDiff(gemm(x, y), expected), 1e-5);
      EXPECT_LT(relDiff(gemm(x, y, bias), expected + bias), 1e-5);
      EXPECT_LT(relDiff(gemm(x, y, bias, add), expected + bias + add), 1e-5);
    }
  }
  // One row (a prompt token): the bias and addend, which then have the result's shape, are not written to.
  const at::Tensor row = a.narrow(0, 0, 1), biasCopy = bias.clone(), addRow = add.narrow(0, 0, 1).clone();
  const at::Tensor addRowCopy = addRow.clone();
  EXPECT_LT(relDiff(gemm(row, b, bias), expected.narrow(0, 0, 1) + bias), 1e-5);
  EXPECT_LT(relDiff(gemm(row, b, bias, addRow), expected.narrow(0, 0, 1) + bias + addRow), 1e-5);
  EXPECT_TRUE(bias.equal(biasCopy));
  EXPECT_TRUE(addRow.equal(addRowCopy));
  // The addend is not written to; a broadcast addend [1, N] works.
  const at::Tensor addCopy = add.clone();
  gemm(a, b, at::Tensor(), add);
  EXPECT_TRUE(add.equal(addCopy));
  EXPECT_LT(relDiff(gemm(a, b, at::Tensor(), add.narrow(0, 0, 1)), expected + add.narrow(0, 0, 1)), 1e-5);
  // Batch of one, as the decoder calls it, and a real batch (ATen).
  EXPECT_LT(relDiff(gemm(a.unsqueeze(0), b.unsqueeze(0)), expected.unsqueeze(0)), 1e-5);
  const at::Tensor a3 = at::randn({3, 57, 130});
  EXPECT_LT(relDiff(gemm(a3, b), at::matmul(a3, b)), 1e-5);
}

TEST(Gemm, SwitchedOffOrUnderAutogradItIsAtenWithItsGraph) {
  at::manual_seed(4);
  const at::Tensor a = at::randn({7, 64}), b = at::randn({64, 32});
  setFastGemmEnabled(false);
  EXPECT_FALSE(fastGemmEnabled());
  EXPECT_LT(relDiff(gemm(a, b), at::mm(a, b)), 1e-6);
  setFastGemmEnabled(true);
  c10::AutoGradMode grad(true);
  const at::Tensor w = b.clone().requires_grad_(true);
  at::Tensor out = gemm(a, w);
  EXPECT_TRUE(out.requires_grad());
  out.sum().backward();
  EXPECT_LT(relDiff(w.grad(), a.sum(0).unsqueeze(1).expand({64, 32})), 1e-5);
}

}  // namespace
}  // namespace supersam::model
