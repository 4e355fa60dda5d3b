#include "core/io/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "core/io/hf_sam_keys.h"
#include "core/io/pytorch_zip.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace supersam::io {

namespace {

std::string shapeText(at::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

// Buffers SAM registers as non-persistent (absent from official checkpoints); tolerated either way.
bool isNonPersistentBuffer(const std::string& key) { return key == "pixel_mean" || key == "pixel_std"; }

}  // namespace

std::string formatName(CheckpointFormat f) {
  switch (f) {
    case CheckpointFormat::PytorchZip: return "pytorch-zip";
    case CheckpointFormat::Safetensors: return "safetensors";
    case CheckpointFormat::HuggingFaceSafetensors: return "huggingface-safetensors";
  }
  return "unknown";
}

Checkpoint readCheckpoint(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw util::Error("checkpoint '" + path + "' does not exist");
  if (!std::filesystem::is_regular_file(path, ec)) throw util::Error("checkpoint '" + path + "' is not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw util::Error("checkpoint '" + path + "' cannot be opened for reading");
  std::string head(9, '\0');
  in.read(head.data(), 9);
  head.resize(static_cast<size_t>(in.gcount()));
  in.close();

  Checkpoint ck;
  ck.path = path;
  if (looksLikeZip(head)) {
    ck.format = CheckpointFormat::PytorchZip;
    ck.tensors = readPytorchZip(path);
    return ck;
  }
  // safetensors: an 8-byte little-endian header length, then the JSON header. The length's low byte may be 0x80 (the
  // pickle protocol opcode that starts a legacy torch.save file), so the '{' decides first.
  const bool safetensorsHeader = head.size() == 9 && head[8] == '{';
  if (!safetensorsHeader && !head.empty() && static_cast<unsigned char>(head[0]) == 0x80) {
    throw util::Error("checkpoint '" + path +
                      "' is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with "
                      "torch.save(state_dict, path) from PyTorch >= 1.6");
  }
  if (!safetensorsHeader) {
    throw util::Error("checkpoint '" + path +
                      "' is neither a PyTorch zip archive (torch.save: .pth / .pt, starting with 'PK') nor a "
                      "safetensors file (an 8-byte header length, then '{'): not a model file, or a damaged one");
  }
  SafetensorsFile f = loadSafetensors(path);
  ck.metadata = f.metadata;
  if (looksLikeHfSam(f.tensors)) {
    ck.format = CheckpointFormat::HuggingFaceSafetensors;
    ck.tensors = hfStateDictToSam(f.tensors, path);
  } else {
    ck.format = CheckpointFormat::Safetensors;
    ck.tensors = std::move(f.tensors);
  }
  return ck;
}

void loadStateDictInto(torch::nn::Module& module, const StateDict& sd, const std::string& source) {
  std::map<std::string, const at::Tensor*> given;
  for (const auto& [k, t] : sd) {
    if (!given.emplace(k, &t).second) throw util::Error("'" + source + "': key '" + k + "' appears twice");
  }
  struct Target {
    std::string key;
    at::Tensor tensor;
    const at::Tensor* source;
  };
  std::vector<Target> targets;
  std::vector<std::string> problems;
  std::map<std::string, bool> known;
  auto check = [&](const std::string& key, const at::Tensor& t, bool isBuffer) {
    // Official checkpoints lack only SAM's non-persistent buffers; every other parameter and buffer is required.
    known[key] = true;
    auto it = given.find(key);
    if (it == given.end()) {
      if (!(isBuffer && isNonPersistentBuffer(key)))
        problems.push_back("missing key '" + key + "' (the model expects shape " + shapeText(t.sizes()) + ")");
      return;
    }
    if (it->second->sizes() != t.sizes()) {
      problems.push_back("key '" + key + "' has shape " + shapeText(it->second->sizes()) +
                         " but the model expects " + shapeText(t.sizes()));
      return;
    }
    targets.push_back({key, t, it->second});
  };
  for (const auto& p : module.named_parameters(true)) check(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(true)) check(b.key(), b.value(), true);
  for (const auto& [k, t] : sd) {
    if (!known.count(k) && !isNonPersistentBuffer(k))
      problems.push_back("unexpected key '" + k + "' (shape " + shapeText(t.sizes()) + ") that the model lacks");
  }
  if (!problems.empty()) {
    std::string msg = "'" + source + "' does not fit the model's architecture: " + problems.front();
    if (problems.size() > 1) msg += " (and " + std::to_string(problems.size() - 1) + " more mismatches)";
    throw util::Error(msg);
  }
  at::NoGradGuard noGrad;
  for (auto& t : targets) {
    const at::Tensor& src = *t.source;
    // A plain memcpy where it suffices: this LibTorch's copy_ moves ~0.3 GB/s here, memcpy ~2.5 GB/s.
    if (t.tensor.device().is_cpu() && src.device().is_cpu() && t.tensor.scalar_type() == src.scalar_type() &&
        t.tensor.is_contiguous() && src.is_contiguous()) {
      if (t.tensor.nbytes()) std::memcpy(t.tensor.data_ptr(), src.data_ptr(), t.tensor.nbytes());
    } else {
      t.tensor.copy_(src);
    }
  }
}

StateDict stateDictOf(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value().detach());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value().detach());
  return out;
}

}  // namespace supersam::io
