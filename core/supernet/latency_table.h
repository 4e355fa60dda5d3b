#pragma once
// Predicted image-encoder latency of any subnet from a per-block lookup table measured once on this machine.
//
// The table holds, in milliseconds (median of `repeats` timed runs after `warmup` runs, batch 1, InferenceMode,
// the model's own modules on inputs of the real shape):
//   - fixed parts: patch embedding + position embedding ("embed"), and the neck ("neck");
//   - per block kind (windowed attention with its window size, or global attention; every block of a kind has the
//     same embed dim, heads and token grid), one time per measured MLP width (a block run with its elastic MLP cut
//     to that width, core/model/elastic.h);
//   - a chain correction: full forwards of two subnets are timed (every block kept at full width, and every other
//     block dropped), and the differences between those times and their table sums are fitted exactly as
//     overhead_ms + chain_ms_per_block * kept blocks (two points, two unknowns; with a single block, the overhead
//     alone). It absorbs what isolated block timings miss (a block reading its input from memory rather than from
//     cache, the per-call overhead of a whole forward); either may be negative.
// predictMs(arch, subnet) = embed + neck + overhead + sum over kept blocks of (entry(kind, width) + chain_ms_per_block).
// A dropped block costs 0. A width between two measured widths is interpolated linearly between them; a width
// outside the measured range is extrapolated linearly from the two nearest measured widths (clamped at 0); a kind
// with a single measured width gives that time for every width.
//
// Validity: a table records what it was measured under (thread count, CPU model from /proc/cpuinfo, LibTorch
// version, device, and the arch's shape fields: image size, patch size, embed dim, heads, window size, depth, global
// blocks, neck width). Its key (16 hex digits of FNV-1a over that JSON) names its cache file,
// <cache>/<key>.json with <cache> = $XDG_CACHE_HOME/supersam/latency (else ~/.cache/supersam/latency). A table whose
// validity differs from the current conditions is never used: loadOrMeasureLatencyTable remeasures.
//
// Hostile files: fromJson refuses wrong types, missing kinds or fields, non-finite or negative times, widths not
// ascending and positive, more than kMaxWidthsPerKind widths, files over 4 MiB, JSON nested deeper than
// util::kMaxJsonDepth, with a util::Error naming the file and the field. A malformed file in the cache folder is
// treated as absent (remeasured and replaced, LatencyTableSource::note says why); a malformed file the user named
// explicitly (tableFile) is an error, never overwritten.
// Thread-safety: LatencyTable is a plain value. Measuring runs forwards of the encoder and must not overlap other
// timings; it uses the current LibTorch thread count (util::setThreads first).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/arch.h"
#include "core/model/image_encoder.h"
#include "core/supernet/search_space.h"
#include "core/supernet/subnet.h"
#include "core/util/progress.h"

namespace supersam::supernet {

inline constexpr size_t kMaxWidthsPerKind = 4096;

// The conditions a table is valid for.
struct LatencyValidity {
  int threads = 0;
  std::string cpuModel;      // /proc/cpuinfo "model name" ("unknown" elsewhere)
  std::string torchVersion;  // "1.13.0"
  std::string device = "cpu";
  int64_t imageSize = 0, patchSize = 0, embedDim = 0, numHeads = 0, windowSize = 0, depth = 0, neckDim = 0;
  std::vector<int64_t> globalBlocks;

  // The conditions now: at::get_num_threads(), this CPU, this LibTorch, `arch`'s shape fields.
  static LatencyValidity current(const model::SamArch& arch);
  std::string key() const;  // 16 hex digits
  nlohmann::json toJson() const;
  static LatencyValidity fromJson(const nlohmann::json& j, const std::string& source);
  // Whether the arch's shape fields equal this validity's.
  bool matchesArch(const model::SamArch& arch) const;
  bool operator==(const LatencyValidity& o) const;
  bool operator!=(const LatencyValidity& o) const { return !(*this == o); }
};

// Measured times of one block kind. widths ascending, ms[i] the time at widths[i].
struct BlockKindTimes {
  std::vector<int64_t> widths;
  std::vector<double> ms;
  double at(int64_t width) const;  // interpolated as described above; 0 when empty
};

struct LatencyTable {
  LatencyValidity validity;
  double embedMs = 0, neckMs = 0;
  double overheadMs = 0;       // chain correction: per forward
  double chainMsPerBlock = 0;  // chain correction: per kept block
  // "global" and "window<N>" (e.g. "window8").
  std::map<std::string, BlockKindTimes> kinds;
  int warmup = 0, repeats = 0;

  static std::string kindOf(const model::SamArch& arch, int64_t block);
  // Table sum for the subnet without the chain correction: embed + neck + entries of the kept blocks. util::Error as
  // predictMs.
  double sumMs(const model::SamArch& arch, const Subnet& subnet) const;
  // The prediction (above). util::Error when the arch's shape fields differ from the validity's, the subnet does
  // not fit the arch, or a kind the subnet needs is missing.
  double predictMs(const model::SamArch& arch, const Subnet& subnet) const;
  // The smallest prediction over `space` (each block at its cheapest choice: dropped when prunable, else its
  // cheapest width).
  double minimumMs(const model::SamArch& arch, const SearchSpace& space) const;
  // Whether every width in `widths` was measured for every kind of `arch`.
  bool covers(const model::SamArch& arch, const std::vector<int64_t>& widths) const;

  nlohmann::json toJson() const;
  // Checks described above; `source` names the file in errors.
  static LatencyTable fromJson(const nlohmann::json& j, const std::string& source = "latency table");
  std::string describe() const;  // a few lines for the CLI
};

struct LatencyMeasureOptions {
  int warmup = 2;
  int repeats = 7;
  bool chainCorrection = true;  // time the two full forwards of the correction
};

// Measures a table for `encoder` (built from `arch`) at `widths` (each clamped to the block's full width; the full
// width is always measured). job: progress per timed module; cancel throws util::Cancelled between modules.
LatencyTable measureLatencyTable(model::ImageEncoderViT encoder, const model::SamArch& arch,
                                 const std::vector<int64_t>& widths, const LatencyMeasureOptions& options,
                                 const util::JobControl& job);

// Reads and checks a table file (see Hostile files). util::Error naming `path`.
LatencyTable loadLatencyTableFile(const std::string& path);
void saveLatencyTableFile(const std::string& path, const LatencyTable& table);  // atomic

// $XDG_CACHE_HOME/supersam/latency, else $HOME/.cache/supersam/latency; util::Error when neither is set.
std::string defaultLatencyCacheDir();

struct LatencyTableSource {
  LatencyTable table;
  std::string path;    // the file it was read from or written to
  bool measured = false;
  std::string note;    // why it was (re)measured, "" when loaded
};

// tableFile "" = <cacheDir>/<validity key>.json (cacheDir "" = defaultLatencyCacheDir()). A file there is used when
// its validity equals the current one and it covers `widths`; otherwise the table is measured and written
// atomically. A cancelled measurement writes nothing (util::Cancelled propagates).
LatencyTableSource loadOrMeasureLatencyTable(model::ImageEncoderViT encoder, const model::SamArch& arch,
                                             const std::vector<int64_t>& widths, const std::string& cacheDir,
                                             const std::string& tableFile, const LatencyMeasureOptions& options,
                                             const util::JobControl& job);

// Every width of every block of `space` (sorted, unique): what a table for searching that space should measure.
std::vector<int64_t> widthsOf(const SearchSpace& space);

// Predicted against measured latency for random subnets of a space.
struct LatencyCheckPoint {
  std::string subnet;
  double predictedMs = 0, measuredMs = 0;
  double errorPct() const { return 100.0 * (predictedMs - measuredMs) / measuredMs; }
};
struct LatencyCheckSummary {
  size_t count = 0;
  double meanAbsPct = 0, maxAbsPct = 0, medianAbsPct = 0, meanSignedPct = 0;
  double correlation = 0;  // Pearson, predicted vs measured (NaN when undefined)
};
LatencyCheckSummary summarize(const std::vector<LatencyCheckPoint>& points);
// One line: "error over N subnets: mean |%| ..., correlation ...".
std::string describe(const LatencyCheckSummary& s);

// Draws `count` subnets from space.sample (seeded), predicts each and measures it with a LatencyProbe (warmup,
// repeats). onPoint (may be empty) after each. job: progress per subnet, cancel between subnets.
std::vector<LatencyCheckPoint> checkLatencyTable(model::ImageEncoderViT encoder, const model::SamArch& arch,
                                                 const LatencyTable& table, const SearchSpace& space, int count,
                                                 uint64_t seed, int warmup, int repeats, const util::JobControl& job,
                                                 const std::function<void(const LatencyCheckPoint&)>& onPoint = {});

}  // namespace supersam::supernet
