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

}  // namespace supersam::util
