#include "core/search/space.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace supersam::search {

namespace {

// OpenTuner widens integer ranges by 0.4999 on each side so that every value owns an equal share of [0, 1].
constexpr double kIntMargin = 0.4999;

// Python's round(): half to even. std::nearbyint honours the current rounding mode, which is to-nearest-even
// unless someone changed it; be explicit.
double roundHalfEven(double x) {
  const double r = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5) return 2.0 * std::round(x / 2.0);
  return r;
}

}  // namespace

int64_t Parameter::cardinality() const {
  switch (kind) {
    case ParamKind::Enum: return static_cast<int64_t>(labels.size());
    case ParamKind::Bool: return 2;
    case ParamKind::Int: return hi - lo + 1;
  }
  return 1;
}

size_t Space::add(Parameter p) {
  if (p.name.empty()) throw util::Error("search space: parameter names must not be empty");
  if (indexOf(p.name)) throw util::Error("search space: parameter '" + p.name + "' is defined twice");
  m_params.push_back(std::move(p));
  return m_params.size() - 1;
}

size_t Space::addEnum(const std::string& name, const std::vector<std::string>& labels) {
  if (labels.empty()) throw util::Error("search space: enum parameter '" + name + "' needs at least one choice");
  Parameter p;
  p.name = name;
  p.kind = ParamKind::Enum;
  p.labels = labels;
  return add(std::move(p));
}

size_t Space::addBool(const std::string& name) {
  Parameter p;
  p.name = name;
  p.kind = ParamKind::Bool;
  return add(std::move(p));
}

size_t Space::addInt(const std::string& name, int64_t lo, int64_t hi) {
  if (lo > hi) {
    throw util::Error("search space: integer parameter '" + name + "' has lo " + std::to_string(lo) + " > hi " +
                      std::to_string(hi));
  }
  Parameter p;
  p.name = name;
  p.kind = ParamKind::Int;
  p.lo = lo;
  p.hi = hi;
  return add(std::move(p));
}

std::optional<size_t> Space::indexOf(const std::string& name) const {
  for (size_t i = 0; i < m_params.size(); ++i) {
    if (m_params[i].name == name) return i;
  }
  return std::nullopt;
}

size_t Space::primitiveCount() const {
  return static_cast<size_t>(
      std::count_if(m_params.begin(), m_params.end(), [](const Parameter& p) { return p.isPrimitive(); }));
}

double Space::cardinality() const {
  double n = 1.0;
  for (const Parameter& p : m_params) n *= static_cast<double>(p.cardinality());
  return n;
}

Config Space::random(Rng& rng) const {
  Config c(m_params.size(), 0);
  for (size_t i = 0; i < m_params.size(); ++i) randomize(c, i, rng);
  return c;
}

void Space::randomize(Config& c, size_t i, Rng& rng) const {
  const Parameter& p = m_params.at(i);
  switch (p.kind) {
    case ParamKind::Enum: c[i] = static_cast<int64_t>(rng.below(p.labels.size())); break;
    case ParamKind::Bool: c[i] = static_cast<int64_t>(rng.below(2)); break;  // may keep its value
    case ParamKind::Int: c[i] = rng.between(p.lo, p.hi); break;
  }
}

double Space::unitValue(const Config& c, size_t i) const {
  const Parameter& p = m_params.at(i);
  if (!p.isPrimitive()) throw std::logic_error("unitValue of complex parameter " + p.name);
  const double lo = static_cast<double>(p.lo) - kIntMargin;
  const double hi = static_cast<double>(p.hi) + kIntMargin;
  return (static_cast<double>(c[i]) - lo) / (hi - lo);
}

void Space::setUnitValue(Config& c, size_t i, double u) const {
  const Parameter& p = m_params.at(i);
  if (!p.isPrimitive()) throw std::logic_error("setUnitValue of complex parameter " + p.name);
  u = std::clamp(u, 0.0, 1.0);
  const double lo = static_cast<double>(p.lo) - kIntMargin;
  const double hi = static_cast<double>(p.hi) + kIntMargin;
  const double v = roundHalfEven(u * (hi - lo) + lo);
  c[i] = std::clamp(static_cast<int64_t>(v), p.lo, p.hi);
}

void Space::normalMutation(Config& c, size_t i, double sigma, Rng& rng) const {
  double v = unitValue(c, i);
  v += rng.normal(0.0, sigma);
  // Reflect off the edges, exactly as OpenTuner (a value below -1 ends above 1 and is reflected again).
  if (v < 0.0) v = -v;
  if (v > 1.0) v = 1.0 - std::fmod(v, 1.0);
  setUnitValue(c, i, v);
}

void Space::randomOperator(Config& c, size_t i, Rng& rng) const {
  const Parameter& p = m_params.at(i);
  switch (p.kind) {
    case ParamKind::Bool: c[i] = c[i] ? 0 : 1; break;  // manipulators() = [flip]
    case ParamKind::Enum: randomize(c, i, rng); break;  // manipulators() = [randomize]
    case ParamKind::Int:
      if (rng.below(2) == 0) {
        randomize(c, i, rng);
      } else {
        normalMutation(c, i, 0.1, rng);
      }
      break;
  }
}

void Space::setLinear(Config& dst, size_t i, double a, const Config& A, double b, const Config& B, double c,
                      const Config& C, Rng& rng) const {
  const Parameter& p = m_params.at(i);
  if (p.isPrimitive()) {
    const double v = a * unitValue(A, i) + b * unitValue(B, i) + c * unitValue(C, i);
    setUnitValue(dst, i, std::clamp(v, 0.0, 1.0));
    return;
  }
  // ComplexParameter.op4_set_linear: normalise the weights towards a == 1 and b == -c, then copy A and
  // randomize when B and C differ; any other combination randomizes.
  const Config* pa = &A;
  const Config* pb = &B;
  const Config* pc = &C;
  if (a != 1.0 && b == 1.0) {
    std::swap(a, b);
    std::swap(pa, pb);
  }
  if (a != 1.0 && c == 1.0) {
    std::swap(a, c);
    std::swap(pa, pc);
  }
  if (b < c) {
    std::swap(b, c);
    std::swap(pb, pc);
  }
  if (b != -c && a == -c) {
    std::swap(a, c);
    std::swap(pa, pc);
  }
  if (a == 1.0 && b == -c) {
    dst[i] = (*pa)[i];
    if ((*pb)[i] != (*pc)[i]) randomize(dst, i, rng);
  } else {
    randomize(dst, i, rng);
  }
}

Config Space::linear(double a, const Config& A, double b, const Config& B, double c, const Config& C,
                     Rng& rng) const {
  Config dst = A;
  for (size_t i = 0; i < m_params.size(); ++i) setLinear(dst, i, a, A, b, B, c, C, rng);
  return dst;
}

bool Space::isValid(const Config& c) const {
  if (c.size() != m_params.size()) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    const Parameter& p = m_params[i];
    switch (p.kind) {
      case ParamKind::Enum:
        if (c[i] < 0 || c[i] >= static_cast<int64_t>(p.labels.size())) return false;
        break;
      case ParamKind::Bool:
        if (c[i] != 0 && c[i] != 1) return false;
        break;
      case ParamKind::Int:
        if (c[i] < p.lo || c[i] > p.hi) return false;
        break;
    }
  }
  return true;
}

void Space::validate(const Config& c) const {
  if (c.size() != m_params.size()) {
    throw util::Error("search configuration has " + std::to_string(c.size()) + " values, expected " +
                      std::to_string(m_params.size()));
  }
  for (size_t i = 0; i < c.size(); ++i) {
    Config one(m_params.size(), 0);
    for (size_t j = 0; j < one.size(); ++j) one[j] = m_params[j].kind == ParamKind::Int ? m_params[j].lo : 0;
    one[i] = c[i];
    if (!isValid(one)) {
      throw util::Error("search configuration: value " + std::to_string(c[i]) + " of parameter '" +
                        m_params[i].name + "' is out of range");
    }
  }
}

std::string Space::describe(const Config& c) const {
  std::string s;
  for (size_t i = 0; i < m_params.size() && i < c.size(); ++i) {
    if (i) s += ';';
    const Parameter& p = m_params[i];
    s += p.name + '=';
    switch (p.kind) {
      case ParamKind::Enum: s += p.labels.at(static_cast<size_t>(c[i])); break;
      case ParamKind::Bool: s += c[i] ? "true" : "false"; break;
      case ParamKind::Int: s += std::to_string(c[i]); break;
    }
  }
  return s;
}

nlohmann::json Space::toJson(const Config& c) const {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < m_params.size(); ++i) {
    const Parameter& p = m_params[i];
    switch (p.kind) {
      case ParamKind::Enum: j[p.name] = p.labels.at(static_cast<size_t>(c.at(i))); break;
      case ParamKind::Bool: j[p.name] = c.at(i) != 0; break;
      case ParamKind::Int: j[p.name] = c.at(i); break;
    }
  }
  return j;
}

Config Space::fromJson(const nlohmann::json& j) const {
  if (!j.is_object()) throw util::Error("search configuration: expected a JSON object, got " + j.dump());
  Config c(m_params.size(), 0);
  for (size_t i = 0; i < m_params.size(); ++i) {
    const Parameter& p = m_params[i];
    auto it = j.find(p.name);
    if (it == j.end()) throw util::Error("search configuration: parameter '" + p.name + "' is missing");
    switch (p.kind) {
      case ParamKind::Enum: {
        const std::string label = it->is_string() ? it->get<std::string>() : it->dump();
        auto f = std::find(p.labels.begin(), p.labels.end(), label);
        if (f == p.labels.end()) {
          throw util::Error("search configuration: '" + label + "' is not a choice of parameter '" + p.name + "'");
        }
        c[i] = f - p.labels.begin();
        break;
      }
      case ParamKind::Bool:
        if (!it->is_boolean()) throw util::Error("search configuration: parameter '" + p.name + "' must be a bool");
        c[i] = it->get<bool>() ? 1 : 0;
        break;
      case ParamKind::Int:
        if (!it->is_number_integer()) {
          throw util::Error("search configuration: parameter '" + p.name + "' must be an integer");
        }
        c[i] = it->get<int64_t>();
        break;
    }
  }
  if (j.size() != m_params.size()) throw util::Error("search configuration has unknown parameters: " + j.dump());
  validate(c);
  return c;
}

nlohmann::json Space::describeSpace() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const Parameter& p : m_params) {
    nlohmann::json e;
    e["name"] = p.name;
    switch (p.kind) {
      case ParamKind::Enum:
        e["kind"] = "enum";
        e["choices"] = p.labels;
        break;
      case ParamKind::Bool: e["kind"] = "bool"; break;
      case ParamKind::Int:
        e["kind"] = "int";
        e["lo"] = p.lo;
        e["hi"] = p.hi;
        break;
    }
    arr.push_back(e);
  }
  return arr;
}

}  // namespace supersam::search
