#include "core/supernet/supernet_info.h"

#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::supernet {

nlohmann::json SupernetInfo::toJson() const {
  nlohmann::json j = {{"version", 1}, {"search_space", space.toJson()}};
  if (sensitivity) j["sensitivity"] = sensitivity->toJson();
  if (reorder) j["reorder"] = reorder->toJson();
  if (!extracted.is_null()) j["extracted"] = extracted;
  return j;
}

std::string SupernetInfo::toJsonText() const { return toJson().dump(); }

SearchSpace defaultSearchSpace(const model::SamArch& arch, std::string* source) {
  try {
    SearchSpace s = SearchSpace::official(arch);
    s.validateFor(arch);
    if (source) *source = "default (official preset)";
    return s;
  } catch (const util::Error&) {
    if (source) *source = "default (widths only)";
    return SearchSpace::widthOnly(arch);
  }
}

SupernetInfo readSupernetInfo(const std::map<std::string, std::string>& metadata, const model::SamArch& arch) {
  SupernetInfo info;
  auto it = metadata.find("supernet");
  nlohmann::json j;
  if (it != metadata.end() && !it->second.empty()) {
    j = util::parseJsonOrDiscarded(it->second);
    if (j.is_discarded() || !j.is_object()) throw util::Error("the checkpoint's \"supernet\" metadata is not a JSON object");
  }
  if (j.contains("search_space")) {
    info.space = SearchSpace::fromJson(j["search_space"], "\"supernet\" metadata, search_space");
    info.space.validateFor(arch);
    info.spaceSource = "checkpoint";
  } else {
    info.space = defaultSearchSpace(arch, &info.spaceSource);
  }
  if (j.contains("sensitivity")) {
    info.sensitivity = SensitivityTable::fromJson(j["sensitivity"]);
    if (static_cast<int64_t>(info.sensitivity->dropLoss.size()) != arch.encoderDepth) {
      throw util::Error("the checkpoint's sensitivity table has " + std::to_string(info.sensitivity->dropLoss.size()) +
                        " blocks, the model " + std::to_string(arch.encoderDepth));
    }
  }
  if (j.contains("reorder")) info.reorder = ReorderRecord::fromJson(j["reorder"]);
  if (j.contains("extracted")) info.extracted = j["extracted"];
  return info;
}

Subnet resolveSubnet(const std::string& text, const SearchSpace& space, const model::SamArch& arch) {
  if (text == "largest") return space.largest();
  if (text == "smallest") return space.smallest();
  return Subnet::parse(text, arch);
}

}  // namespace supersam::supernet
