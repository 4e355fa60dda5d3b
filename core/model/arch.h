#pragma once
// The SAM architecture as a value. Presets vit_b / vit_l / vit_h, or any custom one from JSON with the keys that
// toJsonText writes (resources/models/demo_arch.json is one). Exported subnets add per-block MLP widths ("encoder_mlp_dims")
// and, since dropped blocks are gone, list the kept blocks' supernet indices ("encoder_source_blocks");
// "encoder_global_attn_indexes" is then re-indexed to the kept blocks, so each kept block keeps its attention kind.
// Thread-safety: a plain value.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace supersam::model {

struct SamArch {
  std::string name = "custom";  // preset name, or "custom"
  int64_t imageSize = 1024;
  int64_t patchSize = 16;
  int64_t encoderEmbedDim = 768;
  int64_t encoderDepth = 12;
  int64_t encoderNumHeads = 12;
  std::vector<int64_t> encoderGlobalAttnIndexes = {2, 5, 8, 11};
  int64_t windowSize = 14;
  double mlpRatio = 4.0;
  int64_t promptEmbedDim = 256;   // also the mask decoder's transformer width and the neck's output channels
  int64_t maskInChans = 16;
  int64_t decoderMlpDim = 2048;
  int64_t decoderNumHeads = 8;
  int64_t iouHeadHiddenDim = 256;
  std::vector<int64_t> encoderMlpDims;        // optional, one per block; empty = mlpRatio * embedDim everywhere
  std::vector<int64_t> encoderSourceBlocks;   // optional, one per block: its index in the supernet it came from

  int64_t tokensPerSide() const { return imageSize / patchSize; }  // 64 for 1024 / 16
  int64_t fullMlpDim() const;                                      // mlpRatio * embedDim
  int64_t mlpDim(int64_t block) const;                             // this block's MLP hidden width
  bool isGlobal(int64_t block) const;
  int64_t lowResSize() const { return 4 * tokensPerSide(); }       // mask decoder output side (256 for 1024)

  // Throws util::Error naming the offending key/value when inconsistent (e.g. heads not dividing the width).
  void validate() const;

  static SamArch preset(const std::string& name);  // vit_b, vit_l, vit_h; util::Error lists them otherwise
  static std::vector<std::string> presetNames();
  // Unknown or missing keys, wrong types: util::Error naming the key and `source` (file name) .
  static SamArch fromJson(const nlohmann::json& j, const std::string& source = "arch JSON");
  static SamArch fromJsonText(const std::string& text, const std::string& source = "arch JSON");
  static SamArch fromFile(const std::string& path);
  // "vit_b" etc., or a path to a JSON file.
  static SamArch fromPresetOrFile(const std::string& nameOrPath);
  nlohmann::json toJson() const;
  std::string toJsonText() const;

  bool operator==(const SamArch& o) const;
  bool operator!=(const SamArch& o) const { return !(*this == o); }
};

}  // namespace supersam::model
