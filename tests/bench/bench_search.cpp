// Evaluations needed to reach the best value found by a long run: built-in tuner (OpenTuner's
// AUCBanditMetaTechniqueA port) vs random search, over several seeds, on a synthetic objective shaped like the
// supernet's (12 blocks x 5 widths + 5 prunable blocks, per-block sensitivities, noise, a parameter budget).
// Usage: bench_search [seeds=8] [cap=3000] [long=1000] [--parallel]   (--parallel: wall time of 2-thread generations with a
// 20 ms objective vs sequential)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/search/technique_bandit.h"
#include "core/search/tuner.h"
#include "core/util/process_env.h"
#include "tests/core/search/synthetic_problem.h"

using namespace supersam::search;

namespace {

// First evaluation index (1-based) at which a feasible quality >= target was seen, or cap + 1.
int64_t evalsToReach(const Problem& p, const std::string& technique, uint64_t seed, double target, int64_t cap) {
  auto t = makeTechnique(technique);
  SearchOptions o;
  o.maxEvaluations = cap;
  o.seed = seed;
  int64_t hit = cap + 1;
  runSearch(p, *t, o, {}, [&](const EvaluatedPoint& pt, const SearchReport&) {
    if (hit > cap && pt.score.feasible && pt.metrics.quality >= target) hit = pt.index + 1;
  });
  return hit;
}

double median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2]) : 0.5 * static_cast<double>(v[n / 2 - 1] + v[n / 2]);
}

void compare(const char* label, testing::SyntheticSupernet& s, int seeds, int64_t cap, int64_t longEvals) {
  const int64_t budget = 110;
  Problem p = s.problem(static_cast<double>(budget));
  // The reference: the best feasible value of a long native run (own seed).
  auto longRun = makeTechnique("native");
  SearchOptions lo;
  lo.maxEvaluations = longEvals;
  lo.seed = 1000;
  const SearchReport ref = runSearch(p, *longRun, lo);
  // Within the noise amplitude of the long run's best: the noise cannot be optimised, only found by luck.
  const double target = ref.bestPoint()->metrics.quality - s.noise;
  std::printf("%s: long run (%lld evals) best %.5f, target %.5f (noise-free optimum %.5f)\n", label,
              static_cast<long long>(lo.maxEvaluations), ref.bestPoint()->metrics.quality, target,
              s.optimum(budget));
  std::vector<int64_t> nat, rnd;
  std::vector<double> ratios;
  for (int i = 0; i < seeds; ++i) {
    nat.push_back(evalsToReach(p, "native", 1 + i, target, cap));
    rnd.push_back(evalsToReach(p, "random", 1 + i, target, cap));
    ratios.push_back(static_cast<double>(nat.back()) / static_cast<double>(rnd.back()));
    std::printf("  seed %d: native %lld, random %lld%s\n", 1 + i, static_cast<long long>(nat.back()),
                static_cast<long long>(rnd.back()), rnd.back() > cap ? " (not reached: capped)" : "");
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf("  median evals: native %.0f, random %.0f (cap %lld) -> ratio of medians %.3f, median per-seed ratio "
              "%.3f (random capped values are lower bounds, so the ratios are upper bounds)\n",
              median(nat), median(rnd), static_cast<long long>(cap), median(nat) / median(rnd),
              ratios[ratios.size() / 2]);
}

void parallelTiming() {
  testing::SyntheticSupernet s;
  Problem p = s.problem(110.0);
  auto inner = p.evaluate;
  p.evaluate = [inner](const Config& c) {
    // Stand-in for a subnet evaluation that keeps one core busy for ~20 ms.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    volatile double x = 0;
    while (std::chrono::steady_clock::now() < until) x = x + 1.0;
    return inner(c);
  };
  for (int k : {1, 2}) {
    auto t = makeTechnique("native");
    SearchOptions o;
    o.maxEvaluations = 100;
    o.parallelism = k;
    const auto t0 = std::chrono::steady_clock::now();
    const SearchReport r = runSearch(p, *t, o);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("parallelism %d: 100 evaluations in %.2f s, best %.4f\n", k, sec, r.bestPoint()->metrics.quality);
  }
}

}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  int seeds = 8;
  int64_t cap = 3000;
  int64_t longEvals = 1000;
  bool parallel = false;
  int pos = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--parallel") == 0) {
      parallel = true;
    } else if (pos++ == 0) {
      seeds = std::atoi(argv[i]);
    } else if (pos == 2) {
      cap = std::atoll(argv[i]);
    } else {
      longEvals = std::atoll(argv[i]);
    }
  }
  testing::SyntheticSupernet enumWidths;
  enumWidths.noise = 0.002;
  compare("enum widths (as OpenTuner / the official code)", enumWidths, seeds, cap, longEvals);
  testing::SyntheticSupernet ordinal;
  ordinal.noise = 0.002;
  ordinal.widthAsInt = true;
  compare("ordinal widths (integer parameters)", ordinal, seeds, cap, longEvals);
  if (parallel) parallelTiming();
  return 0;
}
