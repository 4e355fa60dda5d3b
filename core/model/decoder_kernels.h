#pragma once
// Fused CPU kernels for the mask decoder's per-prompt image side (float32, contiguous, no autograd): the steps where
// ATen's general kernels spend more time moving data than computing. Each matches the ATen composition it replaces
// to float rounding (GELU's erf to ~3e-7 absolute, as ATen's own vectorised erf); decoder_kernels_test checks them.
// Compiled for AVX-512, AVX2+FMA and baseline x86-64, chosen at load time (GCC target_clones).
// Thread-safety: pure functions; they parallelise internally with at::parallel_for.

#include <cstdint>

namespace supersam::model::kernels {

// In place, every row of x [rows, width]: x += inputBias (per column; null: none), then y = (x - mean) /
// sqrt(var + eps) * gamma + beta (biased variance, as LayerNorm), then GELU (erf form) when `gelu`.
void layerNormRows(float* x, int64_t rows, int64_t width, const float* inputBias, const float* gamma,
                   const float* beta, float eps, bool gelu);

// out[h, t, :] (+)= sum_k a[h, t, k] * bT[h, k, :] for each of H heads: a [H, n, c] (few rows, a short inner
// dimension c), bT [H, c, N] (N long), out [H, n, N]; added to out's values when `accumulate`. This is the per-head
// product of a few prompt tokens with thousands of image tokens, which BLAS runs poorly for c = 16.
void headsProduct(const float* a, const float* bT, int64_t H, int64_t n, int64_t c, int64_t N, float* out,
                  bool accumulate);

// out [M, O] = x [M, K] W^T (+ b) for a few rows M (prompt tokens): W [O, K] with row stride ldw (>= K), b [O] or
// null. BLAS spends most of such a product packing W; this reads each row of W once.
void fewRowsLinear(const float* x, int64_t M, int64_t K, const float* W, int64_t ldw, const float* b, int64_t O,
                   float* out);

// In place, softmax over the middle axis of x [G, n, N] (a few tokens n, for each of N image positions).
void softmaxMiddle(float* x, int64_t G, int64_t n, int64_t N);

// The decoder's last up-scaling step and the mask product in one pass. y [h*w*4, 4*c] is the second transposed
// convolution's output before its GELU, rows in the order (i, j, di, dj), columns (ei, ej, channel); hyper [M, c].
// Writes masks [M, 4h, 4w]: masks[m, 4i + 2di + ei, 4j + 2dj + ej] =
// sum_k hyper[m, k] * GELU(y[row, col(ei, ej, k)] + inputBias[k]) (inputBias [c], the convolution's bias, or null).
// y is overwritten (its GELU).
void geluHyperMasks(float* y, int64_t h, int64_t w, int64_t c, const float* inputBias, const float* hyper, int64_t M,
                    float* masks);

}  // namespace supersam::model::kernels
