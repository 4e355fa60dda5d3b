#pragma once
// A search problem's parameters and OpenTuner's normalised view of them (its manipulator's rules, as below; the
// bridge to the real OpenTuner is resources/opentuner/).
// - Int parameters in [lo, hi] are "primitive": they have a unit value u in [0, 1] with lo' = lo - 0.4999,
//   hi' = hi + 0.4999, u = (v - lo') / (hi' - lo'); back: round half to even, then clamp.
// - Enum and Bool parameters are "complex": no unit value; operators randomize (uniform; a bool may keep its
//   value) and, for booleans, flip.
// - Linear combination a*A + b*B + c*C: primitive in unit space clamped to [0, 1]; complex: A's value,
//   randomised when B and C differ (OpenTuner's normalisation of the weights is kept).
// A Config holds one integer per parameter: Enum = index into its labels, Bool = 0/1, Int = the value.
// Thread-safety: a Space is immutable after construction and may be read from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/search/rng.h"

namespace supersam::search {

enum class ParamKind { Enum, Bool, Int };

struct Parameter {
  std::string name;
  ParamKind kind = ParamKind::Enum;
  std::vector<std::string> labels;  // Enum: one label per choice
  int64_t lo = 0, hi = 0;           // Int: inclusive range

  bool isPrimitive() const { return kind == ParamKind::Int; }
  int64_t cardinality() const;
};

using Config = std::vector<int64_t>;

class Space {
 public:
  // Each returns the new parameter's index. Names must be unique (util::Error otherwise).
  size_t addEnum(const std::string& name, const std::vector<std::string>& labels);
  size_t addBool(const std::string& name);
  size_t addInt(const std::string& name, int64_t lo, int64_t hi);

  size_t size() const { return m_params.size(); }
  const Parameter& param(size_t i) const { return m_params.at(i); }
  const std::vector<Parameter>& params() const { return m_params; }
  std::optional<size_t> indexOf(const std::string& name) const;
  size_t primitiveCount() const;
  double cardinality() const;  // number of distinct configurations (as a double: it can be huge)

  Config random(Rng& rng) const;  // randomize every parameter, in order
  void randomize(Config& c, size_t i, Rng& rng) const;
  // Primitive (Int) parameters only.
  double unitValue(const Config& c, size_t i) const;
  void setUnitValue(Config& c, size_t i, double u) const;  // u in [0, 1]
  void normalMutation(Config& c, size_t i, double sigma, Rng& rng) const;
  // OpenTuner's Parameter.manipulators(): a bool flips, an enum randomizes (primitives: randomize or normal).
  void randomOperator(Config& c, size_t i, Rng& rng) const;
  void setLinear(Config& dst, size_t i, double a, const Config& A, double b, const Config& B, double c,
                 const Config& C, Rng& rng) const;
  // A copy of A with setLinear applied to every parameter (OpenTuner's manipulator.linear_config).
  Config linear(double a, const Config& A, double b, const Config& B, double c, const Config& C, Rng& rng) const;

  bool isValid(const Config& c) const;
  void validate(const Config& c) const;  // util::Error naming the parameter and value
  // Canonical text "name=value;..." (labels for enums, true/false for bools).
  std::string describe(const Config& c) const;
  nlohmann::json toJson(const Config& c) const;             // {"name": label|bool|int, ...}
  Config fromJson(const nlohmann::json& j) const;            // inverse; util::Error on unknown/missing names
  nlohmann::json describeSpace() const;                      // the parameters, for settings records

 private:
  size_t add(Parameter p);
  std::vector<Parameter> m_params;
};

}  // namespace supersam::search
