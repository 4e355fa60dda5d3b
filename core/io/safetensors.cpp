#include "core/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::io {

namespace {

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"I64", at::kLong},
    {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},  {"U8", at::kByte},       {"BOOL", at::kBool},
};

at::ScalarType dtypeFromName(const std::string& name, const std::string& file, const std::string& tensor) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw util::Error("safetensors '" + file + "': tensor '" + tensor + "' has unsupported dtype '" + name + "'");
}

const char* dtypeName(at::ScalarType t, const std::string& tensor) {
  for (const auto& d : kDtypes)
    if (t == d.type) return d.name;
  throw util::Error("safetensors: tensor '" + tensor + "' has a dtype safetensors cannot store (" +
                    std::string(c10::toString(t)) + ")");
}

}  // namespace

const at::Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [k, v] : tensors)
    if (k == name) return &v;
  return nullptr;
}

const at::Tensor& SafetensorsFile::at(const std::string& name) const {
  if (const at::Tensor* t = find(name)) return *t;
  throw util::Error("'" + path + "' has no tensor named '" + name + "'");
}

namespace {

struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin = 0, size = 0;  // within the data area
};

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the safetensors format's own limit

uint64_t headerSizeOf(const char* first8) {
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i) headerSize = (headerSize << 8) | static_cast<unsigned char>(first8[i]);
  return headerSize;
}

// Parses and checks the JSON header against the size of the data area that follows it.
std::vector<Entry> parseHeader(const char* begin, size_t size, size_t dataSize, const std::string& file,
                               std::map<std::string, std::string>& metadata) {
  const nlohmann::json header = util::parseJson(std::string_view(begin, size), "safetensors '" + file + "': header");
  if (!header.is_object()) throw util::Error("safetensors '" + file + "': header is not a JSON object");
  std::vector<Entry> out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) throw util::Error("safetensors '" + file + "': __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          throw util::Error("safetensors '" + file + "': metadata '" + m.key() + "' is not a string");
        metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const auto& info = *it;
    try {
      Entry e;
      e.name = name;
      e.type = dtypeFromName(info.at("dtype").get<std::string>(), file, name);
      // Integers only: nlohmann would turn 1.5 or -3 into some uint64 without a word.
      const auto integers = [&](const nlohmann::json& a, const char* what) {
        if (!a.is_array()) {
          throw util::Error("safetensors '" + file + "': tensor '" + name + "': " + what + " is not a list");
        }
        for (const auto& v : a) {
          if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
            throw util::Error("safetensors '" + file + "': tensor '" + name + "': " + what +
                              " holds a value that is not a non-negative integer");
          }
        }
      };
      integers(info.at("shape"), "shape");
      integers(info.at("data_offsets"), "data_offsets");
      e.shape = info.at("shape").get<std::vector<int64_t>>();
      auto offsets = info.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > dataSize) {
        throw util::Error("safetensors '" + file + "': tensor '" + name + "' has data offsets outside the file (" +
                          std::to_string(dataSize) + " data bytes; truncated?)");
      }
      uint64_t numel = 1;
      for (int64_t d : e.shape) {
        if (d < 0) throw util::Error("safetensors '" + file + "': tensor '" + name + "' has a negative dimension");
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel) || numel > dataSize) numel = dataSize + 1;
      }
      uint64_t expected = 0;
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(c10::elementSize(e.type)), &expected)) {
        expected = UINT64_MAX;
      }
      if (offsets[1] - offsets[0] != expected) {
        throw util::Error("safetensors '" + file + "': tensor '" + name + "' holds " +
                          std::to_string(offsets[1] - offsets[0]) + " bytes but its shape and dtype need " +
                          std::to_string(expected));
      }
      e.begin = offsets[0];
      e.size = expected;
      out.push_back(std::move(e));
    } catch (const nlohmann::json::exception& e) {
      throw util::Error("safetensors '" + file + "': entry for tensor '" + name + "' is malformed: " + e.what());
    }
  }
  // The format's rule: the tensors tile the data area exactly, in order, without overlap or holes. Aliasing
  // entries once turned a 1.4 MB file into 2.5 GB of tensors.
  std::vector<const Entry*> byOffset;
  for (const Entry& e : out) byOffset.push_back(&e);
  std::stable_sort(byOffset.begin(), byOffset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  uint64_t at = 0;
  for (const Entry* e : byOffset) {
    if (e->begin != at) {
      throw util::Error("safetensors '" + file + "': tensor '" + e->name + "' starts at data byte " +
                        std::to_string(e->begin) + ", expected " + std::to_string(at) +
                        (e->begin < at ? " (it overlaps the tensor before it)" : " (a hole before it)"));
    }
    at += e->size;
  }
  if (at != dataSize) {
    throw util::Error("safetensors '" + file + "': the tensors cover " + std::to_string(at) + " of the " +
                      std::to_string(dataSize) + " data bytes");
  }
  return out;
}

}  // namespace

SafetensorsFile parseSafetensors(const std::string& bytes, const std::string& file) {
  if (bytes.size() < 8) throw util::Error("safetensors '" + file + "': file too short (" +
                                          std::to_string(bytes.size()) + " bytes, expected at least 8)");
  const uint64_t headerSize = headerSizeOf(bytes.data());
  if (headerSize > kMaxHeaderBytes) {
    throw util::Error("safetensors '" + file + "': header claims " + std::to_string(headerSize) +
                      " bytes, more than the format's 100 MB limit (not a safetensors file, or a damaged one)");
  }
  if (headerSize > bytes.size() - 8) {
    throw util::Error("safetensors '" + file + "': header claims " + std::to_string(headerSize) +
                      " bytes but the file has only " + std::to_string(bytes.size() - 8) + " after it (truncated?)");
  }
  SafetensorsFile out;
  out.path = file;
  const size_t dataStart = 8 + headerSize;
  for (const Entry& e : parseHeader(bytes.data() + 8, headerSize, bytes.size() - dataStart, file, out.metadata)) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    if (e.size) std::memcpy(t.data_ptr(), bytes.data() + dataStart + e.begin, e.size);
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

// Reads the header, then each tensor straight into its own memory: no whole-file buffer (peak = the tensors).
SafetensorsFile loadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    if (!std::filesystem::exists(path)) throw util::Error("file not found: '" + path + "'");
    throw util::Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  const uint64_t fileSize = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  char first8[8];
  if (fileSize < 8 || !in.read(first8, 8))
    throw util::Error("safetensors '" + path + "': file too short (" + std::to_string(fileSize) +
                      " bytes, expected at least 8)");
  const uint64_t headerSize = headerSizeOf(first8);
  if (headerSize > kMaxHeaderBytes) {
    throw util::Error("safetensors '" + path + "': header claims " + std::to_string(headerSize) +
                      " bytes, more than the format's 100 MB limit (not a safetensors file, or a damaged one)");
  }
  if (headerSize > fileSize - 8) {
    throw util::Error("safetensors '" + path + "': header claims " + std::to_string(headerSize) +
                      " bytes but the file has only " + std::to_string(fileSize - 8) + " after it (truncated?)");
  }
  std::string header(headerSize, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(headerSize)))
    throw util::Error("safetensors '" + path + "': cannot read its header");
  SafetensorsFile out;
  out.path = path;
  const uint64_t dataStart = 8 + headerSize;
  for (const Entry& e : parseHeader(header.data(), header.size(), fileSize - dataStart, path, out.metadata)) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    if (e.size) {
      in.seekg(static_cast<std::streamoff>(dataStart + e.begin));
      if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.size)))
        throw util::Error("safetensors '" + path + "': cannot read the data of tensor '" + e.name + "' (truncated?)");
    }
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}


namespace {

// The header (padded so the data starts 8-byte aligned) and the tensors in the order the header lists them.
struct Layout {
  std::string head;
  std::vector<at::Tensor> data;
};

Layout layoutOf(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> sorted = tensors;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::set<std::string> seen;
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  Layout out;
  for (auto& [name, t] : sorted) {
    if (!seen.insert(name).second) throw util::Error("safetensors: duplicate tensor name '" + name + "'");
    if (name == "__metadata__") throw util::Error("safetensors: '__metadata__' cannot name a tensor");
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t n = c.numel() * c.element_size();
    header[name] = {{"dtype", dtypeName(c.scalar_type(), name)},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
    out.data.push_back(c);
  }
  std::string head = header.dump();
  while ((8 + head.size()) % 8 != 0) head.push_back(' ');  // align the data to 8 bytes, as the format suggests
  uint64_t hs = head.size();
  out.head.reserve(8 + head.size());
  for (int i = 0; i < 8; ++i) out.head.push_back(static_cast<char>((hs >> (8 * i)) & 0xff));
  out.head += head;
  return out;
}

}  // namespace

std::string serializeSafetensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                 const std::map<std::string, std::string>& metadata) {
  Layout l = layoutOf(tensors, metadata);
  std::string out = l.head;
  for (const auto& c : l.data) out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  return out;
}

// Streams the tensors to the temporary file (no whole-file buffer in memory).
void saveSafetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata) {
  Layout l = layoutOf(tensors, metadata);
  util::writeFileAtomic(path, [&](std::ostream& out) {
    out.write(l.head.data(), static_cast<std::streamsize>(l.head.size()));
    for (const auto& c : l.data)
      out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
  });
}

}  // namespace supersam::io
