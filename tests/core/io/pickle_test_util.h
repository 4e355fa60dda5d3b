#pragma once
// Hand-written pickle bytes for the unpickler tests (what torch.save would emit, and what an attacker would).

#include <cstdint>
#include <string>

namespace supersam::test::pickle {

inline std::string u32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}
inline std::string str(const std::string& s) { return "X" + u32(static_cast<uint32_t>(s.size())) + s; }
inline std::string int1(int v) { return std::string("K") + static_cast<char>(v); }
inline std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
inline std::string proto2() { return std::string("\x80\x02", 2); }
inline std::string emptyOrderedDict() { return global("collections", "OrderedDict") + ")R"; }

// A tensor of `size` x `stride` at `offset` in FloatStorage '<key>' of `numel` elements.
inline std::string tensor(const std::string& key, int numel, int offset, std::initializer_list<int> size,
                          std::initializer_list<int> stride) {
  std::string s = global("torch._utils", "_rebuild_tensor_v2") + "(";
  s += "(" + str("storage") + global("torch", "FloatStorage") + str(key) + str("cpu") + int1(numel) + "tQ";
  s += int1(offset);
  s += "(";
  for (int v : size) s += int1(v);
  s += "t(";
  for (int v : stride) s += int1(v);
  s += "t";
  s += "\x89" + emptyOrderedDict() + "tR";
  return s;
}

// OrderedDict {name: tensor}.
inline std::string stateDict(const std::string& name, const std::string& tensorOps) {
  return proto2() + emptyOrderedDict() + str(name) + tensorOps + "s.";
}

}  // namespace supersam::test::pickle
