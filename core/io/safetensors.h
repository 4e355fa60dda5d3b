#pragma once
// safetensors: the project's own checkpoint format (and Hugging Face's). Layout: u64 little-endian header size N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then data.
// Thread-safety: free functions, no shared state.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace supersam::io {

struct SafetensorsFile {
  std::vector<std::pair<std::string, at::Tensor>> tensors;  // file order (sorted by name when we write)
  std::map<std::string, std::string> metadata;               // "__metadata__"

  const at::Tensor* find(const std::string& name) const;
  // Throws util::Error naming the file and the tensor when absent.
  const at::Tensor& at(const std::string& name) const;
  std::string path;  // where it was read from, for messages
};

// Reads every tensor onto the CPU (contiguous, owning its memory). Throws util::Error naming the file and the
// first problem (truncated header or data, bad JSON, unknown dtype, offsets that do not match the shape).
SafetensorsFile loadSafetensors(const std::string& path);
SafetensorsFile parseSafetensors(const std::string& bytes, const std::string& nameForMessages);

// Writes atomically (temporary file + rename). Tensors are moved to the CPU and made contiguous; names must be
// unique. Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
void saveSafetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata = {});
std::string serializeSafetensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                 const std::map<std::string, std::string>& metadata = {});

}  // namespace supersam::io
