#include "core/io/pytorch_zip.h"

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include "core/io/pickle_reader.h"
#include "core/io/zip_crc.h"
#include "core/util/error.h"

namespace supersam::io {

namespace {

// c10 messages carry a C++ backtrace; keep the first line only.
std::string firstLine(const c10::Error& e) {
  std::string s = e.what_without_backtrace();
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// LibTorch's reader skips the zip's CRC-32 checks; a record whose bytes changed is named here.
void checkCrc(const std::map<std::string, ZipRecord>& crcs, const std::string& name, const void* data, size_t size,
              const std::string& path) {
  auto it = crcs.find(name);
  if (it == crcs.end()) return;
  if (crc32(data, size) != it->second.crc)
    throw util::Error("PyTorch checkpoint '" + path + "': record '" + name +
                      "' fails its CRC-32 check (its bytes are corrupt)");
}

std::string recordText(caffe2::serialize::PyTorchStreamReader& reader, const std::map<std::string, ZipRecord>& crcs,
                       const std::string& name, const std::string& path) {
  try {
    auto [data, size] = reader.getRecord(name);
    checkCrc(crcs, name, data.get(), size, path);
    return std::string(static_cast<const char*>(data.get()), size);
  } catch (const c10::Error& e) {
    throw util::Error("PyTorch checkpoint '" + path + "': cannot read record '" + name + "' (" + firstLine(e) +
                      "; truncated or corrupt?)");
  }
}

}  // namespace

bool looksLikeZip(const std::string& head) { return head.size() >= 4 && head.compare(0, 4, "PK\x03\x04") == 0; }

std::vector<std::pair<std::string, at::Tensor>> readPytorchZip(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw util::Error("PyTorch checkpoint '" + path + "': no such file");
  const auto fileSize = std::filesystem::file_size(path, ec);

  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw util::Error("PyTorch checkpoint '" + path + "' (" + std::to_string(fileSize) +
                      " bytes) is not a readable zip archive: " + firstLine(e) +
                      " (truncated or corrupt? the zip directory is at the end of the file)");
  }
  const std::map<std::string, ZipRecord> crcs = zipRecords(path);
  if (reader->hasRecord("byteorder")) {
    std::string order = recordText(*reader, crcs, "byteorder", path);
    if (order != "little")
      throw util::Error("PyTorch checkpoint '" + path + "' stores its tensors in '" + order +
                        "' byte order; only little-endian checkpoints are supported");
  }
  if (!reader->hasRecord("data.pkl"))
    throw util::Error("PyTorch checkpoint '" + path + "' has no data.pkl record (not a torch.save archive)");
  const std::string pickle = recordText(*reader, crcs, "data.pkl", path);

  std::set<std::string> used;
  StorageLoader loader = [&](const std::string& key, at::ScalarType dtype, int64_t numel) -> c10::Storage {
    const std::string record = "data/" + key;
    used.insert(record);
    if (!reader->hasRecord(record))
      throw util::Error("PyTorch checkpoint '" + path + "': the pickle refers to storage record '" + record +
                        "' which the archive lacks (truncated or corrupt?)");
    // The size a storage needs is known from the pickle: a record that claims more is refused before it is inflated
    // (a 4.9 MB file once inflated one record to 3.5 GiB).
    uint64_t needed = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(c10::elementSize(dtype)), &needed)) {
      needed = UINT64_MAX;
    }
    if (auto it = crcs.find(record); it != crcs.end() && it->second.size != needed) {
      throw util::Error("PyTorch checkpoint '" + path + "': record '" + record + "' holds " +
                        std::to_string(it->second.size) + " bytes but its storage (" + std::to_string(numel) + " x " +
                        std::string(c10::toString(dtype)) + ") needs " + std::to_string(needed) +
                        " (corrupt, or not written by torch.save)");
    }
    at::DataPtr data;
    size_t size = 0;
    try {
      std::tie(data, size) = reader->getRecord(record);
    } catch (const c10::Error& e) {
      throw util::Error("PyTorch checkpoint '" + path + "': cannot read record '" + record + "' (" + firstLine(e) +
                        "; truncated or corrupt?)");
    }
    checkCrc(crcs, record, data.get(), size, path);
    if (size < needed)
      throw util::Error("PyTorch checkpoint '" + path + "': record '" + record + "' holds " + std::to_string(size) +
                        " bytes but its storage needs " + std::to_string(needed) + " (truncated or corrupt?)");
    return c10::Storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
  };
  auto tensors = unpickleStateDict(pickle, loader, path + ":data.pkl");
  // torch.save writes only the storages its pickle uses: a storage record nothing refers to means the pickle was
  // changed (a flipped key pointing one tensor at another's storage, the CRC recomputed).
  for (const auto& [name, rec] : crcs) {
    if (name.rfind("data/", 0) == 0 && !used.count(name)) {
      throw util::Error("PyTorch checkpoint '" + path + "': storage record '" + name +
                        "' is used by no tensor of data.pkl (a corrupt or edited pickle)");
    }
  }

  // Tensors must own their memory: keep a storage as is only when one tensor covers it exactly, copy otherwise.
  std::map<const void*, int> uses;
  for (const auto& kv : tensors) ++uses[kv.second.storage().unsafeGetStorageImpl()];
  for (auto& kv : tensors) {
    at::Tensor& t = kv.second;
    const bool exact = uses[t.storage().unsafeGetStorageImpl()] == 1 && t.is_contiguous() &&
                       t.storage_offset() == 0 && t.nbytes() == t.storage().nbytes();
    if (!exact) t = t.clone(at::MemoryFormat::Contiguous);
  }
  return tensors;
}

}  // namespace supersam::io
