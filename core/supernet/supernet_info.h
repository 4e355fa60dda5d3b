#pragma once
// The "supernet" metadata of our safetensors checkpoints, as one value. JSON layout (key "supernet"):
//   {"version": 1, "search_space": SearchSpace JSON, "sensitivity": SensitivityTable JSON (optional),
//    "reorder": ReorderRecord JSON (optional), "extracted": {...} (only in exported subnets)}
// readSupernetInfo() is what the GUI, search and info read; when a checkpoint carries no search space it falls back
// to the official preset (or widths only where that preset cannot apply) and says so in `spaceSource`.
// Thread-safety: plain values.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/arch.h"
#include "core/supernet/importance.h"
#include "core/supernet/search_space.h"
#include "core/supernet/sensitivity.h"

namespace supersam::supernet {

struct SupernetInfo {
  SearchSpace space;
  std::string spaceSource;  // "checkpoint", "default (official preset)", "default (widths only)"
  std::optional<SensitivityTable> sensitivity;
  std::optional<ReorderRecord> reorder;
  nlohmann::json extracted;  // null unless this checkpoint is an exported subnet

  nlohmann::json toJson() const;  // without spaceSource
  std::string toJsonText() const;
};

// `metadata`: the checkpoint's __metadata__. Throws util::Error naming the key when "supernet" is present but
// malformed, or its space does not fit `arch`.
SupernetInfo readSupernetInfo(const std::map<std::string, std::string>& metadata, const model::SamArch& arch);

// A subnet as users write it on the command line: "largest" or "smallest" of `space`, else a canonical subnet
// string (Subnet::parse; util::Error naming the text otherwise). One rule for info, eval and export.
Subnet resolveSubnet(const std::string& text, const SearchSpace& space, const model::SamArch& arch);

// The default space for an arch without calibration: official, or widths only where official leaves no choice.
SearchSpace defaultSearchSpace(const model::SamArch& arch, std::string* source = nullptr);

}  // namespace supersam::supernet
