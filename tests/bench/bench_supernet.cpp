// bench_supernet: the supernet's costs on this machine (a benchmark, not a test).
//   bench_supernet [--arch vit_b] [--threads 2] [--runs 3] [--skip-calibrate]
// With random weights at the arch's image size (ViT-B: 1024): encoder latency (median of --runs) and extra peak
// resident memory for the largest, a ~50 % (encoder MACs closest to half of the full encoder among 2000 seeded
// samples) and the smallest subnet of the official space; incremental re-encode after changing the last block's MLP
// width vs a full encode; and the time to calibrate (wanda reorder + embedding sensitivity) a tiny arch on 4 images.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/infer/incremental_encoder.h"
#include "core/model/sam.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/importance.h"
#include "core/supernet/latency_probe.h"
#include "core/supernet/search_space.h"
#include "core/supernet/sensitivity.h"
#include "core/util/runtime.h"
#include "core/util/process_env.h"
#include "tests/core/supernet/supernet_test_util.h"

using namespace supersam;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void randomize(torch::nn::Module& m) {
  at::manual_seed(0);
  at::NoGradGuard g;
  for (auto& p : m.parameters()) p.copy_(0.02 * at::randn_like(p));
}

}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  std::string archName = "vit_b";
  int threads = 2, runs = 3;
  bool calibrate = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--arch" && i + 1 < argc) archName = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
    else if (a == "--skip-calibrate") calibrate = false;
    else {
      std::fprintf(stderr, "usage: bench_supernet [--arch vit_b] [--threads 2] [--runs 3] [--skip-calibrate]\n");
      return 2;
    }
  }
  util::setThreads(threads);
  const model::SamArch arch = model::SamArch::fromPresetOrFile(archName);
  std::printf("bench_supernet: %s, %lldx%lld, %d threads, median of %d runs, random weights\n", arch.name.c_str(),
              static_cast<long long>(arch.imageSize), static_cast<long long>(arch.imageSize), at::get_num_threads(),
              runs);
  model::ImageEncoderViT encoder(arch);
  randomize(*encoder);
  encoder->eval();

  const supernet::SearchSpace space = supernet::SearchSpace::official(arch);
  const auto full = supernet::computeCost(arch);
  supernet::Subnet half = space.largest();
  {
    std::mt19937_64 rng(1);
    double best = 1e30;
    for (int k = 0; k < 2000; ++k) {
      supernet::Subnet s = space.sample(rng);
      double d = std::abs(double(supernet::computeCost(arch, s).encoderMacs) / full.encoderMacs - 0.5);
      if (d < best) best = d, half = s;
    }
  }
  struct Row {
    const char* name;
    supernet::Subnet s;
  };
  std::vector<Row> rows = {{"largest", space.largest()}, {"~50%", half}, {"smallest", space.smallest()}};
  supernet::LatencyProbe probe(encoder, arch.imageSize, 1, runs);
  double fullMs = 0;
  std::printf("\n%-9s %-62s %8s %7s %9s %10s %9s\n", "subnet", "string", "params M", "GMACs", "latency", "vs largest",
              "peak MB");
  for (const auto& r : rows) {
    auto c = supernet::computeCost(arch, r.s);
    auto m = probe.measure(r.s);
    if (fullMs == 0) fullMs = m.latencyMs;
    std::printf("%-9s %-62s %8.2f %7.1f %7.0f ms %9.2fx %9.0f\n", r.name, r.s.toString().c_str(), c.params / 1e6,
                c.gmacs(), m.latencyMs, m.latencyMs / fullMs, m.peakBytes / 1e6);
    std::fflush(stdout);
  }

  // Incremental re-encode: last block's width changes.
  {
    c10::InferenceMode g;
    at::manual_seed(3);
    at::Tensor x = at::randn({1, 3, arch.imageSize, arch.imageSize});
    infer::IncrementalEncoder inc(encoder);
    inc.setInput(x);
    model::ElasticConfig cfg = space.largest().toElastic();
    inc.encode(cfg);
    const auto& widths = space.block(arch.encoderDepth - 1).widths;
    std::vector<double> incMs, fullEncodeMs;
    for (int i = 0; i < runs; ++i) {
      cfg.back().mlpWidth = widths[size_t(i) % (widths.size() - 1)];  // always a change
      auto t0 = Clock::now();
      inc.encode(cfg);
      auto t1 = Clock::now();
      encoder->forward(x, &cfg);
      auto t2 = Clock::now();
      incMs.push_back(ms(t0, t1));
      fullEncodeMs.push_back(ms(t1, t2));
    }
    std::printf("\nre-encode after changing the last block's width: incremental %.0f ms vs full %.0f ms = %.3fx "
                "(cache %.0f MB)\n",
                median(incMs), median(fullEncodeMs), median(incMs) / median(fullEncodeMs), inc.cachedBytes() / 1e6);
  }

  if (calibrate) {
    model::SamArch t = test::tinyArch();
    model::Sam sam(t);
    randomize(*sam);
    sam->eval();
    std::vector<at::Tensor> images;
    at::manual_seed(5);
    for (int i = 0; i < 4; ++i) images.push_back(at::randn({1, 3, t.imageSize, t.imageSize}));
    auto t0 = Clock::now();
    supernet::reorderEncoder(sam->image_encoder, supernet::ReorderMethod::Wanda, images);
    auto t1 = Clock::now();
    auto q = supernet::embeddingQuality(sam->image_encoder, images);
    auto table = supernet::measureSensitivity(t, q, "embedding_rel_change", 4);
    auto space2 = supernet::SearchSpace::measured(t, table.importance(), 2);
    auto t2 = Clock::now();
    std::printf("\ncalibrate (tiny arch: 4 blocks, width 64, 128x128; 4 images): reorder %.0f ms, sensitivity "
                "(%d encodes) %.0f ms, total %.0f ms\n",
                ms(t0, t1), 1 + 4 + 3, ms(t1, t2), ms(t0, t2));
  }
  return 0;
}
