#pragma once
// PyTorch's checkpoint container (torch.save since 1.6, the official SAM .pth files): a zip archive holding
// <prefix>/data.pkl (the pickled state dict), <prefix>/data/<key> (one raw little-endian storage per key),
// <prefix>/version and, in newer files, <prefix>/byteorder. The zip is read with LibTorch's own reader; the pickle
// with our restricted unpickler (core/io/pickle_reader.h), so reading never runs code.
// Thread-safety: free functions, no shared state.

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace supersam::io {

// True when `head` (the first bytes of a file) starts with a zip local-file header ("PK\x03\x04").
bool looksLikeZip(const std::string& head);

// Reads every tensor of the state dict in a PyTorch zip checkpoint, in file order. Tensors are CPU, contiguous and
// own their memory (copied out of shared or strided storages). Throws util::Error naming the file and the record
// (or byte offset) for truncated or corrupt archives, forbidden pickle globals, and storages too small for their
// tensors.
std::vector<std::pair<std::string, at::Tensor>> readPytorchZip(const std::string& path);

}  // namespace supersam::io
