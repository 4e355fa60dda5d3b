// `supersam latency`: the per-block latency table of a checkpoint's image encoder on this machine (loaded from the
// cache or measured), and optionally its prediction error against measured latency on random subnets.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/infer/model_loader.h"
#include "core/search/subnet_problem.h"
#include "core/supernet/latency_table.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace supersam::cli {
namespace {

const char* kUsage = R"(supersam latency --checkpoint FILE [options]

Loads the per-block latency table of the checkpoint's image encoder for this machine from the cache (or measures
it: embedding, neck, one block of each attention kind at every MLP width of the search space, and two full
forwards for the chain correction; median of --repeats runs after --warmup), prints it, and with --check N compares
its predictions with measured latency on N random subnets of the checkpoint's search space.

  --checkpoint FILE   supernet or SAM checkpoint (its "supernet" metadata gives the search space; else the official)
  --arch A            architecture override: vit_b | vit_l | vit_h | FILE.json
  --table FILE        table file to use instead of the cache ($XDG_CACHE_HOME or ~/.cache, /supersam/latency/)
  --remeasure         measure even when a valid table exists (and replace it)
  --check N           predict and measure N random subnets; prints each and the error summary
  --seed S            seed of the random subnets (default 0)
  --warmup N          warm-up runs per timing (default 2)
  --repeats N         timed runs per timing, the median is kept (default 7)
  --threads T         LibTorch threads (default: all cores); part of the table's validity
A table measured under other conditions (threads, CPU, LibTorch, architecture) is never used: it is remeasured.)";

int runLatency(const std::vector<std::string>& argv) {
  Args a(argv, {"checkpoint", "arch", "table", "check", "seed", "warmup", "repeats", "threads"}, {"remeasure"});
  util::setThreads(a.getInt("threads", 0));
  const int check = a.getInt("check", 0);
  const int warmup = a.getInt("warmup", 2), repeats = a.getInt("repeats", 7);
  if (check < 0) throw util::Error("--check must be a number of subnets >= 0, got " + std::to_string(check));
  if (warmup < 0 || repeats < 1) throw util::Error("--warmup must be >= 0 and --repeats >= 1");

  const infer::LoadedModel loaded = infer::loadModel(a.required("checkpoint"), a.get("arch"));
  for (const std::string& w : loaded.warnings) std::cerr << "warning: " << w << "\n";
  const supernet::SearchSpace space = search::searchSpaceFromMetadata(loaded.metadata, loaded.arch);

  supernet::LatencyMeasureOptions options;
  options.warmup = warmup;
  options.repeats = repeats;
  util::JobControl job;
  job.progress = [](long long done, long long total, const std::string& status) {
    std::fprintf(stderr, "\r[%lld/%lld] %-50s", done, total, status.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  };
  const std::string tableFile = a.get("table").value_or("");
  if (a.flag("remeasure")) {
    const std::string path = tableFile.empty() ? supernet::defaultLatencyCacheDir() + "/" +
                                                     supernet::LatencyValidity::current(loaded.arch).key() + ".json"
                                               : tableFile;
    const supernet::LatencyTable t =
        supernet::measureLatencyTable(loaded.sam->image_encoder, loaded.arch, supernet::widthsOf(space), options, job);
    supernet::saveLatencyTableFile(path, t);
    std::cout << "measured; written to " << path << "\n" << t.describe();
    if (check == 0) return 0;
  }
  const supernet::LatencyTableSource src = supernet::loadOrMeasureLatencyTable(
      loaded.sam->image_encoder, loaded.arch, supernet::widthsOf(space), "", tableFile, options, job);
  if (!a.flag("remeasure")) {
    std::cout << (src.measured ? "measured (" + src.note + "); written to " : "loaded from ") << src.path << "\n"
              << src.table.describe();
  }
  std::printf("predicted: largest %.3f ms, smallest %.3f ms\n",
              src.table.predictMs(loaded.arch, space.largest()), src.table.predictMs(loaded.arch, space.smallest()));
  if (check == 0) return 0;

  std::printf("check: %d random subnets of space '%s' (seed %lld), measured as median of %d after %d warm-up\n",
              check, space.name().c_str(), a.getInt64("seed", 0), repeats, warmup);
  util::JobControl quiet;
  const auto points = supernet::checkLatencyTable(
      loaded.sam->image_encoder, loaded.arch, src.table, space, check, static_cast<uint64_t>(a.getInt64("seed", 0)),
      warmup, repeats, quiet, [](const supernet::LatencyCheckPoint& p) {
        std::printf("  predicted %9.3f ms  measured %9.3f ms  error %+6.2f %%  %s\n", p.predictedMs, p.measuredMs,
                    p.errorPct(), p.subnet.c_str());
        std::fflush(stdout);
      });
  std::printf("%s\n", supernet::describe(supernet::summarize(points)).c_str());
  return 0;
}

}  // namespace

SUPERSAM_COMMAND("latency", "per-block latency table of the image encoder on this machine; predicted vs measured",
                 kUsage, runLatency);

}  // namespace supersam::cli
