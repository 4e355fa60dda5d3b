#include "core/supernet/extract.h"

#include <unordered_map>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace supersam::supernet {

namespace {
const std::string kBlockPrefix = "image_encoder.blocks.";
}

model::SamArch extractedArch(const model::SamArch& arch, const Subnet& s) {
  s.checkAgainst(arch);
  if (s.keptCount() == 0) throw util::Error("subnet \"" + s.toString() + "\" drops every block; nothing to extract");
  model::SamArch out = arch;
  out.name = "custom";
  out.encoderDepth = s.keptCount();
  out.encoderMlpDims.clear();
  out.encoderSourceBlocks.clear();
  out.encoderGlobalAttnIndexes.clear();
  int64_t k = 0;
  for (int64_t i = 0; i < s.depth(); ++i) {
    if (!s.kept(i)) continue;
    out.encoderMlpDims.push_back(s.width(i));
    out.encoderSourceBlocks.push_back(arch.encoderSourceBlocks.empty() ? i : arch.encoderSourceBlocks[size_t(i)]);
    if (arch.isGlobal(i)) out.encoderGlobalAttnIndexes.push_back(k);
    ++k;
  }
  out.validate();
  return out;
}

io::StateDict extractStateDict(const io::StateDict& sd, const model::SamArch& arch, const Subnet& s) {
  s.checkAgainst(arch);
  std::vector<int64_t> newIndex(static_cast<size_t>(s.depth()), -1);
  int64_t k = 0;
  for (int64_t i = 0; i < s.depth(); ++i) newIndex[size_t(i)] = s.kept(i) ? k++ : -1;
  io::StateDict out;
  for (const auto& [key, t] : sd) {
    if (key.rfind(kBlockPrefix, 0) != 0) {
      out.emplace_back(key, t.detach().clone());
      continue;
    }
    size_t dot = key.find('.', kBlockPrefix.size());
    int64_t i = std::stoll(key.substr(kBlockPrefix.size(), dot - kBlockPrefix.size()));
    if (i < 0 || i >= s.depth()) {
      throw util::Error("supernet state dict has '" + key + "', beyond the subnet's " + std::to_string(s.depth()) +
                        " blocks");
    }
    if (!s.kept(i)) continue;
    const std::string rest = key.substr(dot + 1);
    const int64_t w = s.width(i);
    at::Tensor v = t.detach();
    if (rest == "mlp.lin1.weight" || rest == "mlp.lin1.bias") {
      v = v.narrow(0, 0, w);
    } else if (rest == "mlp.lin2.weight") {
      v = v.narrow(1, 0, w);
    }
    out.emplace_back(kBlockPrefix + std::to_string(newIndex[size_t(i)]) + "." + rest, v.contiguous().clone());
  }
  return out;
}

model::Sam extractModel(const model::Sam& supernet, const Subnet& s) {
  const model::SamArch& arch = supernet->arch();
  model::Sam small(extractedArch(arch, s));
  io::StateDict sd = extractStateDict(io::stateDictOf(*supernet), arch, s);
  io::loadStateDictInto(*small, sd, "subnet " + s.toString());
  auto params = supernet->parameters();
  if (!params.empty()) small->to(params.front().device());
  small->eval();
  return small;
}

void exportSubnet(const model::Sam& supernet, const Subnet& s, const std::string& path,
                  const std::map<std::string, std::string>& extraMetadata) {
  const model::SamArch& arch = supernet->arch();
  model::SamArch small = extractedArch(arch, s);
  io::StateDict sd = extractStateDict(io::stateDictOf(*supernet), arch, s);
  for (auto& kv : sd) kv.second = kv.second.to(at::kCPU);
  std::map<std::string, std::string> meta = extraMetadata;
  meta["format"] = "supersam";
  meta["arch"] = small.toJsonText();
  nlohmann::json extracted = {{"subnet", s.toString()}, {"hash", s.hash()}, {"source_arch", arch.toJson()}};
  meta["supernet"] = nlohmann::json{{"extracted", extracted}}.dump();
  io::saveSafetensors(path, sd, meta);
}

}  // namespace supersam::supernet
