#include "app/cli/info_supernet.h"

#include <cstdio>
#include <memory>

#include "core/infer/model_loader.h"
#include "core/io/checkpoint.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/latency_probe.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"

namespace supersam::cli {

int printSupernetInfo(std::ostream& out, const std::string& path, const SupernetInfoOptions& options) {
  const std::optional<std::string>& subnet = options.subnet;
  const io::Checkpoint ck = io::readCheckpoint(path);
  const model::SamArch arch = infer::archForCheckpoint(ck, options.archOverride);
  std::unique_ptr<supernet::LatencyProbe> probe;
  if (options.measure) {
    const infer::LoadedModel loaded = infer::loadModel(ck, options.archOverride);
    probe = std::make_unique<supernet::LatencyProbe>(loaded.sam->image_encoder, arch.imageSize, 1, options.repeats,
                                                     options.latencyCache);
  }
  const supernet::SupernetInfo info = supernet::readSupernetInfo(ck.metadata, arch);
  out << "supernet:         " << ck.path << " (" << arch.name << ", " << arch.encoderDepth << " blocks)\n";
  out << info.space.describe();
  out << "  (search space from: " << info.spaceSource << ")\n";
  if (info.reorder) {
    out << "reorder:          " << supernet::reorderMethodName(info.reorder->method) << " ("
        << info.reorder->calibrationBatches << " calibration images)\n";
  } else {
    out << "reorder:          none recorded\n";
  }
  if (!info.extracted.is_null()) out << "extracted from:   " << info.extracted.dump() << "\n";
  auto show = [&](const std::string& title, const supernet::Subnet& s) {
    out << "\n" << title << ": " << s.toString() << "  (hash " << s.hash() << ")\n" << supernet::describeCost(arch, s);
    if (!probe) return;
    const supernet::Measurement m = probe->measure(s);
    char line[200];
    std::snprintf(line, sizeof line, "  measured:       encoder %.1f ms median of %d (min %.1f), %d threads, %lldx%lld",
                  m.latencyMs, m.repeats, m.minLatencyMs, m.threads, static_cast<long long>(m.imageSize),
                  static_cast<long long>(m.imageSize));
    out << line;
    if (m.peakBytes >= 0) {
      std::snprintf(line, sizeof line, "; peak memory +%.1f MB", static_cast<double>(m.peakBytes) / (1 << 20));
      out << line;
    }
    out << "\n" << std::flush;
  };
  show("largest subnet", info.space.largest());
  show("smallest subnet", info.space.smallest());
  if (subnet) {
    supernet::Subnet s = supernet::resolveSubnet(*subnet, info.space, arch);
    show("subnet", s);
    if (!info.space.contains(s)) out << "  (outside the search space)\n";
  }
  if (probe) probe->save();
  if (info.sensitivity) {
    out << "\n" << info.sensitivity->toText(arch);
  } else {
    out << "\nsensitivity:      not measured (run `supersam calibrate`)\n";
  }
  return 0;
}

}  // namespace supersam::cli
