#include "core/supernet/latency_table.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "core/supernet/latency_probe.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::supernet {

namespace {

constexpr int kFormatVersion = 1;
constexpr uintmax_t kMaxTableFileBytes = 4u << 20;

std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) break;
      std::string v = line.substr(colon + 1);
      const size_t b = v.find_first_not_of(" \t");
      return b == std::string::npos ? "unknown" : v.substr(b);
    }
  }
  return "unknown";
}

std::string num(double v) {
  std::ostringstream s;
  s.precision(4);
  s << std::fixed << v;
  return s.str();
}

// Typed field access with errors naming the source and the field.
const nlohmann::json& field(const nlohmann::json& j, const std::string& name, const std::string& where) {
  if (!j.is_object()) throw util::Error(where + ": expected a JSON object");
  auto it = j.find(name);
  if (it == j.end()) throw util::Error(where + ": missing \"" + name + "\"");
  return *it;
}

int64_t intField(const nlohmann::json& j, const std::string& name, const std::string& where, int64_t lo,
                 int64_t hi) {
  const nlohmann::json& v = field(j, name, where);
  if (!v.is_number_integer()) throw util::Error(where + ": \"" + name + "\" must be an integer");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    throw util::Error(where + ": \"" + name + "\" = " + std::to_string(x) + " is outside [" + std::to_string(lo) +
                      ", " + std::to_string(hi) + "]");
  }
  return x;
}

double msField(const nlohmann::json& j, const std::string& name, const std::string& where, bool signedOk) {
  const nlohmann::json& v = field(j, name, where);
  if (!v.is_number()) throw util::Error(where + ": \"" + name + "\" must be a number of milliseconds");
  const double x = v.get<double>();
  if (!std::isfinite(x) || (!signedOk && x < 0) || std::fabs(x) > 1e9) {
    throw util::Error(where + ": \"" + name + "\" = " + v.dump() + " is not a " +
                      (signedOk ? "finite" : "non-negative") + " time in milliseconds");
  }
  return x;
}

std::string stringField(const nlohmann::json& j, const std::string& name, const std::string& where) {
  const nlohmann::json& v = field(j, name, where);
  if (!v.is_string()) throw util::Error(where + ": \"" + name + "\" must be a string");
  return v.get<std::string>();
}

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

using Clock = std::chrono::steady_clock;

// Median time of fn() over `repeats` runs after `warmup` runs, in ms.
template <typename Fn>
double timeMs(int warmup, int repeats, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    const auto t0 = Clock::now();
    at::Tensor y = fn();
    if (y.is_cuda()) y.cpu();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return medianOf(ms);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------- validity

LatencyValidity LatencyValidity::current(const model::SamArch& arch) {
  LatencyValidity v;
  v.threads = at::get_num_threads();
  v.cpuModel = cpuModelName();
  v.torchVersion = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                   std::to_string(TORCH_VERSION_PATCH);
  v.device = "cpu";
  v.imageSize = arch.imageSize;
  v.patchSize = arch.patchSize;
  v.embedDim = arch.encoderEmbedDim;
  v.numHeads = arch.encoderNumHeads;
  v.windowSize = arch.windowSize;
  v.depth = arch.encoderDepth;
  v.neckDim = arch.promptEmbedDim;
  for (int64_t b = 0; b < arch.encoderDepth; ++b) {
    if (arch.isGlobal(b)) v.globalBlocks.push_back(b);
  }
  return v;
}

nlohmann::json LatencyValidity::toJson() const {
  return {{"threads", threads},       {"cpu_model", cpuModel}, {"torch_version", torchVersion},
          {"device", device},         {"image_size", imageSize}, {"patch_size", patchSize},
          {"embed_dim", embedDim},    {"num_heads", numHeads}, {"window_size", windowSize},
          {"depth", depth},           {"neck_dim", neckDim},   {"global_blocks", globalBlocks}};
}

std::string LatencyValidity::key() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(fnv1a64("latency-table-v" + std::to_string(kFormatVersion) +
                                                        toJson().dump())));
  return buf;
}

LatencyValidity LatencyValidity::fromJson(const nlohmann::json& j, const std::string& source) {
  const std::string where = source + " \"validity\"";
  LatencyValidity v;
  constexpr int64_t kBig = int64_t{1} << 20;
  v.threads = static_cast<int>(intField(j, "threads", where, 1, 4096));
  v.cpuModel = stringField(j, "cpu_model", where);
  v.torchVersion = stringField(j, "torch_version", where);
  v.device = stringField(j, "device", where);
  v.imageSize = intField(j, "image_size", where, 1, kBig);
  v.patchSize = intField(j, "patch_size", where, 1, kBig);
  v.embedDim = intField(j, "embed_dim", where, 1, kBig);
  v.numHeads = intField(j, "num_heads", where, 1, kBig);
  v.windowSize = intField(j, "window_size", where, 0, kBig);
  v.depth = intField(j, "depth", where, 1, 4096);
  v.neckDim = intField(j, "neck_dim", where, 1, kBig);
  const nlohmann::json& g = field(j, "global_blocks", where);
  if (!g.is_array() || g.size() > static_cast<size_t>(v.depth)) {
    throw util::Error(where + ": \"global_blocks\" must be an array of at most depth block indices");
  }
  for (const auto& b : g) {
    if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() >= v.depth) {
      throw util::Error(where + ": \"global_blocks\" holds " + b.dump() + ", expected a block index below " +
                        std::to_string(v.depth));
    }
    v.globalBlocks.push_back(b.get<int64_t>());
  }
  return v;
}

bool LatencyValidity::matchesArch(const model::SamArch& arch) const {
  LatencyValidity a = current(arch);
  return a.imageSize == imageSize && a.patchSize == patchSize && a.embedDim == embedDim && a.numHeads == numHeads &&
         a.windowSize == windowSize && a.depth == depth && a.neckDim == neckDim && a.globalBlocks == globalBlocks;
}

bool LatencyValidity::operator==(const LatencyValidity& o) const { return toJson() == o.toJson(); }

// ---------------------------------------------------------------------------------------------------- table

double BlockKindTimes::at(int64_t width) const {
  if (widths.empty()) return 0.0;
  if (widths.size() == 1) return ms[0];
  // The segment [lo, lo + 1] containing width, or the nearest end segment for extrapolation.
  size_t hi = static_cast<size_t>(std::lower_bound(widths.begin(), widths.end(), width) - widths.begin());
  if (hi < widths.size() && widths[hi] == width) return ms[hi];
  hi = std::clamp<size_t>(hi, 1, widths.size() - 1);
  const size_t lo = hi - 1;
  const double t = static_cast<double>(width - widths[lo]) / static_cast<double>(widths[hi] - widths[lo]);
  return std::max(0.0, ms[lo] + t * (ms[hi] - ms[lo]));
}

std::string LatencyTable::kindOf(const model::SamArch& arch, int64_t block) {
  return arch.isGlobal(block) ? "global" : "window" + std::to_string(arch.windowSize);
}

double LatencyTable::sumMs(const model::SamArch& arch, const Subnet& subnet) const {
  if (!validity.matchesArch(arch)) {
    throw util::Error("latency table measured for another architecture (" + validity.toJson().dump() +
                      ") cannot predict for this one (" + LatencyValidity::current(arch).toJson().dump() + ")");
  }
  subnet.checkAgainst(arch);
  double sum = embedMs + neckMs;
  for (int64_t b = 0; b < subnet.depth(); ++b) {
    if (!subnet.kept(b)) continue;
    const std::string kind = kindOf(arch, b);
    auto it = kinds.find(kind);
    if (it == kinds.end() || it->second.widths.empty()) {
      throw util::Error("latency table has no entry for block kind \"" + kind + "\" (block " + std::to_string(b) + ")");
    }
    sum += it->second.at(subnet.width(b));
  }
  return sum;
}

double LatencyTable::predictMs(const model::SamArch& arch, const Subnet& subnet) const {
  return std::max(0.0, sumMs(arch, subnet) + overheadMs + chainMsPerBlock * static_cast<double>(subnet.keptCount()));
}

double LatencyTable::minimumMs(const model::SamArch& arch, const SearchSpace& space) const {
  space.validateFor(arch);
  std::vector<SubnetBlock> blocks;
  for (int64_t b = 0; b < space.depth(); ++b) {
    const BlockSpace& bs = space.block(b);
    // Cheapest kept width of this block (interpolated times need not be monotonic).
    int64_t best = bs.widths.front();
    double bestMs = std::numeric_limits<double>::infinity();
    auto it = kinds.find(kindOf(arch, b));
    for (int64_t w : bs.widths) {
      const double t = it == kinds.end() ? 0.0 : it->second.at(w);
      if (t < bestMs) {
        bestMs = t;
        best = w;
      }
    }
    const bool drop = bs.prunable && bestMs + chainMsPerBlock > 0;
    blocks.push_back(drop ? SubnetBlock{false, 0} : SubnetBlock{true, best});
  }
  return predictMs(arch, Subnet(std::move(blocks)));
}

bool LatencyTable::covers(const model::SamArch& arch, const std::vector<int64_t>& widths) const {
  for (int64_t b = 0; b < arch.encoderDepth; ++b) {
    auto it = kinds.find(kindOf(arch, b));
    if (it == kinds.end()) return false;
    for (int64_t w : widths) {
      const int64_t clamped = std::min(w, arch.mlpDim(b));
      if (!std::binary_search(it->second.widths.begin(), it->second.widths.end(), clamped)) return false;
    }
    if (!std::binary_search(it->second.widths.begin(), it->second.widths.end(), arch.mlpDim(b))) return false;
  }
  return true;
}

nlohmann::json LatencyTable::toJson() const {
  nlohmann::json k = nlohmann::json::object();
  for (const auto& [name, t] : kinds) k[name] = {{"widths", t.widths}, {"ms", t.ms}};
  return {{"version", kFormatVersion},
          {"validity", validity.toJson()},
          {"embed_ms", embedMs},
          {"neck_ms", neckMs},
          {"overhead_ms", overheadMs},
          {"chain_ms_per_block", chainMsPerBlock},
          {"warmup", warmup},
          {"repeats", repeats},
          {"kinds", k}};
}

LatencyTable LatencyTable::fromJson(const nlohmann::json& j, const std::string& source) {
  LatencyTable t;
  const int64_t version = intField(j, "version", source, 0, 1 << 20);
  if (version != kFormatVersion) {
    throw util::Error(source + ": latency table version " + std::to_string(version) + ", expected " +
                      std::to_string(kFormatVersion));
  }
  t.validity = LatencyValidity::fromJson(field(j, "validity", source), source);
  t.embedMs = msField(j, "embed_ms", source, false);
  t.neckMs = msField(j, "neck_ms", source, false);
  t.overheadMs = msField(j, "overhead_ms", source, true);
  t.chainMsPerBlock = msField(j, "chain_ms_per_block", source, true);
  t.warmup = static_cast<int>(intField(j, "warmup", source, 0, 1 << 20));
  t.repeats = static_cast<int>(intField(j, "repeats", source, 1, 1 << 20));
  const nlohmann::json& k = field(j, "kinds", source);
  if (!k.is_object()) throw util::Error(source + ": \"kinds\" must be an object of block kinds");
  for (const auto& [name, v] : k.items()) {
    const std::string where = source + " kind \"" + name + "\"";
    const nlohmann::json& w = field(v, "widths", where);
    const nlohmann::json& ms = field(v, "ms", where);
    if (!w.is_array() || !ms.is_array() || w.size() != ms.size() || w.empty() || w.size() > kMaxWidthsPerKind) {
      throw util::Error(where + ": \"widths\" and \"ms\" must be arrays of the same length, 1 to " +
                        std::to_string(kMaxWidthsPerKind));
    }
    BlockKindTimes times;
    for (size_t i = 0; i < w.size(); ++i) {
      if (!w[i].is_number_integer() || w[i].get<int64_t>() <= 0 ||
          (!times.widths.empty() && w[i].get<int64_t>() <= times.widths.back())) {
        throw util::Error(where + ": width " + w[i].dump() + " at index " + std::to_string(i) +
                          ", expected positive integers in ascending order");
      }
      times.widths.push_back(w[i].get<int64_t>());
      times.ms.push_back(msField(nlohmann::json{{"ms", ms[i]}}, "ms", where + " index " + std::to_string(i), false));
    }
    t.kinds[name] = std::move(times);
  }
  // Every kind the validity's arch has must be there.
  std::set<std::string> needed;
  const std::set<int64_t> globals(t.validity.globalBlocks.begin(), t.validity.globalBlocks.end());
  for (int64_t b = 0; b < t.validity.depth; ++b) {
    needed.insert(globals.count(b) ? "global" : "window" + std::to_string(t.validity.windowSize));
  }
  for (const std::string& n : needed) {
    if (!t.kinds.count(n)) throw util::Error(source + ": missing the times of block kind \"" + n + "\"");
  }
  return t;
}

std::string LatencyTable::describe() const {
  std::ostringstream s;
  s << "latency table (" << validity.threads << " threads, " << validity.cpuModel << ", LibTorch "
    << validity.torchVersion << ", " << validity.imageSize << " px, median of " << repeats << " after " << warmup
    << " warm-up; key " << validity.key() << ")\n";
  s << "  embed " << num(embedMs) << " ms, neck " << num(neckMs) << " ms, chain correction " << num(overheadMs)
    << " ms + " << num(chainMsPerBlock) << " ms per kept block\n";
  for (const auto& [name, t] : kinds) {
    s << "  " << name << ":";
    for (size_t i = 0; i < t.widths.size(); ++i) s << " " << t.widths[i] << "=" << num(t.ms[i]);
    s << " (width=ms)\n";
  }
  return s.str();
}

// ---------------------------------------------------------------------------------------------------- measuring

LatencyTable measureLatencyTable(model::ImageEncoderViT encoder, const model::SamArch& arch,
                                 const std::vector<int64_t>& widths, const LatencyMeasureOptions& options,
                                 const util::JobControl& job) {
  arch.validate();
  if (encoder->depth() != arch.encoderDepth) {
    throw util::Error("latency table: the encoder has " + std::to_string(encoder->depth()) + " blocks, the arch " +
                      std::to_string(arch.encoderDepth));
  }
  LatencyTable t;
  t.validity = LatencyValidity::current(arch);
  t.warmup = std::max(0, options.warmup);
  t.repeats = std::max(1, options.repeats);

  // One representative block per kind, and the widths to measure for it.
  std::map<std::string, int64_t> blockOf;
  std::map<std::string, std::set<int64_t>> widthsOf;
  for (int64_t b = 0; b < arch.encoderDepth; ++b) {
    const std::string kind = LatencyTable::kindOf(arch, b);
    // The widest block of the kind, so that every width fits it.
    if (!blockOf.count(kind) || arch.mlpDim(b) > arch.mlpDim(blockOf[kind])) blockOf[kind] = b;
    widthsOf[kind].insert(arch.mlpDim(b));
    for (int64_t w : widths) {
      if (w <= 0) throw util::Error("latency table: width " + std::to_string(w) + " is not positive");
      widthsOf[kind].insert(std::min(w, arch.mlpDim(b)));
    }
  }
  long long total = 2;  // embed, neck
  for (const auto& [kind, ws] : widthsOf) total += static_cast<long long>(ws.size());
  if (options.chainCorrection) total += 2;
  long long done = 0;
  auto step = [&](const std::string& what) {
    job.check();
    job.report(done++, total, what);
  };

  c10::InferenceMode guard;
  const auto device = encoder->pos_embed.device();
  const at::Tensor image = at::randn({1, 3, arch.imageSize, arch.imageSize}, at::TensorOptions().device(device));
  step("patch + position embedding");
  t.embedMs = timeMs(t.warmup, t.repeats, [&] { return encoder->embed(image); });
  const at::Tensor tokens = encoder->embed(image);
  for (const auto& [kind, ws] : widthsOf) {
    model::Block block = encoder->block(blockOf[kind]);
    BlockKindTimes times;
    for (int64_t w : ws) {
      step("block " + kind + " width " + std::to_string(w));
      times.widths.push_back(w);
      times.ms.push_back(timeMs(t.warmup, t.repeats, [&] { return block->forward(tokens, w); }));
    }
    t.kinds[kind] = std::move(times);
  }
  step("neck");
  t.neckMs = timeMs(t.warmup, t.repeats, [&] { return encoder->neckForward(tokens); });

  if (options.chainCorrection) {
    // Two full forwards: every block kept, and every other block dropped (both at full width).
    const Subnet all = Subnet::full(arch);
    std::vector<SubnetBlock> halfBlocks = all.blocks();
    for (size_t b = 1; b < halfBlocks.size(); b += 2) halfBlocks[b] = SubnetBlock{false, 0};
    const Subnet half(halfBlocks);
    double residual[2];
    double kept[2];
    int i = 0;
    for (const Subnet* s : {&all, &half}) {
      step("full forward of " + std::to_string(s->keptCount()) + " blocks");
      const model::ElasticConfig cfg = s->toElastic();
      residual[i] = timeMs(t.warmup, t.repeats, [&] { return encoder->forward(image, &cfg); }) - t.sumMs(arch, *s);
      kept[i] = static_cast<double>(s->keptCount());
      ++i;
    }
    if (kept[0] != kept[1]) {
      t.chainMsPerBlock = (residual[0] - residual[1]) / (kept[0] - kept[1]);
      t.overheadMs = residual[0] - t.chainMsPerBlock * kept[0];
    } else {
      t.overheadMs = residual[0];
    }
  }
  job.check();
  job.report(total, total, "latency table measured");
  return t;
}

LatencyTable loadLatencyTableFile(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw util::Error("cannot read latency table '" + path + "': " + ec.message());
  if (size > kMaxTableFileBytes) {
    throw util::Error("latency table '" + path + "' is " + std::to_string(size) + " bytes, more than a table needs (" +
                      std::to_string(kMaxTableFileBytes) + ")");
  }
  const std::string what = "latency table '" + path + "'";
  const nlohmann::json j = util::parseJson(util::readFileBytes(path), what);
  try {
    return LatencyTable::fromJson(j, what);
  } catch (const nlohmann::json::exception& e) {
    throw util::Error(what + " is malformed: " + e.what());
  }
}

void saveLatencyTableFile(const std::string& path, const LatencyTable& table) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw util::Error("cannot create the folder of latency table '" + path + "': " + ec.message());
  util::writeFileAtomic(path, table.toJson().dump(1) + "\n");
}

std::string defaultLatencyCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg && xdg[0] == '/') return std::string(xdg) + "/supersam/latency";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.cache/supersam/latency";
  throw util::Error("no cache folder for the latency table: set XDG_CACHE_HOME or HOME, or give a table file");
}

LatencyTableSource loadOrMeasureLatencyTable(model::ImageEncoderViT encoder, const model::SamArch& arch,
                                             const std::vector<int64_t>& widths, const std::string& cacheDir,
                                             const std::string& tableFile, const LatencyMeasureOptions& options,
                                             const util::JobControl& job) {
  const LatencyValidity now = LatencyValidity::current(arch);
  LatencyTableSource out;
  const bool explicitFile = !tableFile.empty();
  out.path = explicitFile ? tableFile : (cacheDir.empty() ? defaultLatencyCacheDir() : cacheDir) + "/" + now.key() + ".json";
  std::vector<int64_t> wanted = widths;
  if (std::filesystem::exists(out.path)) {
    std::optional<LatencyTable> cached;
    try {
      cached = loadLatencyTableFile(out.path);
    } catch (const util::Error& e) {
      if (explicitFile) throw;  // the user's own file: never overwritten when it cannot be read
      out.note = std::string("cached table was unreadable (") + e.what() + "): remeasured";
    }
    if (cached) {
      if (cached->validity != now) {
        out.note = "table '" + out.path + "' was measured under other conditions (" + cached->validity.toJson().dump() +
                   "): remeasured";
      } else if (!cached->covers(arch, widths)) {
        out.note = "table '" + out.path + "' lacks some of the widths asked for: remeasured with them";
        for (const auto& [kind, t] : cached->kinds) wanted.insert(wanted.end(), t.widths.begin(), t.widths.end());
      } else {
        out.table = std::move(*cached);
        return out;
      }
    }
  } else {
    out.note = "no table for these conditions yet: measured";
  }
  out.table = measureLatencyTable(std::move(encoder), arch, wanted, options, job);
  out.measured = true;
  saveLatencyTableFile(out.path, out.table);
  return out;
}

std::vector<int64_t> widthsOf(const SearchSpace& space) {
  std::set<int64_t> all;
  for (const BlockSpace& b : space.blocks()) all.insert(b.widths.begin(), b.widths.end());
  return {all.begin(), all.end()};
}

// ---------------------------------------------------------------------------------------------------- checking

std::string describe(const LatencyCheckSummary& s) {
  char line[256];
  std::snprintf(line, sizeof line,
                "error over %zu subnets: mean |%%| %.2f, median |%%| %.2f, max |%%| %.2f, mean signed %+.2f %%, "
                "correlation %.4f",
                s.count, s.meanAbsPct, s.medianAbsPct, s.maxAbsPct, s.meanSignedPct, s.correlation);
  return line;
}

LatencyCheckSummary summarize(const std::vector<LatencyCheckPoint>& points) {
  LatencyCheckSummary s;
  s.count = points.size();
  if (points.empty()) return s;
  std::vector<double> abs;
  double sp = 0, sm = 0;
  for (const auto& p : points) {
    abs.push_back(std::fabs(p.errorPct()));
    s.meanSignedPct += p.errorPct();
    sp += p.predictedMs;
    sm += p.measuredMs;
  }
  const double n = static_cast<double>(points.size());
  s.meanSignedPct /= n;
  s.meanAbsPct = std::accumulate(abs.begin(), abs.end(), 0.0) / n;
  s.maxAbsPct = *std::max_element(abs.begin(), abs.end());
  std::sort(abs.begin(), abs.end());
  s.medianAbsPct = abs.size() % 2 ? abs[abs.size() / 2] : 0.5 * (abs[abs.size() / 2 - 1] + abs[abs.size() / 2]);
  const double mp = sp / n, mm = sm / n;
  double cov = 0, vp = 0, vm = 0;
  for (const auto& p : points) {
    cov += (p.predictedMs - mp) * (p.measuredMs - mm);
    vp += (p.predictedMs - mp) * (p.predictedMs - mp);
    vm += (p.measuredMs - mm) * (p.measuredMs - mm);
  }
  s.correlation = vp > 0 && vm > 0 ? cov / std::sqrt(vp * vm) : std::numeric_limits<double>::quiet_NaN();
  return s;
}

std::vector<LatencyCheckPoint> checkLatencyTable(model::ImageEncoderViT encoder, const model::SamArch& arch,
                                                 const LatencyTable& table, const SearchSpace& space, int count,
                                                 uint64_t seed, int warmup, int repeats, const util::JobControl& job,
                                                 const std::function<void(const LatencyCheckPoint&)>& onPoint) {
  space.validateFor(arch);
  std::mt19937_64 rng(seed);
  LatencyProbe probe(encoder, arch.imageSize, warmup, repeats);
  std::vector<LatencyCheckPoint> out;
  for (int i = 0; i < count; ++i) {
    job.check();
    job.report(i, count, "checking subnet " + std::to_string(i + 1));
    const Subnet s = space.sample(rng);
    LatencyCheckPoint p;
    p.subnet = s.toString();
    p.predictedMs = table.predictMs(arch, s);
    p.measuredMs = probe.measure(s).latencyMs;
    out.push_back(p);
    if (onPoint) onPoint(p);
  }
  job.report(count, count, "checked");
  return out;
}

}  // namespace supersam::supernet
