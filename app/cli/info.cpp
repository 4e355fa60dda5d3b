// `supersam info F [--arch NAME|JSON]`: what a checkpoint holds: its format, architecture, parameter counts per
// component, and metadata. Reads the tensors only (no model is built), so it is quick even for ViT-H.
#include <cstdio>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/info_supernet.h"
#include "core/infer/model_loader.h"
#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam info FILE [--arch NAME|JSON]
       supersam info --supernet F [--subnet STRING|largest|smallest]
                     [--measure [--repeats N] [--latency-cache FILE]] [--threads N]

Prints a checkpoint's file format, SAM architecture (from --arch, else the file's metadata, else inferred from the
tensor shapes), parameter counts (total and per component: image_encoder, of which its MLPs, prompt_encoder,
mask_decoder) and its metadata keys.

  --arch NAME|JSON  vit_b, vit_l, vit_h or an arch JSON file
  --supernet F      print the supernet view instead: search space, parameters, MB fp32/fp16 and GMACs of the
                    largest, smallest and --subnet subnets, and the sensitivity table
  --measure         with --supernet: also time the image encoder of each subnet shown (median of --repeats runs,
                    default 3, after one warm-up) and its peak memory, on this machine
  --latency-cache F JSON file that keeps measurements between calls (keyed by subnet hash, threads, image size)
  --threads N       LibTorch threads for --measure (default: all cores))";

std::string withCommas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string share(int64_t part, int64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole > 0 ? 100.0 * static_cast<double>(part) / whole : 0.0);
  return buf;
}

void printCounts(std::ostream& o, const infer::ParameterCounts& c) {
  o << "parameters:       " << withCommas(c.total) << "\n";
  o << "  image_encoder   " << withCommas(c.imageEncoder) << " (" << share(c.imageEncoder, c.total) << ")\n";
  o << "    MLPs          " << withCommas(c.encoderMlp) << " (" << share(c.encoderMlp, c.imageEncoder)
    << " of the encoder)\n";
  o << "  prompt_encoder  " << withCommas(c.promptEncoder) << " (" << share(c.promptEncoder, c.total) << ")\n";
  o << "  mask_decoder    " << withCommas(c.maskDecoder) << " (" << share(c.maskDecoder, c.total) << ")\n";
  if (c.other) o << "  other           " << withCommas(c.other) << "\n";
}

// A file's text shown on a terminal: control characters (ANSI escape sequences that could rewrite the screen)
// become \xNN, and a long key is cut.
std::string printable(const std::string& s, size_t max = 160) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
    if (out.size() > max) return out.substr(0, max - 3) + "... (" + std::to_string(s.size()) + " bytes)";
  }
  return out;
}

void printMetadata(std::ostream& o, const std::map<std::string, std::string>& metadata) {
  if (metadata.empty()) {
    o << "metadata:         (none)\n";
    return;
  }
  o << "metadata:\n";
  for (const auto& [k, v] : metadata) {
    std::string shown = v;
    // JSON values print compactly on one line; long ones are cut (their size is given).
    const nlohmann::json j = util::parseJsonOrDiscarded(v);
    if (!j.is_discarded()) shown = j.dump();
    o << "  " << printable(k, 80) << ": " << printable(shown) << "\n";
  }
}

int runInfo(const std::vector<std::string>& argv) {
  Args args(argv, {"arch", "supernet", "subnet", "repeats", "latency-cache", "threads"}, {"measure"});
  if (args.has("supernet")) {
    SupernetInfoOptions o;
    o.subnet = args.get("subnet");
    o.archOverride = args.get("arch");
    o.measure = args.flag("measure");
    o.repeats = args.getInt("repeats", 3);
    if (o.repeats < 1) throw util::Error("--repeats must be at least 1, got " + std::to_string(o.repeats));
    o.latencyCache = args.get("latency-cache").value_or("");
    util::setThreads(args.getInt("threads", 0));
    return printSupernetInfo(std::cout, *args.get("supernet"), o);
  }
  if (args.has("measure")) throw util::Error("--measure needs --supernet");
  if (args.positional().size() != 1) throw util::Error("info: expected exactly one checkpoint file (see --help)");
  const io::Checkpoint ck = io::readCheckpoint(args.positional()[0]);
  const model::SamArch arch = infer::archForCheckpoint(ck, args.get("arch"));
  // An arch named by --arch or metadata must fit the tensors (the model is not built, so compare with the shapes).
  if (args.get("arch") || ck.metadata.count("arch")) {
    if (auto diff = infer::archMismatch(arch, infer::inferArch(ck.tensors, ck.path)))
      throw util::Error("'" + ck.path + "' does not fit architecture '" + arch.name + "': " + *diff);
  }

  std::cout << "file:             " << ck.path << "\n";
  std::cout << "format:           " << io::formatName(ck.format) << "\n";
  std::cout << "arch:             " << arch.name << "\n";
  std::cout << "  " << arch.toJson().dump() << "\n";
  std::cout << "tensors:          " << ck.tensors.size() << "\n";
  printCounts(std::cout, infer::countParameters(ck.tensors));
  printMetadata(std::cout, ck.metadata);
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("info", "print a checkpoint's format, architecture, parameter counts and metadata", kUsage, runInfo);

}  // namespace supersam::cli
