#pragma once
// The studio's view of the per-block latency table (core/supernet/latency_table.h): predicted image-encoder
// milliseconds of any subnet of the open model on this machine, without running it. The table is measured once
// (a background job, the same core call as `supersam latency`) and read from the user's cache folder afterwards;
// a table measured under other conditions (threads, CPU, LibTorch, arch) is not used.
// No Qt, no torch in this header. Thread-safety: an immutable value once loaded; the measuring call runs on the
// calling thread.

#include <memory>
#include <optional>
#include <string>

#include "core/model/elastic.h"
#include "core/util/progress.h"
#include "ui/engine/subnet_space.h"

namespace supersam::ui {

class LatencyPredictor {
 public:
  // The cached table of the space's model under the current conditions (threads, CPU, LibTorch), if there is one
  // that covers the space's widths. cacheDir "" = core's default. Never measures; a malformed file reads as absent.
  static std::optional<LatencyPredictor> loadCached(const SubnetSpace& space, const std::string& cacheDir = {});
  // Measures (or loads) the table with the model of `checkpoint` and writes it to the cache: the Jobs action.
  // util::Cancelled when cancelled (nothing written), util::Error naming the file otherwise.
  static LatencyPredictor measure(const std::string& checkpoint, const std::string& archOverride,
                                  const SubnetSpace& space, const std::string& cacheDir, const util::JobControl& job);

  double predictMs(const model::ElasticConfig& cfg) const;
  double predictMs(const std::string& subnet) const;  // -1 when the text is no subnet of the space
  std::string path() const;                           // the table's file

 private:
  struct Impl;
  std::shared_ptr<const Impl> m_impl;
};

}  // namespace supersam::ui
