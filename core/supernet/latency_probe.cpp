#include "core/supernet/latency_probe.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include <malloc.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::supernet {

namespace {

int64_t statusField(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      long long kb = -1;
      if (std::sscanf(line.c_str() + field.size() + 1, "%lld", &kb) == 1) return kb * 1024;
    }
  }
  return -1;
}

}  // namespace

int64_t residentBytes() { return statusField("VmRSS"); }
int64_t residentHighWaterBytes() { return statusField("VmHWM"); }
bool resetResidentHighWater() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

nlohmann::json Measurement::toJson() const {
  return {{"subnet", subnet},       {"latency_ms", latencyMs}, {"min_latency_ms", minLatencyMs},
          {"peak_bytes", peakBytes}, {"threads", threads},      {"image_size", imageSize},
          {"repeats", repeats}};
}

Measurement Measurement::fromJson(const nlohmann::json& j) {
  Measurement m;
  m.subnet = j.at("subnet").get<std::string>();
  m.latencyMs = j.at("latency_ms").get<double>();
  m.minLatencyMs = j.value("min_latency_ms", m.latencyMs);
  m.peakBytes = j.value("peak_bytes", int64_t{-1});
  m.threads = j.at("threads").get<int>();
  m.imageSize = j.at("image_size").get<int64_t>();
  m.repeats = j.value("repeats", 0);
  return m;
}

LatencyProbe::LatencyProbe(model::ImageEncoderViT encoder, int64_t imageSize, int warmup, int repeats,
                           std::string cacheFile)
    : m_encoder(std::move(encoder)),
      m_imageSize(imageSize),
      m_warmup(std::max(0, warmup)),
      m_repeats(std::max(1, repeats)),
      m_cacheFile(std::move(cacheFile)) {
  if (!m_cacheFile.empty() && std::filesystem::exists(m_cacheFile)) {
    try {
      nlohmann::json j = util::parseJson(util::readFileBytes(m_cacheFile), "latency cache '" + m_cacheFile + "'");
      for (const auto& [k, v] : j.at("entries").items()) m_cache[k] = Measurement::fromJson(v);
    } catch (const nlohmann::json::exception& e) {
      throw util::Error("latency cache '" + m_cacheFile + "' is malformed: " + e.what());
    }
  }
}

std::string LatencyProbe::key(const Subnet& s) const {
  return s.hash() + "@" + std::to_string(at::get_num_threads()) + "t@" + std::to_string(m_imageSize);
}

std::optional<Measurement> LatencyProbe::cached(const Subnet& s) const {
  std::lock_guard<std::mutex> lock(m_mutex);
  auto it = m_cache.find(key(s));
  if (it == m_cache.end()) return std::nullopt;
  return it->second;
}

size_t LatencyProbe::size() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_cache.size();
}

Measurement LatencyProbe::measure(const Subnet& s) {
  std::lock_guard<std::mutex> lock(m_mutex);
  const std::string k = key(s);
  if (auto it = m_cache.find(k); it != m_cache.end()) return it->second;
  if (s.depth() != m_encoder->depth()) {
    throw util::Error("latency probe: subnet \"" + s.toString() + "\" has " + std::to_string(s.depth()) +
                      " blocks, the encoder has " + std::to_string(m_encoder->depth()));
  }
  const auto cfg = s.toElastic();
  c10::InferenceMode guard;
  auto device = m_encoder->pos_embed.device();
  at::Tensor x = at::randn({1, 3, m_imageSize, m_imageSize}, at::TensorOptions().device(device));
  for (int i = 0; i < m_warmup; ++i) m_encoder->forward(x, &cfg);
  Measurement m;
  // Peak memory from one run on its own. Freed memory the allocator keeps for reuse (util::keepFreedMemoryForReuse)
  // is handed back first, so that the warm-up's blocks do not hide the run's own need.
  malloc_trim(0);
  const int64_t before = residentBytes();
  if (before >= 0 && resetResidentHighWater()) {
    m_encoder->forward(x, &cfg);
    const int64_t hwm = residentHighWaterBytes();
    m.peakBytes = hwm >= 0 ? std::max<int64_t>(0, hwm - before) : -1;
  }
  std::vector<double> ms;
  for (int i = 0; i < m_repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    at::Tensor y = m_encoder->forward(x, &cfg);
    if (y.is_cuda()) y.cpu();  // wait for the device
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  m.subnet = s.toString();
  m.latencyMs = ms[ms.size() / 2];
  m.minLatencyMs = ms.front();
  m.threads = at::get_num_threads();
  m.imageSize = m_imageSize;
  m.repeats = m_repeats;
  m_cache[k] = m;
  return m;
}

void LatencyProbe::save() const {
  if (m_cacheFile.empty()) return;
  std::lock_guard<std::mutex> lock(m_mutex);
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [k, v] : m_cache) entries[k] = v.toJson();
  util::writeFileAtomic(m_cacheFile, nlohmann::json{{"version", 1}, {"entries", entries}}.dump(1));
}

}  // namespace supersam::supernet
