#pragma once
// Subcommands of the `supersam` program. Each cli/*.cpp registers one with SUPERSAM_COMMAND; main dispatches.

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace supersam::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `supersam --help`
  std::string usage;    // full usage text for `supersam NAME --help`
  std::function<int(const std::vector<std::string>& args)> run;  // args exclude the command name
};

std::map<std::string, Command>& registry();

struct Registrar {
  explicit Registrar(Command c) { registry()[c.name] = std::move(c); }
};

}  // namespace supersam::cli

#define SUPERSAM_CLI_CONCAT2(a, b) a##b
#define SUPERSAM_CLI_CONCAT(a, b) SUPERSAM_CLI_CONCAT2(a, b)
#define SUPERSAM_COMMAND(...) \
  static ::supersam::cli::Registrar SUPERSAM_CLI_CONCAT(supersam_cli_registrar_, __LINE__)(::supersam::cli::Command{__VA_ARGS__})
