#pragma once
// A small option parser for the subcommands: `--name value`, `--name=value`, repeated options, flags.
// Unknown options and missing values throw util::Error naming the option, so every command reports them alike.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace supersam::cli {

class Args {
 public:
  // `valued` lists options that take a value, `flags` those that do not. Throws util::Error on anything else.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& valued, const std::set<std::string>& flags);

  bool has(const std::string& name) const;
  bool flag(const std::string& name) const { return has(name); }
  std::optional<std::string> get(const std::string& name) const;        // last occurrence
  std::string required(const std::string& name) const;                   // throws if absent
  std::vector<std::string> all(const std::string& name) const;          // every occurrence, in order
  const std::vector<std::string>& positional() const { return m_positional; }

  int getInt(const std::string& name, int fallback) const;
  long long getInt64(const std::string& name, long long fallback) const;
  double getDouble(const std::string& name, double fallback) const;

 private:
  std::map<std::string, std::vector<std::string>> m_values;
  std::vector<std::string> m_positional;
};

// Parses "a,b,c" into numbers; throws util::Error naming `what` and the expected count on failure.
std::vector<double> parseNumberList(const std::string& text, const std::string& what, size_t minCount, size_t maxCount);

}  // namespace supersam::cli
