#include "core/model/decoder_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "core/util/vector_clones.h"

// The loops below are written so that GCC vectorises them (no calls, no branches the vectoriser cannot turn into
// selects), each built for several vector widths (core/util/vector_clones.h).

namespace supersam::model::kernels {

namespace {

// e^x for x <= 0, clamped at -80 so that neither the result nor products with it become subnormal (slow on x86;
// e^-80 ~ 1.8e-35 is already far below anything GELU's erf can tell from 0). Cody-Waite reduction by ln 2 and a
// degree-6 polynomial (Cephes' expf coefficients), relative error ~1e-7.
inline float expNonPositive(float x) {
  x = x > -80.0f ? x : -80.0f;
  const float roundMagic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
  const float n = (x * 1.44269504088896341f + roundMagic) - roundMagic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n in [-116, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// GELU, erf form: x/2 (1 + erf(x / sqrt 2)), erf by Abramowitz and Stegun 7.1.26 (absolute error <= 1.5e-7; the
// formula ATen's vectorised erf uses too).
inline float geluOf(float x) {
  const float z = std::fabs(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float erfAbs = 1.0f - poly * expNonPositive(-z * z);
  return 0.5f * x * (1.0f + std::copysign(erfAbs, x));
}

// x [pixels, c] = GELU(x + bias) (bias [c] or null)
SUPERSAM_VECTOR_CLONES
void geluInPlace(float* x, int64_t pixels, int64_t c, const float* bias) {
  if (!bias) {
    for (int64_t i = 0; i < pixels * c; ++i) x[i] = geluOf(x[i]);
    return;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    float* xp = x + p * c;
    for (int64_t k = 0; k < c; ++k) xp[k] = geluOf(xp[k] + bias[k]);
  }
}

SUPERSAM_VECTOR_CLONES
void normRows(float* x, int64_t rows, int64_t width, const float* inputBias, const float* gamma, const float* beta,
              float eps, bool gelu) {
  const float invWidth = 1.0f / static_cast<float>(width);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * width;
    if (inputBias) {
      for (int64_t k = 0; k < width; ++k) row[k] += inputBias[k];
    }
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t k = 0; k < width; ++k) sum += row[k];
    const float mean = sum * invWidth;
    float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
    for (int64_t k = 0; k < width; ++k) squares += (row[k] - mean) * (row[k] - mean);
    const float inv = 1.0f / std::sqrt(squares * invWidth + eps);
    if (gelu) {
      for (int64_t k = 0; k < width; ++k) row[k] = geluOf((row[k] - mean) * inv * gamma[k] + beta[k]);
    } else {
      for (int64_t k = 0; k < width; ++k) row[k] = (row[k] - mean) * inv * gamma[k] + beta[k];
    }
  }
}

// out[i * strideI + j * strideJ] = A_i . B_j (+ bias[i]) for rows i in [i0, i1) of A [.., K] (row stride lda) and
// all J rows of B [J, K] (row stride ldb); bias null: none. The dots of the mask product and of fewRowsLinear.
SUPERSAM_VECTOR_CLONES
void rowDots(const float* A, int64_t lda, int64_t i0, int64_t i1, const float* B, int64_t ldb, int64_t J, int64_t K,
             const float* bias, float* out, int64_t strideI, int64_t strideJ) {
  for (int64_t i = i0; i < i1; ++i) {
    const float* ai = A + i * lda;
    for (int64_t j = 0; j < J; ++j) {
      const float* bj = B + j * ldb;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < K; ++k) acc += ai[k] * bj[k];
      out[i * strideI + j * strideJ] = bias ? acc + bias[i] : acc;
    }
  }
}

// out[r, :] (+)= sum_k a[r, k] * bT[k, :] for rows r of one head: 64 columns at a time (independent chains of
// multiply-adds), their sums kept in registers over k (one store per output instead of one per k).
SUPERSAM_VECTOR_CLONES
void rowsTimesKeys(const float* a, int64_t rows, const float* bT, int64_t c, int64_t N, float* out, bool accumulate) {
  constexpr int64_t kLanes = 64;
  const int64_t full = N / kLanes * kLanes;
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a + r * c;
    float* o = out + r * N;
    for (int64_t j0 = 0; j0 < full; j0 += kLanes) {
      float acc[kLanes];
      for (int64_t j = 0; j < kLanes; ++j) acc[j] = accumulate ? o[j0 + j] : 0.0f;
      for (int64_t k = 0; k < c; ++k) {
        const float coef = ar[k];
        const float* b = bT + k * N + j0;
        for (int64_t j = 0; j < kLanes; ++j) acc[j] += coef * b[j];
      }
      for (int64_t j = 0; j < kLanes; ++j) o[j0 + j] = acc[j];
    }
    for (int64_t j = full; j < N; ++j) {
      float acc = accumulate ? o[j] : 0.0f;
      for (int64_t k = 0; k < c; ++k) acc += ar[k] * bT[k * N + j];
      o[j] = acc;
    }
  }
}

SUPERSAM_VECTOR_CLONES
void softmaxColumns(float* x, int64_t n, int64_t N, int64_t j0, int64_t j1) {
  float maxv[256], sum[256];
  for (int64_t jb = j0; jb < j1; jb += 256) {
    const int64_t m = std::min<int64_t>(256, j1 - jb);
    for (int64_t j = 0; j < m; ++j) maxv[j] = x[jb + j];
    for (int64_t t = 1; t < n; ++t) {
      const float* row = x + t * N + jb;
      for (int64_t j = 0; j < m; ++j) maxv[j] = row[j] > maxv[j] ? row[j] : maxv[j];
    }
    for (int64_t j = 0; j < m; ++j) sum[j] = 0.0f;
    for (int64_t t = 0; t < n; ++t) {
      float* row = x + t * N + jb;
      for (int64_t j = 0; j < m; ++j) {
        row[j] = expNonPositive(row[j] - maxv[j]);
        sum[j] += row[j];
      }
    }
    for (int64_t j = 0; j < m; ++j) sum[j] = 1.0f / sum[j];
    for (int64_t t = 0; t < n; ++t) {
      float* row = x + t * N + jb;
      for (int64_t j = 0; j < m; ++j) row[j] *= sum[j];
    }
  }
}

}  // namespace

void fewRowsLinear(const float* x, int64_t M, int64_t K, const float* W, int64_t ldw, const float* b, int64_t O,
                   float* out) {
  RECORD_FUNCTION("supersam::fewRowsLinear", std::vector<c10::IValue>());  // visible to profilers
  // Split over outputs only when there is enough work to pay for waking the second thread.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, M * K));
  at::parallel_for(0, O, grain, [&](int64_t o0, int64_t o1) { rowDots(W, ldw, o0, o1, x, K, M, K, b, out, 1, O); });
}

void headsProduct(const float* a, const float* bT, int64_t H, int64_t n, int64_t c, int64_t N, float* out,
                  bool accumulate) {
  RECORD_FUNCTION("supersam::headsProduct", std::vector<c10::IValue>());  // visible to profilers
  at::parallel_for(0, H * n, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {  // the rows of one head at a time
      const int64_t h = r / n, end = std::min(r1, (h + 1) * n);
      rowsTimesKeys(a + r * c, end - r, bT + h * c * N, c, N, out + r * N, accumulate);
      r = end;
    }
  });
}

void softmaxMiddle(float* x, int64_t G, int64_t n, int64_t N) {
  RECORD_FUNCTION("supersam::softmaxMiddle", std::vector<c10::IValue>());  // visible to profilers
  // Split the positions into blocks so both threads have work even for one group.
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (N + kBlock - 1) / kBlock;
  at::parallel_for(0, G * blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t g = b / blocks, j0 = (b % blocks) * kBlock;
      softmaxColumns(x + g * n * N, n, N, j0, std::min(N, j0 + kBlock));
    }
  });
}

void layerNormRows(float* x, int64_t rows, int64_t width, const float* inputBias, const float* gamma,
                   const float* beta, float eps, bool gelu) {
  RECORD_FUNCTION("supersam::layerNormRows", std::vector<c10::IValue>());  // visible to profilers
  at::parallel_for(0, rows, 256, [&](int64_t r0, int64_t r1) {
    normRows(x + r0 * width, r1 - r0, width, inputBias, gamma, beta, eps, gelu);
  });
}

void geluHyperMasks(float* y, int64_t h, int64_t w, int64_t c, const float* inputBias, const float* hyper, int64_t M,
                    float* masks) {
  RECORD_FUNCTION("supersam::geluHyperMasks", std::vector<c10::IValue>());  // visible to profilers
  const int64_t outW = 4 * w, plane = 16 * h * w;
  // One input row i at a time: its w*16 output pixels' channels (w*16*c floats) stay in cache from GELU to product.
  at::parallel_for(0, h, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> dots(static_cast<size_t>(w * 16 * M));
    for (int64_t i = i0; i < i1; ++i) {
      float* block = y + i * w * 16 * c;
      geluInPlace(block, w * 16, c, inputBias);
      rowDots(block, c, 0, w * 16, hyper, c, M, c, nullptr, dots.data(), M, 1);
      // Pixel q of the block = ((j * 2 + di) * 2 + dj) * 4 + ei * 2 + ej.
      const float* d = dots.data();
      for (int64_t j = 0; j < w; ++j) {
        for (int64_t di = 0; di < 2; ++di) {
          for (int64_t dj = 0; dj < 2; ++dj) {
            for (int64_t ei = 0; ei < 2; ++ei) {
              for (int64_t ej = 0; ej < 2; ++ej, d += M) {
                const int64_t at = (4 * i + 2 * di + ei) * outW + 4 * j + 2 * dj + ej;
                for (int64_t m = 0; m < M; ++m) masks[m * plane + at] = d[m];
              }
            }
          }
        }
      }
    }
  });
}

}  // namespace supersam::model::kernels
