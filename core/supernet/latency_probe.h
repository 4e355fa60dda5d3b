#pragma once
// Measured cost of a subnet on this machine: image-encoder latency (median of `repeats` timed runs after `warmup`
// runs, batch 1 at the arch's image size, InferenceMode) and peak memory during one run. Results are cached by
// subnet hash + thread count + image size, in memory and optionally in a JSON file (written atomically on save()).
//
// Peak memory = the process's resident-set high-water mark (VmHWM, reset through /proc/self/clear_refs before the
// run) minus the resident set before it: the extra memory the encoder pass needed. Linux only; elsewhere, or when
// the reset is refused, peakBytes is -1. It includes allocator slack, so treat it as an upper bound.
// Thread-safety: measure() serialises on an internal mutex (timings must not overlap anyway).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/model/image_encoder.h"
#include "core/supernet/subnet.h"

namespace supersam::supernet {

struct Measurement {
  std::string subnet;        // canonical string
  double latencyMs = 0;      // median
  double minLatencyMs = 0;
  int64_t peakBytes = -1;    // extra resident memory during one run; -1 = unknown
  int threads = 0;
  int64_t imageSize = 0;
  int repeats = 0;

  nlohmann::json toJson() const;
  static Measurement fromJson(const nlohmann::json& j);
};

class LatencyProbe {
 public:
  // cacheFile: "" = in memory only; otherwise loaded now if it exists (a malformed file throws util::Error).
  LatencyProbe(model::ImageEncoderViT encoder, int64_t imageSize, int warmup = 1, int repeats = 3,
               std::string cacheFile = "");

  Measurement measure(const Subnet& s);              // cached
  std::optional<Measurement> cached(const Subnet& s) const;
  void save() const;                                 // no-op without a cache file
  size_t size() const;

 private:
  std::string key(const Subnet& s) const;

  model::ImageEncoderViT m_encoder;
  int64_t m_imageSize;
  int m_warmup, m_repeats;
  std::string m_cacheFile;
  std::map<std::string, Measurement> m_cache;
  mutable std::mutex m_mutex;
};

// Linux /proc helpers (bytes; -1 when unavailable).
int64_t residentBytes();
int64_t residentHighWaterBytes();
bool resetResidentHighWater();

}  // namespace supersam::supernet
