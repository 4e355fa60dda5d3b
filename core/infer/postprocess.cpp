#include "core/infer/postprocess.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

namespace supersam::infer {

namespace {

// One bilinear resize along an axis, as PyTorch's upsample_bilinear2d (align_corners = false) computes it: the
// source coordinate of output i is (i + 0.5) * in / out - 0.5, clamped at 0; the upper neighbour is clamped to the
// last input sample.
struct Linear1d {
  int64_t lo, hi;
  double wLo, wHi;
};
Linear1d bilinearSource(int64_t i, int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double src = std::max(0.0, (static_cast<double>(i) + 0.5) * scale - 0.5);
  const int64_t lo = std::min(static_cast<int64_t>(src), in - 1);
  const int64_t hi = lo < in - 1 ? lo + 1 : lo;
  const double lambda = src - static_cast<double>(lo);
  return {lo, hi, 1.0 - lambda, lambda};
}

// Row pass: out[x] = sum_k w[k] * rows[k][x]; the mask (and the logits when asked for) written in the same loop.
// Kept as separate loops per tap count so that the compiler vectorises each of them.
template <int N>
void combineRows(const float* const* rows, const float* w, int64_t n, bool* __restrict mask, float* __restrict logit) {
  const float* __restrict r0 = rows[0];
  const float* __restrict r1 = rows[N > 1 ? 1 : 0];
  const float* __restrict r2 = rows[N > 2 ? 2 : 0];
  const float* __restrict r3 = rows[N > 3 ? 3 : 0];
  const float w0 = w[0], w1 = N > 1 ? w[1] : 0.f, w2 = N > 2 ? w[2] : 0.f, w3 = N > 3 ? w[3] : 0.f;
  if (logit) {
    for (int64_t x = 0; x < n; ++x) {
      float v = w0 * r0[x];
      if (N > 1) v += w1 * r1[x];
      if (N > 2) v += w2 * r2[x];
      if (N > 3) v += w3 * r3[x];
      logit[x] = v;
      mask[x] = v > 0.0f;
    }
  } else {
    for (int64_t x = 0; x < n; ++x) {
      float v = w0 * r0[x];
      if (N > 1) v += w1 * r1[x];
      if (N > 2) v += w2 * r2[x];
      if (N > 3) v += w3 * r3[x];
      mask[x] = v > 0.0f;
    }
  }
}

}  // namespace

AxisTaps composedBilinearTaps(int64_t L, int64_t S, int64_t crop, int64_t out) {
  if (L <= 0 || S <= 0 || crop <= 0 || crop > S || out <= 0) {
    throw std::invalid_argument("composedBilinearTaps: invalid sizes L=" + std::to_string(L) + " S=" +
                                std::to_string(S) + " crop=" + std::to_string(crop) + " out=" + std::to_string(out));
  }
  AxisTaps t;
  t.start.resize(static_cast<size_t>(out));
  t.taps.resize(static_cast<size_t>(out));
  t.weight.resize(static_cast<size_t>(out));
  t.first = static_cast<int32_t>(L);
  for (int64_t i = 0; i < out; ++i) {
    // Second resize: the cropped S-grid (length `crop`) -> out. First resize: the low-res grid L -> S.
    const Linear1d second = bilinearSource(i, crop, out);
    std::map<int64_t, double> acc;
    for (auto [s, ws] : {std::pair<int64_t, double>{second.lo, second.wLo}, {second.hi, second.wHi}}) {
      const Linear1d first = bilinearSource(s, L, S);
      acc[first.lo] += ws * first.wLo;
      acc[first.hi] += ws * first.wHi;
    }
    const int64_t lo = acc.begin()->first, hi = acc.rbegin()->first;
    if (hi - lo >= 4) throw std::logic_error("composedBilinearTaps: more than 4 taps (shrinking below L?)");
    std::array<float, 4> w{0.f, 0.f, 0.f, 0.f};
    for (const auto& [idx, wt] : acc) w[static_cast<size_t>(idx - lo)] = static_cast<float>(wt);
    t.start[static_cast<size_t>(i)] = static_cast<int32_t>(lo);
    t.taps[static_cast<size_t>(i)] = static_cast<uint8_t>(hi - lo + 1);
    t.weight[static_cast<size_t>(i)] = w;
    t.first = std::min(t.first, static_cast<int32_t>(lo));
    t.last = std::max(t.last, static_cast<int32_t>(hi));
  }
  return t;
}

void postprocessMasksCpu(const at::Tensor& lowRes, int64_t S, std::array<int64_t, 2> inputHW,
                         std::array<int64_t, 2> originalHW, at::Tensor& masks, at::Tensor* logits) {
  TORCH_CHECK(lowRes.dim() == 4 && lowRes.size(2) == lowRes.size(3) && lowRes.device().is_cpu() &&
                  lowRes.scalar_type() == at::kFloat,
              "postprocessMasksCpu: expected [B, M, L, L] float on the CPU, got ", lowRes.sizes());
  const at::Tensor low = lowRes.contiguous();
  const int64_t B = low.size(0), M = low.size(1), L = low.size(2), H0 = originalHW[0], W0 = originalHW[1];
  const AxisTaps ty = composedBilinearTaps(L, S, inputHW[0], H0);
  const AxisTaps tx = composedBilinearTaps(L, S, inputHW[1], W0);
  masks = at::empty({B, M, H0, W0}, at::kBool);
  if (logits) *logits = at::empty({B, M, H0, W0}, at::kFloat);

  // Column pass output: the low-res rows any output row reads, each resampled to W0 columns.
  const int64_t rows = ty.last - ty.first + 1;
  std::vector<float> cols(static_cast<size_t>(rows * W0));
  // Low-res rows padded with 3 zeros so that every column tap reads 4 values.
  std::vector<float> padded(static_cast<size_t>(rows * (L + 3)), 0.0f);

  for (int64_t bm = 0; bm < B * M; ++bm) {
    const float* src = low.data_ptr<float>() + bm * L * L;
    bool* mask = masks.data_ptr<bool>() + bm * H0 * W0;
    float* logit = logits ? logits->data_ptr<float>() + bm * H0 * W0 : nullptr;
    at::parallel_for(0, rows, 8, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* pr = padded.data() + r * (L + 3);
        std::copy(src + (ty.first + r) * L, src + (ty.first + r + 1) * L, pr);
        float* out = cols.data() + r * W0;
        for (int64_t x = 0; x < W0; ++x) {
          const float* p = pr + tx.start[static_cast<size_t>(x)];
          const auto& w = tx.weight[static_cast<size_t>(x)];
          out[x] = w[0] * p[0] + w[1] * p[1] + w[2] * p[2] + w[3] * p[3];
        }
      }
    });
    at::parallel_for(0, H0, 16, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y) {
        const size_t iy = static_cast<size_t>(y);
        const float* rowPtr[4];
        for (int k = 0; k < 4; ++k) {
          rowPtr[k] = cols.data() + std::min<int64_t>(ty.start[iy] + k - ty.first, rows - 1) * W0;
        }
        const float* w = ty.weight[iy].data();
        bool* m = mask + y * W0;
        float* l = logit ? logit + y * W0 : nullptr;
        switch (ty.taps[iy]) {
          case 1: combineRows<1>(rowPtr, w, W0, m, l); break;
          case 2: combineRows<2>(rowPtr, w, W0, m, l); break;
          case 3: combineRows<3>(rowPtr, w, W0, m, l); break;
          default: combineRows<4>(rowPtr, w, W0, m, l); break;
        }
      }
    });
  }
}

}  // namespace supersam::infer
