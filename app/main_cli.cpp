// `supersam`: the headless program. Dispatches to the subcommands registered under app/cli/.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <opencv2/core.hpp>

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
// The first line of a library's message (LibTorch appends a backtrace), at most 300 characters.
std::string firstLine(const std::string& message) {
  return message.substr(0, std::min<size_t>(message.find('\n'), 300));
}

void printHelp() {
  std::cout << "supersam " << SUPERSAM_VERSION
            << ": SAM as an elastic supernet, from the command line.\n\nUsage: supersam <command> [options]\n\n"
               "Commands:\n";
  for (const auto& [name, cmd] : supersam::cli::registry()) {
    std::printf("  %-12s %s\n", name.c_str(), cmd.summary.c_str());
  }
  std::cout << "\nRun `supersam <command> --help` for a command's options.\n\n"
               "Exit status: 0 success; 1 a problem with the input or the environment (the message names the file\n"
               "or value and what was expected: a missing or malformed file, a bad option, not enough memory);\n"
               "anything else is a bug in supersam (please report it with the command line).\n";
}
}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    printHelp();
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "supersam " << SUPERSAM_VERSION << "\n";
    return 0;
  }
  auto& reg = supersam::cli::registry();
  auto it = reg.find(args[0]);
  if (it == reg.end()) {
    std::cerr << "supersam: unknown command '" << args[0] << "' (run `supersam --help` for the list)\n";
    return 1;
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
  } catch (const std::bad_alloc&) {
    std::cerr << "supersam " << args[0] << ": error: out of memory (the input needs more memory than is free; "
              << "a smaller model, image or batch may fit)\n";
    return 1;
  } catch (const c10::Error& e) {
    // One line, no LibTorch backtrace: the first line says what failed.
    std::cerr << "supersam " << args[0] << ": internal error (LibTorch): "
              << firstLine(e.what_without_backtrace()) << "\n";
    return 3;
  } catch (const cv::Exception& e) {
    std::cerr << "supersam " << args[0] << ": internal error (OpenCV): " << firstLine(e.err) << " in "
              << e.func << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "supersam " << args[0] << ": internal error: " << firstLine(e.what()) << "\n";
    return 3;
  }
}
