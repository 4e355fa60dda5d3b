#pragma once
// Reading any checkpoint the product accepts into a flat state dict with SAM's official key names:
// official SAM .pth (PyTorch zip + pickled OrderedDict, read by a restricted unpickler that never runs code),
// our safetensors (arch and supernet data in __metadata__), and Hugging Face SAM safetensors (keys mapped to ours).
// Thread-safety: free functions, no shared state.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace torch::nn {
class Module;
}

namespace supersam::io {

using StateDict = std::vector<std::pair<std::string, at::Tensor>>;  // key order as in the file

enum class CheckpointFormat { PytorchZip, Safetensors, HuggingFaceSafetensors };
std::string formatName(CheckpointFormat f);

struct Checkpoint {
  StateDict tensors;                            // official SAM key names, CPU tensors
  CheckpointFormat format = CheckpointFormat::Safetensors;
  std::map<std::string, std::string> metadata;  // safetensors __metadata__ (ours: "arch", "supernet", ...)
  std::string path;
};

// Detects the format from the content (zip magic vs safetensors header), not the extension. Every zip record's
// CRC-32 is verified. Legacy (pre-1.6, non-zip) torch.save files are refused with a message saying so.
// Throws util::Error naming the file and the first problem (record, byte offset or tensor).
Checkpoint readCheckpoint(const std::string& path);

// Copies `sd` into `module`'s parameters and buffers, strictly: every key present, no extra key, shapes equal.
// Any mismatch throws util::Error naming the first offending key and the expected vs found shape, before anything
// is copied (nothing is loaded half-way). dtype is converted to the module's. Buffers are required like parameters,
// except SAM's non-persistent pixel_mean / pixel_std, which may be absent from or extra in `sd`.
void loadStateDictInto(torch::nn::Module& module, const StateDict& sd, const std::string& source);

// The module's parameters and buffers as a state dict (detached, same order as named_parameters/buffers).
StateDict stateDictOf(const torch::nn::Module& module);

}  // namespace supersam::io
