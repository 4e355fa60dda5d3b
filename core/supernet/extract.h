#pragma once
// Extraction: a physically smaller, standalone SAM for one subnet. Dropped blocks are removed and the rest
// re-numbered; each kept block's lin1 rows + bias and lin2 columns are sliced to its width (copies, contiguous);
// attention weights and relative-position tables are copied unchanged. The arch records the per-block MLP widths
// ("encoder_mlp_dims"), the kept blocks' supernet indices ("encoder_source_blocks") and the re-indexed
// "encoder_global_attn_indexes", so every kept block keeps its attention kind. The extracted model computes what
// the supernet computes for that subnet (the same operations on the same values).
// Thread-safety: reads the supernet's weights; do not modify them concurrently.

#include <map>
#include <string>

#include "core/io/checkpoint.h"
#include "core/model/arch.h"
#include "core/model/sam.h"
#include "core/supernet/subnet.h"

namespace supersam::supernet {

// The arch of the extracted model. If `arch` is itself an extract (has encoder_source_blocks), source indices
// are composed so they still point into the original supernet. Throws util::Error when `s` does not fit `arch`.
model::SamArch extractedArch(const model::SamArch& arch, const Subnet& s);

// Slices/renames a supernet state dict (official key names) into the extracted model's state dict.
// util::Error naming the missing key when `sd` lacks a tensor the arch needs.
io::StateDict extractStateDict(const io::StateDict& sd, const model::SamArch& arch, const Subnet& s);

// A new model of extractedArch(...) holding the sliced weights, in eval mode on the supernet's device.
model::Sam extractModel(const model::Sam& supernet, const Subnet& s);

// Writes the extracted model as our safetensors (format=supersam, arch, and "supernet" = {"extracted": {subnet,
// hash, source arch}}), atomically. `extraMetadata` entries are added (ours win on conflicts).
void exportSubnet(const model::Sam& supernet, const Subnet& s, const std::string& path,
                  const std::map<std::string, std::string>& extraMetadata = {});

}  // namespace supersam::supernet
