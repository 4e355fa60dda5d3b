#include "core/infer/incremental_encoder.h"

#include <unordered_set>

#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include "core/util/error.h"

namespace supersam::infer {

IncrementalEncoder::IncrementalEncoder(model::ImageEncoderViT encoder) : m_encoder(std::move(encoder)) {}

void IncrementalEncoder::setInput(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(0) == 1 && x.size(1) == 3, "IncrementalEncoder: expected [1, 3, S, S], got ",
              x.sizes());
  clear();
  m_input = x;
}

void IncrementalEncoder::clear() {
  m_input = at::Tensor();
  m_embedded = at::Tensor();
  m_outputs.clear();
  m_valid = 0;
  m_cfg.clear();
  m_embedding = at::Tensor();
  m_lastFrom = -1;
  m_lastBlocks = 0;
}

at::Tensor IncrementalEncoder::encode(const model::ElasticConfig& cfgIn, const BlockHook& beforeBlock) {
  if (!hasInput()) throw util::Error("IncrementalEncoder: encode() before setInput()");
  const int64_t depth = m_encoder->depth();
  model::ElasticConfig cfg = cfgIn.empty() ? model::ElasticConfig(static_cast<size_t>(depth)) : cfgIn;
  if (static_cast<int64_t>(cfg.size()) != depth) {
    throw util::Error("IncrementalEncoder: subnet has " + std::to_string(cfg.size()) + " blocks, the encoder has " +
                      std::to_string(depth));
  }
  c10::InferenceMode guard;
  int64_t from = 0;
  if (!m_embedded.defined()) {
    m_embedded = m_encoder->embed(m_input);
    m_outputs.assign(static_cast<size_t>(depth), at::Tensor());
    m_valid = 0;
    m_lastFrom = -1;
  } else {
    // Full width may be written -1 or the explicit width; both run the same code path in MLPBlock only when equal,
    // so compare the choices exactly as given.
    while (from < m_valid && cfg[size_t(from)] == m_cfg[size_t(from)]) ++from;
    m_lastFrom = from;
  }
  if (from == depth && m_embedding.defined()) {
    m_lastBlocks = 0;
    return m_embedding;
  }
  // From here the cache describes cfg's prefix block by block, so a hook that throws leaves it consistent.
  m_embedding = at::Tensor();
  m_valid = from;
  m_cfg.resize(static_cast<size_t>(depth));
  m_lastBlocks = depth - from;
  at::Tensor h = from == 0 ? m_embedded : m_outputs[size_t(from - 1)];
  for (int64_t i = from; i < depth; ++i) {
    if (beforeBlock) beforeBlock(i);
    h = m_encoder->forwardBlock(i, h, cfg[size_t(i)]);
    m_outputs[size_t(i)] = h;
    m_cfg[size_t(i)] = cfg[size_t(i)];
    m_valid = i + 1;
  }
  m_embedding = m_encoder->neckForward(h);
  return m_embedding;
}

size_t IncrementalEncoder::cachedBytes() const {
  std::unordered_set<const void*> seen;
  size_t total = 0;
  auto count = [&](const at::Tensor& t) {
    if (!t.defined()) return;
    const void* p = t.storage().data();
    if (seen.insert(p).second) total += t.storage().nbytes();
  };
  count(m_embedded);
  for (const auto& t : m_outputs) count(t);
  count(m_embedding);
  return total;
}

}  // namespace supersam::infer
