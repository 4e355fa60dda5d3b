#include "app/cli/args.h"

#include <sstream>

#include "core/util/error.h"

namespace supersam::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      m_positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (flags.count(name)) {
      if (value) throw util::Error("option --" + name + " takes no value (got '" + *value + "')");
      m_values[name].push_back("1");
    } else if (valued.count(name)) {
      if (!value) {
        if (i + 1 >= argv.size()) throw util::Error("option --" + name + " needs a value");
        value = argv[++i];
      }
      m_values[name].push_back(*value);
    } else {
      throw util::Error("unknown option --" + name + " (see --help)");
    }
  }
}

bool Args::has(const std::string& name) const { return m_values.count(name) > 0; }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Args::required(const std::string& name) const {
  auto v = get(name);
  if (!v) throw util::Error("missing required option --" + name);
  return *v;
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = m_values.find(name);
  return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

namespace {
template <typename T, typename F>
T parseOr(const Args& args, const std::string& name, T fallback, F convert, const char* expected) {
  auto v = args.get(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    T out = convert(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return out;
  } catch (const std::exception&) {
    throw util::Error("option --" + name + ": expected " + expected + ", got '" + *v + "'");
  }
}
}  // namespace

int Args::getInt(const std::string& name, int fallback) const {
  return parseOr<int>(*this, name, fallback, [](const std::string& s, size_t* u) { return std::stoi(s, u); },
                      "an integer");
}

long long Args::getInt64(const std::string& name, long long fallback) const {
  return parseOr<long long>(*this, name, fallback,
                            [](const std::string& s, size_t* u) { return std::stoll(s, u); }, "an integer");
}

double Args::getDouble(const std::string& name, double fallback) const {
  return parseOr<double>(*this, name, fallback, [](const std::string& s, size_t* u) { return std::stod(s, u); },
                         "a number");
}

std::vector<double> parseNumberList(const std::string& text, const std::string& what, size_t minCount,
                                    size_t maxCount) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      double v = std::stod(item, &used);
      if (used != item.size()) throw std::invalid_argument("trailing");
      out.push_back(v);
    } catch (const std::exception&) {
      throw util::Error(what + ": '" + item + "' is not a number (in '" + text + "')");
    }
  }
  if (out.size() < minCount || out.size() > maxCount) {
    std::string expected = minCount == maxCount ? std::to_string(minCount)
                                                : std::to_string(minCount) + " to " + std::to_string(maxCount);
    throw util::Error(what + ": expected " + expected + " comma-separated numbers, got '" + text + "'");
  }
  return out;
}

}  // namespace supersam::cli
