#include "core/export/onnx_graph.h"

#include <stdexcept>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

namespace supersam::exporter {

struct OnnxGraph::Impl {
  onnx::ModelProto model;
  onnx::GraphProto* graph = nullptr;
  std::string scope;
  int64_t counter = 0;
  std::string fresh(const std::string& base) { return base + "_" + std::to_string(counter++); }
};

namespace {
void addValueInfo(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
                  const std::vector<int64_t>& dims, const std::vector<std::string>& symbolic) {
  onnx::ValueInfoProto* v = list->Add();
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = t->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    auto* d = shape->add_dim();
    if (dims[i] < 0) {
      d->set_dim_param(i < symbolic.size() && !symbolic[i].empty() ? symbolic[i] : name + "_dim" + std::to_string(i));
    } else {
      d->set_dim_value(dims[i]);
    }
  }
}
}  // namespace

OnnxGraph::OnnxGraph(const std::string& graphName, const std::string& doc, int64_t opset,
                     const std::string& producerVersion)
    : m(std::make_unique<Impl>()) {
  m->model.set_ir_version(onnx::IR_VERSION);
  m->model.set_producer_name("supersam");
  m->model.set_producer_version(producerVersion);
  m->model.set_doc_string(doc);
  auto* op = m->model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m->graph = m->model.mutable_graph();
  m->graph->set_name(graphName);
}

OnnxGraph::~OnnxGraph() = default;

std::string OnnxGraph::weight(const std::string& name, const float* data, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  onnx::TensorProto* p = m->graph->add_initializer();
  p->set_name(name);
  p->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) p->add_dims(d);
  // raw_data is little-endian, as the hosts this builds for.
  p->set_raw_data(std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(n) * sizeof(float)));
  return name;
}

std::string OnnxGraph::ints(const std::vector<int64_t>& values, bool scalar) {
  const std::string name = m->fresh("const_i");
  onnx::TensorProto* p = m->graph->add_initializer();
  p->set_name(name);
  p->set_data_type(onnx::TensorProto::INT64);
  if (!scalar) p->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t x : values) p->add_int64_data(x);
  return name;
}

std::string OnnxGraph::scalar(float value) {
  const std::string name = m->fresh("const_f");
  onnx::TensorProto* p = m->graph->add_initializer();
  p->set_name(name);
  p->set_data_type(onnx::TensorProto::FLOAT);
  p->add_float_data(value);
  return name;
}

std::string OnnxGraph::op(const std::string& type, const std::vector<std::string>& inputs,
                          const std::vector<OnnxAttr>& attrs) {
  onnx::NodeProto* n = m->graph->add_node();
  n->set_op_type(type);
  n->set_name(m->fresh(m->scope + type));
  for (const auto& i : inputs) n->add_input(i);
  const std::string out = m->fresh("t");
  n->add_output(out);
  for (const OnnxAttr& a : attrs) {
    auto* p = n->add_attribute();
    p->set_name(a.name);
    switch (a.kind) {
      case OnnxAttr::Kind::Int:
        p->set_type(onnx::AttributeProto::INT);
        p->set_i(a.i);
        break;
      case OnnxAttr::Kind::Float:
        p->set_type(onnx::AttributeProto::FLOAT);
        p->set_f(a.f);
        break;
      case OnnxAttr::Kind::String:
        p->set_type(onnx::AttributeProto::STRING);
        p->set_s(a.s);
        break;
      case OnnxAttr::Kind::Ints:
        p->set_type(onnx::AttributeProto::INTS);
        for (int64_t x : a.ints) p->add_ints(x);
        break;
    }
  }
  return out;
}

void OnnxGraph::input(const std::string& name, const std::vector<int64_t>& dims,
                      const std::vector<std::string>& symbolic) {
  addValueInfo(m->graph->mutable_input(), name, dims, symbolic);
}

void OnnxGraph::output(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<std::string>& symbolic) {
  addValueInfo(m->graph->mutable_output(), name, dims, symbolic);
}

void OnnxGraph::rename(const std::string& from, const std::string& to) {
  for (auto& n : *m->graph->mutable_node()) {
    for (auto& o : *n.mutable_output()) {
      if (o == from) o = to;
    }
    for (auto& i : *n.mutable_input()) {
      if (i == from) i = to;
    }
  }
}

void OnnxGraph::setScope(const std::string& scope) { m->scope = scope.empty() ? std::string() : scope + "/"; }

int64_t OnnxGraph::nodeCount() const { return m->graph->node_size(); }

std::string OnnxGraph::checkedBytes() const {
  onnx::checker::check_model(m->model);  // throws onnx::checker::ValidationError (a std::runtime_error)
  std::string bytes;
  if (!m->model.SerializeToString(&bytes)) throw std::runtime_error("protobuf could not serialise the model");
  return bytes;
}

}  // namespace supersam::exporter
