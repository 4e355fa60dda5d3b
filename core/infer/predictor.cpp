#include "core/infer/predictor.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <opencv2/imgproc.hpp>

#include "core/infer/postprocess.h"
#include "core/util/error.h"

namespace supersam::infer {

namespace {

std::string shapeText(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool sameKind(const Prompt& a, const Prompt& b) {
  return a.points.size() == b.points.size() && a.box.has_value() == b.box.has_value() &&
         a.maskInput.defined() == b.maskInput.defined() && a.multimask == b.multimask &&
         a.returnLogits == b.returnLogits;
}

}  // namespace

std::array<int64_t, 2> resizedSize(int64_t h, int64_t w, int64_t longSide) {
  // SAM's ResizeLongestSide.get_preprocess_shape: scale, then round half up.
  const double scale = static_cast<double>(longSide) / static_cast<double>(std::max(h, w));
  const double nh = static_cast<double>(h) * scale, nw = static_cast<double>(w) * scale;
  // At least one pixel a side: a 20000 x 1 image once made OpenCV's resize assert on a 0-pixel side.
  return {std::max<int64_t>(1, static_cast<int64_t>(nh + 0.5)), std::max<int64_t>(1, static_cast<int64_t>(nw + 0.5))};
}

at::Tensor preprocessImage(const at::Tensor& rgbHwcU8, const model::SamArch& arch, std::array<int64_t, 2>* inputHW) {
  if (rgbHwcU8.dim() != 3 || rgbHwcU8.size(2) != 3 || rgbHwcU8.scalar_type() != at::kByte) {
    throw util::Error("image tensor must be [H, W, 3] uint8 RGB, got " + shapeText(rgbHwcU8.sizes()) + " " +
                      std::string(c10::toString(rgbHwcU8.scalar_type())));
  }
  const int64_t h = rgbHwcU8.size(0), w = rgbHwcU8.size(1);
  if (h <= 0 || w <= 0) throw util::Error("image is empty (" + shapeText(rgbHwcU8.sizes()) + ")");
  const auto target = resizedSize(h, w, arch.imageSize);
  at::Tensor src = rgbHwcU8.to(at::kCPU).contiguous();
  at::Tensor resized = src;
  if (target[0] != h || target[1] != w) {
    cv::Mat in(static_cast<int>(h), static_cast<int>(w), CV_8UC3, src.data_ptr<uint8_t>());
    resized = at::empty({target[0], target[1], 3}, src.options());
    cv::Mat out(static_cast<int>(target[0]), static_cast<int>(target[1]), CV_8UC3, resized.data_ptr<uint8_t>());
    cv::resize(in, out, out.size(), 0, 0, target[0] < h ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  if (inputHW) *inputHW = target;
  return normaliseAndPad(resized.to(rgbHwcU8.device()), arch);
}

at::Tensor normaliseAndPad(const at::Tensor& rgbHwcU8, const model::SamArch& arch) {
  const int64_t h = rgbHwcU8.size(0), w = rgbHwcU8.size(1);
  if (h > arch.imageSize || w > arch.imageSize) {
    throw util::Error("normaliseAndPad: a " + shapeText(rgbHwcU8.sizes()) + " image does not fit the " +
                      std::to_string(arch.imageSize) + " px input frame");
  }
  at::Tensor x = rgbHwcU8.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
  at::Tensor mean = at::tensor(at::ArrayRef<float>(model::kPixelMean.data(), 3)).to(x.device()).view({1, 3, 1, 1});
  at::Tensor stdv = at::tensor(at::ArrayRef<float>(model::kPixelStd.data(), 3)).to(x.device()).view({1, 3, 1, 1});
  x = (x - mean) / stdv;
  return at::constant_pad_nd(x, {0, arch.imageSize - w, 0, arch.imageSize - h}, 0.0);
}

Predictor::Predictor(model::Sam sam, c10::Device device) : m_sam(std::move(sam)), m_device(device) {
  m_sam->to(device);
  m_sam->eval();
}

void Predictor::setImage(const at::Tensor& rgbHwcU8, const model::ElasticConfig& cfg) {
  std::array<int64_t, 2> inputHW{};
  at::Tensor x;
  {
    c10::InferenceMode guard;
    x = preprocessImage(rgbHwcU8.to(m_device), m_sam->arch(), &inputHW);
  }
  setEncoderInput(x, {rgbHwcU8.size(0), rgbHwcU8.size(1)}, inputHW, cfg);
}

void Predictor::setEncoderInput(const at::Tensor& input, std::array<int64_t, 2> originalHW,
                                std::array<int64_t, 2> inputHW, const model::ElasticConfig& cfg) {
  const int64_t S = m_sam->arch().imageSize;
  if (input.dim() != 4 || input.size(0) != 1 || input.size(1) != 3 || input.size(2) != S || input.size(3) != S) {
    throw util::Error("encoder input must be [1, 3, " + std::to_string(S) + ", " + std::to_string(S) + "], got " +
                      shapeText(input.sizes()));
  }
  at::Tensor emb;
  {
    c10::InferenceMode guard;
    emb = m_sam->encodeImage(input.to(m_device, at::kFloat), cfg.empty() ? nullptr : &cfg);
  }
  setEmbedding(emb, originalHW, inputHW);
}

void Predictor::setEmbedding(const at::Tensor& emb, std::array<int64_t, 2> originalHW,
                             std::array<int64_t, 2> inputHW) {
  const auto& arch = m_sam->arch();
  const int64_t side = arch.tokensPerSide();
  if (emb.dim() != 4 || emb.size(0) != 1 || emb.size(1) != arch.promptEmbedDim || emb.size(2) != side ||
      emb.size(3) != side) {
    throw util::Error("image embedding must be [1, " + std::to_string(arch.promptEmbedDim) + ", " +
                      std::to_string(side) + ", " + std::to_string(side) + "], got " + shapeText(emb.sizes()));
  }
  if (originalHW[0] <= 0 || originalHW[1] <= 0 || inputHW[0] <= 0 || inputHW[1] <= 0 || inputHW[0] > arch.imageSize ||
      inputHW[1] > arch.imageSize) {
    throw util::Error("invalid image sizes: original " + std::to_string(originalHW[0]) + "x" +
                      std::to_string(originalHW[1]) + ", input " + std::to_string(inputHW[0]) + "x" +
                      std::to_string(inputHW[1]));
  }
  m_embedding = emb.to(m_device);
  {
    c10::InferenceMode guard;
    m_decoderImage = m_sam->prepareDecoder(m_embedding);
  }
  m_originalHW = originalHW;
  m_inputHW = inputHW;
}

std::vector<Prediction> Predictor::run(const std::vector<Prompt>& prompts) const {
  const auto& arch = m_sam->arch();
  const int64_t B = static_cast<int64_t>(prompts.size());
  const Prompt& first = prompts.front();
  const int64_t N = static_cast<int64_t>(first.points.size());
  const int64_t L = arch.lowResSize();
  // The official predictor's coordinate transform: scale by resized / original per axis.
  const float sx = static_cast<float>(m_inputHW[1]) / static_cast<float>(m_originalHW[1]);
  const float sy = static_cast<float>(m_inputHW[0]) / static_cast<float>(m_originalHW[0]);

  at::Tensor coords, labels, boxes, masks;
  if (N > 0) {
    coords = at::empty({B, N, 2}, at::kFloat);
    labels = at::empty({B, N}, at::kLong);
    auto c = coords.accessor<float, 3>();
    auto l = labels.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < N; ++i) {
        c[b][i][0] = prompts[b].points[i][0] * sx;
        c[b][i][1] = prompts[b].points[i][1] * sy;
        l[b][i] = prompts[b].labels[i];
      }
    }
  }
  if (first.box) {
    boxes = at::empty({B, 4}, at::kFloat);
    auto bx = boxes.accessor<float, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& v = *prompts[b].box;
      bx[b][0] = v[0] * sx;
      bx[b][1] = v[1] * sy;
      bx[b][2] = v[2] * sx;
      bx[b][3] = v[3] * sy;
    }
  }
  if (first.maskInput.defined()) {
    std::vector<at::Tensor> ms;
    for (const auto& p : prompts) ms.push_back(p.maskInput.to(at::kCPU, at::kFloat).reshape({1, 1, L, L}));
    masks = at::cat(ms, 0);
  }

  at::Tensor lowRes, iou, logits;
  {
    c10::InferenceMode guard;
    model::SamImpl& sam = *m_sam.ptr();
    const at::Tensor c = coords.defined() ? coords.to(m_device) : coords;
    const at::Tensor l = labels.defined() ? labels.to(m_device) : labels;
    const at::Tensor bx = boxes.defined() ? boxes.to(m_device) : boxes;
    auto out = masks.defined() ? sam.decode(m_embedding, c, l, bx, masks.to(m_device), first.multimask)
                               : sam.decode(m_decoderImage, c, l, bx, first.multimask);
    lowRes = out.lowResMasks;
    iou = out.iou;
  }
  // Post-processing outside InferenceMode (without autograd) so the results are plain tensors callers may modify.
  // The full-size float logits are formed only when asked for (SAM's return_logits).
  at::Tensor binary;
  {
    at::NoGradGuard noGrad;
    if (lowRes.device().is_cpu() && lowRes.scalar_type() == at::kFloat) {
      postprocessMasksCpu(lowRes, arch.imageSize, m_inputHW, m_originalHW, binary,
                          first.returnLogits ? &logits : nullptr);
    } else {
      at::Tensor full = m_sam->postprocessMasks(lowRes, m_inputHW, m_originalHW);
      binary = (full > 0.0).to(at::kCPU);
      if (first.returnLogits) logits = full.to(at::kCPU);
    }
  }
  lowRes = lowRes.to(at::kCPU).clone();
  iou = iou.to(at::kCPU).clone();
  std::vector<Prediction> result;
  for (int64_t b = 0; b < B; ++b) {
    Prediction p;
    if (logits.defined()) p.maskLogits = logits[b];
    p.masks = binary[b];
    p.iou = iou[b];
    p.lowResLogits = lowRes[b];
    result.push_back(std::move(p));
  }
  return result;
}

std::vector<Prediction> Predictor::predictBatch(const std::vector<Prompt>& prompts) const {
  if (!hasImage()) throw util::Error("predict: no image set (call setImage first)");
  const int64_t L = m_sam->arch().lowResSize();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Prompt& p = prompts[i];
    if (p.points.empty() && !p.box && !p.maskInput.defined()) {
      throw util::Error("prompt " + std::to_string(i) + " is empty: give at least one point, a box or a mask input");
    }
    if (p.labels.size() != p.points.size()) {
      throw util::Error("prompt " + std::to_string(i) + ": " + std::to_string(p.points.size()) + " points but " +
                        std::to_string(p.labels.size()) + " labels");
    }
    for (int l : p.labels) {
      if (l != 0 && l != 1) {
        throw util::Error("prompt " + std::to_string(i) + ": point label " + std::to_string(l) +
                          " (expected 1 foreground or 0 background)");
      }
    }
    if (p.maskInput.defined() && p.maskInput.numel() != L * L) {
      throw util::Error("prompt " + std::to_string(i) + ": mask input " + shapeText(p.maskInput.sizes()) +
                        ", expected [1, " + std::to_string(L) + ", " + std::to_string(L) + "] low-res logits");
    }
  }
  if (prompts.empty()) return {};
  bool uniform = true;
  for (const auto& p : prompts) uniform = uniform && sameKind(p, prompts.front());
  if (uniform) return run(prompts);
  std::vector<Prediction> out;
  for (const auto& p : prompts) out.push_back(run({p}).front());
  return out;
}

Prediction Predictor::predict(const Prompt& p) const { return predictBatch({p}).front(); }

}  // namespace supersam::infer
