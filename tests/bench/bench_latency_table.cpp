// bench_latency_table: prediction error of the per-block latency table (core/supernet/latency_table.h) on a randomly
// initialised encoder (a benchmark, not a test).
//   bench_latency_table [--arch vit_b] [--threads 2] [--subnets 30] [--warmup 1] [--repeats 3] [--seed 0]
//                       [--no-chain]
// Measures the table at the official space's widths, then predicts and measures --subnets random subnets of that
// space; prints each pair and the error summary (the same core functions as `supersam latency --check`).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>

#include "core/model/image_encoder.h"
#include "core/supernet/latency_table.h"
#include "core/supernet/search_space.h"
#include "core/util/process_env.h"
#include "core/util/runtime.h"

using namespace supersam;

int main(int argc, char** argv) {
  util::prepareProcess(argv);
  std::string archName = "vit_b";
  int threads = 2, subnets = 30, warmup = 1, repeats = 3;
  long long seed = 0;
  bool chain = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--arch" && i + 1 < argc) archName = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--subnets" && i + 1 < argc) subnets = std::atoi(argv[++i]);
    else if (a == "--warmup" && i + 1 < argc) warmup = std::atoi(argv[++i]);
    else if (a == "--repeats" && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::atoll(argv[++i]);
    else if (a == "--no-chain") chain = false;
    else {
      std::fprintf(stderr, "usage: bench_latency_table [--arch vit_b] [--threads 2] [--subnets 30] [--warmup 1] "
                           "[--repeats 3] [--seed 0] [--no-chain]\n");
      return 2;
    }
  }
  util::setThreads(threads);
  const model::SamArch arch = model::SamArch::fromPresetOrFile(archName);
  model::ImageEncoderViT encoder(arch);
  {
    at::manual_seed(0);
    at::NoGradGuard g;
    for (auto& p : encoder->parameters()) p.copy_(0.02 * at::randn_like(p));
  }
  encoder->eval();
  const supernet::SearchSpace space = supernet::SearchSpace::official(arch);
  supernet::LatencyMeasureOptions options;
  options.warmup = warmup;
  options.repeats = repeats;
  options.chainCorrection = chain;
  const auto t0 = std::chrono::steady_clock::now();
  const supernet::LatencyTable table =
      supernet::measureLatencyTable(encoder, arch, supernet::widthsOf(space), options, util::JobControl{});
  const double measureS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bench_latency_table: %s, %lld px, %d threads, random weights; table measured in %.1f s\n%s",
              arch.name.c_str(), static_cast<long long>(arch.imageSize), at::get_num_threads(), measureS,
              table.describe().c_str());
  std::fflush(stdout);
  const auto points = supernet::checkLatencyTable(
      encoder, arch, table, space, subnets, static_cast<uint64_t>(seed), warmup, repeats, util::JobControl{},
      [&](const supernet::LatencyCheckPoint& p) {
        std::printf("  predicted %9.2f ms (table sum %9.2f)  measured %9.2f ms  error %+6.2f %%  %s\n", p.predictedMs,
                    table.sumMs(arch, supernet::Subnet::parse(p.subnet, arch)), p.measuredMs, p.errorPct(),
                    p.subnet.c_str());
        std::fflush(stdout);
      });
  std::printf("%s\n", supernet::describe(supernet::summarize(points)).c_str());
  return 0;
}
