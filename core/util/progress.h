#pragma once
// Progress and cancellation for long synchronous core jobs (calibration, training, evaluation, search).
// The core calls `report` from the thread doing the work; a GUI worker forwards it as a queued signal.
// Thread-safety: CancelToken may be set from any thread; Progress callbacks run on the worker's thread.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/util/error.h"

namespace supersam::util {

class CancelToken {
 public:
  void cancel() { m_flag.store(true, std::memory_order_relaxed); }
  void reset() { m_flag.store(false, std::memory_order_relaxed); }
  bool cancelled() const { return m_flag.load(std::memory_order_relaxed); }
  // Throws util::Cancelled if cancelled; call at safe points between units of work.
  void check() const {
    if (cancelled()) throw Cancelled();
  }

 private:
  std::atomic<bool> m_flag{false};
};

// done/total units (total 0 = unknown), plus a short human-readable status line.
using ProgressFn = std::function<void(long long done, long long total, const std::string& status)>;

struct JobControl {
  ProgressFn progress;                 // may be empty
  const CancelToken* cancel = nullptr;  // may be null

  void report(long long done, long long total, const std::string& status = {}) const {
    if (progress) progress(done, total, status);
  }
  void check() const {
    if (cancel) cancel->check();
  }
  bool cancelled() const { return cancel && cancel->cancelled(); }
};

// A phase of a longer job: the phase's done/total are mapped onto [from, to] of `kPhaseUnits` so that a progress
// bar over several phases only moves forward. Cancel is the parent's.
inline constexpr long long kPhaseUnits = 1000;
inline JobControl phaseOf(const JobControl& parent, double from, double to) {
  JobControl out;
  out.cancel = parent.cancel;
  if (parent.progress) {
    const ProgressFn p = parent.progress;
    out.progress = [p, from, to](long long done, long long total, const std::string& status) {
      const double f = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
      const double at = from + (to - from) * (f < 0 ? 0 : f > 1 ? 1 : f);
      p(static_cast<long long>(at * kPhaseUnits + 0.5), kPhaseUnits, status);
    };
  }
  return out;
}

}  // namespace supersam::util
