#pragma once
// The one source of randomness of a search: std::mt19937_64 with the few draws OpenTuner's techniques use
// (uniform, integer in a range, normal, shuffle). The draws are written out here rather than taken from
// <random>'s distributions, whose algorithms differ between standard libraries, so a seed gives the same run
// everywhere. Thread-safety: none; a search owns one Rng and uses it from its driver thread only.

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace supersam::search {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : m_engine(seed) {}

  // Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(m_engine() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return uniform() < p; }

  // Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x = m_engine();
    while (x >= limit) x = m_engine();
    return x % n;
  }
  // Uniform integer in [lo, hi], inclusive.
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Normal deviate (Box-Muller; the spare is discarded so the stream stays simple to reason about).
  double normal(double mean, double sigma) {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return mean + sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Fisher-Yates from the back, as Python's random.shuffle.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(below(i));
      std::swap(v[i - 1], v[j]);
    }
  }

  uint64_t next() { return m_engine(); }

 private:
  std::mt19937_64 m_engine;
};

}  // namespace supersam::search
