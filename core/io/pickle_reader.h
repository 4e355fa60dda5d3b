#pragma once
// A restricted unpickler for PyTorch state dicts. It understands the opcodes that torch.save emits for a
// (possibly nested) OrderedDict of tensors and resolves ONLY these globals:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, and the typed
//   storage classes torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage.
// Any other global (os.system, builtins.eval, torch.storage._load_from_bytes, ...) throws util::Error naming the
// global and the file as soon as the GLOBAL / STACK_GLOBAL opcode is read: unpickling never runs code.
// Tensor storages are provided by the caller (the zip container's data/<key> records).
// Thread-safety: free functions, no shared state.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <c10/core/Storage.h>

namespace supersam::io {

// Supplies the storage named by a persistent id ('storage', <type>, key, location, numel): a CPU storage of at
// least numel elements of `dtype`. Should throw util::Error naming the record when it cannot.
using StorageLoader = std::function<c10::Storage(const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Unpickles `bytes` (a data.pkl) whose root is a dict of tensors. Nested dicts are flattened with '.' (as
// {"model": {...}} checkpoints are), non-tensor leaves are ignored. The returned tensors are views on the storages
// the loader returned (strides and offsets honoured). Throws util::Error naming `nameForMessages` and the byte
// offset for truncated or malformed pickles, unsupported opcodes and forbidden globals.
std::vector<std::pair<std::string, at::Tensor>> unpickleStateDict(const std::string& bytes,
                                                                   const StorageLoader& loadStorage,
                                                                   const std::string& nameForMessages);

// The dtype of an allowed storage class ("FloatStorage" -> kFloat); throws util::Error for any other name.
at::ScalarType storageClassDtype(const std::string& className, const std::string& nameForMessages);

}  // namespace supersam::io
