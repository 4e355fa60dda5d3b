#include "app/cli/info_supernet.h"

#include <cstdio>

#include "core/infer/model_loader.h"
#include "core/io/checkpoint.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/supernet_info.h"
#include "core/util/error.h"

namespace supersam::cli {

int printSupernetInfo(std::ostream& out, const std::string& path, const std::optional<std::string>& subnet,
                      const std::optional<std::string>& archOverride) {
  const io::Checkpoint ck = io::readCheckpoint(path);
  const model::SamArch arch = infer::archForCheckpoint(ck, archOverride);
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
  };
  show("largest subnet", info.space.largest());
  show("smallest subnet", info.space.smallest());
  if (subnet) {
    supernet::Subnet s = supernet::Subnet::parse(*subnet, arch);
    show("subnet", s);
    if (!info.space.contains(s)) out << "  (outside the search space)\n";
  }
  if (info.sensitivity) {
    out << "\n" << info.sensitivity->toText(arch);
  } else {
    out << "\nsensitivity:      not measured (run `supersam calibrate`)\n";
  }
  return 0;
}

}  // namespace supersam::cli
