// `supersam`: the headless program. Dispatches to the subcommands registered under app/cli/.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "core/util/error.h"
#include "core/util/process_env.h"

namespace supersam::cli {
std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> commands;
  return commands;
}
}  // namespace supersam::cli

namespace {
void printHelp() {
  std::cout << "supersam " << SUPERSAM_VERSION
            << ": SAM as an elastic supernet, from the command line.\n\nUsage: supersam <command> [options]\n\n"
               "Commands:\n";
  for (const auto& [name, cmd] : supersam::cli::registry()) {
    std::printf("  %-12s %s\n", name.c_str(), cmd.summary.c_str());
  }
  std::cout << "\nRun `supersam <command> --help` for a command's options.\n";
}
}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    printHelp();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "supersam " << SUPERSAM_VERSION << "\n";
    return 0;
  }
  auto& reg = supersam::cli::registry();
  auto it = reg.find(args[0]);
  if (it == reg.end()) {
    std::cerr << "supersam: unknown command '" << args[0] << "' (run `supersam --help` for the list)\n";
    return 2;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      std::cout << it->second.usage << "\n";
      return 0;
    }
  }
  try {
    return it->second.run(rest);
  } catch (const supersam::util::Error& e) {
    std::cerr << "supersam " << args[0] << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "supersam " << args[0] << ": internal error: " << e.what() << "\n";
    return 3;
  }
}
