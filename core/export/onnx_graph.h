#pragma once
// An ONNX model under construction, node by node, over Debian's ONNX library (onnx::ModelProto, protobuf 3.21).
// This header and its .cpp include no LibTorch header, and the .cpp is compiled in its own target without
// LibTorch's include folders (core/CMakeLists.txt): LibTorch 2.x ships its own, older protobuf headers, which would
// otherwise shadow the system ones that libonnx was built with. onnx_export.cpp feeds it the weights as raw floats.
// Thread-safety: one builder per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace supersam::exporter {

// A node attribute: INT, FLOAT, STRING or INTS.
struct OnnxAttr {
  enum class Kind { Int, Float, String, Ints };
  std::string name;
  Kind kind = Kind::Int;
  int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<int64_t> ints;
  static OnnxAttr integer(const std::string& n, int64_t v) { return {n, Kind::Int, v, 0.f, {}, {}}; }
  static OnnxAttr real(const std::string& n, float v) { return {n, Kind::Float, 0, v, {}, {}}; }
  static OnnxAttr text(const std::string& n, const std::string& v) { return {n, Kind::String, 0, 0.f, v, {}}; }
  static OnnxAttr list(const std::string& n, const std::vector<int64_t>& v) { return {n, Kind::Ints, 0, 0.f, {}, v}; }
};

class OnnxGraph {
 public:
  // A model with IR version 8 (ONNX 1.12's), the default domain at `opset`, and one graph.
  OnnxGraph(const std::string& graphName, const std::string& doc, int64_t opset, const std::string& producerVersion);
  ~OnnxGraph();
  OnnxGraph(const OnnxGraph&) = delete;
  OnnxGraph& operator=(const OnnxGraph&) = delete;

  // Initializers. `weight` copies numel(dims) floats from `data`; returns `name`. The others get fresh names.
  std::string weight(const std::string& name, const float* data, const std::vector<int64_t>& dims);
  std::string ints(const std::vector<int64_t>& values, bool scalar = false);  // int64 [n], or a scalar
  std::string scalar(float value);                                             // float32 scalar

  // A node of `type` with the given inputs ("" = an omitted optional input); returns its output's fresh name.
  std::string op(const std::string& type, const std::vector<std::string>& inputs,
                 const std::vector<OnnxAttr>& attrs = {});

  // Graph inputs and outputs, float32; a dimension < 0 is symbolic, named by `symbolic` at that index.
  void input(const std::string& name, const std::vector<int64_t>& dims, const std::vector<std::string>& symbolic = {});
  void output(const std::string& name, const std::vector<int64_t>& dims,
              const std::vector<std::string>& symbolic = {});
  // Renames a value everywhere it is produced or consumed (to give outputs their interface names).
  void rename(const std::string& from, const std::string& to);

  void setScope(const std::string& scope);  // prefix of the following nodes' names ("" for none)
  int64_t nodeCount() const;

  // Runs onnx::checker::check_model and serialises the model. Throws std::runtime_error with the checker's message.
  std::string checkedBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

}  // namespace supersam::exporter
