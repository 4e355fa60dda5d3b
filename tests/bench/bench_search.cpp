// Evaluations needed to reach the best value found by a long run: the built-in tuner, OpenTuner's
// AUCBanditMetaTechniqueA port alone and random search, over several seeds, on a synthetic objective shaped like
// the supernet's (12 blocks x 5 widths + 5 prunable blocks, per-block sensitivities, noise, a parameter budget),
// with every configuration evaluated and with the cost known up front (screening).
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

// costKnown: the problem knows each configuration's cost without evaluating it (as the subnet search does), so
// configurations over the budget are screened and the built-in tuner's budget-edge exchanges take part.
void compare(const char* label, testing::SyntheticSupernet& s, int seeds, int64_t cap, int64_t longEvals,
             bool costKnown, const std::vector<std::string>& techniques) {
  const int64_t budget = 110;
  Problem p = s.problem(static_cast<double>(budget));
  if (costKnown) {
    p.costOf = [&s](const Config& c) {
      Metrics m;
      m.params = s.evaluate(c).params;
      return m;
    };
  }
  // The reference: the best feasible value of a long run of OpenTuner's default search (own seed).
  auto longRun = makeTechnique("native-port");
  SearchOptions lo;
  lo.maxEvaluations = longEvals;
  lo.seed = 1000;
  const SearchReport ref = runSearch(p, *longRun, lo);
  // Within the noise amplitude of the long run's best: the noise cannot be optimised, only found by luck.
  const double target = ref.bestPoint()->metrics.quality - s.noise;
  std::printf("%s: long run (%lld evals) best %.5f, target %.5f (noise-free optimum %.5f)\n", label,
              static_cast<long long>(lo.maxEvaluations), ref.bestPoint()->metrics.quality, target,
              s.optimum(budget));
  std::vector<std::vector<int64_t>> reach(techniques.size());
  for (int i = 0; i < seeds; ++i) {
    std::printf("  seed %d:", 1 + i);
    for (size_t k = 0; k < techniques.size(); ++k) {
      reach[k].push_back(evalsToReach(p, techniques[k], 1 + i, target, cap));
      std::printf(" %s %lld%s", techniques[k].c_str(), static_cast<long long>(reach[k].back()),
                  reach[k].back() > cap ? " (capped)" : "");
    }
    std::printf("\n");
  }
  std::printf("  median evaluations (cap %lld; capped values are lower bounds):", static_cast<long long>(cap));
  for (size_t k = 0; k < techniques.size(); ++k) std::printf(" %s %.0f", techniques[k].c_str(), median(reach[k]));
  const auto random = std::find(techniques.begin(), techniques.end(), "random");
  if (random != techniques.end()) {
    const double r = median(reach[static_cast<size_t>(random - techniques.begin())]);
    std::printf("; ratio to random:");
    for (size_t k = 0; k < techniques.size(); ++k) {
      if (techniques[k] != "random") std::printf(" %s %.3f", techniques[k].c_str(), median(reach[k]) / r);
    }
  }
  std::printf("\n");
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
  compare("enum widths (as OpenTuner / the official code)", enumWidths, seeds, cap, longEvals, false,
          {"native-port", "random"});
  testing::SyntheticSupernet ordinal;
  ordinal.noise = 0.002;
  ordinal.widthAsInt = true;
  compare("ordinal widths (integer parameters)", ordinal, seeds, cap, longEvals, false, {"native-port", "random"});
  compare("ordinal widths, cost known (over-budget screened; the built-in tuner's budget-edge exchanges)", ordinal,
          seeds, cap, longEvals, true, {"native", "native-port", "random"});
  if (parallel) parallelTiming();
  return 0;
}
