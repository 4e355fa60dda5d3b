#include "core/io/pickle_reader.h"

#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>

#include <ATen/ATen.h>

#include "core/util/error.h"

namespace supersam::io {

namespace {

// The callables a state dict's pickle may name. Anything else is refused when its GLOBAL opcode is read.
enum class Callable { OrderedDict, RebuildTensorV2, RebuildParameter, StorageClass };

enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;                                   // Str, Bytes; Global: "module.name"
  std::vector<ValuePtr> items;                        // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries; // Dict (insertion order)
  Callable callable = Callable::OrderedDict;          // Global
  at::ScalarType dtype = at::kFloat;                  // Global (storage class), Storage
  c10::Storage storage;                               // Storage
  int64_t numel = 0;                                  // Storage
  at::Tensor tensor;                                  // Tensor
  int depth = 0;                                      // nesting of containers below this value
  bool sealed = false;                                // held by another container: may no longer change
  std::unordered_map<std::string, size_t> keyIndex;   // Dict: string key -> position in entries
};

// Nesting limit: deeper structures would overflow the C++ stack when freed (a crafted pickle could nest millions).
constexpr int kMaxDepth = 256;
// Objects one pickle may build: a ViT-H state dict builds ~10,000; a crafted 29 KB pickle once built 3e7 dicts.
constexpr int64_t kMaxValues = 2'000'000;
thread_local int64_t t_valuesMade = 0;

ValuePtr make(Kind k) {
  ++t_valuesMade;
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

const char* kindName(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

struct StorageClassInfo {
  const char* name;
  at::ScalarType dtype;
};

constexpr StorageClassInfo kStorageClasses[] = {
    {"FloatStorage", at::kFloat}, {"DoubleStorage", at::kDouble}, {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong}, {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort}, {"CharStorage", at::kChar}, {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},
};

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const StorageLoader& loader, const std::string& name)
      : m_bytes(bytes), m_loader(loader), m_name(name) {}

  ValuePtr run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw util::Error("pickle '" + m_name + "' at byte " + std::to_string(m_opStart) + ": " + what);
  }
  void need(size_t n) const {
    if (m_bytes.size() - m_pos < n)
      fail("truncated (needs " + std::to_string(n) + " more bytes, " + std::to_string(m_bytes.size() - m_pos) +
           " left)");
  }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(m_bytes[m_pos++]);
  }
  uint64_t uintLE(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(m_bytes[m_pos + i])) << (8 * i);
    m_pos += n;
    return v;
  }
  std::string take(uint64_t n) {
    if (n > m_bytes.size() - m_pos)
      fail("truncated (a string of " + std::to_string(n) + " bytes, " + std::to_string(m_bytes.size() - m_pos) +
           " left)");
    std::string s = m_bytes.substr(m_pos, n);
    m_pos += n;
    return s;
  }
  std::string line() {
    size_t end = m_bytes.find('\n', m_pos);
    if (end == std::string::npos) fail("truncated (unterminated text argument)");
    std::string s = m_bytes.substr(m_pos, end - m_pos);
    m_pos = end + 1;
    return s;
  }

  ValuePtr pop() {
    if (m_stack.size() <= (m_marks.empty() ? 0 : m_marks.back())) fail("stack underflow (malformed pickle)");
    ValuePtr v = m_stack.back();
    m_stack.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (m_stack.size() <= (m_marks.empty() ? 0 : m_marks.back())) fail("stack underflow (malformed pickle)");
    return m_stack.back();
  }
  std::vector<ValuePtr> popToMark() {
    if (m_marks.empty()) fail("MARK expected but none is open (malformed pickle)");
    size_t mark = m_marks.back();
    m_marks.pop_back();
    std::vector<ValuePtr> items(m_stack.begin() + static_cast<long>(mark), m_stack.end());
    m_stack.resize(mark);
    return items;
  }
  void memoPut(uint64_t index) { m_memo[index] = top(); }
  ValuePtr memoGet(uint64_t index) {
    auto it = m_memo.find(index);
    if (it == m_memo.end()) fail("memo entry " + std::to_string(index) + " read before it was written");
    return it->second;
  }

  // Records that `parent` now holds `child`, refusing nesting beyond kMaxDepth. The child is sealed: a container
  // that changed after being put inside another could grow its ancestors' depth unseen, or hold itself (a cycle);
  // a state dict's pickle always fills a container before it is used.
  void adopt(Value& parent, const ValuePtr& child) {
    if (child.get() == &parent) fail("a " + std::string(kindName(parent.kind)) + " holds itself");
    child->sealed = true;
    if (child->depth + 1 > parent.depth) parent.depth = child->depth + 1;
    if (parent.depth > kMaxDepth) fail("containers nested deeper than " + std::to_string(kMaxDepth));
  }
  void mutable_(const Value& container, const char* op) const {
    if (container.sealed) {
      fail(std::string(op) + " changes a " + kindName(container.kind) +
           " already held by another container (a recursive or hand-made pickle, not a state dict)");
    }
  }
  ValuePtr resolveGlobal(const std::string& module, const std::string& name);
  ValuePtr call(const ValuePtr& callable, const ValuePtr& args);
  ValuePtr rebuildTensor(const std::vector<ValuePtr>& args);
  ValuePtr persistentLoad(const ValuePtr& pid);
  void setItems(ValuePtr& dict, const std::vector<ValuePtr>& kv);
  int64_t asInt(const ValuePtr& v, const char* what) const {
    if (v->kind == Kind::Int) return v->integer;
    if (v->kind == Kind::Bool) return v->boolean ? 1 : 0;
    fail(std::string(what) + " should be an int, found a " + kindName(v->kind));
  }
  std::vector<int64_t> asIntTuple(const ValuePtr& v, const char* what) const {
    if (v->kind != Kind::Tuple && v->kind != Kind::List)
      fail(std::string(what) + " should be a tuple of ints, found a " + kindName(v->kind));
    std::vector<int64_t> out;
    for (const auto& x : v->items) out.push_back(asInt(x, what));
    return out;
  }

  const std::string& m_bytes;
  const StorageLoader& m_loader;
  std::string m_name;
  size_t m_pos = 0;
  size_t m_opStart = 0;
  std::vector<ValuePtr> m_stack;
  std::vector<size_t> m_marks;
  std::unordered_map<uint64_t, ValuePtr> m_memo;
  std::map<std::string, c10::Storage> m_storages;  // one storage per key, shared by its views
};

ValuePtr Unpickler::resolveGlobal(const std::string& module, const std::string& name) {
  auto g = make(Kind::Global);
  g->text = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    g->callable = Callable::OrderedDict;
    return g;
  }
  if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    g->callable = Callable::RebuildTensorV2;
    return g;
  }
  if (module == "torch._utils" && name == "_rebuild_parameter") {
    g->callable = Callable::RebuildParameter;
    return g;
  }
  if (module == "torch") {
    for (const auto& s : kStorageClasses) {
      if (name == s.name) {
        g->callable = Callable::StorageClass;
        g->dtype = s.dtype;
        return g;
      }
    }
  }
  throw util::Error("'" + m_name + "' names the Python global '" + g->text + "' (at byte " +
                    std::to_string(m_opStart) +
                    "), which a state dict of tensors never needs; refusing to load it (loading a checkpoint never "
                    "runs code)");
}

ValuePtr Unpickler::persistentLoad(const ValuePtr& pid) {
  // ('storage', <storage class>, key, location, numel)
  if (pid->kind != Kind::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Kind::Str ||
      pid->items[0]->text != "storage")
    fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
  const ValuePtr& type = pid->items[1];
  if (type->kind != Kind::Global || type->callable != Callable::StorageClass)
    fail("persistent id names no storage class");
  if (pid->items[2]->kind != Kind::Str) fail("persistent id has a non-string storage key");
  const std::string key = pid->items[2]->text;
  const int64_t numel = asInt(pid->items[4], "storage size");
  if (numel < 0) fail("storage '" + key + "' has a negative size");
  auto it = m_storages.find(key);
  if (it == m_storages.end()) it = m_storages.emplace(key, m_loader(key, type->dtype, numel)).first;
  const uint64_t needed = static_cast<uint64_t>(numel) * c10::elementSize(type->dtype);
  if (it->second.nbytes() < needed)
    fail("storage '" + key + "' holds " + std::to_string(it->second.nbytes()) + " bytes but " +
         std::to_string(needed) + " are needed");
  auto s = make(Kind::Storage);
  s->storage = it->second;
  s->dtype = type->dtype;
  s->numel = numel;
  s->text = key;
  return s;
}

ValuePtr Unpickler::rebuildTensor(const std::vector<ValuePtr>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() < 4) fail("_rebuild_tensor_v2 called with " + std::to_string(args.size()) + " arguments");
  const ValuePtr& st = args[0];
  if (st->kind != Kind::Storage) fail("_rebuild_tensor_v2's first argument is a " + std::string(kindName(st->kind)));
  const int64_t offset = asInt(args[1], "storage offset");
  const std::vector<int64_t> sizes = asIntTuple(args[2], "tensor size");
  const std::vector<int64_t> strides = asIntTuple(args[3], "tensor stride");
  if (sizes.size() != strides.size()) fail("tensor size and stride have different ranks");
  if (offset < 0) fail("negative storage offset");
  int64_t last = offset;  // highest element index touched
  bool empty = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0) fail("negative size or stride in storage '" + st->text + "'");
    // A weight is never an expanded view; a stride of 0 would make a huge tensor of one stored element.
    if (strides[d] == 0 && sizes[d] > 1) fail("stride 0 over a dimension of " + std::to_string(sizes[d]) +
                                              " in storage '" + st->text + "' (an expanded view, not a weight)");
    int64_t reach = 0;
    if (sizes[d] == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) || __builtin_add_overflow(last, reach, &last)) {
      fail("tensor size and stride overflow in storage '" + st->text + "'");
    }
  }
  if (!empty && last >= st->numel)
    fail("tensor reaches element " + std::to_string(last) + " of storage '" + st->text + "' which has only " +
         std::to_string(st->numel));
  at::Tensor t = at::empty({0}, at::TensorOptions().dtype(st->dtype));
  t.set_(st->storage, empty ? 0 : offset, sizes, strides);
  auto v = make(Kind::Tensor);
  v->tensor = t;
  return v;
}

ValuePtr Unpickler::call(const ValuePtr& callable, const ValuePtr& args) {
  if (callable->kind != Kind::Global) fail("REDUCE on a " + std::string(kindName(callable->kind)));
  if (args->kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
  switch (callable->callable) {
    case Callable::OrderedDict: {
      auto d = make(Kind::Dict);
      if (!args->items.empty()) {  // OrderedDict([(k, v), ...])
        const ValuePtr& list = args->items[0];
        if (list->kind != Kind::List && list->kind != Kind::Tuple) fail("OrderedDict called with a non-list");
        std::vector<ValuePtr> flat;
        for (const auto& kv : list->items) {
          if (kv->kind != Kind::Tuple || kv->items.size() != 2) fail("OrderedDict item is not a pair");
          flat.push_back(kv->items[0]);
          flat.push_back(kv->items[1]);
        }
        setItems(d, flat);
      }
      return d;
    }
    case Callable::RebuildTensorV2:
      return rebuildTensor(args->items);
    case Callable::RebuildParameter: {
      if (args->items.empty() || args->items[0]->kind != Kind::Tensor)
        fail("_rebuild_parameter called without a tensor");
      return args->items[0];
    }
    case Callable::StorageClass:
      fail("calling the storage class '" + callable->text + "' is not supported");
  }
  fail("unreachable");
}

void Unpickler::setItems(ValuePtr& dict, const std::vector<ValuePtr>& kv) {
  if (dict->kind != Kind::Dict) fail("SETITEM on a " + std::string(kindName(dict->kind)));
  if (kv.size() % 2) fail("SETITEMS with an odd number of values");
  mutable_(*dict, "SETITEMS");
  for (size_t i = 0; i < kv.size(); i += 2) {
    adopt(*dict, kv[i]);
    adopt(*dict, kv[i + 1]);
    if (kv[i]->kind == Kind::Str) {
      const auto [it, inserted] = dict->keyIndex.emplace(kv[i]->text, dict->entries.size());
      if (!inserted) {
        dict->entries[it->second].second = kv[i + 1];  // a repeated key replaces the value, as in Python
        continue;
      }
    }
    dict->entries.emplace_back(kv[i], kv[i + 1]);
  }
}

ValuePtr Unpickler::run() {
  t_valuesMade = 0;
  for (;;) {
    if (t_valuesMade > kMaxValues) {
      fail("builds more than " + std::to_string(kMaxValues) + " objects (a state dict needs far fewer)");
    }
    m_opStart = m_pos;
    if (m_pos >= m_bytes.size()) fail("truncated (no STOP opcode)");
    const uint8_t op = u8();
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t proto = u8();
        if (proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95: uintLE(8); break;   // FRAME: framing is only a hint for buffered readers
      case '.': {                    // STOP
        if (m_stack.size() != 1 || !m_marks.empty()) fail("STOP with a malformed stack");
        return m_stack.back();
      }
      case '(': m_marks.push_back(m_stack.size()); break;  // MARK
      case '0': pop(); break;                              // POP
      case '1': popToMark(); break;                        // POP_MARK
      case '2': m_stack.push_back(top()); break;           // DUP
      case 'N': m_stack.push_back(make(Kind::None)); break;
      case 0x88:                                           // NEWTRUE
      case 0x89: {                                         // NEWFALSE
        auto v = make(Kind::Bool);
        v->boolean = op == 0x88;
        m_stack.push_back(v);
        break;
      }
      case 'J': case 'K': case 'M': {  // BININT, BININT1, BININT2
        auto v = make(Kind::Int);
        if (op == 'J') v->integer = static_cast<int32_t>(static_cast<uint32_t>(uintLE(4)));
        else v->integer = static_cast<int64_t>(uintLE(op == 'K' ? 1 : 2));
        m_stack.push_back(v);
        break;
      }
      case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        const uint64_t n = op == 0x8a ? u8() : uintLE(4);
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
        const std::string b = take(n);
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
        auto v = make(Kind::Int);
        v->integer = static_cast<int64_t>(u);
        m_stack.push_back(v);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        uint64_t u = 0;
        for (uint8_t b : take(8)) u = (u << 8) | b;
        auto v = make(Kind::Float);
        std::memcpy(&v->real, &u, 8);
        m_stack.push_back(v);
        break;
      }
      case 'X': case 0x8c: case 0x8d:    // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
      case 'T': case 'U':                // BINSTRING, SHORT_BINSTRING
      case 'B': case 'C': case 0x8e: {   // BINBYTES, SHORT_BINBYTES, BINBYTES8
        uint64_t n = 0;
        if (op == 0x8c || op == 'U' || op == 'C') n = u8();
        else if (op == 0x8d || op == 0x8e) n = uintLE(8);
        else n = uintLE(4);
        auto v = make(op == 'B' || op == 'C' || op == 0x8e ? Kind::Bytes : Kind::Str);
        v->text = take(n);
        m_stack.push_back(v);
        break;
      }
      case ')': m_stack.push_back(make(Kind::Tuple)); break;  // EMPTY_TUPLE
      case 't': case 0x85: case 0x86: case 0x87: {            // TUPLE, TUPLE1..3
        auto v = make(Kind::Tuple);
        if (op == 't') {
          v->items = popToMark();
        } else {
          const int n = op - 0x84;
          v->items.resize(n);
          for (int i = n - 1; i >= 0; --i) v->items[i] = pop();
        }
        for (const auto& x : v->items) adopt(*v, x);
        m_stack.push_back(v);
        break;
      }
      case ']': m_stack.push_back(make(Kind::List)); break;  // EMPTY_LIST
      case 'l': {                                            // LIST
        auto v = make(Kind::List);
        v->items = popToMark();
        for (const auto& x : v->items) adopt(*v, x);
        m_stack.push_back(v);
        break;
      }
      case 'a': {  // APPEND
        ValuePtr x = pop();
        ValuePtr& list = top();
        if (list->kind != Kind::List) fail("APPEND on a " + std::string(kindName(list->kind)));
        mutable_(*list, "APPEND");
        adopt(*list, x);
        list->items.push_back(x);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<ValuePtr> xs = popToMark();
        ValuePtr& list = top();
        if (list->kind != Kind::List) fail("APPENDS on a " + std::string(kindName(list->kind)));
        mutable_(*list, "APPENDS");
        for (const auto& x : xs) adopt(*list, x);
        list->items.insert(list->items.end(), xs.begin(), xs.end());
        break;
      }
      case '}': m_stack.push_back(make(Kind::Dict)); break;  // EMPTY_DICT
      case 'd': {                                            // DICT
        std::vector<ValuePtr> kv = popToMark();
        auto d = make(Kind::Dict);
        setItems(d, kv);
        m_stack.push_back(d);
        break;
      }
      case 's': {  // SETITEM
        ValuePtr v = pop();
        ValuePtr k = pop();
        setItems(top(), {k, v});
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<ValuePtr> kv = popToMark();
        setItems(top(), kv);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = line();
        const std::string name = line();
        m_stack.push_back(resolveGlobal(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (module->kind != Kind::Str || name->kind != Kind::Str) fail("STACK_GLOBAL with non-string names");
        m_stack.push_back(resolveGlobal(module->text, name->text));
        break;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop();
        ValuePtr callable = pop();
        m_stack.push_back(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is constructible this way
        ValuePtr args = pop();
        ValuePtr cls = pop();
        if (cls->kind != Kind::Global || cls->callable != Callable::OrderedDict)
          fail("NEWOBJ on '" + (cls->kind == Kind::Global ? cls->text : std::string(kindName(cls->kind))) + "'");
        m_stack.push_back(make(Kind::Dict));
        break;
      }
      case 'b': {  // BUILD: the state of an OrderedDict (its _metadata) or a tensor is irrelevant to the weights
        pop();
        ValuePtr& obj = top();
        if (obj->kind != Kind::Dict && obj->kind != Kind::Tensor)
          fail("BUILD on a " + std::string(kindName(obj->kind)));
        break;
      }
      case 'Q': {  // BINPERSID
        ValuePtr pid = pop();
        m_stack.push_back(persistentLoad(pid));
        break;
      }
      case 'q': memoPut(u8()); break;         // BINPUT
      case 'r': memoPut(uintLE(4)); break;    // LONG_BINPUT
      case 0x94: memoPut(m_memo.size()); break;  // MEMOIZE
      case 'h': m_stack.push_back(memoGet(u8())); break;       // BINGET
      case 'j': m_stack.push_back(memoGet(uintLE(4))); break;  // LONG_BINGET
      case 'p': case 'g': {  // PUT, GET (text protocol 0)
        const std::string digits = line();
        uint64_t index = 0;
        try {
          index = std::stoull(digits);
        } catch (const std::exception&) {
          fail("bad memo index '" + digits + "'");
        }
        if (op == 'p') memoPut(index);
        else m_stack.push_back(memoGet(index));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex + " (not used by state dicts)");
      }
    }
  }
}

void flatten(const ValuePtr& dict, const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& out,
             const std::string& file) {
  for (const auto& [k, v] : dict->entries) {
    if (k->kind != Kind::Str) continue;
    if (v->kind == Kind::Tensor) out.emplace_back(prefix + k->text, v->tensor);
    else if (v->kind == Kind::Dict) flatten(v, prefix + k->text + ".", out, file);
  }
  (void)file;
}

}  // namespace

at::ScalarType storageClassDtype(const std::string& className, const std::string& nameForMessages) {
  for (const auto& s : kStorageClasses)
    if (className == s.name) return s.dtype;
  throw util::Error("'" + nameForMessages + "': unsupported storage class '" + className + "'");
}

std::vector<std::pair<std::string, at::Tensor>> unpickleStateDict(const std::string& bytes,
                                                                   const StorageLoader& loadStorage,
                                                                   const std::string& nameForMessages) {
  Unpickler u(bytes, loadStorage, nameForMessages);
  ValuePtr root = u.run();
  if (root->kind != Kind::Dict)
    throw util::Error("pickle '" + nameForMessages + "' holds a " + kindName(root->kind) +
                      ", not a state dict (a dict of tensors)");
  std::vector<std::pair<std::string, at::Tensor>> out;
  flatten(root, "", out, nameForMessages);
  return out;
}

}  // namespace supersam::io
