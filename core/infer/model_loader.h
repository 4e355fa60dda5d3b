#pragma once
// Loading a SAM from any checkpoint the product reads (official .pth, our safetensors, Hugging Face safetensors),
// choosing its architecture: an explicit override ("vit_b", ... or a JSON file), else our safetensors' "arch"
// metadata, else inferred from the tensor shapes (presets are recognised by name, anything else is "custom").
// Thread-safety: free functions, no shared state.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "core/io/checkpoint.h"
#include "core/model/arch.h"
#include "core/model/sam.h"

namespace supersam::infer {

struct LoadedModel {
  model::Sam sam{nullptr};  // in eval() mode, on the requested device
  model::SamArch arch;
  io::CheckpointFormat format = io::CheckpointFormat::Safetensors;
  std::map<std::string, std::string> metadata;  // safetensors __metadata__ (empty for .pth)
  std::string path;
  // Things a user should hear about a model that loaded (e.g. weights that are NaN or infinite: the masks of such a
  // model are meaningless). Programs print them; empty for a sound model.
  std::vector<std::string> warnings;
};

// Throws util::Error naming the file and the first offending key (missing, unexpected, shape mismatch) when the
// checkpoint does not fit the architecture, or the device when it is unavailable. Nothing is loaded half-way.
LoadedModel loadModel(const std::string& path, const std::optional<std::string>& archOverride = std::nullopt,
                      c10::Device device = c10::kCPU);
// Same, from a checkpoint already read (its tensors are copied into the model).
LoadedModel loadModel(const io::Checkpoint& checkpoint, const std::optional<std::string>& archOverride = std::nullopt,
                      c10::Device device = c10::kCPU);

// The one rule for a checkpoint's architecture override, used by the CLI and the studio alike: the override given,
// else an "arch.json" lying beside a bare state dict (".pth"/".pt", which say nothing about their architecture),
// else none (metadata "arch", then the shapes). loadModel(path, ...) applies it.
std::optional<std::string> archOverrideFor(const std::string& checkpointPath,
                                           const std::optional<std::string>& archOverride);

// The architecture a checkpoint is loaded with (override > metadata "arch" > inferred), without building the model.
model::SamArch archForCheckpoint(const io::Checkpoint& checkpoint, const std::optional<std::string>& archOverride);

// The architecture implied by official SAM key names and shapes. Head counts are not visible in shapes: the encoder's
// comes from the relative-position tables (head_dim = rel_pos_h.shape[1]), the decoder's is SAM's fixed 8. Global
// blocks are those whose tables span the whole token grid (2*tokens-1 rows), the others give window_size. Per-block
// MLP widths that differ become encoder_mlp_dims. Throws util::Error naming `source` and the missing/odd key.
model::SamArch inferArch(const io::StateDict& sd, const std::string& source);

// The first shape-determining field in which `inferred` (from inferArch) differs from `chosen`, as
// "encoder_embed_dim: 64 vs 768"; nullopt when the tensors fit `chosen`. decoder_num_heads is not compared (shapes do
// not show it). Cheap (no model is built): for `supersam info --arch`.
std::optional<std::string> archMismatch(const model::SamArch& chosen, const model::SamArch& inferred);

// Values per component of a SAM state dict (every tensor counts, buffers included, as in the official totals:
// ViT-B has 93,735,728 of which 89,670,912 in the image encoder).
struct ParameterCounts {
  int64_t total = 0;
  int64_t imageEncoder = 0;
  int64_t promptEncoder = 0;
  int64_t maskDecoder = 0;
  int64_t other = 0;       // keys outside the three components
  int64_t encoderMlp = 0;  // image_encoder.blocks.*.mlp.* (the part the supernet makes elastic)
};
ParameterCounts countParameters(const io::StateDict& sd);

}  // namespace supersam::infer
