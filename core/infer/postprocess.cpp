#include "core/infer/postprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "core/util/vector_clones.h"

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

// Low-res rows with kPad zeros after each, so that every column tap reads 4 samples (zero weights meet the padding).
constexpr int64_t kPad = 3;
std::vector<float> paddedRows(const float* src, int64_t L) {
  std::vector<float> p(static_cast<size_t>(L * (L + kPad)), 0.0f);
  for (int64_t r = 0; r < L; ++r) std::copy(src + r * L, src + (r + 1) * L, p.begin() + r * (L + kPad));
  return p;
}

// Output column x of a padded low-res row (the column pass).
inline float columnTap(const float* paddedRow, const AxisTaps& tx, int64_t x) {
  const float* p = paddedRow + tx.start[static_cast<size_t>(x)];
  const auto& w = tx.weight[static_cast<size_t>(x)];
  return w[0] * p[0] + w[1] * p[1] + w[2] * p[2] + w[3] * p[3];
}

// The column pass for one padded low-res row: the row resampled to W0 columns.
SUPERSAM_VECTOR_CLONES
void columnPass(const float* paddedRow, const AxisTaps& tx, int64_t W0, float* out) {
  for (int64_t x = 0; x < W0; ++x) out[x] = columnTap(paddedRow, tx, x);
}

// The row pass for one output row over columns [x0, x1), from the column-pass rows it reads.
SUPERSAM_VECTOR_CLONES
void rowPass(const float* const* rows, const std::array<float, 4>& w, int n, int64_t x0, int64_t x1, bool* mask,
             float* logit) {
  const float* shifted[4] = {rows[0] + x0, rows[1] + x0, rows[2] + x0, rows[3] + x0};
  bool* m = mask + x0;
  float* l = logit ? logit + x0 : nullptr;
  switch (n) {
    case 1: combineRows<1>(shifted, w.data(), x1 - x0, m, l); break;
    case 2: combineRows<2>(shifted, w.data(), x1 - x0, m, l); break;
    case 3: combineRows<3>(shifted, w.data(), x1 - x0, m, l); break;
    default: combineRows<4>(shifted, w.data(), x1 - x0, m, l); break;
  }
}

// Masks only: an output pixel is a convex combination of the low-res values in its tap window, so where the whole
// window has one sign the bit is known without arithmetic. Only the pixels whose window straddles 0 (the band along
// the mask's boundary) are computed, with the same operations as the two-pass path so that both give the same bits:
// one by one where a row has few of them, by the vectorised passes where a row has many (noisy logits).
void masksOnly(const float* src, int64_t L, const AxisTaps& ty, const AxisTaps& tx, int64_t H0, int64_t W0,
               bool* mask) {
  const std::vector<float> padded = paddedRows(src, L);
  // Min and max over the 4 x 4 window starting at each low-res sample (clamped at the far edges): it contains
  // every tap window that starts there. Separable, over rows padded with +-inf so that the loops have no branches.
  const float inf = std::numeric_limits<float>::infinity();
  const int64_t P = L + kPad;
  std::vector<float> rowLo(static_cast<size_t>((L + kPad) * P), inf), rowHi(rowLo.size(), -inf);
  std::vector<float> lo(static_cast<size_t>(P), inf), hi(static_cast<size_t>(P), -inf);  // one row, padded
  for (int64_t r = 0; r < L; ++r) {
    std::copy(src + r * L, src + (r + 1) * L, lo.begin());
    std::copy(src + r * L, src + (r + 1) * L, hi.begin());
    float* outLo = rowLo.data() + r * P;
    float* outHi = rowHi.data() + r * P;
    for (int64_t c = 0; c < L; ++c) {
      outLo[c] = std::min(std::min(lo[c], lo[c + 1]), std::min(lo[c + 2], lo[c + 3]));
      outHi[c] = std::max(std::max(hi[c], hi[c + 1]), std::max(hi[c + 2], hi[c + 3]));
    }
  }
  std::vector<float> winMin(static_cast<size_t>(L * L)), winMax(winMin.size());
  for (int64_t r = 0; r < L; ++r) {
    const float* a = rowLo.data() + r * P;
    const float* b = rowHi.data() + r * P;
    float* outLo = winMin.data() + r * L;
    float* outHi = winMax.data() + r * L;
    for (int64_t c = 0; c < L; ++c) {
      outLo[c] = std::min(std::min(a[c], a[c + P]), std::min(a[c + 2 * P], a[c + 3 * P]));
      outHi[c] = std::max(std::max(b[c], b[c + P]), std::max(b[c + 2 * P], b[c + 3 * P]));
    }
  }
  // Per low-res row r (where output rows' tap windows start): the output columns as segments that are all true,
  // all false, or mixed (to compute), from the runs of columns that read the same low-res columns. Every output row
  // starting at r replays them.
  struct Segment {
    int64_t x0, x1;
    int value;  // 1, 0, or -1 = mixed
  };
  std::vector<std::vector<Segment>> segments(static_cast<size_t>(L));
  std::vector<int64_t> mixedCount(static_cast<size_t>(L), 0);
  std::vector<uint8_t> used(static_cast<size_t>(L), 0);
  for (int64_t y = 0; y < H0; ++y) used[static_cast<size_t>(ty.start[static_cast<size_t>(y)])] = 1;
  struct Run {
    int64_t x0, x1, c;
  };
  std::vector<Run> runs;  // output columns that read the same low-res columns (~W0 / L each)
  for (int64_t x0 = 0; x0 < W0;) {
    const int64_t c = tx.start[static_cast<size_t>(x0)];
    int64_t x1 = x0 + 1;
    while (x1 < W0 && tx.start[static_cast<size_t>(x1)] == c) ++x1;
    runs.push_back({x0, x1, c});
    x0 = x1;
  }
  for (int64_t r = 0; r < L; ++r) {
    if (!used[static_cast<size_t>(r)]) continue;
    auto& segs = segments[static_cast<size_t>(r)];
    for (const Run& run : runs) {
      const size_t w = static_cast<size_t>(r * L + run.c);
      const int v = winMin[w] > 0.0f ? 1 : winMax[w] <= 0.0f ? 0 : -1;
      if (!segs.empty() && segs.back().value == v) {
        segs.back().x1 = run.x1;
      } else {
        segs.push_back({run.x0, run.x1, v});
      }
      if (v < 0) mixedCount[static_cast<size_t>(r)] += run.x1 - run.x0;
    }
  }
  // Pass 1: the one-signed segments, and the mixed ones where a row has few mixed pixels; rows with many of them
  // (noisy logits) wait for pass 2.
  std::vector<uint8_t> dense(static_cast<size_t>(H0), 0);
  at::parallel_for(0, H0, 32, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) {
      const size_t iy = static_cast<size_t>(y);
      const int64_t r = ty.start[iy];
      const int n = ty.taps[iy];
      const auto& wy = ty.weight[iy];
      const bool many = mixedCount[static_cast<size_t>(r)] * 8 > W0;
      dense[iy] = many ? 1 : 0;
      bool* m = mask + y * W0;
      const float* p = padded.data() + r * (L + kPad);
      for (const Segment& seg : segments[static_cast<size_t>(r)]) {
        if (seg.value >= 0) {
          std::memset(m + seg.x0, seg.value, static_cast<size_t>(seg.x1 - seg.x0));
          continue;
        }
        if (many) continue;
        for (int64_t x = seg.x0; x < seg.x1; ++x) {
          float v = wy[0] * columnTap(p, tx, x);
          if (n > 1) v += wy[1] * columnTap(p + (L + kPad), tx, x);
          if (n > 2) v += wy[2] * columnTap(p + 2 * (L + kPad), tx, x);
          if (n > 3) v += wy[3] * columnTap(p + 3 * (L + kPad), tx, x);
          m[x] = v > 0.0f;
        }
      }
    }
  });
  // Pass 2: the dense rows through the column pass (of the low-res rows they read) and the vectorised row pass.
  std::vector<uint8_t> need(static_cast<size_t>(L), 0);
  for (size_t y = 0; y < static_cast<size_t>(H0); ++y) {
    if (!dense[y]) continue;
    for (int i = 0; i < ty.taps[y]; ++i) need[static_cast<size_t>(ty.start[y] + i)] = 1;
  }
  std::vector<float> cols(static_cast<size_t>(L * W0));
  at::parallel_for(0, L, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      if (need[static_cast<size_t>(r)]) columnPass(padded.data() + r * (L + kPad), tx, W0, cols.data() + r * W0);
    }
  });
  at::parallel_for(0, H0, 16, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) {
      const size_t iy = static_cast<size_t>(y);
      if (!dense[iy]) continue;
      const float* rows[4];
      for (int k = 0; k < 4; ++k) rows[k] = cols.data() + std::min<int64_t>(ty.start[iy] + k, L - 1) * W0;
      rowPass(rows, ty.weight[iy], ty.taps[iy], 0, W0, mask + y * W0, nullptr);
    }
  });
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
    const Linear1d a = bilinearSource(second.lo, L, S), b = bilinearSource(second.hi, L, S);
    const int64_t lo = std::min(a.lo, b.lo), hi = std::max(a.hi, b.hi);
    if (hi - lo >= 4) throw std::logic_error("composedBilinearTaps: more than 4 taps");
    double acc[4] = {0, 0, 0, 0};
    acc[a.lo - lo] += second.wLo * a.wLo;
    acc[a.hi - lo] += second.wLo * a.wHi;
    acc[b.lo - lo] += second.wHi * b.wLo;
    acc[b.hi - lo] += second.wHi * b.wHi;
    std::array<float, 4> w{0.f, 0.f, 0.f, 0.f};
    for (size_t k = 0; k < 4; ++k) w[k] = static_cast<float>(acc[k]);
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
  RECORD_FUNCTION("supersam::postprocessMasksCpu", std::vector<c10::IValue>());  // visible to profilers
  TORCH_CHECK(lowRes.dim() == 4 && lowRes.size(2) == lowRes.size(3) && lowRes.device().is_cpu() &&
                  lowRes.scalar_type() == at::kFloat,
              "postprocessMasksCpu: expected [B, M, L, L] float on the CPU, got ", lowRes.sizes());
  const at::Tensor low = lowRes.contiguous();
  const int64_t B = low.size(0), M = low.size(1), L = low.size(2), H0 = originalHW[0], W0 = originalHW[1];
  const AxisTaps ty = composedBilinearTaps(L, S, inputHW[0], H0);
  const AxisTaps tx = composedBilinearTaps(L, S, inputHW[1], W0);
  masks = at::empty({B, M, H0, W0}, at::kBool);
  if (!logits) {
    for (int64_t bm = 0; bm < B * M; ++bm) {
      masksOnly(low.data_ptr<float>() + bm * L * L, L, ty, tx, H0, W0, masks.data_ptr<bool>() + bm * H0 * W0);
    }
    return;
  }
  *logits = at::empty({B, M, H0, W0}, at::kFloat);

  // Column pass output: the low-res rows any output row reads, each resampled to W0 columns.
  const int64_t rows = ty.last - ty.first + 1;
  std::vector<float> cols(static_cast<size_t>(rows * W0));
  for (int64_t bm = 0; bm < B * M; ++bm) {
    const std::vector<float> padded = paddedRows(low.data_ptr<float>() + bm * L * L, L);
    bool* mask = masks.data_ptr<bool>() + bm * H0 * W0;
    float* logit = logits->data_ptr<float>() + bm * H0 * W0;
    at::parallel_for(0, rows, 8, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        columnPass(padded.data() + (ty.first + r) * (L + kPad), tx, W0, cols.data() + r * W0);
      }
    });
    at::parallel_for(0, H0, 16, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y) {
        const size_t iy = static_cast<size_t>(y);
        const float* rowPtr[4];
        for (int k = 0; k < 4; ++k) {
          rowPtr[k] = cols.data() + std::min<int64_t>(ty.start[iy] + k - ty.first, rows - 1) * W0;
        }
        rowPass(rowPtr, ty.weight[iy], ty.taps[iy], 0, W0, mask + y * W0, logit + y * W0);
      }
    });
  }
}

}  // namespace supersam::infer
