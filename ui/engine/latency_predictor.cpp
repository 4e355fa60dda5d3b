#include "ui/engine/latency_predictor.h"

#include <algorithm>
#include <exception>
#include <filesystem>

#include "core/infer/model_loader.h"
#include "core/model/arch.h"
#include "core/model/sam.h"
#include "core/supernet/latency_table.h"
#include "core/supernet/search_space.h"
#include "core/supernet/supernet_info.h"

namespace supersam::ui {

struct LatencyPredictor::Impl {
  SubnetSpace space;
  supernet::LatencyTable table;
  std::string path;
};

namespace {
std::vector<int64_t> widthsOfSpace(const SubnetSpace& space) {
  std::vector<int64_t> w;
  for (const auto& b : space.info().blocks) w.insert(w.end(), b.widthChoices.begin(), b.widthChoices.end());
  std::sort(w.begin(), w.end());
  w.erase(std::unique(w.begin(), w.end()), w.end());
  return w;
}
}  // namespace

std::optional<LatencyPredictor> LatencyPredictor::loadCached(const SubnetSpace& space, const std::string& cacheDir) {
  if (!space.valid()) return std::nullopt;
  try {
    const model::SamArch& arch = space.arch();
    const std::string dir = cacheDir.empty() ? supernet::defaultLatencyCacheDir() : cacheDir;
    const std::string path = dir + "/" + supernet::LatencyValidity::current(arch).key() + ".json";
    if (!std::filesystem::is_regular_file(path)) return std::nullopt;
    supernet::LatencyTable t = supernet::loadLatencyTableFile(path);
    if (t.validity != supernet::LatencyValidity::current(arch) || !t.covers(arch, widthsOfSpace(space))) {
      return std::nullopt;
    }
    auto impl = std::make_shared<Impl>();
    impl->space = space;
    impl->table = std::move(t);
    impl->path = path;
    LatencyPredictor p;
    p.m_impl = impl;
    return p;
  } catch (const std::exception&) {
    return std::nullopt;  // absent or malformed: the plot simply has no predicted axis
  }
}

LatencyPredictor LatencyPredictor::measure(const std::string& checkpoint, const std::string& archOverride,
                                           const SubnetSpace& space, const std::string& cacheDir,
                                           const util::JobControl& job) {
  infer::LoadedModel loaded =
      infer::loadModel(checkpoint, archOverride.empty() ? std::nullopt : std::optional<std::string>(archOverride));
  loaded.sam->eval();
  const supernet::LatencyTableSource src = supernet::loadOrMeasureLatencyTable(
      loaded.sam->image_encoder, loaded.arch, widthsOfSpace(space), cacheDir, {}, supernet::LatencyMeasureOptions{},
      job);
  auto impl = std::make_shared<Impl>();
  impl->space = space;
  impl->table = src.table;
  impl->path = src.path;
  LatencyPredictor p;
  p.m_impl = impl;
  return p;
}

double LatencyPredictor::predictMs(const model::ElasticConfig& cfg) const {
  const auto& d = *m_impl;
  return d.table.predictMs(d.space.arch(), supernet::Subnet::parse(d.space.toString(cfg), d.space.arch()));
}

double LatencyPredictor::predictMs(const std::string& subnet) const {
  try {
    return predictMs(m_impl->space.parse(subnet));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string LatencyPredictor::path() const { return m_impl->path; }

}  // namespace supersam::ui
